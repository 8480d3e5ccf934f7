//! Checks of the Windows zip as a Windows user would use it, here under wine: the archive holds
//! okms-cli.exe, README, licences and the PowerShell completion, sorted, with the commit's
//! time, and no DLL; the exe taken out of it prints its version, makes a key and CSR offline
//! (the host's openssl verifies the CSR), refuses to overwrite the key without `--force`, and
//! creates a credential against the emulator on 127.0.0.1 (the emulator runs natively).
//!
//! Not checked: `credential check`, the mutual-TLS proof. rustls' platform verifier asks
//! Windows' certificate store to verify, and wine 8's fails there ("Invalid parameter") even
//! with the CA given by `--ca`: a limit of wine, not of the exe.
//!
//! Debian 12's wine 8 lacks bcryptprimitives.dll, where Rust's standard library finds its
//! randomness (`ProcessPrng`): a stand-in built from contrib/wine/bcryptprimitives.c is put
//! beside a temporary copy of the exe, never into the zip.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use super::Release;
use super::build::MINGW_GCC;
use super::targets::{ReleaseTarget, X86_64_MUSL};
use super::zip_archive::{POWERSHELL_COMPLETION, dos_time};
use crate::tasks::demo::start_emulator;
use crate::util::{output_of, without_api_credentials, workspace_root};

/// Checks the zip, then runs the exe it holds under wine.
pub fn check(archive: &Path, target: &ReleaseTarget, release: &Release) -> Result<()> {
    let exe_bytes = check_contents(archive, release)?;
    let scratch = tempfile::tempdir().context("could not create a directory for wine")?;
    let wine = Wine::new(scratch.path(), &exe_bytes)?;
    let version = wine.okms_cli(&["--version"], scratch.path())?;
    ensure!(
        version.contains(&release.version)
            && version.contains(&release.commit)
            && version.contains(target.triple),
        "okms-cli.exe --version says {version:?}: expected {}, the commit {} and {}",
        release.version,
        release.commit,
        target.triple
    );
    let work = scratch.path().join("work");
    fs::create_dir(&work)?;
    offline_csr(&wine, &work)?;
    credential_create(&wine, &work)?;
    eprintln!("checked {} under wine ({version})", archive.display());
    Ok(())
}

/// The zip's entries are exactly what a Windows user needs, sorted, with the commit's time and
/// no DLL (the wine stand-in must never ship); returns okms-cli.exe's bytes.
fn check_contents(archive: &Path, release: &Release) -> Result<Vec<u8>> {
    let name = super::file_name(archive)?;
    let stem = name.trim_end_matches(".zip");
    let file = fs::File::open(archive).with_context(|| format!("could not open {name}"))?;
    let mut zip = zip::ZipArchive::new(file).with_context(|| format!("{name} is not a zip"))?;
    let names = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<Vec<String>, _>>()
        .with_context(|| format!("{name} has an unreadable entry name"))?;
    let mut expected: Vec<String> = [
        "LICENSE-APACHE",
        "LICENSE-MIT",
        "README.md",
        &format!("completions/{POWERSHELL_COMPLETION}"),
        "okms-cli.exe",
    ]
    .iter()
    .map(|entry| format!("{stem}/{entry}"))
    .collect();
    expected.sort();
    ensure!(
        names == expected,
        "{name} holds {names:?}, expected exactly {expected:?} in this order"
    );
    ensure!(
        !names
            .iter()
            .any(|n| n.to_ascii_lowercase().ends_with(".dll")),
        "{name} holds a DLL"
    );
    let time = dos_time(release.source_date_epoch);
    let mut exe = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let entry_name = entry.name()?.into_owned();
        ensure!(
            entry.last_modified() == Some(time),
            "{entry_name} in {name} is dated {:?}, not the commit's {time}",
            entry.last_modified()
        );
        if entry_name.ends_with("/okms-cli.exe") {
            entry.read_to_end(&mut exe)?;
        }
    }
    Ok(exe)
}

/// A wine prefix of its own and a copy of okms-cli.exe beside the ProcessPrng stand-in.
struct Wine {
    prefix: PathBuf,
    exe: PathBuf,
}

