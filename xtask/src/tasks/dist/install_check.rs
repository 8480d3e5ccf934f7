//! `install.sh` checked as a user runs it, against a copy of the release directory standing
//! in for the release page: it installs a working okms-cli, and refuses an unknown
//! architecture, a missing file, a tampered archive, a tampered checksum file and a signature
//! by another key, each with its message, a non-zero exit and the installed okms-cli untouched.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use super::targets::ReleaseTarget;
use crate::util::output_of;

/// What a refused install left in place of an earlier okms-cli.
const EARLIER: &str = "#!/bin/sh\necho an earlier okms-cli\n";

/// `shellcheck` finds nothing in the script.
pub fn shellcheck(script: &Path) -> Result<()> {
    output_of(Command::new("shellcheck").args(["-s", "sh"]).arg(script))
        .with_context(|| format!("shellcheck finds faults in {}", script.display()))?;
    eprintln!("checked {}: shellcheck -s sh is clean", script.display());
    Ok(())
}

/// Runs `install.sh` from `dist` (holding it, SHA256SUMS, its signature, minisign.pub and
/// `archive`, the okms-cli tarball of this machine) in every good and bad case.
pub fn check(dist: &Path, archive: &str) -> Result<()> {
    let work = tempfile::tempdir()?;
    let release = copy_release(dist, &[archive], &work.path().join("release"))?;
    let with_minisign = Command::new("minisign").arg("-v").output().is_ok();

    let prefix = work.path().join("good");
    let out = install(&release, &prefix, &[], None)?;
    ensure!(out.status.success(), "install.sh failed: {}", text(&out));
    let installed = prefix.join("okms-cli");
    let version = output_of(Command::new(&installed).arg("--version"))
        .context("the okms-cli install.sh installed does not run")?;
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&installed)?.permissions().mode() & 0o777;
    ensure!(
        mode == 0o755,
        "install.sh installed okms-cli with mode {mode:o}"
    );

    let fake_bin = fake_uname(&work.path().join("fake-bin"), "sparc64")?;
    refused(
        &release,
        "an unknown architecture",
        &[],
        Some(&fake_bin),
        "unsupported architecture sparc64",
    )?;

    let missing = copy_release(dist, &[archive], &work.path().join("missing"))?;
    fs::remove_file(missing.join(archive))?;
    refused(&missing, "a missing archive", &[], None, "missing file")?;

    let tampered = copy_release(dist, &[archive], &work.path().join("tampered-archive"))?;
    let mut bytes = fs::read(tampered.join(archive))?;
    bytes.push(0);
    fs::write(tampered.join(archive), bytes)?;
    refused(
        &tampered,
        "a tampered archive",
        &[],
        None,
        "checksum mismatch",
    )?;

    // The archive's line in SHA256SUMS changed to the checksum of the tampered archive: what an
    // attacker who replaced both would write. Only the signature can catch it.
    let sums_tampered = copy_release(dist, &[archive], &work.path().join("tampered-sums"))?;
    fs::copy(tampered.join(archive), sums_tampered.join(archive))?;
    let sums = fs::read_to_string(sums_tampered.join("SHA256SUMS"))?;
    let new_hash = output_of(Command::new("sha256sum").arg(sums_tampered.join(archive)))?;
    let new_hash = new_hash
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let rewritten: String = sums
        .lines()
        .map(|line| match line.split_once("  ") {
            Some((_, name)) if name == archive => format!("{new_hash}  {name}\n"),
            _ => format!("{line}\n"),
        })
        .collect();
    fs::write(sums_tampered.join("SHA256SUMS"), rewritten)?;
    if with_minisign {
        refused(
            &sums_tampered,
            "a tampered SHA256SUMS",
            &[],
            None,
            "signature of SHA256SUMS does not verify",
        )?;
        let other = work.path().join("other.pub");
        let pair = minisign::KeyPair::generate_unencrypted_keypair()
            .map_err(|e| anyhow::anyhow!("could not make a second key: {e}"))?;
        let public = pair.pk.to_box().map_err(|e| anyhow::anyhow!("{e}"))?;
        fs::write(&other, public.into_string())?;
        let pubkey = other.display().to_string();
        refused(
            &release,
            "a signature by another key",
            &["--pubkey", &pubkey],
            None,
            "does not verify",
        )?;
    } else {
        // Without minisign only the checksum is checked, and the script says so.
        let out = install(&sums_tampered, &work.path().join("unsigned"), &[], None)?;
        ensure!(
            text(&out).contains("signature of SHA256SUMS is NOT checked"),
            "install.sh without minisign does not warn that the signature is unchecked: {}",
            text(&out)
        );
    }
    eprintln!(
        "checked install.sh: installs okms-cli ({}), refuses each bad case{}",
        version.trim(),
        if with_minisign {
            ""
        } else {
            " (minisign absent: signature cases not run)"
        }
    );
    Ok(())
}

