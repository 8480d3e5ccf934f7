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
