//! `cargo xtask fresh-resolve`: what an embedder gets. The repository's Cargo.lock pins the
//! versions CI builds with, so a newer compatible dependency that deprecates something we call
//! (as rustls 0.23.48 did with `ring::default_provider`) warns in every embedder's build and
//! never in ours. This task copies the workspace's sources to a scratch directory, resolves
//! them afresh (`cargo update`), builds the library crates in the feature sets embedders use
//! with warnings denied, and checks that the runtime-free feature sets pull in no async HTTP
//! stack.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;

use crate::util::{cargo, output_of, target_dir, workspace_root};

/// Options of `cargo xtask fresh-resolve`.
#[derive(ClapArgs)]
pub struct Args {
    /// Resolve from cargo's local cache only (no registry access): the newest versions already
    /// downloaded, for trying the task on a machine without network.
    #[arg(long)]
    offline: bool,
}

/// The library builds, each `cargo build --lib -p CRATE` plus these arguments.
const BUILDS: &[(&str, &[&str])] = &[
    ("okms-csr", &[]),
    ("okms-api", &[]),
    ("okms-api", &["--no-default-features"]),
    ("okms-api", &["--no-default-features", "--features", "ureq"]),
    ("okms-api", &["--all-features"]),
    ("okms-lifecycle", &["--no-default-features"]),
    ("okms-pkcs11", &[]),
];

/// Packages that make an async HTTP stack; none may be in a runtime-free tree.
const ASYNC_HTTP: &[&str] = &["reqwest", "hyper", "hyper-util"];

/// Tokio features that are a runtime (`sync` alone is not: it works under any executor).
const TOKIO_RUNTIME: &[&str] = &["rt", "rt-multi-thread"];

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    let scratch = target_dir().join("fresh-resolve");
    let sources = scratch.join("workspace");
    copy_sources(&sources)?;

    let mut update = cargo();
    update.arg("update");
    if args.offline {
        update.arg("--offline");
    }
    run_in(&sources, &mut update)?;

    for (package, flags) in BUILDS {
        let mut build = cargo();
        build.args(["build", "--lib", "-p", package]).args(*flags);
        if args.offline {
            build.arg("--offline");
        }
        // Only our crates: cargo caps the lints of registry dependencies.
        build
            .env("RUSTFLAGS", "-D warnings")
            .env("CARGO_TARGET_DIR", scratch.join("target"));
        run_in(&sources, &mut build)?;
    }

    check_runtime_free(
        &sources,
        "okms-api",
        &["--no-default-features", "--features", "ureq"],
    )?;
    if has_feature(&sources, "okms-lifecycle", "reqwest")? {
        check_runtime_free(&sources, "okms-lifecycle", &["--no-default-features"])?;
    } else {
        eprintln!(
            "skipped: okms-lifecycle has no `reqwest` feature yet, so its no-default tree still \
             holds reqwest by design; the check runs once it has one"
        );
    }
    eprintln!("fresh resolve: every library build is free of warnings");
    Ok(())
}

/// Runs `command` in the scratch copy, echoing it (`util::run_command` runs in the
/// repository, whereas the copy is a workspace of its own).
fn run_in(dir: &Path, command: &mut std::process::Command) -> Result<()> {
    command.current_dir(dir);
    // Debug shows the directory too (`cd "…" && …`).
    eprintln!("$ {command:?}");
    let status = command
        .status()
        .with_context(|| format!("could not start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{:?} in {} failed with {status}", command, dir.display());
    }
    Ok(())
}

/// Copies the files git knows of (tracked, or new and not ignored: no target/, no .git) to
/// `dest`, replacing an earlier copy so that deleted files do not linger.
fn copy_sources(dest: &Path) -> Result<()> {
    let root = workspace_root();
    let listing = output_of(
        std::process::Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(&root),
    )?;
    if dest.exists() {
        fs::remove_dir_all(dest).with_context(|| format!("cannot empty {}", dest.display()))?;
    }
    let mut copied = 0usize;
    for relative in listing.split('\0').filter(|p| !p.is_empty()) {
        let from = root.join(relative);
        // A file deleted but not yet committed is still listed.
        if !from.is_file() {
            continue;
        }
        let to: PathBuf = dest.join(relative);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::copy(&from, &to).with_context(|| format!("cannot copy {}", from.display()))?;
        copied += 1;
    }
    eprintln!("copied {copied} source files to {}", dest.display());
    Ok(())
}

/// Fails if `package`'s normal dependency tree with `flags` holds an async HTTP stack or a
/// Tokio runtime.
fn check_runtime_free(dir: &Path, package: &str, flags: &[&str]) -> Result<()> {
    let mut tree = cargo();
    tree.args(["tree", "-p", package, "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}|{f}"])
        .args(flags)
        .current_dir(dir);
    let offenders = runtime_offenders(&output_of(&mut tree)?);
    if !offenders.is_empty() {
        bail!(
            "`cargo tree -p {package} {}` holds an async runtime or HTTP stack: {}",
            flags.join(" "),
            offenders.into_iter().collect::<Vec<_>>().join("; ")
        );
    }
    eprintln!(
        "{package} {}: no reqwest, hyper or Tokio runtime",
        flags.join(" ")
    );
    Ok(())
}

/// The lines of a `cargo tree --format "{p}|{f}"` output that name an async HTTP package or a
/// Tokio with a runtime feature.
fn runtime_offenders(tree: &str) -> BTreeSet<String> {
    tree.lines()
        .filter_map(|line| {
            let (package, features) = line.split_once('|')?;
            let name = package.split_whitespace().next()?;
            let features: Vec<&str> = features
                .trim_end_matches(" (*)")
                .split(',')
                .map(str::trim)
                .collect();
            let runtime = name == "tokio" && TOKIO_RUNTIME.iter().any(|f| features.contains(f));
            (ASYNC_HTTP.contains(&name) || runtime)
                .then(|| line.trim_end_matches(" (*)").to_owned())
        })
        .collect()
}

/// Whether `package` of the workspace in `dir` declares `feature`.
fn has_feature(dir: &Path, package: &str, feature: &str) -> Result<bool> {
    let metadata = output_of(
        cargo()
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--offline",
            ])
            .current_dir(dir),
    )?;
    let metadata: serde_json::Value =
        serde_json::from_str(&metadata).context("cargo metadata printed no JSON")?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let Some(found) = packages.iter().find(|p| p["name"] == package) else {
        bail!("cargo metadata lists no package {package}");
    };
    Ok(found["features"].get(feature).is_some())
}

#[cfg(test)]
mod tests {
    use super::runtime_offenders;

    #[test]
    fn tokio_sync_alone_passes_and_a_runtime_or_hyper_does_not() {
        let tree = "okms-api v0.1.0 (/x)|default\n\
                    tokio v1.54.1|default,sync\n\
                    ureq v3.5.2|_rustls,rustls-no-provider\n";
        assert!(runtime_offenders(tree).is_empty());
        let tree = "tokio v1.54.1|bytes,net,rt,sync (*)\n\
                    hyper v1.12.0|client,http1\n\
                    hyper-rustls v0.27.10|http1\n";
        let found = runtime_offenders(tree);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|l| l.starts_with("tokio")));
        assert!(found.iter().any(|l| l.starts_with("hyper v")));
    }
}
