//! When a certificate is due for renewal, and how long to wait first (jitter).

use std::time::Duration;

use time::OffsetDateTime;

use crate::error::{Error, Result};

/// The validity period of a certificate (its `notBefore` and `notAfter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl Lifetime {
    /// A lifetime, refused when it is empty (no schedule can be derived from it).
    ///
    /// # Errors
    /// [`Error::EmptyLifetime`] when `not_after` is not after `not_before`.
    pub fn new(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<Self> {
        if not_after <= not_before {
            return Err(Error::EmptyLifetime {
                not_before,
                not_after,
            });
        }
        Ok(Lifetime {
            not_before,
            not_after,
        })
    }

    /// The whole validity, in days rounded to the nearest day (at least 1): what to ask the
    /// API for so that the renewed certificate lives as long as the old one.
    pub fn validity_days(&self) -> u32 {
        let secs = (self.not_after - self.not_before).whole_seconds();
        let days = (secs + 43_200) / 86_400;
        u32::try_from(days.clamp(1, 365)).unwrap_or(365)
    }
}

/// When renewal becomes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenewAt {
    /// Once two thirds of the lifetime have passed (certbot's and step's default habit: a
    /// 90-day certificate renews with 30 days left, a 365-day one with about 122).
    #[default]
    TwoThirds,
    /// Once at most this many days are left (a command line would spell it `--before DAYS`).
    DaysLeft(u32),
}

/// The most days before expiry a renewal can be asked for: one less than the longest validity
/// the API issues (365 days), or every certificate would always be due.
pub const MAX_DAYS_LEFT: u32 = 364;

impl RenewAt {
    /// `DaysLeft(days)`, refused beyond what the API can issue.
    ///
    /// # Errors
    /// [`Error::BeforeTooLong`] for 365 days or more: every certificate would always be due.
    pub fn days_left(days: u32) -> Result<Self> {
        if days > MAX_DAYS_LEFT {
            return Err(Error::BeforeTooLong {
                days,
                max_days: MAX_DAYS_LEFT,
            });
        }
        Ok(RenewAt::DaysLeft(days))
    }

    /// The instant renewal becomes due for this lifetime.
    pub fn due_at(&self, lifetime: &Lifetime) -> OffsetDateTime {
        match self {
            RenewAt::TwoThirds => {
                let total = lifetime.not_after - lifetime.not_before;
                lifetime.not_before + total * 2 / 3
            }
            RenewAt::DaysLeft(days) => lifetime.not_after - time::Duration::days(i64::from(*days)),
        }
    }
}

/// Whether to renew now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Renew now: due since `since`.
    Due {
        /// When it became due.
        since: OffsetDateTime,
    },
    /// Nothing to do before `until`.
    NotDue {
        /// When it becomes due.
        until: OffsetDateTime,
    },
}

impl Decision {
    /// Whether renewal is due.
    pub fn is_due(&self) -> bool {
        matches!(self, Decision::Due { .. })
    }
}

/// Decides whether a certificate with this lifetime is due for renewal at `now`.
pub fn decide(lifetime: &Lifetime, at: RenewAt, now: OffsetDateTime) -> Decision {
    let due_at = at.due_at(lifetime);
    if now >= due_at {
        Decision::Due { since: due_at }
    } else {
        Decision::NotDue { until: due_at }
    }
}

/// A pause drawn uniformly from `[0, max]`, so that a fleet started by the same timer does not
/// call the API all at once. The same `seed` always gives the same pause (tests inject it; the
/// CLI seeds from the OS).
pub fn jitter(max: Duration, seed: u64) -> Duration {
    let Ok(max_ms) = u64::try_from(max.as_millis()) else {
        return max;
    };
    if max_ms == 0 {
        return Duration::ZERO;
    }
    // The modulo bias is below max_ms / 2^64: irrelevant for spreading start times.
    Duration::from_millis(splitmix64(seed) % (max_ms + 1))
}

