//! `cargo xtask fuzz`: runs every cargo-fuzz target of `fuzz/` for a bounded time and prints a
//! per-target summary parsed from libFuzzer's final statistics.
//!
//! Each target reads its committed seed corpus `fuzz/corpus/NAME/` and writes what it finds
//! to `target/fuzz-corpus/NAME/` (ignored by git), so a run never changes the committed
//! corpus. The full libFuzzer output of each target goes to `target/fuzz-logs/NAME.log`; a
//! crash leaves its input in `fuzz/artifacts/NAME/` and makes the task fail. The target
//! bodies are `okms_e2e_tests::fuzz_targets`, which `cargo test` also replays on stable.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;

use crate::util::{run_command, workspace_root};

/// Options of `cargo xtask fuzz`.
#[derive(ClapArgs)]
pub struct Args {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Only this target (repeatable); default: every file of fuzz/fuzz_targets/.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// Exit 0 with a note, instead of failing, when no nightly toolchain is installed.
    #[arg(long)]
    skip_without_nightly: bool,
    /// Sanitizer for cargo fuzz: none (fastest; our crates forbid unsafe code), address, ...
    #[arg(long, default_value = "none")]
    sanitizer: String,
    /// Seconds after which one input counts as a hang (libFuzzer -timeout).
    #[arg(long, default_value_t = 60)]
    input_timeout: u64,
    /// Stop each target after this many inputs (libFuzzer -runs), whichever of this and
    /// --seconds comes first. With --seed, a run bounded by inputs is reproducible: CI uses
    /// both, so its verdict does not depend on how fast the machine is that day.
    #[arg(long)]
    runs: Option<u64>,
    /// libFuzzer's random seed (-seed, 1 or more); default: a new one each run. With a seed,
    /// each target starts from its committed seeds only (new inputs go to a fresh directory,
    /// not to target/fuzz-corpus/), so that the round depends on nothing but the commit.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    seed: Option<u64>,
}

