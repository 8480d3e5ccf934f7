//! okms-lifecycle: when to renew an OVHcloud KMS (OKMS) access certificate, and the renewal
//! itself as a state machine over okms-api calls.
//!
//! **For:** tools and services that keep an access certificate alive from their own process
//! (okms-cli's `credential renew` and `credential report` are built on it):
//! - [`decide`]: is renewal due (two thirds of the lifetime passed, or at most a given number of
//!   days left)? If not, until when;
//! - [`jitter`]: a pause spread over a fleet, deterministic for a given seed;
//! - [`classify`]: `ok`/`warn`/`crit`/`expired` against [`Thresholds`] (crit <= warn, checked);
//!   [`classify_certificate`] also says `not_yet_valid` well before the certificate's start;
//! - [`Plan`] → [`Created`] → [`Ready`] → [`Proved`] → [`Renewed`]: create the successor
//!   through okms-api's exactly-once create, wait for READY, prove it with one mutual-TLS call,
//!   let the caller deploy, then revoke the old credential. Any state before deployment can be
//!   `abandon`ed, which revokes the new credential, so none stays live whose key nobody holds;
//! - [`renew`]: the whole renewal saga over those states (new key, create once, READY and
//!   proof, deploy, hook, revoke the old credential), generic over the new key's [`KeyHome`]
//!   (a file, a token, a remote host that sends CSRs). Progress comes as [`Progress`] values,
//!   a failure as a [`RenewalFailure`] saying what is deployed and which credentials are live.
//!
//! **Not for:** files, keys or processes. It reads and writes no file, runs no program and
//! makes no key: the caller's [`KeyHome`] makes and deploys the key (or the caller brings the
//! CSR and the proof's key to the state machine and deploys between [`Proved`] and
//! [`Proved::finish`]); the saga's hook is the caller's closure. Its messages name no command
//! line flag: limits are typed fields for the caller to word. It reads no clock either: `now`
//! is a parameter, and waiting goes through okms-api's `Clock`.
//!
//! ```
//! use okms_lifecycle::{Decision, ExpiryStatus, Lifetime, RenewAt, Thresholds, classify, decide};
//! use time::macros::datetime;
//!
//! let lifetime = Lifetime::new(datetime!(2026-01-01 0:00 UTC), datetime!(2026-04-01 0:00 UTC))?;
//! // 90 days: two thirds have passed on 2026-03-02 00:00.
//! let now = datetime!(2026-02-15 0:00 UTC);
//! assert_eq!(
//!     decide(&lifetime, RenewAt::TwoThirds, now),
//!     Decision::NotDue { until: datetime!(2026-03-02 0:00 UTC) },
//! );
//! assert!(decide(&lifetime, RenewAt::days_left(50)?, now).is_due());
//!
//! let expiry = classify(lifetime.not_after, now, Thresholds::new(30, 7)?);
//! assert_eq!((expiry.status, expiry.days_left), (ExpiryStatus::Ok, 45));
//! # Ok::<(), okms_lifecycle::Error>(())
//! ```
//!
//! A renewal from an embedder's process (the caller makes the key and CSR, e.g. with
//! okms-csr, and deploys the certificate its own way):
//!
//! ```no_run
//! # async fn renew(
//! #     client: &okms_api::Client,
//! #     okms_id: okms_api::Uuid,
//! #     old_id: okms_api::Uuid,
//! #     new_csr_pem: String,
//! #     new_key_pem: okms_api::SecretString,
//! #     kms_url: &str,
//! #     deploy: impl FnOnce(&str) -> std::io::Result<()>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use okms_api::{ReconcileOptions, WaitPolicy};
//! use okms_lifecycle::Plan;
//!
//! let plan = Plan::for_credential(client, okms_id, old_id, new_csr_pem).await?;
//! // Compare the candidate's certificate key with the new key (okms-csr's `same_public_key`).
//! let is_ours = |_candidate: &okms_api::Credential| None;
//! let created = plan.create(client, &is_ours, &ReconcileOptions::default(), &|_| {}).await?;
//! let settle = WaitPolicy::with_timeout(Duration::from_secs(120));
//! let ready = match created.wait_ready(client, &settle).await {
//!     Ok(ready) => ready,
//!     Err(e) => {
//!         created.abandon(client, &settle).await?;
//!         return Err(e.into());
//!     }
//! };
//! let proved = match ready.prove(kms_url, new_key_pem.into(), None).await {
//!     Ok(proved) => proved,
//!     Err(e) => {
//!         ready.abandon(client, &settle).await?;
//!         return Err(e.into());
//!     }
//! };
//! if let Err(e) = deploy(proved.certificate_pem()) {
//!     proved.abandon(client, &settle).await?;
//!     return Err(e.into());
//! }
//! let renewed = proved.finish(client, false).await?;
//! println!("{} replaced {}", renewed.new.id, renewed.old_id);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod error;
mod renewal;
mod saga;
mod schedule;
mod status;
mod step;

pub use error::{Error, Result};
pub use renewal::{Created, Plan, Proved, Ready, Renewed, rest_endpoint};
pub use saga::{
    Cause, DeployError, DeployedPair, Endpoint, KeyFate, KeyHome, Progress, Recognizer, Renewal,
    RenewalFailure, RenewalRequest, renew,
};
pub use schedule::{Decision, Lifetime, MAX_DAYS_LEFT, RenewAt, decide, jitter};
pub use status::{
    Expiry, ExpiryStatus, NOT_BEFORE_TOLERANCE, Thresholds, classify, classify_certificate,
};
pub use step::Step;
