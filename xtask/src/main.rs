//! Development automation for okms-rs, run as `cargo xtask <task>`.
//!
//! It needs nothing but cargo and the tools each task names; every task prints what it runs.

mod fresh_resolve;
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
    /// Run the whole test suite, installing what it needs (as CI); counts skips as skipped.
    Test(tasks::test::Args),
    /// Time `okms-cli csr new`/`key new` against openssl, alternately in one run; print median ratios.
    Bench(tasks::bench::Args),
    /// Build the static binaries, their archives, the Debian package and SHA256SUMS into target/dist, then check them.
    Dist(tasks::dist::Args),
    /// Check that the library crates can be published (`cargo package`) and their docs build without warnings.
    Package(tasks::package::Args),
    /// Start okms-emulator and walk the air-gapped flow with okms-cli, printing every step.
    Demo(tasks::demo::Args),
    /// Run one command and print its peak resident memory in KiB (used by `bench`).
    #[command(hide = true)]
    MaxRss {
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Run okms-lifecycle's embedding examples (async and blocking) against okms-emulator.
    Examples(tasks::examples::Args),
    /// Run every cargo-fuzz target for --seconds each (nightly toolchain) and summarize.
    Fuzz(tasks::fuzz::Args),
    /// Copy the sources to target/fresh-resolve, `cargo update` there, build the library crates with warnings denied, and check the runtime-free trees.
    FreshResolve(fresh_resolve::Args),
    /// Build okms-web for wasm32 and write the one-file offline page target/dist/okms-offline.html (+ .sha256).
    Web(tasks::web::Args),
}

fn main() -> Result<()> {
    match Xtask::parse().task {
        Task::Test(args) => tasks::test::run(&args),
        Task::Bench(args) => tasks::bench::run(&args),
        Task::Dist(args) => tasks::dist::run(&args),
        Task::Package(args) => tasks::package::run(&args),
        Task::Demo(args) => tasks::demo::run(&args),
        Task::Examples(args) => tasks::examples::run(&args),
        Task::Fuzz(args) => tasks::fuzz::run(&args),
        Task::Web(args) => tasks::web::run(&args),
        Task::FreshResolve(args) => fresh_resolve::run(&args),
        Task::MaxRss { command } => tasks::bench::print_max_rss(&command),
    }
}
