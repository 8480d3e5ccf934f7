//! The Debian package of okms-cli (with okms-broker, its systemd unit, not enabled, and its
//! example policy), laid out by hand and built with `dpkg-deb`, which every
//! Debian system has (no cargo-deb to install).
//!
//! It ships the glibc build, not the static one: a PKCS#11 module is a shared library and
//! only a dynamically linked program can load it. Its `Depends` are read off the binaries
//! (the shared libraries they need and the newest glibc symbol version they use), never guessed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::Release;
use super::docs::Docs;
use crate::util::{output_of, run_command, workspace_root};

const MAINTAINER: &str = "okms-rs developers <okms-rs@users.noreply.github.com>";

/// Where the package installs the broker's unit (systemd's directory for packaged units).
pub const BROKER_UNIT: &str = "lib/systemd/system/okms-broker.service";
/// Where the package installs the broker's example policy.
pub const BROKER_POLICY_EXAMPLE: &str = "usr/share/doc/okms-cli/examples/okms-broker.yaml";

/// Lays out the package tree with `binaries` (each installed in /usr/bin under its file name)
/// and writes `out/okms-cli_VERSION-1_ARCH.deb` for the Debian architecture `arch`.
pub fn write(
    release: &Release,
    out: &Path,
    binaries: &[PathBuf],
    docs: &Docs,
    arch: &str,
) -> Result<PathBuf> {
    let staging = tempfile::tempdir().context("could not create a staging directory")?;
    let root = staging.path().join("okms-cli");

    for binary in binaries {
        let name = super::file_name(binary)?;
        install(binary, &root.join("usr/bin").join(name), 0o755)?;
    }
    install(
        &workspace_root().join("contrib/okms-broker.service"),
        &root.join(BROKER_UNIT),
        0o644,
    )?;
    install(
        &workspace_root().join("contrib/okms-broker.yaml"),
        &root.join(BROKER_POLICY_EXAMPLE),
        0o644,
    )?;
    let man1 = root.join("usr/share/man/man1");
    fs::create_dir_all(&man1)?;
    for page in fs::read_dir(&docs.man_dir)? {
        let page = page?.path();
        let name = super::file_name(&page)?;
        gzip_to(&page, &man1.join(format!("{name}.gz")))?;
    }
    for (script, destination) in [
        (
            "okms-cli.bash",
            "usr/share/bash-completion/completions/okms-cli",
        ),
        ("_okms-cli", "usr/share/zsh/vendor-completions/_okms-cli"),
        (
            "okms-cli.fish",
            "usr/share/fish/vendor_completions.d/okms-cli.fish",
        ),
    ] {
        install(&docs.completion(script)?, &root.join(destination), 0o644)?;
    }
    let doc_dir = root.join("usr/share/doc/okms-cli");
    fs::create_dir_all(&doc_dir)?;
    fs::write(doc_dir.join("copyright"), copyright()?)?;
    gzip_to(
        &workspace_root().join("README.md"),
        &doc_dir.join("README.md.gz"),
    )?;
    gzip_to(
        &workspace_root().join("docs/broker-protocol.md"),
        &doc_dir.join("broker-protocol.md.gz"),
    )?;

    let control_dir = root.join("DEBIAN");
    fs::create_dir_all(&control_dir)?;
    fs::write(
        control_dir.join("control"),
        control(
            release,
            arch,
            &depends(binaries)?,
            installed_size_kib(&root)?,
        ),
    )?;
    let version = format!("{}-1", release.version);
    let deb = out.join(format!("okms-cli_{version}_{arch}.deb"));
    run_command(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&root)
            .arg(&deb)
            .env("SOURCE_DATE_EPOCH", release.source_date_epoch.to_string()),
    )?;
    Ok(deb)
}