impl Wine {
    fn new(scratch: &Path, exe_bytes: &[u8]) -> Result<Self> {
        let bin = scratch.join("bin");
        fs::create_dir(&bin)?;
        let exe = bin.join("okms-cli.exe");
        fs::write(&exe, exe_bytes)?;
        let stub = workspace_root().join("contrib/wine/bcryptprimitives.c");
        output_of(
            Command::new(MINGW_GCC)
                .args(["-shared", "-O2", "-o"])
                .arg(bin.join("bcryptprimitives.dll"))
                .arg(&stub)
                .arg("-ladvapi32"),
        )
        .context("could not build the wine stand-in for bcryptprimitives.dll")?;
        Ok(Wine {
            prefix: scratch.join("prefix"),
            exe,
        })
    }

    /// `wine okms-cli.exe ARGS` in `dir`, with a clean environment but for `env`.
    fn command(&self, args: &[&str], dir: &Path) -> Command {
        let mut command = Command::new("wine");
        command
            .arg(&self.exe)
            .args(args)
            .current_dir(dir)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No display, no desktop integration: a console program needs neither.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml,winemenubuilder.exe=d")
            .env_remove("DISPLAY");
        without_api_credentials(&mut command);
        command
    }

    fn okms_cli(&self, args: &[&str], dir: &Path) -> Result<String> {
        output_of(&mut self.command(args, dir))
            .with_context(|| format!("wine okms-cli.exe {} failed", args.join(" ")))
    }
}

const CSR_NEW: &[&str] = &[
    "csr",
    "new",
    "--algorithm",
    "ecdsa-p256",
    "--cn",
    "dist-windows-check",
    "--key-out",
    "dist.key",
    "--out",
    "dist.csr",
];

/// `csr new` offline; openssl verifies the CSR; a second run without `--force` is refused and
/// leaves the key as it was, one with `--force` replaces it.
fn offline_csr(wine: &Wine, work: &Path) -> Result<()> {
    wine.okms_cli(CSR_NEW, work)?;
    output_of(
        Command::new("openssl")
            .args(["req", "-verify", "-noout", "-in"])
            .arg(work.join("dist.csr")),
    )
    .context("openssl does not accept the CSR okms-cli.exe made")?;
    let key = fs::read(work.join("dist.key"))?;
    let again = wine
        .command(CSR_NEW, work)
        .output()
        .context("could not run wine")?;
    let said = String::from_utf8_lossy(&again.stderr);
    ensure!(
        !again.status.success() && said.contains("already exist"),
        "okms-cli.exe csr new over an existing key without --force: {}, saying {said:?}",
        again.status
    );
    ensure!(
        fs::read(work.join("dist.key"))? == key,
        "okms-cli.exe changed the key it refused to overwrite"
    );
    let forced: Vec<&str> = CSR_NEW.iter().copied().chain(["--force"]).collect();
    wine.okms_cli(&forced, work)?;
    ensure!(
        fs::read(work.join("dist.key"))? != key,
        "okms-cli.exe csr new --force did not replace the key"
    );
    output_of(
        Command::new("openssl")
            .args(["req", "-verify", "-noout", "-in"])
            .arg(work.join("dist.csr")),
    )
    .context("openssl does not accept the CSR okms-cli.exe made with --force")?;
    Ok(())
}

/// `credential create` for the CSR against the emulator (plain HTTP on 127.0.0.1); openssl
/// reads the certificate written.
fn credential_create(wine: &Wine, work: &Path) -> Result<()> {
    let emulator = X86_64_MUSL.binary("okms-emulator");
    let (_running, info) = start_emulator(&emulator, 200)?;
    let mut create = wine.command(
        &[
            "credential",
            "create",
            "--csr",
            "dist.csr",
            "--name",
            "dist-windows-check",
            "--root",
            "--validity",
            "30",
            "--cert-out",
            "dist.cert",
        ],
        work,
    );
    create
        .env("OVH_ENDPOINT", &info.api_url)
        .env("OVH_APPLICATION_KEY", &info.application_key)
        .env("OVH_APPLICATION_SECRET", &info.application_secret)
        .env("OVH_CONSUMER_KEY", &info.consumer_key)
        .env("OKMS_ID", &info.okms_id);
    output_of(&mut create).context("wine okms-cli.exe credential create failed")?;
    output_of(
        Command::new("openssl")
            .args(["x509", "-noout", "-in"])
            .arg(work.join("dist.cert")),
    )
    .context("openssl does not read the certificate okms-cli.exe wrote")?;
    Ok(())
}