/// One step of SplitMix64: a well-mixed 64-bit value from any seed, so that close seeds (e.g.
/// consecutive host numbers) still give unrelated pauses.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    fn year() -> Lifetime {
        Lifetime::new(
            datetime!(2026-01-01 00:00 UTC),
            datetime!(2026-12-31 00:00 UTC),
        )
        .unwrap()
    }

    #[test]
    fn two_thirds_of_a_364_day_lifetime_is_day_242_16h() {
        let lt = year();
        let due = RenewAt::TwoThirds.due_at(&lt);
        assert_eq!(due, datetime!(2026-08-31 16:00 UTC));
        assert_eq!(
            decide(&lt, RenewAt::TwoThirds, datetime!(2026-08-31 15:59 UTC)),
            Decision::NotDue { until: due }
        );
        assert_eq!(
            decide(&lt, RenewAt::TwoThirds, datetime!(2026-08-31 16:00 UTC)),
            Decision::Due { since: due }
        );
    }

    #[test]
    fn before_days_counts_back_from_not_after() {
        let lt = year();
        let at = RenewAt::days_left(30).unwrap();
        assert_eq!(at.due_at(&lt), datetime!(2026-12-01 00:00 UTC));
        assert!(!decide(&lt, at, datetime!(2026-11-30 23:59 UTC)).is_due());
        assert!(decide(&lt, at, datetime!(2026-12-01 00:00 UTC)).is_due());
        assert!(decide(&lt, at, datetime!(2027-06-01 00:00 UTC)).is_due());
    }

    #[test]
    fn before_of_a_year_or_more_is_refused_with_the_limit() {
        let e = RenewAt::days_left(365).unwrap_err();
        // The limit is a typed field (the CLI words it as a flag hint), not text to parse.
        assert!(
            matches!(
                e,
                Error::BeforeTooLong {
                    days: 365,
                    max_days: 364
                }
            ),
            "{e}"
        );
        assert!(!e.to_string().contains("--"), "{e}");
        assert!(RenewAt::days_left(364).is_ok());
    }

    #[test]
    fn empty_lifetime_is_refused_naming_both_dates() {
        let t = datetime!(2026-01-01 00:00 UTC);
        let e = Lifetime::new(t, t).unwrap_err();
        assert!(matches!(e, Error::EmptyLifetime { .. }));
        // The library names no CLI flag: the CLI words that hint where it maps the error.
        assert!(!e.to_string().contains("--"), "{e}");
    }

    #[test]
    fn validity_days_rounds_to_the_nearest_day() {
        assert_eq!(year().validity_days(), 364);
        let short = Lifetime::new(
            datetime!(2026-01-01 00:00 UTC),
            datetime!(2026-01-01 01:00 UTC),
        )
        .unwrap();
        assert_eq!(short.validity_days(), 1);
        let week = Lifetime::new(
            datetime!(2026-01-01 00:00 UTC),
            datetime!(2026-01-08 00:00:05 UTC),
        )
        .unwrap();
        assert_eq!(week.validity_days(), 7);
    }

    #[test]
    fn jitter_is_deterministic_bounded_and_spread() {
        let max = Duration::from_secs(3600);
        assert_eq!(jitter(max, 42), jitter(max, 42));
        let draws: Vec<Duration> = (0..1000).map(|s| jitter(max, s)).collect();
        assert!(draws.iter().all(|d| *d <= max));
        // Consecutive seeds must not cluster: each quarter of the range gets a fair share.
        for q in 0..4u32 {
            let lo = max * q / 4;
            let hi = max * (q + 1) / 4;
            let n = draws.iter().filter(|d| **d >= lo && **d < hi).count();
            assert!((150..350).contains(&n), "quarter {q} got {n} of 1000");
        }
        assert_eq!(jitter(Duration::ZERO, 7), Duration::ZERO);
    }
}
