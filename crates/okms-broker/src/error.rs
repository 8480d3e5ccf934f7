//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong in the broker (the answers to hosts are `okms_api::broker` refusals, not
/// these).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy file is invalid; `line` is 1-based, 0 when the file as a whole is wrong.
    #[error("policy {}, line {line}: {message}", path.display())]
    Policy {
        /// The file.
        path: PathBuf,
        /// Where.
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be opened for appending (the audit log).
    #[error("cannot open {} for appending", path.display())]
    Append {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key, or a domain's CA, cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The listening address cannot be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An OVHcloud API call failed.
    #[error(transparent)]
    Api(#[from] okms_api::Error),
}

impl Error {
    /// The message and its causes on one line (for logs: none of them holds a secret).
    pub fn with_causes(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}