/// With `uname -m` saying each target's machine (a PATH shim), install.sh installs that
/// target's okms-cli from a release holding all of `archives` (archive, target), and the
/// installed binary is of that architecture and runs (another's under its emulator).
pub fn picks_by_architecture(dist: &Path, archives: &[(&str, &ReleaseTarget)]) -> Result<()> {
    let work = tempfile::tempdir()?;
    let names: Vec<&str> = archives.iter().map(|(name, _)| *name).collect();
    let release = copy_release(dist, &names, &work.path().join("release"))?;
    for (_, target) in archives {
        let machine = target.triple.split('-').next().unwrap_or(target.triple);
        let shim = fake_uname(&work.path().join(format!("uname-{machine}")), machine)?;
        let prefix = work.path().join(machine);
        let out = install(&release, &prefix, &[], Some(&shim))?;
        ensure!(
            out.status.success(),
            "install.sh on an {machine} machine failed: {}",
            text(&out)
        );
        let installed = prefix.join("okms-cli");
        let described = output_of(Command::new("file").arg("-b").arg(&installed))?;
        ensure!(
            described.contains(target.elf_machine),
            "install.sh on an {machine} machine installed {described:?}"
        );
        let version = output_of(target.run(&installed)?.arg("--version"))?;
        ensure!(
            version.contains(target.triple),
            "the okms-cli install.sh installed on an {machine} machine says {version:?}"
        );
    }
    eprintln!(
        "checked install.sh: picks the archive of {} by uname -m",
        names.join(" and ")
    );
    Ok(())
}

/// A directory holding a `uname` that says Linux, and `machine` for `uname -m`.
fn fake_uname(dir: &Path, machine: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir)?;
    let uname = dir.join("uname");
    fs::write(
        &uname,
        format!("#!/bin/sh\ncase \"$1\" in -m) echo {machine} ;; *) echo Linux ;; esac\n"),
    )?;
    fs::set_permissions(&uname, fs::Permissions::from_mode(0o755))?;
    Ok(dir.to_path_buf())
}

fn copy_release(dist: &Path, archives: &[&str], to: &Path) -> Result<PathBuf> {
    fs::create_dir_all(to)?;
    let common = [
        "install.sh",
        "SHA256SUMS",
        "SHA256SUMS.minisig",
        "minisign.pub",
    ];
    for name in common.iter().chain(archives) {
        fs::copy(dist.join(name), to.join(name))
            .with_context(|| format!("the release in {} lacks {name}", dist.display()))?;
    }
    Ok(to.to_path_buf())
}

fn install(
    release: &Path,
    prefix: &Path,
    extra: &[&str],
    path_first: Option<&Path>,
) -> Result<std::process::Output> {
    let mut command = Command::new("sh");
    command
        .arg(release.join("install.sh"))
        .arg("--from")
        .arg(release)
        .arg("--prefix")
        .arg(prefix)
        .args(extra);
    if let Some(dir) = path_first {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let dirs = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path));
        command.env("PATH", std::env::join_paths(dirs)?);
    }
    command.output().context("could not start sh install.sh")
}

