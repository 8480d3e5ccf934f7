//! A broker's refusal, apart from the protocol module so that [`crate::Error`] can carry one
//! without the error module and the protocol importing each other.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why the broker refused, as its error body says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefusalCode {
    /// The body is not the route's JSON (malformed, or a field the route does not take).
    BadRequest,
    /// The CSR is not a PEM CSR, is badly signed, reuses the current key, or has a key
    /// algorithm the policy does not allow.
    BadCsr,
    /// No client certificate, or one that is not a READY credential the policy allows.
    Forbidden,
    /// No such route.
    NotFound,
    /// A different CSR while a successor is waiting for its confirm.
    Conflict,
    /// The body is over [`crate::broker::MAX_REQUEST_BYTES`].
    TooLarge,
    /// This host renews too often (per-host rate limit): retry after `Retry-After`.
    RateLimited,
    /// The broker is saturated, or the API is unavailable: retry after `Retry-After`.
    Unavailable,
    /// The request took too long to arrive.
    Timeout,
    /// The broker failed; nothing was left half done that it will not reconcile.
    Internal,
    /// A code this version does not know.
    #[serde(other)]
    Unknown,
}

/// An error answer's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalBody {
    /// What kind of refusal.
    pub error: RefusalCode,
    /// What is wrong and what to do, for a person.
    pub message: String,
}

/// A refusal from the broker, as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRefusal {
    /// HTTP status.
    pub status: u16,
    /// The refusal's code ([`RefusalCode::Unknown`] when the body is not the broker's).
    pub code: RefusalCode,
    /// The broker's message (or the start of a body that is not the broker's).
    pub message: String,
    /// `Retry-After`, when sent.
    pub retry_after: Option<Duration>,
}

impl BrokerRefusal {
    /// Whether the same request may succeed later (429, 503): wait `retry_after` (with
    /// jitter) and send it again.
    pub fn is_retryable(&self) -> bool {
        matches!(self.status, 429 | 503)
            || matches!(
                self.code,
                RefusalCode::RateLimited | RefusalCode::Unavailable
            )
    }
}
