//! `cargo xtask bench`: whole-process timings of `okms-cli` against `openssl`, run alternately
//! in one run so both see the same machine load, reported as median ratios.
//!
//! Goals (issue 2): `csr new` with P-256 at most half of `openssl req -new -newkey`'s time;
//! RSA key generation no slower than `openssl genpkey`. Library-level numbers live in the
//! criterion benches of `okms-csr` (`cargo bench -p okms-csr`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;

use crate::util::{cargo, run_command, workspace_root};

/// Options of `cargo xtask bench`.
#[derive(ClapArgs)]
pub struct Args {
    /// Rounds per algorithm for ECDSA (RSA uses a fifth of it, at least 5: keygen is slow).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(1..))]
    rounds: u16,
    /// Only these algorithms (e.g. ecdsa-p256,rsa-2048).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Write the keys and CSRs under this directory (default: a new one in the system's
    /// temporary directory). okms-cli syncs every key to disk and openssl does not, so a
    /// tmpfs such as /dev/shm, where a sync costs nothing, shows the difference without it.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
}

struct Case {
    algorithm: &'static str,
    openssl_newkey: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        algorithm: "ecdsa-p256",
        openssl_newkey: &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    },
    Case {
        algorithm: "ecdsa-p384",
        openssl_newkey: &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
    },
    Case {
        algorithm: "ecdsa-p521",
        openssl_newkey: &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"],
    },
    Case {
        algorithm: "rsa-2048",
        openssl_newkey: &["-newkey", "rsa:2048"],
    },
    Case {
        algorithm: "rsa-3072",
        openssl_newkey: &["-newkey", "rsa:3072"],
    },
    Case {
        algorithm: "rsa-4096",
        openssl_newkey: &["-newkey", "rsa:4096"],
    },
];

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    run_command(cargo().args(["build", "--release", "--locked", "-p", "okms-cli"]))?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|| workspace_root().join("target"));
    let okms_cli = target_dir.join("release").join("okms-cli");
    if Command::new("openssl").arg("version").output().is_err() {
        bail!("openssl is not installed: it is what this benchmark compares against");
    }
    let scratch = match &args.dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .context("could not create a scratch directory")?;
    println!("files written under {}", scratch.path().display());
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        ours.push(timed(Command::new(&okms_cli).arg("--version"))?);
        theirs.push(timed(Command::new("openssl").arg("version"))?);
    }
    let (a, b) = (median(&mut ours), median(&mut theirs));
    println!(
        "process start (okms-cli --version, openssl version): {:.2} ms, {:.2} ms\n",
        ms(a),
        ms(b)
    );

    println!(
        "{:<11} {:>6} {:>16} {:>16} {:>8}",
        "algorithm", "rounds", "okms-cli csr new", "openssl req -new", "ratio"
    );
    let mut keygen_rows = Vec::new();
    for case in CASES {
        if !args.only.is_empty() && !args.only.iter().any(|a| a == case.algorithm) {
            continue;
        }
        let rounds = if case.algorithm.starts_with("rsa") {
            (args.rounds / 5).max(5)
        } else {
            args.rounds
        };
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let key = scratch
                .path()
                .join(format!("{}-{round}.key", case.algorithm));
            let csr = scratch
                .path()
                .join(format!("{}-{round}.csr", case.algorithm));
            // Alternate which tool goes first so neither always runs on a warmer cache.
            let okms = || {
                timed(
                    Command::new(&okms_cli)
                        .args(["csr", "new", "--algorithm", case.algorithm, "--cn", "bench"])
                        .arg("--key-out")
                        .arg(with_suffix(&key, "okms"))
                        .arg("--out")
                        .arg(with_suffix(&csr, "okms")),
                )
            };
            let openssl = || {
                timed(
                    Command::new("openssl")
                        .args(["req", "-new", "-nodes", "-subj", "/CN=bench"])
                        .args(case.openssl_newkey)
                        .arg("-keyout")
                        .arg(with_suffix(&key, "openssl"))
                        .arg("-out")
                        .arg(with_suffix(&csr, "openssl")),
                )
            };
            if round % 2 == 0 {
                ours.push(okms()?);
                theirs.push(openssl()?);
            } else {
                theirs.push(openssl()?);
                ours.push(okms()?);
            }
        }
        let (a, b) = (median(&mut ours), median(&mut theirs));
        println!(
            "{:<11} {:>6} {:>13.2} ms {:>13.2} ms {:>8.2}",
            case.algorithm,
            rounds,
            ms(a),
            ms(b),
            a.as_secs_f64() / b.as_secs_f64()
        );
        if case.algorithm.starts_with("rsa") {
            keygen_rows.push(keygen(&okms_cli, case.algorithm, rounds, scratch.path())?);
        }
    }
    if !keygen_rows.is_empty() {
        println!(
            "\n{:<11} {:>6} {:>16} {:>16} {:>8}",
            "algorithm", "rounds", "okms-cli key new", "openssl genpkey", "ratio"
        );
        for row in keygen_rows {
            println!("{row}");
        }
    }
    println!(
        "\nratio = median okms-cli time / median openssl time (lower is better; whole processes)"
    );
    Ok(())
}

fn keygen(okms_cli: &Path, algorithm: &str, rounds: u16, scratch: &Path) -> Result<String> {
    let bits = algorithm.trim_start_matches("rsa-");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let ours_path = scratch.join(format!("keygen-{algorithm}-{round}.okms"));
        let theirs_path = scratch.join(format!("keygen-{algorithm}-{round}.openssl"));
        ours.push(timed(
            Command::new(okms_cli)
                .args(["key", "new", "--algorithm", algorithm])
                .arg("--out")
                .arg(&ours_path),
        )?);
        theirs.push(timed(
            Command::new("openssl")
                .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
                .arg(format!("rsa_keygen_bits:{bits}"))
                .arg("-out")
                .arg(&theirs_path),
        )?);
    }
    let (a, b) = (median(&mut ours), median(&mut theirs));
    Ok(format!(
        "{:<11} {:>6} {:>13.2} ms {:>13.2} ms {:>8.2}",
        algorithm,
        rounds,
        ms(a),
        ms(b),
        a.as_secs_f64() / b.as_secs_f64()
    ))
}

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    name.into()
}

fn timed(command: &mut Command) -> Result<Duration> {
    let start = Instant::now();
    let output = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("could not start {:?}", command.get_program()))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        bail!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(elapsed)
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
