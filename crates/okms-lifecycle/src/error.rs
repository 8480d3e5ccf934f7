//! The one error type of okms-lifecycle.

use okms_api::Uuid;
use time::OffsetDateTime;

use crate::step::Step;

/// Everything okms-lifecycle can refuse or fail at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The critical threshold must not be greater than the warning one: a certificate would go
    /// critical before it warns.
    #[error(
        "the critical threshold ({crit_days} days) is greater than the warning threshold ({warn_days} days)"
    )]
    ThresholdsInverted {
        /// Days left at which the status becomes `warn`.
        warn_days: u32,
        /// Days left at which the status becomes `crit`.
        crit_days: u32,
    },
    /// A certificate whose `notAfter` is not after its `notBefore` has no lifetime to take
    /// two thirds of; only a renewal that is not on a schedule (forced) can replace it.
    #[error(
        "the certificate's validity is empty (notBefore {not_before}, notAfter {not_after}): it cannot be renewed on a schedule"
    )]
    EmptyLifetime {
        /// Start of validity.
        not_before: OffsetDateTime,
        /// End of validity.
        not_after: OffsetDateTime,
    },
    /// Renewing more days before expiry than the API can issue would make every renewal due
    /// at once.
    #[error("renewing {days} days before expiry is more than the longest validity (365 days)")]
    BeforeTooLong {
        /// The days asked for.
        days: u32,
        /// The most that can be asked for ([`MAX_DAYS_LEFT`](crate::MAX_DAYS_LEFT)).
        max_days: u32,
    },
    /// An API call of a renewal step failed.
    #[error("{step} failed")]
    Api {
        /// The step.
        step: Step,
        /// What okms-api said.
        #[source]
        source: okms_api::Error,
    },
    /// The new certificate was issued but the KMS domain did not accept it.
    #[error(
        "the KMS domain refused the new certificate of credential {id} (HTTP {status}): {detail}"
    )]
    ProofRefused {
        /// The new credential.
        id: Uuid,
        /// The data plane's HTTP status.
        status: u16,
        /// What it answered, as far as it said.
        detail: String,
    },
    /// The caller stopped the renewal (a signal, or its deadline) during a step; the saga
    /// then undid what it could, as for any failure of that step.
    #[error("{reason} while {step}")]
    Stopped {
        /// Why.
        reason: StopReason,
        /// The step that was running.
        step: Step,
    },
    /// The API reports no REST endpoint for the domain, so the proof has nowhere to go; the
    /// caller must give one.
    #[error("the API reports no REST endpoint for domain {okms_id}")]
    NoRestEndpoint {
        /// The domain.
        okms_id: Uuid,
    },
}

impl Error {
    /// The step an API call failed at, for an [`Error::Api`].
    pub fn step(&self) -> Option<Step> {
        match self {
            Error::Api { step, .. } | Error::Stopped { step, .. } => Some(*step),
            _ => None,
        }
    }
}

/// Why a caller stopped a renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Asked to stop (SIGINT, SIGTERM).
    Interrupted,
    /// The run's deadline passed.
    DeadlineExceeded,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::Interrupted => "interrupted",
            StopReason::DeadlineExceeded => "the deadline passed",
        })
    }
}

/// okms-lifecycle's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