/// install.sh exits non-zero with `message`, and an okms-cli installed before is untouched.
fn refused(
    release: &Path,
    case: &str,
    extra: &[&str],
    path_first: Option<&Path>,
    message: &str,
) -> Result<()> {
    let prefix = tempfile::tempdir()?;
    let existing = prefix.path().join("okms-cli");
    fs::write(&existing, EARLIER)?;
    let out = install(release, prefix.path(), extra, path_first)?;
    let said = text(&out);
    ensure!(!out.status.success(), "install.sh accepted {case}: {said}");
    ensure!(
        said.contains(message),
        "install.sh refused {case} without saying {message:?}: {said}"
    );
    ensure!(
        fs::read_to_string(&existing)? == EARLIER && fs::read_dir(prefix.path())?.count() == 1,
        "install.sh refused {case} but changed {}",
        prefix.path().display()
    );
    Ok(())
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::tasks::dist::{Release, sign};
    use crate::util::workspace_root;

    /// A release directory like dist's, holding for each of `triples` an archive whose okms-cli
    /// is a shell script naming its triple, signed with a throw-away key; and the archives'
    /// names.
    fn fake_release(dir: &Path, triples: &[&str]) -> (PathBuf, Vec<String>) {
        use std::os::unix::fs::PermissionsExt;
        let dist = dir.join("dist");
        fs::create_dir(&dist).unwrap();
        let mut archives = Vec::new();
        for triple in triples {
            let stem = format!("okms-cli-9.9.9-{triple}");
            let top = dir.join("stage").join(&stem);
            fs::create_dir_all(&top).unwrap();
            let script = format!("#!/bin/sh\necho okms-cli 9.9.9 {triple}\n");
            fs::write(top.join("okms-cli"), script).unwrap();
            fs::set_permissions(top.join("okms-cli"), fs::Permissions::from_mode(0o755)).unwrap();
            let archive = format!("{stem}.tar.gz");
            output_of(
                Command::new("tar")
                    .arg("-czf")
                    .arg(dist.join(&archive))
                    .arg("-C")
                    .arg(dir.join("stage"))
                    .arg(&stem),
            )
            .unwrap();
            archives.push(archive);
        }
        fs::copy(
            workspace_root().join("contrib/install.sh"),
            dist.join("install.sh"),
        )
        .unwrap();
        let sums = output_of(
            Command::new("sha256sum")
                .args(&archives)
                .arg("install.sh")
                .current_dir(&dist),
        )
        .unwrap();
        fs::write(dist.join("SHA256SUMS"), sums + "\n").unwrap();
        let release = Release {
            version: "9.9.9".into(),
            commit: "abc".into(),
            source_date_epoch: 0,
        };
        sign::sign(&dist.join("SHA256SUMS"), None, &release).unwrap();
        (dist, archives)
    }

    #[test]
    fn install_sh_installs_a_good_release_and_refuses_each_bad_case() {
        let dir = tempfile::tempdir().unwrap();
        let (dist, archives) = fake_release(dir.path(), &["x86_64-unknown-linux-musl"]);
        check(&dist, &archives[0]).unwrap();
    }

    /// Each name `uname -m` gives an architecture installs that architecture's okms-cli from a
    /// release holding both archives.
    #[test]
    fn install_sh_picks_the_archive_of_the_machine_architecture() {
        let dir = tempfile::tempdir().unwrap();
        let triples = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];
        let (dist, archives) = fake_release(dir.path(), &triples);
        let names: Vec<&str> = archives.iter().map(String::as_str).collect();
        let release = copy_release(&dist, &names, &dir.path().join("release")).unwrap();
        for (machine, triple) in [
            ("aarch64", triples[1]),
            ("arm64", triples[1]),
            ("x86_64", triples[0]),
            ("amd64", triples[0]),
        ] {
            let shim = fake_uname(&dir.path().join(format!("uname-{machine}")), machine).unwrap();
            let prefix = dir.path().join(format!("prefix-{machine}"));
            let out = install(&release, &prefix, &[], Some(&shim)).unwrap();
            assert!(out.status.success(), "{machine}: {}", text(&out));
            let installed = fs::read_to_string(prefix.join("okms-cli")).unwrap();
            assert!(
                installed.contains(triple),
                "{machine}: installed {installed:?}"
            );
        }
    }
}
