//! The expiry status of a certificate, for reports and monitoring.

use std::fmt;

use time::OffsetDateTime;

use crate::error::{Error, Result};

/// When a certificate starts to warn and to be critical, in days left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    warn_days: u32,
    crit_days: u32,
}

impl Thresholds {
    /// The defaults: warn with 30 days left, critical with 7.
    pub const DEFAULT: Thresholds = Thresholds {
        warn_days: 30,
        crit_days: 7,
    };

    /// Thresholds, refused when `crit_days` is greater than `warn_days`.
    ///
    /// # Errors
    /// [`Error::ThresholdsInverted`] naming both values.
    pub fn new(warn_days: u32, crit_days: u32) -> Result<Self> {
        if crit_days > warn_days {
            return Err(Error::ThresholdsInverted {
                warn_days,
                crit_days,
            });
        }
        Ok(Thresholds {
            warn_days,
            crit_days,
        })
    }

    /// Days left at which the status becomes [`ExpiryStatus::Warn`].
    pub fn warn_days(&self) -> u32 {
        self.warn_days
    }

    /// Days left at which the status becomes [`ExpiryStatus::Crit`].
    pub fn crit_days(&self) -> u32 {
        self.crit_days
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::DEFAULT
    }
}

/// How close to expiry a certificate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExpiryStatus {
    /// More than the warning threshold left.
    Ok,
    /// At most the warning threshold left.
    Warn,
    /// At most the critical threshold left.
    Crit,
    /// Past `notAfter`: the KMS refuses it.
    Expired,
    /// Before `notBefore`: the KMS refuses it until then (a clock set wrong where it was
    /// issued, or a certificate deployed too early). Last, so that `max()` never hides it
    /// behind a certificate that merely expires soon.
    NotYetValid,
}

impl ExpiryStatus {
    /// The lowercase word used in every output format (`ok`, `warn`, `crit`, `expired`,
    /// `not_yet_valid`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryStatus::Ok => "ok",
            ExpiryStatus::Warn => "warn",
            ExpiryStatus::Crit => "crit",
            ExpiryStatus::Expired => "expired",
            ExpiryStatus::NotYetValid => "not_yet_valid",
        }
    }

    /// A number for a metric gauge: 0 ok, 1 warn, 2 crit, 3 expired, 4 not yet valid (worse
    /// is higher, so `max()` over a fleet is its worst; the first four keep the numbers they
    /// had before `NotYetValid` existed, so that alert rules keep their meaning).
    pub fn gauge(self) -> u8 {
        match self {
            ExpiryStatus::Ok => 0,
            ExpiryStatus::Warn => 1,
            ExpiryStatus::Crit => 2,
            ExpiryStatus::Expired => 3,
            ExpiryStatus::NotYetValid => 4,
        }
    }

    /// Whether the KMS accepts the certificate at this instant (it may still expire soon).
    pub fn is_usable(self) -> bool {
        matches!(
            self,
            ExpiryStatus::Ok | ExpiryStatus::Warn | ExpiryStatus::Crit
        )
    }
}

impl fmt::Display for ExpiryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A certificate's status at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    /// The status.
    pub status: ExpiryStatus,
    /// Whole days left, rounded down; negative once expired (-1 during the first day after).
    pub days_left: i64,
    /// The end of validity.
    pub not_after: OffsetDateTime,
}

/// How far `notBefore` may lie ahead of `now` before a certificate counts as not yet valid.
///
/// `now` is the reporting host's clock, while the KMS judges with its own, which also stamped
/// `notBefore` (the moment the credential was created): a certificate fresh from a KMS whose
/// clock runs ahead of this host's is accepted by the KMS all the same, and must not page
/// anyone. A day matches the report's granularity (whole days left) and still catches a
/// certificate deployed days too early or issued under a clock that is badly wrong.
pub const NOT_BEFORE_TOLERANCE: time::Duration = time::Duration::days(1);

/// Classifies a certificate valid from `not_before` to `not_after`, at `now`: as [`classify`],
/// except that while `not_before` is more than [`NOT_BEFORE_TOLERANCE`] ahead it is
/// [`ExpiryStatus::NotYetValid`] (the days left still count to `not_after`).
pub fn classify_certificate(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    now: OffsetDateTime,
    thresholds: Thresholds,
) -> Expiry {
    let mut expiry = classify(not_after, now, thresholds);
    if not_before - now > NOT_BEFORE_TOLERANCE {
        expiry.status = ExpiryStatus::NotYetValid;
    }
    expiry
}

