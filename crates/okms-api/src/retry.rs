//! When and how long to wait before trying again.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Retry policy for idempotent calls (GET, DELETE, token fetches). The create POST never retries.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, first one included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Upper bound of one wait.
    pub max_backoff: Duration,
    /// Upper bound honoured for a server's `Retry-After`.
    pub max_retry_after: Duration,
    /// Spread waits randomly over [50 %, 100 %] of the backoff so clients do not synchronise.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait after failed attempt number `attempt` (1-based), honouring `retry_after`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_retry_after);
        }
        let d = backoff(self.initial_backoff, self.max_backoff, attempt);
        if self.jitter { jitter(d) } else { d }
    }
}

/// `initial * 2^(attempt-1)`, capped.
pub(crate) fn backoff(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    initial.checked_mul(factor).unwrap_or(max).min(max)
}

/// A random duration in [d/2, d]. Not for cryptography: std's per-process random hasher keys
/// are enough to de-synchronise clients.
pub(crate) fn jitter(d: Duration) -> Duration {
    let r = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let frac = (r % 1000) as f64 / 1000.0;
    // `mul_f64` panics on overflow (possible near `Duration::MAX`); keep `d` then.
    Duration::try_from_secs_f64(d.as_secs_f64() * (0.5 + 0.5 * frac)).unwrap_or(d)
}

/// Statuses worth retrying for idempotent calls.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}
