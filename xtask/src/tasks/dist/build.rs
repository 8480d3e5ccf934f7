//! How dist builds a release binary: `cargo auditable build --release --locked` for an explicit
//! target, with the checkout's paths remapped (the same binaries from any checkout directory)
//! and the C compiler ring needs for that target.

use std::process::Command;

use anyhow::{Context, Result, bail};

use super::targets::{self, ReleaseTarget};
use super::{Release, inventory, release};
use crate::tasks::web;
use crate::util::{cargo, run_command, target_dir, workspace_root};

/// Adds a rustup target when it is missing, or says what to do when that is impossible.
fn ensure_target(target: &str) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).lines().any(|l| l == target) => Ok(()),
        Ok(_) => run_command(Command::new("rustup").args(["target", "add", target])).with_context(
            || format!("the {target} target is needed for the static binaries; install it with `rustup target add {target}`"),
        ),
        Err(e) => bail!(
            "rustup is not available ({e}): install the {target} standard library for this toolchain to build the static binaries"
        ),
    }
}

/// A release build of `packages` for `target` (the host's when `None`), as `dist` makes it
/// but without the embedded dependency list (which needs cargo-auditable).
pub fn build_release(target: Option<&str>, packages: &[&str]) -> Result<()> {
    let mut command = cargo();
    command.arg("build");
    prepare(&mut command, &release()?, target, packages)?;
    run_command(&mut command)
}

/// `cargo auditable build` of `packages` for `target`, in one build: each binary carries its
/// dependency list, and cargo's own messages tell which packages it compiled into them
/// (`inventory.rs`).
pub fn build(release: &Release, target: &str, packages: &[&str]) -> Result<inventory::Packages> {
    let mut command = cargo();
    command.args([
        "auditable",
        "build",
        "--message-format=json-render-diagnostics",
    ]);
    prepare(&mut command, release, Some(target), packages)?;
    command
        .current_dir(workspace_root())
        .stdout(std::process::Stdio::piped());
    eprintln!("$ {command:?}");
    let mut child = command.spawn().context("could not start cargo auditable")?;
    let messages = child.stdout.take().context("cargo has no stdout")?;
    let compiled = inventory::compiled_for(
        std::io::BufReader::new(messages),
        &target_dir().join(target),
    );
    let status = child.wait().context("cargo auditable did not finish")?;
    if !status.success() {
        bail!(
            "cargo auditable build of {} for {target} failed with {status}",
            packages.join(", ")
        );
    }
    compiled
}

/// The options and environment of a release build as dist makes it.
fn prepare(
    command: &mut Command,
    release: &Release,
    target: Option<&str>,
    packages: &[&str],
) -> Result<()> {
    command.args(["--release", "--locked"]);
    if let Some(target) = target {
        ensure_target(target)?;
        command.args(["--target", target]);
        // Panic locations are compiled in as paths: remapped, the binaries are the same from
        // any checkout directory. With --target cargo gives these flags to the target's
        // crates only, so the build scripts keep their cache.
        let mut flags = web::remapped_paths();
        if target == WINDOWS_TARGET {
            // GNU ld stamps a PE file with the link's time and keeps a COFF symbol table whose
            // order and temporary object names change from one link to the next: without
            // both, two builds of one commit differ (`--check-reproducible` found it).
            flags.push("-Clink-arg=-Wl,--no-insert-timestamp".into());
            flags.push("-Cstrip=symbols".into());
        }
        command.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"));
        if let Some(release_target) = targets::by_triple(target) {
            cross_tools(command, release_target)?;
        }
    }
    for package in packages {
        command.args(["-p", package]);
    }
    command.env("OKMS_BUILD_COMMIT", &release.commit);
    Ok(())
}

/// The C compiler, archiver and linker `target` needs, set for cc-rs and cargo.
fn cross_tools(command: &mut Command, target: &ReleaseTarget) -> Result<()> {
    let suffix = target.triple.replace('-', "_");
    let toolchain = &target.toolchain;
    if let Some(compiler) = &toolchain.c_compiler {
        let found = compiler
            .commands
            .iter()
            .find(|cc| Command::new(cc).arg("--version").output().is_ok())
            .with_context(|| {
                format!(
                    "no C compiler for {} (ring needs one): install the {} or put {} on PATH",
                    target.triple,
                    compiler.provider,
                    compiler.commands.join(" or ")
                )
            })?;
        command.env(format!("CC_{suffix}"), found);
    }
    if let Some(archiver) = toolchain.archiver {
        command.env(format!("AR_{suffix}"), archiver);
    }
    if let Some(linker) = toolchain.linker {
        // A path is the workspace's own script; a bare name, a command on PATH.
        let linker = match linker.contains('/') {
            true => workspace_root().join(linker).into_os_string(),
            false => linker.into(),
        };
        command.env(
            format!("CARGO_TARGET_{}_LINKER", suffix.to_ascii_uppercase()),
            linker,
        );
    }
    Ok(())
}

/// The Windows target, cross-built here with MinGW-w64.
pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";

/// MinGW-w64's C compiler for x86_64 Windows, also the linker of the `.exe`.
pub const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";
