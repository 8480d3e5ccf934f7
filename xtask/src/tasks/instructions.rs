//! Instruction counts of one run of a command: the stable figure of `cargo xtask bench`.
//! Wall-clock times on this 2-core machine move with whatever else runs; the number of
//! instructions a process executes does not (the same binary and arguments give the same
//! count to within a few hundred, whatever the load).
//!
//! Counted by valgrind's cachegrind with its cache simulation off (the cheapest tool that
//! counts): `perf stat` would be faster, but hardware counters are "not supported" on many
//! virtual machines, this one included.

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Whether valgrind is installed; the benchmark prints why it has no counts when it is not.
pub fn available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The instructions (user space, the process and its libraries) one run of `command` executes.
pub fn count(command: &Command) -> Result<u64> {
    let out = Command::new("valgrind")
        .args([
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
        ])
        .arg(command.get_program())
        .args(command.get_args())
        .stdout(Stdio::null())
        .output()
        .context("could not start valgrind")?;
    let report = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "{:?} failed under valgrind: {}",
            command.get_program(),
            report.trim()
        );
    }
    instructions_in(&report)
        .with_context(|| format!("valgrind printed no instruction count:\n{}", report.trim()))
}

/// The `I refs` total of cachegrind's summary (`==PID== I   refs:      4,859,018`).
fn instructions_in(report: &str) -> Option<u64> {
    let line = report.lines().find(|l| l.contains("I   refs:"))?;
    let digits: String = line
        .rsplit(':')
        .next()?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_cachegrinds_summary() {
        let report = "==15814== Cachegrind, a cache and branch-prediction profiler\n\
                      ==15814== \n\
                      ==15814== I   refs:      4,859,018\n";
        assert_eq!(instructions_in(report), Some(4_859_018));
        assert_eq!(instructions_in("==1== ERROR SUMMARY: 0 errors"), None);
    }
}
