//! `cargo xtask dist`: everything a release ships, built and then checked as a user would use it.
//!
//! The targets are data (`targets.rs`): each is built once (one `cargo auditable build` of
//! okms-cli and okms-broker) and each of its artefacts is made from those binaries.
//!
//! - `okms-cli` and `okms-emulator` as fully static binaries (`x86_64-unknown-linux-musl`: no
//!   dynamic loader, no shared library, not even libc), each in a reproducible
//!   `NAME-VERSION-TARGET.tar.gz` with README, licences, and for okms-cli its man pages and
//!   shell completions; the okms-cli archive also holds `okms-broker` (the renewal broker,
//!   built in the same cargo build) with its systemd unit and example policy;
//! - the same okms-cli archive for `aarch64-unknown-linux-musl` (cross-built with Debian's
//!   aarch64 gcc for ring's C and rust-lld, checked under `qemu-aarch64-static`);
//! - Debian packages of okms-cli (and okms-broker): amd64 from the ordinary glibc binaries,
//!   because only a dynamically linked program can load a PKCS#11 module (a shared library);
//!   arm64 from the static aarch64 binaries (so without PKCS#11, as its description says);
//! - `okms-cli-VERSION-oci.tar`, an OCI image layout of both static archives' binaries for
//!   linux/amd64 and linux/arm64, written without a container daemon (`oci.rs`);
//! - the offline page `okms-offline.html` (`cargo xtask web`, release profile), the one file
//!   an air-gapped host with only a browser needs;
//! - beside each archive or package, `ARCHIVE.cdx.json`, a CycloneDX SBOM of exactly the
//!   packages in its binary, which also carries that list itself (`cargo auditable`, see
//!   `inventory.rs`);
//! - `install.sh` (from contrib/), which installs okms-cli from a release after checking it;
//! - `SHA256SUMS` over all of them, in the format `sha256sum -c` reads, and its minisign
//!   signature `SHA256SUMS.minisig` with the public key `minisign.pub` (see `sign.rs`).
//!
//! Man pages and completions come from okms-cli's clap definitions, so they cannot drift from
//! `--help`. Every artefact is checked after it is built (see `verify.rs`, `oci_check.rs`,
//! `install_check.rs`) unless `--no-verify`. What the task needs beyond cargo is installed when
//! missing (`tools.rs`) unless `--no-install`. The archives are reproducible:
//! `--check-reproducible` rebuilds HEAD from a second checkout directory and compares
//! (`reproducible.rs`).

mod build;
mod deb;
mod docs;
mod install_check;
mod inventory;
mod oci;
mod oci_check;
mod reproducible;
mod sign;
mod tarball;
mod targets;
mod tools;
mod verify;
mod windows_check;
mod zip_archive;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use sha2::{Digest, Sha256};

use super::web;
use crate::util::{target_dir, workspace_root};
pub use build::build_release;

/// The target of the static binaries.
pub const STATIC_TARGET: &str = "x86_64-unknown-linux-musl";

/// Options of `cargo xtask dist`.
#[derive(ClapArgs)]
pub struct Args {
    /// Output directory (default: target/dist).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only generate man pages and completions; build no binary, archive or package.
    #[arg(long)]
    no_build: bool,
    /// Skip the Debian package.
    #[arg(long)]
    no_deb: bool,
    /// Skip the offline page (it needs the wasm32 target and the wasm-bindgen command line:
    /// .ci/install-web-deps installs both).
    #[arg(long)]
    no_web: bool,
    /// Do not check the artefacts after building them.
    #[arg(long)]
    no_verify: bool,
    /// Install nothing: fail naming the tools, Debian packages and rustup targets missing.
    #[arg(long)]
    no_install: bool,
    /// The minisign secret key that signs SHA256SUMS (else OKMS_RELEASE_KEY_FILE, else the key
    /// text in OKMS_RELEASE_KEY; its password in OKMS_RELEASE_KEY_PASSWORD). Without any, a
    /// throw-away key signs and its public half is written as minisign.pub.
    #[arg(long, value_name = "FILE", env = sign::KEY_FILE_VAR)]
    sign_key: Option<PathBuf>,
    /// Then build HEAD again from a clone under target/reproducible and require byte-identical
    /// artefacts (the worktree must be committed).
    #[arg(long)]
    check_reproducible: bool,
}

/// The packages whose binaries the okms-cli archive and Debian package ship, built together.
pub const CLI_PACKAGES: &[&str] = &["okms-cli", "okms-broker"];

/// An archive or package and what is inside it: its SBOM's source.
struct Inventory {
    artefact: PathBuf,
    /// Its binaries, one per package.
    binaries: Vec<PathBuf>,
    /// What cargo compiled into them.
    compiled: inventory::Packages,
    /// The packages they were built from.
    packages: &'static [&'static str],
    /// What kind of artefact it is.
    kind: targets::Artefact,
    /// The target they were built for.
    target: &'static targets::ReleaseTarget,
}

/// What the artefacts are named after.
pub struct Release {
    /// The workspace version, e.g. `0.1.0`.
    pub version: String,
    /// The short git commit, or `unknown` outside a checkout.
    pub commit: String,
    /// Seconds since the epoch of the commit: every timestamp inside an archive, so that the
    /// same commit gives byte-identical archives.
    pub source_date_epoch: u64,
}

