//! The polling policy for "wait until READY".

use std::time::Duration;

use crate::retry::jitter;

/// How to poll a credential until READY, and a deadline.
///
/// The wait before the next poll is a tenth of the time waited so far, kept within
/// `initial_interval..=max_interval`: READY is noticed within max(`initial_interval`, 10 % of
/// the wait), and the polls thin out as the wait grows. With the defaults (1 s to 30 s) a wait
/// of 20 s is noticed by 22 s, and a wait that runs to the 5-minute deadline makes about 45
/// requests, 9 a minute on average (the first ten seconds poll every second).
#[derive(Debug, Clone, PartialEq)]
pub struct WaitPolicy {
    /// Give up after this long.
    pub timeout: Duration,
    /// Shortest wait between polls (the lag while the wait is young).
    pub initial_interval: Duration,
    /// Longest wait between polls.
    pub max_interval: Duration,
    /// Shorten each wait by up to 5 %, at random, so clients do not synchronise (never
    /// lengthen it: the lag bound holds with or without).
    pub jitter: bool,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            timeout: Duration::from_secs(300),
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
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

    /// The wait before the next poll, `waited` after the first one.
    pub fn interval(&self, waited: Duration) -> Duration {
        let floor = self.initial_interval.min(self.max_interval);
        let d = (waited / 10).clamp(floor, self.max_interval);
        if self.jitter {
            // jitter(d) is in [d/2, d]: a tenth of what it takes off is at most d/20.
            d.saturating_sub(d.saturating_sub(jitter(d)) / 10)
        } else {
            d
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls as `wait_until_ready` does with a clock that only moves by its sleeps, until
    /// `ready_at`; returns when READY was noticed and how many polls were made.
    fn simulate(policy: &WaitPolicy, ready_at: Duration) -> (Duration, u32) {
        let mut now = Duration::ZERO;
        let mut polls = 0;
        loop {
            polls += 1;
            if now >= ready_at || now >= policy.timeout {
                return (now, polls);
            }
            now += policy.interval(now).min(policy.timeout - now);
        }
    }

    #[test]
    fn ready_is_noticed_within_a_tenth_of_the_wait_or_a_second() {
        for jitter in [false, true] {
            let policy = WaitPolicy {
                jitter,
                ..WaitPolicy::default()
            };
            for ready_ms in (0..300_000).step_by(137) {
                let ready = Duration::from_millis(ready_ms);
                let (noticed, _) = simulate(&policy, ready);
                let bound = Duration::from_secs(1).max(ready / 10);
                assert!(
                    noticed - ready <= bound,
                    "READY at {ready:?} noticed at {noticed:?} (jitter {jitter})"
                );
            }
        }
        let (noticed, _) = simulate(&WaitPolicy::default(), Duration::from_secs(20));
        assert!(noticed <= Duration::from_secs(22), "{noticed:?}");
    }

    #[test]
    fn a_full_wait_averages_at_most_ten_requests_a_minute() {
        for jitter in [false, true] {
            let policy = WaitPolicy {
                jitter,
                ..WaitPolicy::default()
            };
            let (_, polls) = simulate(&policy, Duration::MAX);
            let minutes = policy.timeout.as_secs() / 60;
            assert!(
                u64::from(polls) <= 10 * minutes,
                "{polls} polls in {minutes} minutes (jitter {jitter})"
            );
        }
    }

    #[test]
    fn intervals_stay_within_their_bounds_for_any_input() {
        let p = WaitPolicy::default();
        for waited in [Duration::ZERO, Duration::from_secs(5), Duration::MAX] {
            let d = p.interval(waited);
            assert!(
                d >= p.initial_interval * 19 / 20 && d <= p.max_interval,
                "{d:?}"
            );
        }
        let odd = WaitPolicy {
            initial_interval: Duration::MAX,
            max_interval: Duration::from_secs(1),
            ..WaitPolicy::default()
        };
        assert!(odd.interval(Duration::ZERO) <= Duration::from_secs(1));
    }
}
