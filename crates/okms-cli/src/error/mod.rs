//! The binary's error type: an `anyhow` chain plus the exit code and an optional hint.
//!
//! Library crates return typed errors; here they are wrapped once, at the point where we know
//! what the failure means to the user (which exit code, which fix to suggest).
//!
//! The mapping of each library's error type lives here, one module each: `api` (okms-api:
//! failed calls, and values the API would refuse, named by the flag to fix), `broker` (a
//! renewal broker's refusals), `csr`
//! (okms-csr), `kmip` (okms-api's KMIP check) and `pkcs11` (okms-pkcs11). The libraries' messages name none of our flags;
//! where the fix is a flag, these modules say it.

use std::fmt;

use crate::exit::Exit;

mod api;
mod broker;
mod csr;
mod kmip;
mod pkcs11;

pub(crate) use api::{api_failure, iam_grant_hint, invalid_policy, invalid_request};
pub(crate) use csr::{csr_error, csr_signature_error};
pub(crate) use kmip::{kmip_failure, kmip_refused};
pub(crate) use pkcs11::p11_error;

/// How every message quotes a value the user gave: okms-api's rule (the first 64 characters and
/// the length), so that a 100 kB argument makes a one-line error.
pub(crate) use okms_api::quote_value as quoted;

/// A failed command: what went wrong (with its causes), how to exit, and what to try.
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// The error and its chain of causes.
    pub error: anyhow::Error,
    /// The fix, when we know it.
    pub hint: Option<String>,
}

/// Result of a command.
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// A new error with this exit code and message.
    pub fn new(exit: Exit, msg: impl fmt::Display) -> Self {
        Self {
            exit,
            error: anyhow::anyhow!("{msg}"),
            hint: None,
        }
    }

    /// Adds the hint line.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the hint unless the error already has a more precise one (e.g. a broker's
    /// refusal, which running again does not fix).
    #[must_use]
    pub fn hint_unless_hinted(mut self, hint: impl Into<String>) -> Self {
        if self.hint.is_none() {
            self.hint = Some(hint.into());
        }
        self
    }

    /// Adds an outer message, keeping the current one as a cause.
    #[must_use]
    pub fn context(mut self, msg: impl fmt::Display + Send + Sync + 'static) -> Self {
        self.error = self.error.context(msg);
        self
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CliError({:?}, {:#})", self.exit, self.error)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        Self {
            exit: Exit::Error,
            error,
            hint: None,
        }
    }
}

/// Attaches an exit code (and a message) to any error.
pub trait ResultExt<T> {
    /// Classifies the error with `exit` and wraps it in `msg`.
    fn or_exit(self, exit: Exit, msg: impl fmt::Display + Send + Sync + 'static) -> CliResult<T>;
}

impl<T, E> ResultExt<T> for Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn or_exit(self, exit: Exit, msg: impl fmt::Display + Send + Sync + 'static) -> CliResult<T> {
        self.map_err(|e| CliError {
            exit,
            error: anyhow::Error::new(e).context(msg),
            hint: None,
        })
    }
}

/// A usage error (exit 2) for flag combinations clap cannot express.
pub(crate) fn usage(msg: impl std::fmt::Display) -> CliError {
    CliError::new(Exit::Usage, msg)
}
