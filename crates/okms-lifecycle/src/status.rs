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
}

impl ExpiryStatus {
    /// The lowercase word used in every output format (`ok`, `warn`, `crit`, `expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryStatus::Ok => "ok",
            ExpiryStatus::Warn => "warn",
            ExpiryStatus::Crit => "crit",
            ExpiryStatus::Expired => "expired",
        }
    }

    /// A number for a metric gauge: 0 ok, 1 warn, 2 crit, 3 expired (worse is higher, so
    /// `max()` over a fleet is its worst).
    pub fn gauge(self) -> u8 {
        match self {
            ExpiryStatus::Ok => 0,
            ExpiryStatus::Warn => 1,
            ExpiryStatus::Crit => 2,
            ExpiryStatus::Expired => 3,
        }
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

/// Classifies a certificate that ends at `not_after`, at `now`.
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
    fn gauge_grows_with_severity() {
        let all = [
            ExpiryStatus::Ok,
            ExpiryStatus::Warn,
            ExpiryStatus::Crit,
            ExpiryStatus::Expired,
        ];
        let gauges: Vec<u8> = all.iter().map(|s| s.gauge()).collect();
        assert_eq!(gauges, [0, 1, 2, 3]);
        assert_eq!(ExpiryStatus::Crit.to_string(), "crit");
    }
}
