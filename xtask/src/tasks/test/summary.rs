//! Reading `cargo test`'s output (cargo's lines and libtest's, on one stream, in order) into
//! honest counts: libtest's passed/failed/ignored, with the tests that recorded a skip
//! (okms-test-support's `skip`) moved from passed to skipped, and ignored tests skipped too.

use std::collections::BTreeMap;

use okms_test_support::skip::Skip;

/// What libtest said of one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `test NAME ... ok`
    Passed,
    /// `test NAME ... FAILED`
    Failed,
    /// `test NAME ... ignored` or `ignored, REASON`
    Ignored(Option<String>),
}

/// The results of one or more `cargo test` runs, fed line by line.
#[derive(Debug, Default)]
pub struct Results {
    /// The test binary whose output comes next (a `Running` or `Doc-tests` line names it).
    current: Option<String>,
    /// Every test line, by (binary, test name).
    outcomes: BTreeMap<(String, String), Outcome>,
    /// Sums of the `test result:` lines.
    passed: u64,
    failed: u64,
    ignored: u64,
    /// Binaries that started and printed no `test result:` line (yet).
    unfinished: Vec<String>,
    /// Binaries cargo saw fail without a `test result:` line: they crashed or were killed.
    crashed: Vec<String>,
}

/// The counts the task ends with, and what they are made of.
#[derive(Debug, PartialEq, Eq)]
pub struct Counts {
    /// Tests that ran and passed.
    pub passed: u64,
    /// Failed tests, plus test binaries that stopped without a result (a crash, a build error).
    pub failed: u64,
    /// `(binary, test, reason)` of every test that did not run: recorded skips and ignored tests.
    pub skipped: Vec<(String, String, String)>,
    /// Why the failures that are not a failed test line were counted.
    pub other_failures: Vec<String>,
}