fn control(release: &Release, arch: &str, depends: &str, installed_size: u64) -> String {
    format!(
        "Package: okms-cli\n\
         Version: {version}-1\n\
         Architecture: {arch}\n\
         Maintainer: {MAINTAINER}\n\
         Installed-Size: {installed_size}\n\
         Depends: {depends}\n\
         Section: utils\n\
         Priority: optional\n\
         Homepage: https://github.com/okms-rs/okms-rs\n\
         Description: access certificates for OVHcloud KMS (OKMS)\n \
         okms-cli makes private keys (in software or on a PKCS#11 token), certificate\n \
         signing requests and request files offline, for an air-gapped host, and\n \
         submits them to the OVHcloud API from a connected host to get an OKMS\n \
         access certificate, without the private key ever leaving the machine it\n \
         was made on. okms-broker renews a fleet's access certificates over mutual\n          TLS so that only it holds OVHcloud API credentials (unit okms-broker.service,\n          not enabled).\n",
        version = release.version,
    )
}

/// `Depends` from the binaries' `NEEDED` entries and their newest `GLIBC_x.y` symbol version.
fn depends(binaries: &[PathBuf]) -> Result<String> {
    let mut packages = BTreeSet::new();
    let mut glibc = None;
    for binary in binaries {
        read_needs(binary, &mut packages, &mut glibc)?;
    }
    Ok(packages
        .into_iter()
        .map(|package| match (package, glibc) {
            ("libc6", Some((major, minor))) => format!("libc6 (>= {major}.{minor})"),
            (package, _) => package.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", "))
}

/// Adds the packages of `binary`'s shared libraries to `packages`, and raises `glibc` to the
/// newest glibc symbol version it uses.
fn read_needs(
    binary: &Path,
    packages: &mut BTreeSet<&'static str>,
    glibc: &mut Option<(u32, u32)>,
) -> Result<()> {
    let name = super::file_name(binary)?;
    let headers = output_of(Command::new("objdump").arg("-p").arg(binary))
        .context("objdump (binutils) is needed to read the binary's dependencies")?;
    for line in headers.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("NEEDED") {
            continue;
        }
        let library = words.next().unwrap_or_default();
        let package = match library {
            "libc.so.6"
            | "libm.so.6"
            | "libdl.so.2"
            | "libpthread.so.0"
            | "librt.so.1"
            | "ld-linux-x86-64.so.2" => "libc6",
            "libgcc_s.so.1" => "libgcc-s1",
            other => bail!(
                "{name} needs {other}, which the Debian package does not know how to depend on: add its package to deb.rs"
            ),
        };
        packages.insert(package);
    }
    let symbols = output_of(Command::new("objdump").arg("-T").arg(binary))?;
    let newest = symbols
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max();
    *glibc = (*glibc).max(newest);
    Ok(())
}

/// Debian's machine-readable copyright file (DEP-5).
fn copyright() -> Result<String> {
    let mit = fs::read_to_string(workspace_root().join("LICENSE-MIT"))
        .context("could not read LICENSE-MIT")?;
    let mit: String = mit
        .lines()
        .map(|l| {
            if l.is_empty() {
                " .\n".to_owned()
            } else {
                format!(" {l}\n")
            }
        })
        .collect();
    Ok(format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: okms-rs\n\
         Source: https://github.com/okms-rs/okms-rs\n\
         \n\
         Files: *\n\
         Copyright: 2026 The okms-rs developers\n\
         License: Apache-2.0 or MIT\n\
         \n\
         License: Apache-2.0\n \
         On Debian systems, the full text of the Apache License, Version 2.0, can be\n \
         found in /usr/share/common-licenses/Apache-2.0.\n\
         \n\
         License: MIT\n{mit}"
    ))
}

fn installed_size_kib(root: &Path) -> Result<u64> {
    fn walk(path: &Path, total: &mut u64) -> Result<()> {
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                walk(&entry.path(), total)?;
            } else {
                *total += meta.len().div_ceil(1024);
            }
        }
        Ok(())
    }
    let mut total = 0;
    walk(root, &mut total)?;
    Ok(total)
}

fn install(from: &Path, to: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::copy(from, to)
        .with_context(|| format!("could not copy {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn gzip_to(from: &Path, to: &Path) -> Result<()> {
    let file =
        fs::File::create(to).with_context(|| format!("could not create {}", to.display()))?;
    let status = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(from)
        .stdout(file)
        .status()
        .context("could not start gzip")?;
    if !status.success() {
        bail!("gzip failed on {}", from.display());
    }
    Ok(())
}
