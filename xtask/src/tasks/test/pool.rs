//! Runs commands a few at a time and hands back each one's output as one block, in the order
//! they finish. Most test binaries of this workspace spend their time waiting (on an emulated
//! API's delays, on child processes, on browsers), so a machine with two cores runs several
//! at once far faster than one after another; whole blocks keep each binary's lines together
//! after its `Running` line, as `summary.rs` and a reader expect.

use std::collections::VecDeque;
use std::io::{Read, Seek};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A command whose output (standard output and error, interleaved as written) is shown as
/// one block.
pub struct Job {
    /// What to run.
    pub command: Command,
    /// Printed first (cargo's `Running` line), if any.
    pub header: Option<String>,
    /// Printed last when the command fails (cargo's rerun hint), if any.
    pub on_failure: Option<String>,
}

/// A job that ended.
pub struct Finished {
    /// Its header, output and, when it failed, its failure line.
    pub block: Vec<u8>,
    /// Whether it exited 0.
    pub success: bool,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs `jobs` at most `workers` at a time, in the order given, and calls `done` with each
/// as it finishes. A job that cannot be started counts as failed, its block saying why.
pub fn run(jobs: Vec<Job>, workers: usize, mut done: impl FnMut(Finished)) {
    let queue = Mutex::new(VecDeque::from(jobs));
    let (sender, receiver) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let sender = sender.clone();
            let queue = &queue;
            scope.spawn(move || {
                loop {
                    // A worker that panicked while holding the lock left only the queue behind.
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                    let Some(job) = next else { break };
                    if sender.send(run_one(job)).is_err() {
                        break;
                    }
                }
            });
        }
        // The workers hold the only senders left: the channel closes when the last one ends.
        drop(sender);
        for finished in receiver {
            done(finished);
        }
    });
}

fn run_one(mut job: Job) -> Finished {
    let started = Instant::now();
    let mut block = Vec::new();
    if let Some(header) = &job.header {
        block.extend_from_slice(header.as_bytes());
        block.push(b'\n');
    }
    let success = match capture(&mut job.command, &mut block) {
        Ok(success) => success,
        Err(e) => {
            block.extend_from_slice(
                format!("could not run {:?}: {e}\n", job.command.get_program()).as_bytes(),
            );
            false
        }
    };
    if !success && let Some(line) = &job.on_failure {
        block.extend_from_slice(line.as_bytes());
        block.push(b'\n');
    }
    Finished {
        block,
        success,
        elapsed: started.elapsed(),
    }
}

/// Runs `command` to its end, its output appended to `block`. The output goes to a file, not
/// a pipe: a process a test started and left running keeps a pipe open, and the read would
/// never end.
fn capture(command: &mut Command, block: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut output = tempfile::tempfile()?;
    let status = command
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output.try_clone()?)
        .status()?;
    output.rewind()?;
    output.read_to_end(block)?;
    if !block.ends_with(b"\n") && !block.is_empty() {
        block.push(b'\n');
    }
    Ok(status.success())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn shell(script: &str, header: &str) -> Job {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        Job {
            command,
            header: Some(header.to_owned()),
            on_failure: Some(format!("{header} failed")),
        }
    }

    #[test]
    fn each_output_is_one_block_and_a_failure_gets_its_line() {
        let jobs = vec![
            shell("echo out; echo err >&2; sleep 1; echo late", "slow"),
            shell("echo quick; exit 3", "quick"),
        ];
        let mut seen = Vec::new();
        run(jobs, 2, |f| {
            seen.push((String::from_utf8(f.block).unwrap(), f.success))
        });
        // Two at once: the quick one ends first, and the slow one's lines stay together.
        assert_eq!(
            seen,
            vec![
                ("quick\nquick\nquick failed\n".to_owned(), false),
                ("slow\nout\nerr\nlate\n".to_owned(), true),
            ]
        );
    }

    #[test]
    fn one_worker_runs_the_jobs_in_order_and_a_missing_program_is_a_failure() {
        let missing = Job {
            command: Command::new("/nonexistent/okms-test-binary"),
            header: None,
            on_failure: None,
        };
        let jobs = vec![shell("echo a", "first"), missing, shell("echo b", "third")];
        let mut seen = Vec::new();
        run(jobs, 1, |f| {
            seen.push((String::from_utf8(f.block).unwrap(), f.success))
        });
        assert_eq!(seen[0], ("first\na\n".to_owned(), true));
        assert!(
            !seen[1].1 && seen[1].0.starts_with("could not run"),
            "{seen:?}"
        );
        assert_eq!(seen[2], ("third\nb\n".to_owned(), true));
    }
}