/// What one run reported.
#[derive(Default)]
struct Stats {
    executions: Option<u64>,
    exec_per_sec: Option<u64>,
    new_units: Option<u64>,
    corpus: Option<String>,
    seconds: f64,
    crashed: bool,
    /// The run failed without a crash report (a build error, a bad option).
    failed: bool,
    artifact: Option<String>,
}

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    let root = workspace_root();
    let fuzz_dir = root.join("fuzz");
    let all = list_targets(&fuzz_dir)?;
    let targets: Vec<String> = if args.targets.is_empty() {
        all.clone()
    } else {
        for t in &args.targets {
            if !all.contains(t) {
                bail!(
                    "unknown fuzz target {t}; the targets are: {}",
                    all.join(", ")
                );
            }
        }
        args.targets.clone()
    };
    if !has_nightly() {
        let msg = "no nightly toolchain: cargo-fuzz needs one (rustup toolchain install nightly)";
        if args.skip_without_nightly {
            println!("{msg}; skipping the fuzz round (--skip-without-nightly)");
            println!("the committed corpora are still replayed by `cargo test -p okms-e2e-tests`");
            return Ok(());
        }
        bail!("{msg}; pass --skip-without-nightly to make this a no-op");
    }
    ensure_cargo_fuzz()?;

    // One build for all targets, so each run below measures fuzzing time only.
    let mut build = fuzz_command(&fuzz_dir);
    build.args(["build", "--sanitizer", &args.sanitizer]);
    run_command(&mut build)?;

    // A seeded round must not read what earlier rounds found: its inputs are the committed
    // seeds and the seed alone.
    let fresh = match args.seed {
        Some(_) => Some(tempfile::tempdir().context("cannot create a scratch corpus directory")?),
        None => None,
    };
    let work_root = match &fresh {
        Some(dir) => dir.path().to_path_buf(),
        None => root.join("target").join("fuzz-corpus"),
    };
    let log_root = root.join("target").join("fuzz-logs");
    std::fs::create_dir_all(&log_root)
        .with_context(|| format!("cannot create {}", log_root.display()))?;
    let mut rows = Vec::new();
    for name in &targets {
        let seeds = fuzz_dir.join("corpus").join(name);
        if count_files(&seeds) == 0 {
            bail!("fuzz/corpus/{name} is missing or empty: commit a seed corpus first");
        }
        let work = work_root.join(name);
        std::fs::create_dir_all(&work)
            .with_context(|| format!("cannot create {}", work.display()))?;
        let log = log_root.join(format!("{name}.log"));
        println!("== {name}: {} s (log: {})", args.seconds, log.display());
        let stats = run_target(&fuzz_dir, name, &work, &seeds, &log, args)?;
        rows.push((name.clone(), stats, count_files(&work)));
    }

    println!();
    println!(
        "{:<26} {:>12} {:>8} {:>7} {:>10} {:>12}  result",
        "target", "executions", "exec/s", "time s", "new units", "corpus"
    );
    let show = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
    let mut failed = Vec::new();
    let mut short = Vec::new();
    for (name, s, work_files) in &rows {
        if let (Some(runs), Some(done)) = (args.runs, s.executions)
            && done < runs
            && !s.crashed
        {
            short.push(format!("{name} ({done} of {runs})"));
        }
        let result = if s.crashed {
            failed.push(name.clone());
            format!(
                "CRASH {}",
                s.artifact
                    .as_deref()
                    .unwrap_or("(see the log for the input)")
            )
        } else {
            "ok".to_owned()
        };
        println!(
            "{:<26} {:>12} {:>8} {:>7.0} {:>10} {:>12}  {result}",
            name,
            show(s.executions),
            show(s.exec_per_sec),
            s.seconds,
            show(s.new_units),
            s.corpus
                .clone()
                .unwrap_or_else(|| format!("{work_files} files")),
        );
    }
    println!(
        "(corpus: libFuzzer's final corpus, units/size; {})",
        if fresh.is_some() {
            "a seeded round keeps no new inputs"
        } else {
            "new inputs are in target/fuzz-corpus/"
        }
    );
    if !short.is_empty() {
        // Stopped by --seconds first: the verdict now depends on the machine's speed.
        println!(
            "warning: --seconds ended these targets before --runs: {}; this round is not \
             reproducible (raise --seconds)",
            short.join(", ")
        );
    }
    if !failed.is_empty() {
        bail!(
            "fuzz targets failed: {}. Reproduce a crash with `cargo +nightly fuzz run NAME fuzz/artifacts/NAME/<file>` \
             in fuzz/, fix the code, and commit the input under fuzz/regressions/NAME/",
            failed.join(", ")
        );
    }
    Ok(())
}

/// The targets: the file stems of `fuzz/fuzz_targets/*.rs`, sorted.
fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("no fuzz targets in {}", dir.display());
    }
    Ok(names)
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .count()
        })
        .unwrap_or(0)
}

/// `cargo +nightly` through rustup's proxy, in `fuzz/`, without the variables the calling
/// (stable) cargo set, which would otherwise pin the stable toolchain or its target dir.
fn fuzz_command(fuzz_dir: &Path) -> Command {
    let mut c = Command::new("cargo");
    c.arg("+nightly").arg("fuzz").current_dir(fuzz_dir);
    for var in [
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "CARGO_TARGET_DIR",
    ] {
        c.env_remove(var);
    }
    c
}

