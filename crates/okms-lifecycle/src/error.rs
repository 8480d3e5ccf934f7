//! The one error type of okms-lifecycle.

use okms_api::Uuid;
use okms_api::kms::{DataPlaneError, DataPlaneOutcome, DataPlaneResponse};
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
    /// The new certificate was issued but the KMS domain did not accept it. `answer` is what
    /// the data plane said, typed: its status, and its error body (`error_code`, `error_id`,
    /// `errors`, `request_id`) when it sent one in the data-plane shape.
    #[error(
        "the KMS domain refused the new certificate of credential {id} (HTTP {}): {}",
        answer.status,
        RefusalDetail(answer)
    )]
    ProofRefused {
        /// The new credential.
        id: Uuid,
        /// The data plane's answer (never a success).
        answer: DataPlaneResponse,
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
    /// A renewal broker answered with a certificate for another credential or domain than the
    /// one presented: it is not deployed (and is abandoned).
    #[error("the broker's answer does not fit this renewal: {reason}")]
    UnexpectedAnswer {
        /// What does not fit.
        reason: String,
    },
    /// An issuer step was called before [`Issuer::prepare`](crate::Issuer::prepare) read what
    /// it needs (the saga never does this; a driver of its own might).
    #[error("{step} was asked for (domain {okms_id}) before the old credential was read")]
    NotPrepared {
        /// The domain.
        okms_id: Uuid,
        /// The step asked for.
        step: Step,
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

    /// The data plane's error body, for an [`Error::ProofRefused`] whose answer had one: its
    /// `error_code` tells an authentication refusal from an unavailable node
    /// ([`DataPlaneError::category`], [`DataPlaneError::refuses_the_caller`]).
    pub fn data_plane_error(&self) -> Option<&DataPlaneError> {
        match self {
            Error::ProofRefused { answer, .. } => match &answer.outcome {
                DataPlaneOutcome::Error(e) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The messages of a refusal, or its body when it was not in the data-plane shape.
struct RefusalDetail<'a>(&'a DataPlaneResponse);

impl std::fmt::Display for RefusalDetail<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0.outcome {
            DataPlaneOutcome::Error(e) if !e.errors.is_empty() => {
                f.write_str(&e.errors.join("; "))?;
                match &e.request_id {
                    // Support asks for it; it is no secret.
                    Some(id) => write!(f, " (request {id})"),
                    None => Ok(()),
                }
            }
            DataPlaneOutcome::Unparsed(text) => f.write_str(text),
            _ => f.write_str("no error message"),
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
