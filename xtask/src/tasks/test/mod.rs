//! `cargo xtask test`: the README's test command. Installs the external programs the interop
//! tests compare against, then runs every test, doctest and corpus replay in the workspace.

use anyhow::Result;
use clap::Args as ClapArgs;

use crate::util::{cargo, run_command, workspace_root};

/// Options of `cargo xtask test`.
#[derive(ClapArgs)]
pub struct Args {
    /// Do not try to install missing tools (tests that need them then skip, loudly).
    #[arg(long)]
    no_install: bool,
    /// Extra arguments passed to `cargo test` (e.g. a test name filter) after `--`.
    #[arg(last = true)]
    cargo_args: Vec<String>,
}

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    if !args.no_install {
        run_command(&mut std::process::Command::new(
            workspace_root().join(".ci/install-test-deps"),
        ))?;
    }
    run_command(
        cargo()
            .args(["test", "--workspace", "--all-targets", "--locked"])
            .args(&args.cargo_args),
    )?;
    run_command(cargo().args(["test", "--workspace", "--doc", "--locked"]))
}
