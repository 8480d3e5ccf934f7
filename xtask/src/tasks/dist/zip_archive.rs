//! The Windows release: a reproducible `okms-cli-VERSION-TRIPLE.zip` (Windows users open zips,
//! not tarballs) with `okms-cli.exe`, README, licences and the PowerShell completion. Entries
//! are sorted and every timestamp is the commit's, so that the same commit gives the same
//! bytes. The broker is not in it: it is a Linux service (systemd, SIGHUP).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::Release;
use super::docs::Docs;
use super::tarball::{common_entries, stem};

/// The PowerShell completion script clap_complete writes.
pub const POWERSHELL_COMPLETION: &str = "_okms-cli.ps1";

/// The entries of the okms-cli zip (path inside, source), sorted by path inside.
pub fn cli_entries(exe: &Path, docs: &Docs) -> Result<Vec<(String, PathBuf)>> {
    let mut entries = common_entries(&crate::util::workspace_root().join("README.md"));
    entries.push(("okms-cli.exe".into(), exe.to_path_buf()));
    entries.push((
        format!("completions/{POWERSHELL_COMPLETION}"),
        docs.completion(POWERSHELL_COMPLETION)?,
    ));
    entries.sort();
    Ok(entries)
}

/// Writes `out/okms-cli-VERSION-TRIPLE.zip` holding `entries` under that stem's directory.
pub fn write(
    release: &Release,
    out: &Path,
    entries: &[(String, PathBuf)],
    triple: &str,
) -> Result<PathBuf> {
    let stem = stem("okms-cli", release, triple);
    let archive = out.join(format!("{stem}.zip"));
    let file = fs::File::create(&archive)
        .with_context(|| format!("could not create {}", archive.display()))?;
    let mut zip = ZipWriter::new(file);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(dos_time(release.source_date_epoch));
    let mut sorted: Vec<&(String, PathBuf)> = entries.iter().collect();
    sorted.sort();
    for (name, source) in sorted {
        let bytes =
            fs::read(source).with_context(|| format!("could not read {}", source.display()))?;
        let mode = if name.ends_with(".exe") { 0o755 } else { 0o644 };
        zip.start_file(format!("{stem}/{name}"), options.unix_permissions(mode))
            .with_context(|| format!("could not add {name} to {}", archive.display()))?;
        zip.write_all(&bytes)
            .with_context(|| format!("could not write {name} into {}", archive.display()))?;
    }
    zip.finish()
        .with_context(|| format!("could not finish {}", archive.display()))?;
    eprintln!("wrote {}", archive.display());
    Ok(archive)
}

/// The commit's time as a zip (MS-DOS) timestamp, in UTC: two-second steps, from 1980 (an
/// earlier time, as with SOURCE_DATE_EPOCH=0, becomes 1980-01-01).
pub fn dos_time(epoch: u64) -> DateTime {
    let (year, month, day) = civil_date(epoch / 86_400);
    let seconds = epoch % 86_400;
    let fields = (
        u16::try_from(year).unwrap_or(u16::MAX),
        month,
        day,
        (seconds / 3600) as u8,
        (seconds % 3600 / 60) as u8,
        (seconds % 60) as u8,
    );
    DateTime::from_date_and_time(fields.0, fields.1, fields.2, fields.3, fields.4, fields.5)
        .unwrap_or_default()
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_date(days: u64) -> (u64, u8, u8) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_times_become_the_same_utc_date_and_time_in_the_zip() {
        // 2026-12-07 10:08:53 UTC; the zip keeps even seconds.
        let t = dos_time(1_796_638_133);
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 12, 7, 10, 8, 52)
        );
        // A leap day, and the epoch (before the zip format's 1980).
        assert_eq!(civil_date(19_782), (2024, 2, 29));
        let epoch = dos_time(0);
        assert_eq!((epoch.year(), epoch.month(), epoch.day()), (1980, 1, 1));
    }
}
