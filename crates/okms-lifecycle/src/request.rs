//! What a caller asks of a renewal ([`RenewalRequest`], [`Endpoint`]) and what it is told as
//! the renewal goes ([`Progress`]): shared by the saga and the issuers, which import it and
//! not each other.

use std::time::Duration;

use okms_api::kms::{PropagationRetry, PropagationWait};
use okms_api::{ReconcileEvent, ReconcileOptions, Uuid, WaitPolicy};

use crate::step::Step;

/// Where the proof's mutual-TLS call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// This URL.
    Given(String),
    /// The domain's REST endpoint, as the API reports it.
    AsReported,
}

/// One renewal, as decided by the caller: which credential, and how.
#[derive(Debug, Clone)]
pub struct RenewalRequest {
    /// The domain.
    pub okms_id: Uuid,
    /// The credential being replaced.
    pub old_id: Uuid,
    /// The new certificate's validity in days; the old one's when `None`.
    pub validity: Option<u32>,
    /// Keep the old credential live at the end instead of revoking it.
    pub keep_old: bool,
    /// How long to wait for the new credential to be READY (and for one to settle before it
    /// is revoked).
    pub settle: WaitPolicy,
    /// How a lost create answer is reconciled.
    pub reconcile: ReconcileOptions,
    /// Where the proof goes.
    pub endpoint: Endpoint,
    /// CA certificates to trust for the proof besides the platform roots (PEM).
    pub ca_pem: Option<String>,
    /// How long the proof retries a refusal after READY, while the new certificate reaches
    /// the KMS nodes (`PropagationWait::default()`: 60 s).
    pub proof_wait: PropagationWait,
}

/// What the saga has done, as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// The new key exists in its home.
    KeyMade,
    /// Something reconciliation of the create did.
    Reconcile(ReconcileEvent),
    /// The new credential exists.
    Created {
        /// Its id.
        new_id: Uuid,
    },
    /// The KMS refused the new pair, as it does until the certificate reaches it: the proof
    /// waits and retries.
    AwaitingProof {
        /// The new credential.
        new_id: Uuid,
        /// How many attempts were refused, the next wait, and the bound.
        retry: PropagationRetry,
    },
    /// The new pair works against the KMS.
    Proved {
        /// The new credential.
        new_id: Uuid,
    },
    /// The new pair is in place.
    Deployed {
        /// The new credential.
        new_id: Uuid,
    },
    /// A step starts (one report per step, for progress lines).
    Step(Step),
    /// A broker asked to be called again later (429, 503), or its answer was lost: the same
    /// request is sent again after `wait`.
    Retrying {
        /// The step that is retried.
        step: Step,
        /// The wait before the next attempt (the broker's `Retry-After`, capped, plus jitter).
        wait: Duration,
        /// What the last attempt got.
        reason: String,
    },
}
