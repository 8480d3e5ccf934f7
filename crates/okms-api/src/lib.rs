//! `okms-api`: a client for the OVHcloud API calls that manage OKMS access certificates
//! (credentials), and the one mutual-TLS call that proves a certificate works on a KMS domain.
//!
//! # What it is for
//!
//! - Configuration as OVHcloud's own libraries read it ([`Config::load`]): endpoint names or
//!   URLs, `ovh.conf` files, `OVH_*` variables, and a file named explicitly (layered as
//!   [`ConfigSources`] says); exactly one of application key + secret + consumer key (`$1$`
//!   signatures), OAuth2 client credentials, or a ready access token. This is the crate's
//!   only I/O besides the network: [`ConfigSources::standard`] reads the process's `OVH_*`
//!   variables (and `HOME` to find `~/.ovh.conf`), [`Config::load`] the files its sources
//!   list. Build a [`ConfigSources`] or a [`Config`] yourself to keep it off both.
//! - A **sans-IO core** ([`sans_io`]): every call is an [`ApiRequest`] turned into an exact
//!   `http::Request<Vec<u8>>` (signed over the very bytes sent), and every
//!   `http::Response<Vec<u8>>` is parsed into typed values or a typed [`Error`].
//! - An async [`Client`] over any [`Transport`] and [`Clock`]: authentication state, retries,
//!   pagination, waiting for `READY`. Idempotent calls retry on transient failures; the create
//!   POST is sent again only after an answer proving that nothing was created (see
//!   [`Client::create_credential`]) and reports [`Error::CreateOutcomeUnknown`] when its fate
//!   is unknown.
//! - IAM ([`iam`]): policies (create, get, list, update, delete), the authorization check,
//!   the account's users, groups and service accounts, and the catalogue of OKMS actions and
//!   presets that a policy body is checked against.
//! - The mutual-TLS check of a certificate against a KMS domain
//!   (`GET /api/{okmsId}/v1/servicekey?max=10`): the request and the answer's decoding in
//!   [`kms`], and `kms::check_mtls`, which makes the call.
//!
//! # The `reqwest` feature (on by default)
//!
//! It adds the batteries: `ReqwestTransport` (async, reqwest over rustls with the `ring`
//! provider and the platform's trust roots, never following redirects), `TokioClock`,
//! `Client::new` (both together), `ClientKey`/`ClientIdentity` (a client certificate whose
//! key is PEM text or any rustls `SigningKey`) and `kms::check_mtls`. It brings in reqwest,
//! rustls and Tokio's timers; its types need a Tokio runtime.
//!
//! # Embedding without it
//!
//! With `default-features = false` the crate is the sans-IO core and the [`Client`], with no
//! HTTP stack, no TLS library and no async runtime (only Tokio's runtime-agnostic `sync`
//! module, for the client's token lock). Either drive the core yourself, one
//! [`sans_io::build_request`] and one `sans_io::parse_*` around any HTTP client, blocking or
//! not; or implement [`Transport`] (send one request exactly as built, return the whole
//! answer) and [`Clock`] (the time and a way to wait), and use [`Client::with_transport`]
//! under any executor. `examples/blocking_ureq.rs` does both over the blocking `ureq` client.
//!
//! # What it is not for
//!
//! It generates no keys and parses no certificates: CSRs, certificates and keys cross it as
//! PEM text. It knows nothing of terminals or command lines, and never blocks a thread itself
//! except in [`Config::load`], whose `ovh.conf` reads are plain blocking reads (load the
//! configuration before entering async code).
//!
//! # Example: a signed request, without any network
//!
//! ```
//! use okms_api::sans_io::{build_request, ops, RequestAuth};
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
mod endpoint;
mod error;
pub mod iam;
mod identity;
pub mod kms;
pub mod oauth2;
pub mod reconcile;
mod request;
#[cfg(feature = "reqwest")]
mod reqwest_transport;
mod retry;
pub mod sans_io;
pub mod signature;
#[cfg(feature = "reqwest")]
mod tls;
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
pub use error::{ApiError, Error, ErrorShape, Field};
pub use identity::{IdentitySelection, IdentityUrns};
pub use reconcile::{ReconcileEvent, ReconcileOptions, ReconciledCreate};
pub use request::{
    CredentialRequest, DESCRIPTION_MAX, IDENTITY_URNS_MAX, NAME_MAX, VALIDITY_MAX_DAYS,
};
#[cfg(feature = "reqwest")]
pub use reqwest_transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, ReqwestTransport,
    ReqwestTransportBuilder,
};
pub use retry::RetryPolicy;
pub use sans_io::{ApiRequest, RequestAuth};
pub use secrecy::{ExposeSecret, SecretString};
pub use time::OffsetDateTime;
#[cfg(feature = "reqwest")]
pub use tls::{ClientIdentity, ClientKey};
pub use transport::{BoxFuture, Transport, TransportError, TransportErrorKind};
pub use types::{
    AuthDetails, CertificateType, CreatedCredential, Credential, CredentialStatus, Domain,
    IamMetadata, Me,
};
pub use urn::{IdentityKind, IdentityUrn, validate_urn};
pub use uuid::Uuid;
pub use wait::WaitPolicy;
