//! The polling policy for "wait until READY".

use std::time::Duration;

use crate::retry::{backoff, jitter};

/// How to poll a credential until READY: capped exponential backoff with jitter, and a deadline.
///
/// Defaults follow what the Terraform provider does (0.5 s doubling to 10 s) with a 5-minute
/// deadline, since the Control Panel says issuance takes "a few minutes".
#[derive(Debug, Clone, PartialEq)]
pub struct WaitPolicy {
    /// Give up after this long.
    pub timeout: Duration,
    /// Wait after the first poll.
    pub initial_interval: Duration,
    /// Longest wait between polls.
    pub max_interval: Duration,
    /// Spread each wait randomly over [50 %, 100 %].
    pub jitter: bool,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            timeout: Duration::from_secs(300),
            initial_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(10),
            jitter: true,
        }
    }
}

impl WaitPolicy {
    /// A default policy with this deadline.
    pub fn with_timeout(timeout: Duration) -> Self {
        WaitPolicy {
            timeout,
            ..WaitPolicy::default()
        }
    }

    /// The wait after poll number `polls` (1-based).
    pub fn interval(&self, polls: u32) -> Duration {
        let d = backoff(self.initial_interval, self.max_interval, polls);
        if self.jitter { jitter(d) } else { d }
    }
}
