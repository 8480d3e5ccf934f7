//! `cargo xtask dist --check-reproducible`: the committed HEAD, cloned into a second directory
//! under target/, gives byte-identical artefacts. Two checkout paths are what differs between
//! two builders; the build remaps them (see `build` in mod.rs), every archive timestamp is the
//! commit's, entries are sorted and owned by root.
//!
//! The clone builds into the same target directory: cargo keeps the registry dependencies it
//! already compiled (their paths are the same for both) and compiles the workspace's own
//! crates again from the clone's path, so the check costs the workspace crates, not a second
//! full release build.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::util::{cargo, output_of, run_command, target_dir, workspace_root};

/// Clones HEAD, runs dist there without its checks into `target/reproducible/dist`, and
/// compares that SHA256SUMS (and the files it lists) with `out`'s.
pub fn check(out: &Path, flags: &[&str]) -> Result<()> {
    let status = output_of(
        Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=no"])
            .current_dir(workspace_root()),
    )?;
    ensure!(
        status.trim().is_empty(),
        "--check-reproducible builds the committed HEAD: commit or stash these changes first:\n{status}"
    );
    let base = target_dir().join("reproducible");
    if base.exists() {
        fs::remove_dir_all(&base).with_context(|| format!("could not empty {}", base.display()))?;
    }
    fs::create_dir_all(&base)?;
    let checkout = base.join("okms-rs");
    run_command(
        Command::new("git")
            .args(["clone", "--quiet", "--shared", "--no-checkout"])
            .arg(workspace_root())
            .arg(&checkout),
    )?;
    let head = output_of(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(workspace_root()),
    )?;
    run_command(Command::new("git").arg("-C").arg(&checkout).args([
        "checkout",
        "--quiet",
        "--detach",
        head.trim(),
    ]))?;
    let second = base.join("dist");
    let mut dist = cargo();
    dist.args(["run", "--locked", "--quiet", "-p", "xtask", "--", "dist"])
        .args(["--no-verify", "--no-install", "--out"])
        .arg(&second)
        .args(flags)
        .env("CARGO_TARGET_DIR", target_dir())
        .current_dir(&checkout);
    // run_command runs in the workspace root; this one must run in the clone.
    eprintln!("$ (in {}) {dist:?}", checkout.display());
    let ran = dist
        .status()
        .context("could not start cargo in the clone")?;
    ensure!(
        ran.success(),
        "dist in the clone {} failed",
        checkout.display()
    );

    let first_sums = fs::read_to_string(out.join("SHA256SUMS"))?;
    let second_sums = fs::read_to_string(second.join("SHA256SUMS"))?;
    if first_sums != second_sums {
        let differing: Vec<&str> = first_sums
            .lines()
            .filter(|line| !second_sums.lines().any(|l| l == *line))
            .filter_map(|line| line.split_once("  ").map(|(_, name)| name))
            .collect();
        bail!(
            "not reproducible: built from {} and from {}, these differ: {}",
            workspace_root().display(),
            checkout.display(),
            differing.join(", ")
        );
    }
    eprintln!(
        "checked reproducibility: {} artefacts byte-identical from {} and {}",
        first_sums.lines().count(),
        workspace_root().display(),
        checkout.display()
    );
    Ok(())
}
