//! `cargo xtask bench`: whole-process timings of `okms-cli` against `openssl`, run alternately
//! in one run so both see the same machine load, reported as median ratios.
//!
//! Goals: `csr new` with P-256 at most 0.35 of `openssl req -new -newkey`'s time, with the
//! instructions each executes as the stable figure ([`instructions`], ECDSA only: RSA key
//! generation's prime search makes its count a matter of luck); RSA key generation at most 0.7
//! of `openssl genpkey`'s time; `csr new` peaks at no more than 8 MiB of resident memory. It measures the binary users get: by default the static musl build that
//! `cargo xtask dist` ships (`--binary glibc` for the Debian package's). Library-level numbers
//! live in the criterion benches of `okms-csr` (`cargo bench -p okms-csr`). Last, the READY lag
//! against the emulator ([`ready_lag`]; alone with `--ready-lag-only`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;

use crate::tasks::{dist, instructions, ready_lag};
use crate::util::target_dir;

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
    /// Which build of okms-cli to measure.
    #[arg(long, value_enum, default_value_t = Binary::Static)]
    binary: Binary,
    /// Only the READY lag: how late `credential create` notices a credential the emulator
    /// makes READY after 20 s (goal: by 22 s).
    #[arg(long)]
    ready_lag_only: bool,
    /// Only the renewal broker: renewals/s, p99 latency, its own time, peak RSS and API calls
    /// per renewal with 100 and 1,000 concurrent hosts (see bench_broker.rs).
    #[arg(long)]
    broker: bool,
}

/// The two release builds of okms-cli.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Binary {
    /// The static musl binary of the release archives.
    Static,
    /// The dynamically linked glibc binary of the Debian package.
    Glibc,
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
    if args.ready_lag_only {
        return ready_lag::run().map(|_| ());
    }
    if args.broker {
        return super::bench_broker::run();
    }
    let okms_cli = match args.binary {
        Binary::Static => {
            dist::build_release(Some(dist::STATIC_TARGET), &["okms-cli"])?;
            target_dir()
                .join(dist::STATIC_TARGET)
                .join("release")
                .join("okms-cli")
        }
        Binary::Glibc => {
            dist::build_release(None, &["okms-cli"])?;
            target_dir().join("release").join("okms-cli")
        }
    };
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
    let mut memory_rows = Vec::new();
    let mut instruction_rows = Vec::new();
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
            let okms = || timed(&mut okms_csr_new(&okms_cli, case, &key, &csr));
            let openssl = || timed(&mut openssl_req(case, &key, &csr));
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
        let key = scratch.path().join(format!("{}-rss.key", case.algorithm));
        let csr = scratch.path().join(format!("{}-rss.csr", case.algorithm));
        memory_rows.push(format!(
            "{:<11} {:>13.1} MiB {:>13.1} MiB",
            case.algorithm,
            mib(peak_rss(&okms_csr_new(&okms_cli, case, &key, &csr))?),
            mib(peak_rss(&openssl_req(case, &key, &csr))?),
        ));
        if case.algorithm.starts_with("rsa") {
            keygen_rows.push(keygen(&okms_cli, case.algorithm, rounds, scratch.path())?);
        } else if instructions::available() {
            let key = scratch.path().join(format!("{}-count.key", case.algorithm));
            let csr = scratch.path().join(format!("{}-count.csr", case.algorithm));
            let ours = instructions::count(&okms_csr_new(&okms_cli, case, &key, &csr))?;
            let theirs = instructions::count(&openssl_req(case, &key, &csr))?;
            instruction_rows.push(format!(
                "{:<11} {:>17} {:>17} {:>8.3}",
                case.algorithm,
                thousands(ours),
                thousands(theirs),
                ours as f64 / theirs as f64
            ));
        }
    }
    println!(
        "\n{:<11} {:>17} {:>17}   peak memory (max RSS) of one csr new",
        "algorithm", "okms-cli", "openssl"
    );
    for row in memory_rows {
        println!("{row}");
    }
    println!(
        "(a process's max RSS includes its spawner's memory at the spawn; the floor here, /bin/true: {:.1} MiB)",
        mib(peak_rss(&Command::new("true"))?)
    );
    if !instruction_rows.is_empty() {
        println!(
            "\n{:<11} {:>17} {:>17} {:>8}   instructions of one csr new (valgrind)",
            "algorithm", "okms-cli", "openssl", "ratio"
        );
        for row in instruction_rows {
            println!("{row}");
        }
    } else if !instructions::available() {
        println!(
            "\n(no instruction counts: valgrind is not installed; `apt-get install valgrind`)"
        );
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
    println!();
    ready_lag::run().map(|_| ())
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

fn okms_csr_new(okms_cli: &Path, case: &Case, key: &Path, csr: &Path) -> Command {
    let mut command = Command::new(okms_cli);
    command
        .args(["csr", "new", "--algorithm", case.algorithm, "--cn", "bench"])
        .arg("--key-out")
        .arg(with_suffix(key, "okms"))
        .arg("--out")
        .arg(with_suffix(csr, "okms"));
    command
}

fn openssl_req(case: &Case, key: &Path, csr: &Path) -> Command {
    let mut command = Command::new("openssl");
    command
        .args(["req", "-new", "-nodes", "-subj", "/CN=bench"])
        .args(case.openssl_newkey)
        .arg("-keyout")
        .arg(with_suffix(key, "openssl"))
        .arg("-out")
        .arg(with_suffix(csr, "openssl"));
    command
}

/// The peak resident memory of one run of `command`, in KiB.
///
/// Measured by a fresh, small `xtask max-rss` process rather than by this one: Linux counts
/// the spawner's own resident memory into the child's max RSS (a spawned child starts on the
/// parent's address space), so a large spawner would hide the number being measured.
fn peak_rss(command: &Command) -> Result<u64> {
    let xtask = std::env::current_exe().context("cannot find the xtask binary")?;
    let out = Command::new(xtask)
        .arg("max-rss")
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args())
        .stderr(Stdio::inherit())
        .output()
        .context("could not start xtask max-rss")?;
    if !out.status.success() {
        bail!("measuring the memory of {:?} failed", command.get_program());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("xtask max-rss printed {text:?}, not a number of KiB"))
}

/// `xtask max-rss -- COMMAND...`: runs the command once and prints its max RSS in KiB.
pub fn print_max_rss(command: &[std::ffi::OsString]) -> Result<()> {
    let (program, args) = command
        .split_first()
        .context("max-rss needs a command to run")?;
    // openssl draws its key-generation progress on stderr: keep the table readable.
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("could not start {program:?}"))?;
    if !status.success() {
        bail!("{program:?} failed with {status}");
    }
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .context("getrusage failed")?;
    // Linux reports ru_maxrss in KiB.
    println!("{}", usage.max_rss());
    Ok(())
}

/// `4859018` as `4,859,018`, as valgrind prints it.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(thousands(4_859_018), "4,859,018");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(0), "0");
    }
}
