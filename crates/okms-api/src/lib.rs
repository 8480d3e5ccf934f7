#![doc = include_str!("../README.md")]
// docs.rs: each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "ureq")]
pub mod blocking;
pub mod broker;
mod broker_refusal;
mod client;
mod clock;
mod config;
mod endpoint;
mod error;
pub mod iam;
mod identity;
#[cfg(feature = "kmip")]
pub mod kmip;
pub mod kms;
#[cfg(feature = "rustls")]
mod mtls;
pub mod oauth2;
pub mod reconcile;
mod refusal;
mod request;
#[cfg(feature = "reqwest")]
mod reqwest_transport;
mod retry;
pub mod sans_io;
pub mod signature;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
pub mod trace;
mod transport;
mod types;
mod urn;
mod wait;

pub use client::Client;
pub use clock::Clock;
#[cfg(feature = "reqwest")]
pub use clock::TokioClock;
pub use config::{
    Auth, Config, ConfigOverrides, ConfigSources, default_config_files, parse_ovh_conf,
};
pub use endpoint::{DEFAULT_ENDPOINT, ENDPOINTS, Endpoint, Plate};
pub use error::{ApiError, Error, ErrorShape, Field, KmipStage, quote_value};
pub use identity::{IdentitySelection, IdentityUrns};
#[cfg(feature = "rustls")]
pub use mtls::MtlsConnector;
#[cfg(feature = "reqwest")]
pub use mtls::ReqwestConnector;
pub use reconcile::{ReconcileEvent, ReconcileOptions, ReconciledCreate};
pub use request::{
    CredentialRequest, DESCRIPTION_MAX, IDENTITY_URNS_MAX, NAME_MAX, VALIDITY_MAX_DAYS,
};
#[cfg(feature = "reqwest")]
pub use reqwest_transport::{ReqwestTransport, ReqwestTransportBuilder};
pub use retry::RetryPolicy;
pub use sans_io::{ApiRequest, RequestAuth};
pub use secrecy::{ExposeSecret, SecretString};
pub use time::OffsetDateTime;
#[cfg(feature = "rustls")]
pub use tls::{ClientIdentity, ClientKey, DomainCa};
pub use transport::{
    BoxFuture, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Transport,
    TransportError, TransportErrorKind,
};
pub use types::{
    AuthDetails, CertificateType, CreatedCredential, Credential, CredentialStatus, Domain,
    IamMetadata, KmsEndpoint, Me,
};
pub use urn::{IdentityKind, IdentityUrn, MAX_URN_LEN, validate_urn};
pub use uuid::Uuid;
pub use wait::WaitPolicy;

// The crates whose types appear in this crate's public signatures, so that an embedder uses
// the very versions this crate was built with instead of pinning matching ones by hand.
pub use http;
#[cfg(feature = "reqwest")]
pub use reqwest;
#[cfg(feature = "rustls")]
pub use rustls;
#[cfg(feature = "ureq")]
pub use ureq;
