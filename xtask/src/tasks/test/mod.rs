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
//!
//! The test binaries are built by one `cargo test --no-run` and then run by this task, a few
//! at once (`pool.rs`; `--jobs`): most of them wait (on the emulator's delays, on child
//! processes, on browsers), so one after another, as `cargo test` runs them, left the cores
//! idle most of the time. Each binary runs as cargo would run it (`binaries.rs`: in its
//! package's directory, with cargo's `Running` line before its output and its rerun hint
//! after a failure), its output shown as one block when it ends. The doctests run beside
//! them, through `cargo test --doc`.

mod binaries;
mod pool;
mod summary;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use okms_test_support::skip::{self as skip_log, SKIP_LOG_VAR};

use crate::util::{cargo, run_command, workspace_root};
use binaries::TestBinary;
use pool::{Finished, Job};
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
    /// Test binaries run at once [default: twice the number of cores: most of them wait;
    /// four times was faster by a minute on 2 cores but once raced a browser test]. 1 runs
    /// them one after another, as `cargo test` does.
    #[arg(long, env = "OKMS_TEST_JOBS")]
    jobs: Option<usize>,
    /// Extra arguments for `cargo test` after `--`: cargo's (e.g. `-p okms-csr --test keys`),
    /// then after a second `--` the test binaries' (e.g. a test name filter).
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
    let (cargo_args, test_args) = match args.cargo_args.iter().position(|a| a == "--") {
        Some(i) => (&args.cargo_args[..i], &args.cargo_args[i + 1..]),
        None => (&args.cargo_args[..], &[][..]),
    };
    let mut results = Results::default();
    let started = Instant::now();
    let built = build(cargo_args)?;
    let mut all_succeeded = built.is_some();
    let mut jobs = Vec::new();
    let mut doctests = cargo();
    doctests
        .args(["test", "--workspace", "--doc", "--no-fail-fast", "--locked"])
        .current_dir(workspace_root())
        .env(SKIP_LOG_VAR, skip_dir.path());
    jobs.push(Job {
        command: doctests,
        header: None,
        on_failure: None,
    });
    let mut binaries = built.unwrap_or_default();
    binaries.sort_by_key(|b| (run_order(b), b.package.clone(), b.source.clone()));
    let root = workspace_root();
    for binary in &binaries {
        jobs.push(binary_job(binary, test_args, skip_dir.path(), &root));
    }
    let workers = args.jobs.unwrap_or_else(|| {
        2 * std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    });
    eprintln!(
        "running {} test binaries and the doctests, {workers} at a time (--jobs)",
        binaries.len()
    );
    let mut stdout = std::io::stdout();
    let mut echo_failed = None;
    pool::run(jobs, workers, |finished: Finished| {
        all_succeeded &= finished.success;
        let took = format!("    (took {:.1} s)\n", finished.elapsed.as_secs_f64());
        if let Err(e) = stdout
            .write_all(&finished.block)
            .and_then(|()| stdout.write_all(took.as_bytes()))
            .and_then(|()| stdout.flush())
        {
            echo_failed.get_or_insert(e);
        }
        for line in String::from_utf8_lossy(&finished.block).lines() {
            results.line(line);
        }
    });
    if let Some(e) = echo_failed {
        return Err(e).context("could not echo the tests' output");
    }
    eprintln!(
        "built and ran the tests in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let skips = skip_log::read_dir(skip_dir.path())
        .with_context(|| format!("could not read the skips in {}", skip_dir.path().display()))?;
    drop(skip_dir);
    let counts = results.counts(&skips, all_succeeded);

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

/// Builds every test binary (`cargo test --no-run`, with `cargo_args`), cargo's messages on
/// standard error as it goes. `None` when the build failed.
fn build(cargo_args: &[String]) -> Result<Option<Vec<TestBinary>>> {
    let mut command = cargo();
    command
        .args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
        .args([
            "--locked",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .args(cargo_args)
        .current_dir(workspace_root())
        .stdout(Stdio::piped());
    let shown = format!("{command:?}");
    eprintln!("$ {shown}");
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {shown}"))?;
    let stdout = child.stdout.take().context("cargo's output is not piped")?;
    let mut binaries: Vec<TestBinary> = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("could not read cargo's messages")?;
        if let Some(binary) = binaries::from_message(&line)
            && !binaries.contains(&binary)
        {
            binaries.push(binary);
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("could not wait for {shown}"))?;
    Ok(status.success().then_some(binaries))
}

/// `binary` as cargo runs it: in its package's directory, with the variables cargo sets.
fn binary_job(binary: &TestBinary, test_args: &[String], skip_dir: &Path, root: &Path) -> Job {
    let mut command = Command::new(&binary.path);
    command
        .args(test_args)
        .current_dir(&binary.package_dir)
        .env("CARGO_MANIFEST_DIR", &binary.package_dir)
        .env("CARGO_PKG_NAME", &binary.package)
        .env(SKIP_LOG_VAR, skip_dir);
    Job {
        command,
        header: Some(binary.running_line(root)),
        on_failure: Some(binary.failed_line()),
    }
}

/// The binaries that run longest (web_page builds the page, then drives two browsers: about
/// 60 s of CPU; the others mostly wait, 45-65 s), longest first. Only the order of the start
/// depends on it: a stale entry costs a little time, never a test.
const LONGEST: &[(&str, &str)] = &[
    ("okms-e2e-tests", "--test web_page"),
    ("okms-e2e-tests", "--test broker_soak"),
    ("okms-cli", "--test renew"),
    ("okms-e2e-tests", "--test broker_faults"),
];

/// When `binary` starts: the longest first (so none is left running alone at the end), then
/// the end-to-end tests, okms-cli's, and the rest, alphabetically within each.
fn run_order(binary: &TestBinary) -> (usize, u8) {
    let known = LONGEST
        .iter()
        .position(|&(package, selection)| {
            binary.package == package && binary.selection == selection
        })
        .unwrap_or(LONGEST.len());
    let package = match binary.package.as_str() {
        "okms-e2e-tests" => 0,
        "okms-cli" => 1,
        _ => 2,
    };
    (known, package)
}