/// A release of version 9.9.9 at commit `abc`, for the tests.
#[cfg(test)]
fn test_release() -> Release {
    Release {
        version: "9.9.9".into(),
        commit: "abc".into(),
        source_date_epoch: 0,
    }
}

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("dist"));
    fs::create_dir_all(&out).with_context(|| format!("could not create {}", out.display()))?;
    let docs = docs::write(&out)?;
    if args.no_build {
        println!("{}", out.display());
        return Ok(());
    }
    let release = release()?;
    let skip = targets::Skip { deb: args.no_deb };
    let wanted: Vec<&'static targets::ReleaseTarget> = targets::TARGETS
        .iter()
        .copied()
        .filter(|t| targets::wanted(t, &skip))
        .collect();
    tools::ensure(
        &tools::Needs {
            targets: &wanted,
            deb: !args.no_deb,
            verify: !args.no_verify,
        },
        args.no_install,
    )?;

    // One SBOM per archive or package, of everything compiled into its binaries.
    let mut inventories = Vec::new();
    for target in &wanted {
        inventories.extend(targets::make(target, &release, &out, &docs, &skip)?);
    }
    let mut artefacts: Vec<PathBuf> = inventories.iter().map(|i| i.artefact.clone()).collect();
    // The image reuses the static archives' binaries, one platform per architecture.
    let image_sources: Vec<&Inventory> = inventories
        .iter()
        .filter(|i| {
            i.kind == targets::Artefact::Tarball
                && i.packages == CLI_PACKAGES
                && i.target.is_static()
        })
        .collect();
    let image = oci::write(
        &release,
        &out,
        &image_sources
            .iter()
            .map(|i| oci::Platform {
                target: i.target,
                binaries: &i.binaries,
            })
            .collect::<Vec<_>>(),
    )?;
    artefacts.push(image.clone());
    let page = (!args.no_web).then(|| out.join(web::PAGE_NAME));
    if let Some(page) = &page {
        web::build_page(web::Profile::Release, page, args.no_install)?;
        artefacts.push(page.clone());
    }
    let mut sboms = Vec::new();
    for i in &inventories {
        sboms.push(inventory::write_sbom(
            &i.artefact,
            &i.binaries,
            &i.compiled,
            i.target.triple,
            &release,
        )?);
    }
    let installer = out.join("install.sh");
    copy_executable(&workspace_root().join("contrib/install.sh"), &installer)?;
    let listed: Vec<PathBuf> = artefacts
        .iter()
        .chain(&sboms)
        .chain([&installer])
        .cloned()
        .collect();
    let sums = write_sha256sums(&out, &listed)?;
    let signature = sign::sign(&sums, args.sign_key.as_deref(), &release)?;

    if !args.no_verify {
        verify::checksums(&sums)?;
        sign::verify(&sums, &signature)?;
        for (i, sbom) in inventories.iter().zip(&sboms) {
            targets::check(i, &release)?;
            inventory::check(&i.binaries, sbom, i.packages, i.target.triple)?;
        }
        if let Some(page) = &page {
            verify::page(page, &release)?;
        }
        let platforms: Vec<_> = image_sources.iter().map(|i| i.target).collect();
        oci_check::check(&image, &platforms, &release)?;
        install_check::shellcheck(&installer)?;
        let cli_archive = inventories
            .iter()
            .find(|i| {
                i.kind == targets::Artefact::Tarball
                    && i.packages == CLI_PACKAGES
                    && i.target.triple == STATIC_TARGET
            })
            .context("no okms-cli archive of this machine's architecture to install")?;
        install_check::check(&out, file_name(&cli_archive.artefact)?)?;
        let by_machine = image_sources
            .iter()
            .map(|i| Ok((file_name(&i.artefact)?, i.target)))
            .collect::<Result<Vec<_>>>()?;
        install_check::picks_by_architecture(&out, &by_machine)?;
        eprintln!("dist: every artefact checked");
    }
    if args.check_reproducible {
        let mut flags = Vec::new();
        if args.no_deb {
            flags.push("--no-deb");
        }
        if args.no_web {
            flags.push("--no-web");
        }
        reproducible::check(&out, &flags)?;
    }
    println!("{}", out.display());
    Ok(())
}

fn release() -> Result<Release> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"))?,
        Err(_) => git(&["log", "-1", "--format=%ct"])
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
    };
    Ok(Release {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        commit,
        source_date_epoch,
    })
}

fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::copy(from, to)
        .with_context(|| format!("could not copy {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("could not make {} executable", to.display()))
}

fn write_sha256sums(out: &Path, artefacts: &[PathBuf]) -> Result<PathBuf> {
    let mut text = String::new();
    for path in artefacts {
        let bytes = fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
        let name = file_name(path)?;
        text.push_str(&format!(
            "{}  {name}\n",
            hex::encode(Sha256::digest(&bytes))
        ));
    }
    let sums = out.join("SHA256SUMS");
    fs::write(&sums, text).with_context(|| format!("could not write {}", sums.display()))?;
    eprintln!("wrote {}", sums.display());
    Ok(sums)
}

/// The last component of a path the task itself built.
pub fn file_name(path: &Path) -> Result<&str> {
    path.file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no UTF-8 file name", path.display()))
}
