#![doc = include_str!("../README.md")]
// docs.rs: each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod error;
mod renewal;
mod saga;
mod schedule;
mod status;
mod step;

pub use error::{Error, Result, StopReason};
pub use renewal::{Created, Plan, Proved, Ready, Renewed, rest_endpoint};
pub use saga::{
    Cause, DeployError, DeployedPair, Endpoint, KeyFate, KeyHome, Progress, Recognizer, Renewal,
    RenewalFailure, RenewalRequest, renew, renew_until,
};
pub use schedule::{Decision, Lifetime, MAX_DAYS_LEFT, RenewAt, decide, jitter};
pub use status::{
    Expiry, ExpiryStatus, NOT_BEFORE_TOLERANCE, Thresholds, classify, classify_certificate,
};
pub use step::Step;