impl Results {
    /// Reads one line of output.
    pub fn line(&mut self, line: &str) {
        let line = line.trim_end();
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            // `Running unittests src/lib.rs (target/debug/deps/okms_csr-0123abcd)`
            if let Some(path) = rest
                .rsplit_once(" (")
                .and_then(|(_, p)| p.strip_suffix(')'))
            {
                let binary = path.rsplit('/').next().unwrap_or(path).to_owned();
                self.start(binary);
            }
        } else if let Some(krate) = trimmed.strip_prefix("Doc-tests ") {
            self.start(format!("doctests {krate}"));
        } else if trimmed.starts_with("error: test failed, to rerun pass") {
            // A binary with a result line failed because of its failed tests, counted there.
            if let Some(i) = self.current_unfinished() {
                self.crashed.push(self.unfinished.remove(i));
            }
        } else if let Some(result) = line.strip_prefix("test result: ") {
            self.result(result);
        } else if let Some(test) = line.strip_prefix("test ") {
            self.test_line(test);
        }
    }

    fn start(&mut self, binary: String) {
        self.unfinished.push(binary.clone());
        self.current = Some(binary);
    }

    fn result(&mut self, result: &str) {
        // `ok. 6 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.97s`
        let counts = result.split_once(". ").map_or(result, |(_, c)| c);
        for part in counts.split("; ") {
            let mut words = part.split_whitespace();
            let (Some(n), Some(what)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
        if let Some(i) = self.current_unfinished() {
            self.unfinished.remove(i);
        }
    }

    fn current_unfinished(&self) -> Option<usize> {
        let current = self.current.as_ref()?;
        self.unfinished.iter().position(|b| b == current)
    }

    fn test_line(&mut self, test: &str) {
        let Some((name, outcome)) = test.rsplit_once(" ... ") else {
            return;
        };
        let outcome = match outcome {
            "ok" => Outcome::Passed,
            "FAILED" => Outcome::Failed,
            "ignored" => Outcome::Ignored(None),
            other => match other.strip_prefix("ignored, ") {
                Some(reason) => Outcome::Ignored(Some(reason.to_owned())),
                None => return,
            },
        };
        // `should_panic` tests are listed as `NAME - should panic`.
        let name = name.strip_suffix(" - should panic").unwrap_or(name);
        let binary = self.current.clone().unwrap_or_default();
        self.outcomes.insert((binary, name.to_owned()), outcome);
    }

    /// The counts, given the recorded skips and whether every `cargo test` run succeeded.
    pub fn counts(&self, skips: &[Skip], cargo_succeeded: bool) -> Counts {
        let mut counts = Counts {
            passed: self.passed,
            failed: self.failed,
            skipped: Vec::new(),
            other_failures: Vec::new(),
        };
        for ((binary, test), outcome) in &self.outcomes {
            if let Outcome::Ignored(reason) = outcome {
                let reason = reason.clone().unwrap_or_else(|| "#[ignore]".to_owned());
                counts
                    .skipped
                    .push((binary.clone(), test.clone(), format!("ignored: {reason}")));
            }
        }
        // Libtest counted a test that was not listed (it should not happen); it is still skipped.
        let listed = counts.skipped.len() as u64;
        for _ in listed..self.ignored {
            counts.skipped.push((
                "?".to_owned(),
                "?".to_owned(),
                "ignored (not listed)".to_owned(),
            ));
        }
        for skip in skips {
            match self.outcomes.get(&(skip.binary.clone(), skip.test.clone())) {
                Some(Outcome::Passed) => {
                    counts.passed = counts.passed.saturating_sub(1);
                    counts.skipped.push((
                        skip.binary.clone(),
                        skip.test.clone(),
                        skip.reason.clone(),
                    ));
                }
                // Already counted as failed or ignored: not a pass to take back.
                Some(Outcome::Failed | Outcome::Ignored(_)) => {}
                None => {
                    // Counting it as passed would be the lie this task exists to prevent.
                    counts.failed += 1;
                    counts.other_failures.push(format!(
                        "{} in {} recorded a skip ({}) but no test result names it",
                        skip.test, skip.binary, skip.reason
                    ));
                }
            }
        }
        for binary in &self.crashed {
            counts.failed += 1;
            counts
                .other_failures
                .push(format!("{binary} stopped without a test result"));
        }
        if !cargo_succeeded {
            // A build error, or a failure cargo reported in a way not read above.
            if counts.failed == 0 {
                counts.failed = 1;
                counts
                    .other_failures
                    .push("cargo test failed without a failing test (a build error?)".to_owned());
            }
        }
        counts
    }

    /// Every test libtest reported as failed, as `binary: test`.
    pub fn failed_tests(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|(_, o)| **o == Outcome::Failed)
            .map(|((binary, test), _)| format!("{binary}: {test}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
   Compiling okms-csr v0.1.0 (/work/crates/okms-csr)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 5.00s
     Running unittests src/lib.rs (target/debug/deps/okms_csr-0123abcd)

running 3 tests
test key::tests::generates ... ok
test csr::tests::refuses - should panic ... ok
test slow::soak ... ignored, takes an hour
\x20
test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.10s

     Running tests/web_page.rs (target/debug/deps/web_page-4567ef)

running 3 tests
test chromium_page ... ok
test firefox_page ... ok
test generic ... FAILED

failures:

---- generic stdout ----
test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s

error: test failed, to rerun pass `-p tests --test web_page`
     Running benches/csr.rs (target/debug/deps/csr-89ab)
Testing csr/new
Success
   Doc-tests okms_csr

running 1 test
test crates/okms-csr/src/lib.rs - (line 17) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s
";

    fn results() -> Results {
        let mut results = Results::default();
        for line in OUTPUT.lines() {
            results.line(line);
        }
        results
    }

    fn skip(binary: &str, test: &str, reason: &str) -> Skip {
        Skip {
            binary: binary.into(),
            test: test.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn sums_the_result_lines_and_counts_ignored_tests_as_skipped() {
        let counts = results().counts(&[], true);
        assert_eq!(counts.passed, 5);
        assert_eq!(counts.failed, 1);
        assert_eq!(
            counts.skipped,
            vec![(
                "okms_csr-0123abcd".to_owned(),
                "slow::soak".to_owned(),
                "ignored: takes an hour".to_owned()
            )]
        );
        assert!(counts.other_failures.is_empty());
        assert_eq!(results().failed_tests(), vec!["web_page-4567ef: generic"]);
    }

    #[test]
    fn a_recorded_skip_moves_its_test_from_passed_to_skipped() {
        let skips = [
            skip("web_page-4567ef", "chromium_page", "no chromium"),
            skip("web_page-4567ef", "firefox_page", "no firefox"),
            // A should_panic test is matched without libtest's suffix.
            skip("okms_csr-0123abcd", "csr::tests::refuses", "no tool"),
        ];
        let counts = results().counts(&skips, true);
        assert_eq!(counts.passed, 2);
        assert_eq!(counts.failed, 1);
        assert_eq!(counts.skipped.len(), 4);
        assert!(counts.skipped.contains(&(
            "web_page-4567ef".to_owned(),
            "firefox_page".to_owned(),
            "no firefox".to_owned()
        )));
    }

    #[test]
    fn a_skip_recorded_by_a_failed_test_leaves_it_failed() {
        let counts = results().counts(&[skip("web_page-4567ef", "generic", "x")], true);
        assert_eq!(
            (counts.passed, counts.failed, counts.skipped.len()),
            (5, 1, 1)
        );
    }

    #[test]
    fn a_skip_no_result_names_is_a_failure_not_a_pass() {
        let counts = results().counts(&[skip("web_page-4567ef", "<unnamed thread>", "x")], true);
        assert_eq!((counts.passed, counts.failed), (5, 2));
        assert_eq!(counts.other_failures.len(), 1);
    }

    #[test]
    fn a_binary_that_fails_without_a_result_is_a_failure_one_without_libtest_is_not() {
        // The criterion bench has no libtest result line, and did not fail.
        assert_eq!(results().counts(&[], false).failed, 1);
        let mut results = results();
        for line in [
            "     Running tests/kms.rs (target/debug/deps/kms-cdef)",
            "",
            "running 2 tests",
            "error: test failed, to rerun pass `-p okms-emulator --test kms`",
            "",
            "Caused by:",
            "  process didn't exit successfully: (signal: 6, SIGABRT: process abort signal)",
        ] {
            results.line(line);
        }
        let counts = results.counts(&[], false);
        assert_eq!(counts.failed, 2);
        assert_eq!(
            counts.other_failures,
            vec!["kms-cdef stopped without a test result"]
        );
    }

    #[test]
    fn a_failed_build_is_a_failure() {
        let mut results = Results::default();
        results.line("error[E0308]: mismatched types");
        let counts = results.counts(&[], false);
        assert_eq!((counts.passed, counts.failed), (0, 1));
    }
}
