//! `cargo xtask test`: the README's test command. Installs what the whole suite needs (as CI
//! does), runs every test, doctest and corpus replay in the workspace, and counts honestly: a
//! test that could not run is skipped, never passed.
//!
//! Libtest has no run-time skip: a test that finds a tool missing returns early and libtest
//! reports a pass. So skips go through okms-test-support's `skip`, which records them in the
//! directory this task names in `OKMS_SKIP_LOG`; the task reads cargo's and libtest's output
//! (`summary.rs`), moves those tests from passed to skipped (ignored tests are skipped too),
//! lists each skipped test with its reason, and ends with one line `N passed, M failed, K
//! skipped`.

mod summary;

use std::io::{BufRead, BufReader, Write};
use std::process::Command;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use okms_test_support::skip::{self as skip_log, SKIP_LOG_VAR};

use crate::util::{cargo, run_command, workspace_root};
use summary::Results;

/// Options of `cargo xtask test`.
#[derive(ClapArgs)]
pub struct Args {
    /// Install nothing: tests whose tools are missing are counted as skipped.
    #[arg(long)]
    no_install: bool,
    /// Fail when any test was skipped (CI sets OKMS_REQUIRE_ALL=1).
    #[arg(long, env = "OKMS_REQUIRE_ALL", value_parser = clap::builder::BoolishValueParser::new())]
    require_all: bool,
    /// Extra arguments passed to `cargo test` (e.g. a test name filter) after `--`.
    #[arg(last = true)]
    cargo_args: Vec<String>,
}

/// Exit status of .ci/install-web-deps when the wasm32 target cannot be installed here.
const WASM_TARGET_UNAVAILABLE: i32 = 3;

/// Runs the task. Exits the process with status 1 on a failure (or a skip under
/// `--require-all`), after the summary line.
pub fn run(args: &Args) -> Result<()> {
    if !args.no_install {
        install()?;
    }
    let skip_dir = tempfile::tempdir().context("could not create the skip log directory")?;
    let mut results = Results::default();
    let mut all_targets = cargo();
    all_targets
        .args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
        .arg("--locked")
        .args(&args.cargo_args)
        .env(SKIP_LOG_VAR, skip_dir.path());
    let mut cargo_succeeded = cargo_test(all_targets, &mut results)?;
    let mut doctests = cargo();
    doctests
        .args(["test", "--workspace", "--doc", "--no-fail-fast", "--locked"])
        .env(SKIP_LOG_VAR, skip_dir.path());
    cargo_succeeded &= cargo_test(doctests, &mut results)?;
    let skips = skip_log::read_dir(skip_dir.path())
        .with_context(|| format!("could not read the skips in {}", skip_dir.path().display()))?;
    drop(skip_dir);
    let counts = results.counts(&skips, cargo_succeeded);

    let mut report = String::new();
    if !counts.skipped.is_empty() {
        report.push_str(&format!("\nskipped ({}):\n", counts.skipped.len()));
        for (binary, test, reason) in &counts.skipped {
            report.push_str(&format!("  {binary}: {test}\n      {reason}\n"));
        }
    }
    let failed_tests = results.failed_tests();
    if !failed_tests.is_empty() || !counts.other_failures.is_empty() {
        report.push_str("\nfailed:\n");
        for failure in failed_tests.iter().chain(&counts.other_failures) {
            report.push_str(&format!("  {failure}\n"));
        }
    }
    if args.require_all && !counts.skipped.is_empty() {
        report.push_str(
            "\n--require-all (OKMS_REQUIRE_ALL=1): a skipped test is a failure of the task\n",
        );
    }
    report.push_str(&format!(
        "\n{} passed, {} failed, {} skipped\n",
        counts.passed,
        counts.failed,
        counts.skipped.len()
    ));
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
        .context("could not print the summary")?;
    if counts.failed > 0 || (args.require_all && !counts.skipped.is_empty()) {
        std::process::exit(1);
    }
    Ok(())
}

/// What CI installs: the tools the interop and token tests talk to, and the wasm toolchain and
/// browsers of the offline page's tests. Where the wasm32 target cannot be installed, the page
/// tests are skipped (and counted so).
fn install() -> Result<()> {
    run_command(&mut Command::new(
        workspace_root().join(".ci/install-test-deps"),
    ))?;
    let web = workspace_root().join(".ci/install-web-deps");
    eprintln!("$ {}", web.display());
    let status = Command::new(&web)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("could not start {}", web.display()))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(WASM_TARGET_UNAVAILABLE) => {
            eprintln!(
                "!!!!!!!! the wasm32 target cannot be installed here: the offline page's tests will be skipped !!!!!!!!"
            );
            Ok(())
        }
        _ => anyhow::bail!("{} failed with {status}", web.display()),
    }
}

/// Runs one `cargo test`, cargo's and the tests' output on one pipe so that each test line
/// follows the `Running` line of its binary, echoed as it comes and read into `results`.
/// Returns whether cargo succeeded.
fn cargo_test(mut command: Command, results: &mut Results) -> Result<bool> {
    command.current_dir(workspace_root());
    let shown = format!("{command:?}");
    eprintln!("$ {shown}");
    let (reader, writer) = std::io::pipe().context("could not create a pipe")?;
    command
        .stdout(writer.try_clone().context("could not duplicate a pipe")?)
        .stderr(writer);
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {shown}"))?;
    // The command holds the pipe's write ends: close ours, or the reading never ends.
    drop(command);
    let mut reader = BufReader::new(reader);
    let mut stdout = std::io::stdout();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .context("could not read cargo test's output")?
            == 0
        {
            break;
        }
        stdout
            .write_all(&line)
            .context("could not echo cargo test's output")?;
        results.line(&String::from_utf8_lossy(&line));
    }
    let status = child
        .wait()
        .with_context(|| format!("could not wait for {shown}"))?;
    Ok(status.success())
}
