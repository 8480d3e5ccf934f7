//! `cargo xtask fresh-resolve`: what an embedder gets. The repository's Cargo.lock pins the
//! versions CI builds with, so a newer compatible dependency that deprecates something we call
//! (as rustls 0.23.48 did with `ring::default_provider`) warns in every embedder's build and
//! never in ours. This task copies the workspace's sources to a scratch directory, resolves
//! them afresh (`cargo update`), checks the library crates in the feature sets embedders use
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

/// The library builds, each `cargo check --lib -p CRATE` plus these arguments.
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

    let mut warnings = Vec::new();
    for (package, flags) in BUILDS {
        let mut build = cargo();
        build
            .args(["check", "--lib", "-p", package, "--message-format=json"])
            .args(*flags);
        if args.offline {
            build.arg("--offline");
        }
        // `check`, not `build`: warnings come from the front end, and no code is generated.
        // The repository's target directory, so that dependencies the fresh resolve left at
        // the locked version (already checked by clippy) are not checked again; warnings are
        // read from cargo's messages rather than denied with RUSTFLAGS, which would redo every
        // dependency.
        build
            .env("CARGO_TARGET_DIR", target_dir())
            .current_dir(&sources);
        eprintln!("$ cargo check --lib -p {package} {}", flags.join(" "));
        let out = build.output().context("could not start cargo")?;
        let found = our_warnings(&String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            bail!(
                "cargo check -p {package} {} failed after a fresh resolve:\n{}\n{}",
                flags.join(" "),
                found.join("\n"),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        warnings.extend(found);
    }
    if !warnings.is_empty() {
        bail!(
            "after a fresh resolve our libraries warn ({} diagnostics):\n{}",
            warnings.len(),
            warnings.join("\n")
        );
    }

    check_runtime_free(
        &sources,
        "okms-api",
        &["--no-default-features", "--features", "ureq"],
    )?;
    check_runtime_free(&sources, "okms-lifecycle", &["--no-default-features"])?;
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

/// The rendered warnings and errors cargo reported for the workspace's own packages (path
/// packages: a registry dependency's lints are capped and not ours to fix), deduplicated.
fn our_warnings(messages: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-message")
        .filter(|m| {
            m["package_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("path+file://"))
        })
        .filter(|m| matches!(m["message"]["level"].as_str(), Some("warning" | "error")))
        .filter_map(|m| m["message"]["rendered"].as_str().map(str::to_owned))
        .filter(|rendered| seen.insert(rendered.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{our_warnings, runtime_offenders};

    #[test]
    fn only_our_packages_warnings_count_once_each() {
        let messages = [
            r#"{"reason":"compiler-message","package_id":"path+file:///w/crates/okms-api#0.1.0","message":{"level":"warning","rendered":"warning: use of deprecated function"}}"#,
            r#"{"reason":"compiler-message","package_id":"path+file:///w/crates/okms-api#0.1.0","message":{"level":"warning","rendered":"warning: use of deprecated function"}}"#,
            r#"{"reason":"compiler-message","package_id":"registry+https://github.com/rust-lang/crates.io-index#rustls@0.23.48","message":{"level":"warning","rendered":"warning: theirs"}}"#,
            r#"{"reason":"compiler-message","package_id":"path+file:///w/crates/okms-csr#0.1.0","message":{"level":"note","rendered":"note: fine"}}"#,
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/crates/okms-csr#0.1.0"}"#,
        ]
        .join("\n");
        assert_eq!(
            our_warnings(&messages),
            vec!["warning: use of deprecated function".to_owned()]
        );
    }

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
