//! `okms-api`: a client for the OVHcloud API calls that manage OKMS access certificates
//! (credentials), and the one mutual-TLS call that proves a certificate works on a KMS domain.
//!
//! # What it is for
//!
//! - Configuration as OVHcloud's own libraries read it ([`Config::load`]): endpoint names or
//!   URLs, `ovh.conf` files, `OVH_*` variables; exactly one of application key + secret +
//!   consumer key (`$1$` signatures), OAuth2 client credentials, or a ready access token.
//! - A **sans-IO core** ([`core`]): every call is an [`ApiRequest`] turned into an exact
//!   `http::Request<Vec<u8>>` (signed over the very bytes sent), and every
//!   `http::Response<Vec<u8>>` is parsed into typed values or a typed [`Error`].
//! - An async [`Client`] over any [`Transport`] (default: [`ReqwestTransport`], reqwest with
//!   rustls and the `ring` provider). Idempotent calls retry on transient failures; the create
//!   POST is never repeated blindly (only after a 429, which the server refuses before any
//!   processing) and reports [`Error::CreateOutcomeUnknown`] when its fate is unknown.
//! - [`kms::check_mtls`]: `GET /api/{okmsId}/v1/servicekey?max=10` over mutual TLS.
//!
//! # What it is not for
//!
//! It generates no keys and parses no certificates: CSRs, certificates and keys cross it as
//! PEM text. It knows nothing of terminals or command lines, and never blocks a thread: an
//! embedder with its own runtime plugs in its own [`Transport`] and [`Clock`].
//!
//! # Example: a signed request, without any network
//!
//! ```
//! use okms_api::core::{build_request, ops, RequestAuth};
//! use okms_api::{Endpoint, SecretString};
//!
//! let endpoint = Endpoint::parse("ovh-eu")?;
//! let okms_id = "e90c5841-f39e-4983-8596-62ff0c538b6b".parse().expect("uuid");
//! let secret = SecretString::from("9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk");
//! let consumer = SecretString::from("5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY");
//! let request = build_request(
//!     &endpoint,
//!     &ops::list_credentials(okms_id, None)?,
//!     &RequestAuth::Signature {
//!         application_key: "TDPKJdwZwAQPwKX2",
//!         application_secret: &secret,
//!         consumer_key: &consumer,
//!         timestamp: 1457018875,
//!     },
//! )?;
//! assert_eq!(
//!     request.uri(),
//!     "https://eu.api.ovh.com/v2/okms/resource/e90c5841-f39e-4983-8596-62ff0c538b6b/credential"
//! );
//! assert!(request.headers()["X-Ovh-Signature"].to_str()?.starts_with("$1$"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod clock;
mod config;
pub mod core;
mod endpoint;
mod error;
pub mod kms;
pub mod oauth2;
pub mod reconcile;
mod request;
mod reqwest_transport;
mod retry;
pub mod signature;
mod tls;
mod transport;
mod types;
mod urn;
mod wait;

pub use client::Client;
pub use clock::{Clock, TokioClock};
pub use config::{
    Auth, Config, ConfigOverrides, ConfigSources, default_config_files, parse_ovh_conf,
};
pub use core::{ApiRequest, RequestAuth};
pub use endpoint::{DEFAULT_ENDPOINT, ENDPOINTS, Endpoint, Plate};
pub use error::{ApiError, Error, ErrorShape};
pub use reconcile::{ReconcileEvent, ReconcileOptions, ReconciledCreate};
pub use request::{
    CredentialRequest, DESCRIPTION_MAX, IDENTITY_URNS_MAX, NAME_MAX, VALIDITY_MAX_DAYS,
};
pub use reqwest_transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, ReqwestTransport,
    ReqwestTransportBuilder,
};
pub use retry::RetryPolicy;
pub use secrecy::{ExposeSecret, SecretString};
pub use time::OffsetDateTime;
pub use tls::{ClientIdentity, ClientKey};
pub use transport::{BoxFuture, Transport, TransportError, TransportErrorKind};
pub use types::{
    AuthDetails, CertificateType, CreatedCredential, Credential, CredentialStatus, Domain,
    IamMetadata, Me,
};
pub use urn::{IdentityKind, IdentityUrn, validate_urn};
pub use uuid::Uuid;
pub use wait::WaitPolicy;
