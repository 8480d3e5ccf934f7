//! Development automation for okms-rs, run as `cargo xtask <task>`.
//!
//! It needs nothing but cargo and the tools each task names; every task prints what it runs.

mod tasks;
mod util;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// okms-rs development tasks.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Xtask {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run the whole test suite (installs openssl, curl, softhsm2 and Python `cryptography` when missing).
    Test(tasks::test::Args),
    /// Time `okms-cli csr new`/`key new` against openssl, alternately in one run; print median ratios.
    Bench(tasks::bench::Args),
    /// Build release binaries, man pages and shell completions into target/dist.
    Dist(tasks::dist::Args),
    /// Start okms-emulator and walk the air-gapped flow with okms-cli, printing every step.
    Demo(tasks::demo::Args),
    /// Run every cargo-fuzz target for --seconds each (nightly toolchain) and summarize.
    Fuzz(tasks::fuzz::Args),
}

fn main() -> Result<()> {
    match Xtask::parse().task {
        Task::Test(args) => tasks::test::run(&args),
        Task::Bench(args) => tasks::bench::run(&args),
        Task::Dist(args) => tasks::dist::run(&args),
        Task::Demo(args) => tasks::demo::run(&args),
        Task::Fuzz(args) => tasks::fuzz::run(&args),
    }
}
