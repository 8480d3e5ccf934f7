//! Skips that are counted as skips. Libtest has no way for a test to say at run time that it
//! did not run: a test that returns early is reported as passed. So every skip goes through
//! [`skip`], which prints a loud banner and, when `cargo xtask test` runs the suite, records
//! the skip (test binary, test name, reason) in a file under the directory named by
//! [`SKIP_LOG_VAR`]; the task then moves those tests from "passed" to "skipped" in its count.
//!
//! The record format lives here, next to the writer, and `xtask` reads it with [`read_dir`].

use std::io::Write;
use std::path::Path;

/// The environment variable naming the directory where skips are recorded. `cargo xtask test`
/// sets it to a fresh directory; unset (a plain `cargo test`), skips are only printed.
pub const SKIP_LOG_VAR: &str = "OKMS_SKIP_LOG";

/// One recorded skip.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skip {
    /// The file name of the test binary, as cargo's `Running ... (target/debug/deps/NAME)`
    /// line shows it, e.g. `web_page-0123456789abcdef`.
    pub binary: String,
    /// The test's full name as libtest prints it (`module::test_name`).
    pub test: String,
    /// Why it did not run.
    pub reason: String,
}

/// Marks the running test as skipped, for `reason` (what is missing and how to get it): a loud
/// banner on stderr, and a record under `$OKMS_SKIP_LOG` when it is set. The caller then
/// returns without running the rest of the test.
///
/// Call it on the test's own thread: libtest names that thread after the test, and that name
/// is how the skip is matched to the test's result.
///
/// # Panics
/// When `$OKMS_SKIP_LOG` is set but the record cannot be written: a skip that is not counted
/// would be reported as a pass.
pub fn skip(reason: &str) {
    eprintln!("\n!!!!!!!! SKIPPED: {reason} !!!!!!!!\n");
    if let Some(dir) = std::env::var_os(SKIP_LOG_VAR) {
        let current = std::thread::current();
        let skip = Skip {
            binary: current_binary(),
            test: current.name().unwrap_or("<unnamed thread>").to_owned(),
            reason: reason.to_owned(),
        };
        record(Path::new(&dir), &skip);
    }
}

fn current_binary() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "<unknown binary>".to_owned())
}

/// Appends `skip` as one line to this process's file in `dir`. One file per process and one
/// `write` per line (appends of a line are not interleaved), so parallel tests and test
/// binaries never mix their records.
fn record(dir: &Path, skip: &Skip) {
    let path = dir.join(format!("{}.skips", std::process::id()));
    let line = format!(
        "{}\t{}\t{}\n",
        one_field(&skip.binary),
        one_field(&skip.test),
        one_field(&skip.reason)
    );
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .unwrap_or_else(|e| panic!("cannot record a skip in {}: {e}", path.display()));
}

fn one_field(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// Every skip recorded in `dir`, sorted, each once (a test that reports several missing tools
/// is one skipped test; the first reason is kept).
///
/// # Errors
/// When the directory or a record file cannot be read, or a line is not a record.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<Skip>> {
    let mut skips: Vec<Skip> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        for line in text.lines() {
            let skip = parse_line(line).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("not a skip record: {line:?}"),
                )
            })?;
            if !skips
                .iter()
                .any(|s| s.binary == skip.binary && s.test == skip.test)
            {
                skips.push(skip);
            }
        }
    }
    skips.sort();
    Ok(skips)
}

fn parse_line(line: &str) -> Option<Skip> {
    let mut fields = line.splitn(3, '\t');
    Some(Skip {
        binary: fields.next()?.to_owned(),
        test: fields.next()?.to_owned(),
        reason: fields.next()?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_once_per_test_with_awkward_reasons_kept_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let first = Skip {
            binary: "web_page-0123".into(),
            test: "chromium_test".into(),
            reason: "no\tbrowser\nhere".into(),
        };
        record(dir.path(), &first);
        record(
            dir.path(),
            &Skip {
                reason: "a second reason".into(),
                ..first.clone()
            },
        );
        let other = Skip {
            binary: "kms-4567".into(),
            test: "module::curl".into(),
            reason: "no curl".into(),
        };
        record(dir.path(), &other);
        assert_eq!(
            read_dir(dir.path()).unwrap(),
            vec![
                other,
                Skip {
                    reason: "no browser here".into(),
                    ..first
                }
            ]
        );
    }

    #[test]
    fn a_line_that_is_not_a_record_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.skips"), "just one field\n").unwrap();
        assert!(read_dir(dir.path()).is_err());
    }
}
