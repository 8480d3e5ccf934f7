#![doc = include_str!("../README.md")]
// docs.rs: each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod api_issuer;
mod broker_issuer;
mod certificate;
mod error;
mod failure;
mod issuer;
mod key_home;
mod renewal;
mod request;
mod saga;
mod schedule;
mod status;
mod step;

pub use api_issuer::ApiIssuer;
pub use broker_issuer::{
    BrokerCreated, BrokerIssuer, BrokerProved, BrokerRenewed, BrokerRequest, BrokerRetry,
};
pub use certificate::{credential_id, holds_key, okms_domain};
pub use error::{Error, Result, StopReason};
pub use failure::{Cause, DeployedPair, KeyFate, Renewal, RenewalFailure};
pub use issuer::{Finished, Issuer, Tell};
pub use key_home::{DeployError, KeyHome, Recognizer};
pub use renewal::{Created, Plan, Proved, Ready, Renewed, rest_endpoint};
pub use request::{Endpoint, Progress, RenewalRequest};
pub use saga::{renew, renew_until, renew_with};
pub use schedule::{Decision, Lifetime, MAX_DAYS_LEFT, RenewAt, decide, jitter};
pub use status::{
    Expiry, ExpiryStatus, NOT_BEFORE_TOLERANCE, Thresholds, classify, classify_certificate,
};
pub use step::Step;

// Their types appear in this crate's signatures: an embedder uses these rather than pinning
// matching versions by hand.
pub use okms_api;
pub use okms_csr;
pub use time;
