//! `cargo xtask package`: proves the library crates can be published. `cargo package` builds
//! each one from its packaged sources alone (so a missing file, an unpublishable dependency
//! or missing metadata fails here, not on the day of the release), and their API docs build
//! with every rustdoc warning denied.

use anyhow::Result;
use clap::Args as ClapArgs;

use crate::util::{cargo, run_command};

/// The crates published for embedders; okms-cli and okms-emulator ship as binaries.
pub const PUBLISHED: &[&str] = &[
    "okms-csr",
    "okms-kmip",
    "okms-api",
    "okms-pkcs11",
    "okms-lifecycle",
];

/// Options of `cargo xtask package`.
#[derive(ClapArgs)]
pub struct Args {
    /// Package even with uncommitted changes (for trying it out before a commit).
    #[arg(long)]
    allow_dirty: bool,
}

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    forget_earlier_packages()?;
    let mut package = cargo();
    package.args(["package", "--locked"]);
    if args.allow_dirty {
        package.arg("--allow-dirty");
    }
    for name in PUBLISHED {
        package.args(["-p", name]);
    }
    run_command(&mut package)?;

    let mut doc = cargo();
    doc.args(["doc", "--no-deps", "--locked"]);
    for name in PUBLISHED {
        doc.args(["-p", name]);
    }
    doc.env("RUSTDOCFLAGS", "-D warnings");
    run_command(&mut doc)?;
    // okms-api's core is documented for embedders who leave out its HTTP stack, too.
    run_command(
        cargo()
            .args([
                "doc",
                "--no-deps",
                "--locked",
                "-p",
                "okms-api",
                "--no-default-features",
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )
}

/// Removes what earlier runs of `cargo package` unpacked for our own crates. Packaging several
/// crates at once verifies each against the others' tarballs through a local overlay registry
/// (`$CARGO_HOME/registry/src/-HASH/`), and cargo never unpacks a `name-version` directory that
/// already exists: without this, okms-lifecycle would be verified against okms-api as it was
/// at an earlier run of the same version, and fail (or pass) for code that no longer exists.
fn forget_earlier_packages() -> Result<()> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry").join("src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&src) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        // Only the local overlays ("-HASH"), never crates.io's own sources.
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for unpacked in std::fs::read_dir(registry.path())?.flatten() {
            let name = unpacked.file_name().to_string_lossy().into_owned();
            if PUBLISHED
                .iter()
                .any(|krate| is_unpacked_version_of(&name, krate))
            {
                std::fs::remove_dir_all(unpacked.path())?;
            }
        }
    }
    Ok(())
}

/// Whether `dir` is cargo's unpacked `krate-VERSION` (and not another crate's name that starts
/// the same way).
fn is_unpacked_version_of(dir: &str, krate: &str) -> bool {
    dir.strip_prefix(krate)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()))
}