/// Classifies a certificate that ends at `not_after`, at `now`, when its start is unknown
/// (the API tells only the end); [`classify_certificate`] when the certificate is at hand.
pub fn classify(not_after: OffsetDateTime, now: OffsetDateTime, thresholds: Thresholds) -> Expiry {
    let left = not_after - now;
    // Rounded down, also below zero, so that "0 days left" means "expires within a day".
    let days_left = left.whole_seconds().div_euclid(86_400);
    let status = if left <= time::Duration::ZERO {
        ExpiryStatus::Expired
    } else if left <= time::Duration::days(i64::from(thresholds.crit_days)) {
        ExpiryStatus::Crit
    } else if left <= time::Duration::days(i64::from(thresholds.warn_days)) {
        ExpiryStatus::Warn
    } else {
        ExpiryStatus::Ok
    };
    Expiry {
        status,
        days_left,
        not_after,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const END: OffsetDateTime = datetime!(2026-12-31 00:00 UTC);

    fn at(left: Duration) -> Expiry {
        classify(END, END - left, Thresholds::new(30, 7).unwrap())
    }

    #[test]
    fn boundaries_fall_on_the_worse_side() {
        assert_eq!(at(Duration::days(31)).status, ExpiryStatus::Ok);
        assert_eq!(at(Duration::days(30)).status, ExpiryStatus::Warn);
        assert_eq!(at(Duration::days(8)).status, ExpiryStatus::Warn);
        assert_eq!(at(Duration::days(7)).status, ExpiryStatus::Crit);
        assert_eq!(at(Duration::seconds(1)).status, ExpiryStatus::Crit);
        assert_eq!(at(Duration::ZERO).status, ExpiryStatus::Expired);
        assert_eq!(at(Duration::days(-3)).status, ExpiryStatus::Expired);
    }

    #[test]
    fn days_left_round_down_also_when_expired() {
        assert_eq!(at(Duration::hours(36)).days_left, 1);
        assert_eq!(at(Duration::hours(23)).days_left, 0);
        assert_eq!(at(Duration::hours(-1)).days_left, -1);
        assert_eq!(at(Duration::days(-3)).days_left, -3);
    }

    #[test]
    fn crit_above_warn_is_refused_naming_both() {
        let e = Thresholds::new(7, 30).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("30 days") && text.contains("7 days"),
            "{text}"
        );
        // The library names no CLI flag: the CLI words that hint where it maps the error.
        assert!(!text.contains("--"), "{text}");
        assert!(Thresholds::new(7, 7).is_ok());
    }

    #[test]
    fn a_certificate_before_its_start_is_not_yet_valid() {
        let t = Thresholds::DEFAULT;
        let start = END - Duration::days(90);
        let now = start - NOT_BEFORE_TOLERANCE - Duration::seconds(1);
        let early = classify_certificate(start, END, now, t);
        assert_eq!(early.status, ExpiryStatus::NotYetValid);
        assert!(!early.status.is_usable());
        assert_eq!(early.days_left, 91);
        // Within the tolerance, the host's clock may just lag the issuer's.
        let skewed = start - NOT_BEFORE_TOLERANCE;
        assert_eq!(
            classify_certificate(start, END, skewed, t).status,
            ExpiryStatus::Ok
        );
        assert_eq!(
            classify_certificate(start, END, END, t).status,
            ExpiryStatus::Expired
        );
    }

    #[test]
    fn gauge_grows_with_severity() {
        let all = [
            ExpiryStatus::Ok,
            ExpiryStatus::Warn,
            ExpiryStatus::Crit,
            ExpiryStatus::Expired,
            ExpiryStatus::NotYetValid,
        ];
        let gauges: Vec<u8> = all.iter().map(|s| s.gauge()).collect();
        assert_eq!(gauges, [0, 1, 2, 3, 4]);
        assert!(all.windows(2).all(|w| w[0] < w[1]), "max() is the worst");
        assert_eq!(ExpiryStatus::Crit.to_string(), "crit");
    }
}
