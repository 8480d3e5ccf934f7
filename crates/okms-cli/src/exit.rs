//! The documented process exit codes.
//!
//! Scripts branch on these, so a code never changes meaning once released; new failure kinds
//! get new numbers. The table is printed by `okms-cli --help` (see [`EXIT_CODES_HELP`]).

/// Why the process ended, as the number the shell sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Any failure not listed below (I/O errors, unexpected conditions).
    Error = 1,
    /// The command line itself is wrong (unknown flag, missing argument, conflicting flags).
    Usage = 2,
    /// An input file or value is invalid (unreadable PEM, bad DN, name too long, wrong passphrase...).
    InvalidInput = 3,
    /// A check failed: bad CSR signature, key and CSR/certificate do not match, certificate out of date.
    VerificationFailed = 4,
    /// An output file already exists and `--force` was not given; nothing was written.
    RefusedOverwrite = 5,
    /// The OVHcloud API or the KMS answered with an error.
    Api = 6,
    /// Authentication or authorisation failed (missing or rejected credentials).
    Auth = 7,
    /// A wait or a network call ran out of time.
    Timeout = 8,
    /// `credential renew --exec`: the hook failed after the new pair was deployed (the old
    /// credential is kept live for what has not reloaded).
    HookFailed = 9,
    /// `credential renew` was stopped by SIGINT or SIGTERM; what it had made and not deployed
    /// was undone.
    Interrupted = 10,
    /// `credential renew --broker`: the broker refused the request (the CSR, a successor
    /// pending for another key, a request it does not take); nothing was deployed.
    BrokerRefused = 11,
    /// `credential renew --broker`: the broker stayed busy or rate-limited this host past the
    /// retries; nothing was deployed, and a later run tries again.
    BrokerBusy = 12,
}

impl Exit {
    /// The numeric process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// The exit-code table shown at the end of `okms-cli --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  error not listed below (I/O, unexpected condition)
  2  usage error (bad flags or arguments)
  3  invalid input (unreadable or malformed file, bad value, wrong passphrase)
  4  verification failed (bad signature, key/CSR/certificate mismatch, not in date)
  5  refused to overwrite an existing file (use --force); nothing was written
  6  API error (OVHcloud API or KMS answered with an error)
  7  authentication or authorisation error
  8  timeout
  9  credential renew: the --exec hook failed (the new pair is in place, the old credential kept)
 10  credential renew: stopped by SIGINT or SIGTERM (what was made and not deployed is undone)
 11  credential renew --broker: the broker refused the request (nothing deployed)
 12  credential renew --broker: the broker stayed busy past the retries (a later run retries)

Errors are printed on stderr as `error: ...`, followed by `caused by: ...` lines and, where the
fix is known, a `hint: ...` line. With --json, results go to stdout as JSON; diagnostics always
go to stderr.";