fn has_nightly() -> bool {
    Command::new("cargo")
        .args(["+nightly", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_cargo_fuzz() -> Result<()> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    eprintln!("cargo-fuzz is not installed; installing it");
    run_command(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

fn run_target(
    fuzz_dir: &Path,
    name: &str,
    work: &Path,
    seeds: &Path,
    log: &Path,
    args: &Args,
) -> Result<Stats> {
    let mut cmd = fuzz_command(fuzz_dir);
    cmd.args(["run", "--sanitizer", &args.sanitizer, name])
        .arg(work)
        .arg(seeds)
        .arg("--")
        .arg(format!("-max_total_time={}", args.seconds))
        .arg(format!("-timeout={}", args.input_timeout))
        .arg("-print_final_stats=1")
        .args(args.runs.map(|n| format!("-runs={n}")))
        .args(args.seed.map(|n| format!("-seed={n}")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start cargo fuzz run {name}"))?;
    let mut log_file =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    // libFuzzer writes everything on stderr; stdout only carries what the target prints.
    let stdout = child.stdout.take();
    let out_thread = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stdout {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    });
    let mut stats = Stats::default();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            use std::io::Write;
            writeln!(log_file, "{line}").ok();
            parse_line(&line, &mut stats);
            if is_notable(&line) {
                println!("   {line}");
            }
        }
    }
    let status = child.wait().context("cargo fuzz run did not finish")?;
    let stdout_text = out_thread.join().unwrap_or_default();
    if !stdout_text.is_empty() {
        use std::io::Write;
        writeln!(log_file, "--- stdout ---\n{stdout_text}").ok();
    }
    stats.seconds = started.elapsed().as_secs_f64();
    if !status.success() && !stats.crashed {
        stats.failed = true;
    }
    Ok(stats)
}

/// Lines worth showing live: progress pulses, the end, and anything about a failure.
fn is_notable(line: &str) -> bool {
    line.contains("DONE")
        || line.contains("pulse")
        || line.contains("panicked")
        || line.contains("ERROR")
        || line.contains("Test unit written")
        || line.contains("timeout")
        || line.starts_with("error")
}

fn stat_value(line: &str, key: &str) -> Option<u64> {
    line.strip_prefix(key)?.trim().parse().ok()
}

/// Picks the numbers from libFuzzer's `-print_final_stats=1` output and its last status line.
fn parse_line(line: &str, stats: &mut Stats) {
    if let Some(v) = stat_value(line, "stat::number_of_executed_units:") {
        stats.executions = Some(v);
    } else if let Some(v) = stat_value(line, "stat::average_exec_per_sec:") {
        stats.exec_per_sec = Some(v);
    } else if let Some(v) = stat_value(line, "stat::new_units_added:") {
        stats.new_units = Some(v);
    } else if let Some(rest) = line.split_once(" corp: ").map(|(_, r)| r) {
        // "#123 DONE   cov: 1 ft: 2 corp: 40/12Kb lim: ..."
        if let Some(c) = rest.split_whitespace().next() {
            stats.corpus = Some(c.to_owned());
        }
    }
    if let Some(rest) = line.split_once("Test unit written to ").map(|(_, r)| r) {
        stats.artifact = Some(rest.trim().to_owned());
        stats.crashed = true;
    }
    if line.contains("==ERROR: libFuzzer") {
        stats.crashed = true;
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_libfuzzer_final_stats() {
        let mut s = Stats::default();
        for line in [
            "#4096\tpulse  cov: 10 ft: 12 corp: 8/1Kb exec/s: 2048 rss: 40Mb",
            "#90000\tDONE   cov: 2207 ft: 9132 corp: 512/88Kb lim: 4096 exec/s: 1500 rss: 91Mb",
            "Done 90000 runs in 61 second(s)",
            "stat::number_of_executed_units: 90000",
            "stat::average_exec_per_sec:     1475",
            "stat::new_units_added:          321",
            "stat::slowest_unit_time_sec:    0",
            "stat::peak_rss_mb:              91",
        ] {
            parse_line(line, &mut s);
        }
        assert_eq!(s.executions, Some(90000));
        assert_eq!(s.exec_per_sec, Some(1475));
        assert_eq!(s.new_units, Some(321));
        assert_eq!(s.corpus.as_deref(), Some("512/88Kb"));
        assert!(s.artifact.is_none() && !s.crashed);
        parse_line(
            "artifact_prefix='fuzz/artifacts/x/'; Test unit written to fuzz/artifacts/x/crash-ab12",
            &mut s,
        );
        assert_eq!(s.artifact.as_deref(), Some("fuzz/artifacts/x/crash-ab12"));
        assert!(s.crashed);
    }

    #[test]
    fn lists_the_committed_targets() {
        let targets = list_targets(&workspace_root().join("fuzz")).expect("fuzz/fuzz_targets");
        assert!(targets.iter().any(|t| t == "key_import"), "{targets:?}");
    }
}
