//! Checks of the built artefacts, done as a user on another machine would: the static binary
//! needs no shared library and runs with an empty environment from an empty directory; the
//! checksums verify with `sha256sum -c`; the archives hold what they should; the Debian
//! package installs with `dpkg -i` into a fresh tree, where its binary, man page and offline
//! `csr new` work.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use super::Release;
use crate::util::output_of;

/// No dynamic dependency, and it runs under `env -i` from an empty directory.
pub fn static_binary(binary: &Path, release: &Release) -> Result<()> {
    let headers = output_of(Command::new("objdump").arg("-p").arg(binary))?;
    ensure!(
        !headers.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("NEEDED") || l.starts_with("INTERP")
        }),
        "{} is not static: it names a shared library or a dynamic loader",
        binary.display()
    );
    // ldd's own verdict too: it exits non-zero for a binary that is not dynamic.
    let ldd = Command::new("ldd").arg(binary).output();
    if let Ok(ldd) = ldd {
        let text = String::from_utf8_lossy(&ldd.stdout).into_owned()
            + &String::from_utf8_lossy(&ldd.stderr);
        ensure!(
            text.contains("not a dynamic executable") || text.contains("statically linked"),
            "ldd reports dynamic dependencies for {}: {text}",
            binary.display()
        );
    }
    let empty = tempfile::tempdir()?;
    let version = output_of(
        Command::new("env")
            .arg("-i")
            .arg(binary)
            .arg("--version")
            .current_dir(empty.path()),
    )?;
    ensure!(
        version.contains(&release.version),
        "{} --version says {version:?}: expected the version {}",
        binary.display(),
        release.version,
    );
    if super::file_name(binary)? == "okms-cli" {
        // What a user reports in a bug: which commit and which build.
        ensure!(
            version.contains(&release.commit) && version.contains(super::STATIC_TARGET),
            "okms-cli --version says {version:?}: expected the commit {} and the target {}",
            release.commit,
            super::STATIC_TARGET
        );
        offline_csr(binary, empty.path())?;
    }
    eprintln!(
        "checked {}: static, runs under env -i ({version})",
        binary.display()
    );
    Ok(())
}

/// `csr new` in `dir` with a P-256 key, under an empty environment; the key is 0600; openssl (when installed) verifies the CSR.
fn offline_csr(binary: &Path, dir: &Path) -> Result<()> {
    output_of(
        Command::new("env")
            .arg("-i")
            .arg(binary)
            .args([
                "csr",
                "new",
                "--algorithm",
                "ecdsa-p256",
                "--cn",
                "dist-check",
            ])
            .args(["--key-out", "dist.key", "--out", "dist.csr"])
            .current_dir(dir),
    )
    .with_context(|| format!("{} csr new failed", binary.display()))?;
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(dir.join("dist.key"))?.permissions().mode() & 0o777;
    ensure!(
        mode == 0o600,
        "the key was written with mode {mode:o}, not 600"
    );
    if Command::new("openssl").arg("version").output().is_ok() {
        output_of(
            Command::new("openssl")
                .args(["req", "-verify", "-noout", "-in"])
                .arg(dir.join("dist.csr")),
        )
        .context("openssl does not accept the CSR")?;
    }
    Ok(())
}

/// `sha256sum -c` in the directory of the sums file.
pub fn checksums(sums: &Path) -> Result<()> {
    let dir = sums.parent().context("SHA256SUMS has no directory")?;
    let report = output_of(
        Command::new("sha256sum")
            .args(["--check", "--strict"])
            .arg(super::file_name(sums)?)
            .current_dir(dir),
    )?;
    eprintln!("sha256sum --check:\n{report}");
    Ok(())
}

/// The archive lists its top directory, the binary, the licences and the README.
pub fn tarball(archive: &Path) -> Result<()> {
    let listing = output_of(Command::new("tar").arg("-tzf").arg(archive))?;
    let name = super::file_name(archive)?;
    let stem = name.trim_end_matches(".tar.gz");
    let binary = stem.split('-').take(2).collect::<Vec<_>>().join("-");
    let mut expected = vec![
        format!("{stem}/{binary}"),
        format!("{stem}/README.md"),
        format!("{stem}/LICENSE-APACHE"),
        format!("{stem}/LICENSE-MIT"),
    ];
    if binary == "okms-cli" {
        expected.push(format!("{stem}/man/okms-cli.1"));
        expected.push(format!("{stem}/completions/okms-cli.bash"));
    }
    for entry in &expected {
        ensure!(
            listing.lines().any(|l| l == entry),
            "{name} lacks {entry}; it holds:\n{listing}"
        );
    }
    eprintln!("checked {name}: {} entries", listing.lines().count());
    Ok(())
}

/// Installs the package with `dpkg -i` into a fresh root and uses it there.
pub fn deb(package: &Path, release: &Release) -> Result<()> {
    let root = tempfile::tempdir()?;
    let admin = root.path().join("var/lib/dpkg");
    for dir in ["info", "updates", "triggers"] {
        fs::create_dir_all(admin.join(dir))?;
    }
    fs::write(admin.join("status"), "")?;
    // --force-depends: the fresh tree has no libc6 of its own (the host's is used to run the
    // binary); --path-include undoes a minimal image's exclusion of man pages.
    let mut install = Command::new("dpkg");
    install
        .arg(format!("--root={}", root.path().display()))
        .args(["--force-depends", "--force-not-root", "--force-bad-path"])
        .arg("--path-include=/usr/share/man/*")
        .arg("-i")
        .arg(package);
    let installed = install.output().context("could not start dpkg")?;
    if !installed.status.success() {
        bail!(
            "dpkg -i {} into {} failed: {}",
            package.display(),
            root.path().display(),
            String::from_utf8_lossy(&installed.stderr)
        );
    }
    let binary = root.path().join("usr/bin/okms-cli");
    let version = output_of(Command::new(&binary).arg("--version"))?;
    ensure!(
        version.contains(&release.version),
        "the installed okms-cli --version says {version:?}"
    );
    let man = output_of(
        Command::new("man")
            .arg("-M")
            .arg(root.path().join("usr/share/man"))
            .args(["-w", "okms-cli"]),
    )
    .context("man -w okms-cli does not find the installed page (is man-db installed?)")?;
    ensure!(
        man.starts_with(&root.path().display().to_string()),
        "man -w okms-cli found {man}, not the page in the installed tree"
    );
    for completion in [
        "usr/share/bash-completion/completions/okms-cli",
        "usr/share/zsh/vendor-completions/_okms-cli",
        "usr/share/fish/vendor_completions.d/okms-cli.fish",
        "usr/share/doc/okms-cli/copyright",
    ] {
        ensure!(
            root.path().join(completion).is_file(),
            "the package did not install /{completion}"
        );
    }
    let work = tempfile::tempdir()?;
    offline_csr(&binary, work.path())?;
    eprintln!(
        "checked {}: dpkg -i into a fresh tree, --version, man -w ({man}), csr new",
        package.display()
    );
    Ok(())
}
