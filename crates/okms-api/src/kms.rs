//! The KMS data plane check: one mutual-TLS call proving a certificate and key work.
//!
//! `GET {kms_url}/api/{okmsId}/v1/servicekey?max=10` with the client certificate (`max` is
//! 10..=100 in kms-rest.json; no `continuation-token`, as only the first page matters); the
//! answer is a `ListServiceKeysResponse` or the data-plane `ErrorResponse`
//! `{"error_id","error_code","errors","request_id"}`, with any status the schema declares
//! (200, 400, 401, 404, 429, 500) or not.
//!
//! A second call proves a right rather than the certificate alone: list calls of the KMS
//! filter what an identity may not see instead of refusing, so an empty list proves nothing,
//! whereas `GET /api/{okmsId}/v1/random?length=N` (`GetRandomResponse`, base64 `bytes`) needs
//! the action `okms:apikms:random/get` ([`RANDOM_ACTION`]) and is refused without it:
//! [`random_request`], [`parse_random_response`] and [`random_with`].
//!
//! [`servicekey_request`] and [`parse_servicekey_response`] are sans-IO, for any HTTP client
//! that can present a client certificate; [`check_with`] and [`random_with`] make the calls
//! over any [`Transport`] (one built by an `MtlsConnector`, feature
//! `rustls`); `check_mtls` and `random_mtls` do it over reqwest (feature `reqwest`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;
#[cfg(feature = "rustls")]
use crate::mtls::MtlsConnector;
#[cfg(feature = "reqwest")]
use crate::mtls::ReqwestConnector;
#[cfg(feature = "rustls")]
use crate::tls::{ClientIdentity, ClientKey};
use crate::transport::Transport;

/// A client certificate and key, and the KMS endpoint and domain to prove them against.
#[cfg(feature = "rustls")]
#[derive(Debug, Clone)]
pub struct MtlsCheck {
    /// KMS REST endpoint, e.g. `https://eu-west-rbx.okms.ovh.net` (https only, no trailing `/` needed).
    pub kms_url: String,
    /// The OKMS domain.
    pub okms_id: Uuid,
    /// Client certificate (chain), PEM.
    pub cert_pem: String,
    /// Client private key: PEM text (`"...".into()` or a `SecretString`), or a
    /// [`rustls::sign::SigningKey`] for a key that stays on a hardware token.
    pub key: ClientKey,
    /// Extra CA to trust besides the platform roots (e.g. a test server's CA), PEM.
    pub ca_pem: Option<String>,
}

#[cfg(feature = "rustls")]
impl MtlsCheck {
    /// A transport from `connector` that presents this certificate and key and trusts
    /// `ca_pem`: give it to [`check_with`] or [`random_with`].
    ///
    /// # Errors
    /// [`Error::Tls`] when the certificate, the key or the CA cannot be read or used together.
    pub fn connect<M: MtlsConnector + ?Sized>(&self, connector: &M) -> Result<M::Transport, Error> {
        connector.connect(
            ClientIdentity {
                cert_pem: self.cert_pem.clone(),
                key: self.key.clone(),
            },
            self.ca_pem.as_deref(),
        )
    }
}

/// `ListServiceKeys` answer (`ListServiceKeysResponse` in kms-rest.json).
///
/// The schema makes all three fields required; they are read leniently (older okms-sdk-go
/// versions had them optional), and only what a client acts on is normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceKeyList {
    /// The keys, as returned (`GetServiceKeyResponse` objects, kept as JSON).
    #[serde(default)]
    pub objects_list: Vec<serde_json::Value>,
    /// Cursor for the next page. `None` when absent or empty: the schema gives it
    /// `minLength: 1`, so `""` is no cursor, and sending it back as `continuation-token=`
    /// would ask for something no server issued.
    #[serde(
        default,
        deserialize_with = "non_empty_token",
        skip_serializing_if = "Option::is_none"
    )]
    pub continuation_token: Option<String>,
    /// Whether more keys exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_truncated: Option<bool>,
}

impl ServiceKeyList {
    /// The `continuation-token` to ask for the next page with, if there is one. The server
    /// sends a token on complete lists too (the field is required), so `is_truncated` decides,
    /// as okms-sdk-go's iterator does.
    pub fn next_page_token(&self) -> Option<&str> {
        match self.is_truncated {
            Some(true) => self.continuation_token.as_deref(),
            _ => None,
        }
    }
}

fn non_empty_token<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|t| !t.is_empty()))
}

/// The IAM action the random-bytes route needs (kms-rest.json).
pub const RANDOM_ACTION: &str = "okms:apikms:random/get";

/// The IAM action the service-key list needs, on each key it lists (kms-rest.json).
pub const SERVICEKEY_LIST_ACTION: &str = "okms:apikms:serviceKey/get";

/// Most bytes one random call may ask for (`length` is 1..=4096 in kms-rest.json).
pub const RANDOM_LENGTH_MAX: u32 = 4096;

/// `GetRandomResponse`: random bytes drawn by the KMS. An embedder may use them as key
/// material, so `Debug` shows only their length.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RandomBytes {
    /// The bytes, base64 (standard alphabet, as `format: byte` means).
    pub bytes: String,
}

impl std::fmt::Debug for RandomBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomBytes")
            .field(
                "bytes",
                &format_args!("<{} base64 characters>", self.bytes.len()),
            )
            .finish()
    }
}

impl RandomBytes {
    /// The decoded bytes; `None` when `bytes` is not valid base64.
    pub fn decode(&self) -> Option<Vec<u8>> {
        use base64ct::{Base64, Encoding};
        Base64::decode_vec(&self.bytes).ok()
    }
}

/// The data-plane error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPlaneError {
    /// Error ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    /// Bit-packed error code (see [`DataPlaneError::category`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// Messages.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Request ID, to quote to support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl DataPlaneError {
    /// The system in bits 24–31 of `error_code`, named as okms-sdk-go's `errors.go` does
    /// (`Unknown` for values it does not name).
    pub fn system(&self) -> Option<&'static str> {
        let c = self.error_code?;
        Some(match (c >> 24) & 0xff {
            0 => "Undefined",
            1 => "CCM",
            2 => "SSM",
            3 => "REST",
            4 => "KMIP",
            5 => "DB",
            6 => "XLIB",
            _ => "Unknown",
        })
    }

    /// The component in bits 16–23 of `error_code`, named per system as okms-sdk-go's
    /// `errors.go` does (`Unknown` for values it does not name).
    pub fn component(&self) -> Option<&'static str> {
        let c = self.error_code?;
        let minor = (c >> 16) & 0xff;
        Some(match ((c >> 24) & 0xff, minor) {
            (_, 0) => "Unspecified",
            (_, 1) => "General",
            (1, 2) => "IAM",
            (1, 3) => "Domain",
            (1, 4) => "DSK Manager",
            (1, 5) => "Secret Manager",
            (1, 6) => "MOB Manager",
            (1, 7) => "Admin Provider",
            (1, 8) => "Admin Auth Provider",
            (1, 9) => "User Auth provider",
            (1, 10) => "SSM Provider",
            (3, 2) => "Authentication Provider",
            (3, 3) => "Service Keys API",
            (3, 4) => "Secrets API",
            (5, 2) => "File System DB",
            (5, 3) => "S3",
            (5, 4) => "Postgres",
            (6, 2) => "HTTP Provider",
            (6, 3) => "IAM Provider",
            (6, 4) => "Certificate Provider",
            _ => "Unknown",
        })
    }

    /// The category in bits 12–15 of `error_code`, named as okms-sdk-go does.
    pub fn category(&self) -> Option<&'static str> {
        let c = self.error_code?;
        Some(match (c >> 12) & 0xf {
            1 => "Internal",
            2 => "Argument",
            3 => "Authentication",
            4 => "Authorization",
            5 => "NotFound",
            6 => "Database",
            7 => "Unavailable",
            8 => "BadArgument",
            9 => "TooManyRequest",
            10 => "Conflict",
            _ => "Unknown",
        })
    }

    /// Whether the category (bits 12–15 of `error_code`) is `Authentication` or
    /// `Authorization`: the KMS refused the caller's certificate or its rights, not the call.
    pub fn refuses_the_caller(&self) -> bool {
        self.error_code
            .is_some_and(|c| matches!((c >> 12) & 0xf, 3 | 4))
    }
}

/// What the data plane answered.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DataPlaneOutcome {
    /// 2xx with a service-key list: the certificate works.
    ServiceKeys(ServiceKeyList),
    /// 2xx with random bytes: the certificate's identities hold `okms:apikms:random/get`.
    Random(RandomBytes),
    /// An error body in the data-plane shape.
    Error(DataPlaneError),
    /// Anything else, verbatim (truncated).
    Unparsed(String),
}

/// Status and decoded body of the check call.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPlaneResponse {
    /// HTTP status.
    pub status: u16,
    /// Decoded body.
    pub outcome: DataPlaneOutcome,
}

impl DataPlaneResponse {
    /// The certificate was accepted and the call succeeded.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
            && matches!(
                self.outcome,
                DataPlaneOutcome::ServiceKeys(_) | DataPlaneOutcome::Random(_)
            )
    }
}

/// The check request (sans-IO).
pub fn servicekey_request(kms_url: &str, okms_id: Uuid) -> Result<http::Request<Vec<u8>>, Error> {
    data_plane_get(kms_url, &format!("/api/{okms_id}/v1/servicekey?max=10"))
}

/// `GET /api/{okmsId}/v1/random?length={length}` (sans-IO); `length` must be 1..=4096.
pub fn random_request(
    kms_url: &str,
    okms_id: Uuid,
    length: u32,
) -> Result<http::Request<Vec<u8>>, Error> {
    if !(1..=RANDOM_LENGTH_MAX).contains(&length) {
        return Err(Error::InvalidField {
            field: crate::error::Field::Path,
            reason: format!("random length {length} is outside 1..={RANDOM_LENGTH_MAX}"),
        });
    }
    data_plane_get(
        kms_url,
        &format!("/api/{okms_id}/v1/random?length={length}"),
    )
}

/// Decodes the random-bytes answer (sans-IO).
pub fn parse_random_response(response: &http::Response<Vec<u8>>) -> DataPlaneResponse {
    parse_data_plane(response, |body| {
        serde_json::from_slice::<RandomBytes>(body).map(DataPlaneOutcome::Random)
    })
}

fn data_plane_get(kms_url: &str, path_and_query: &str) -> Result<http::Request<Vec<u8>>, Error> {
    let base = kms_url.trim_end_matches('/');
    let parsed = crate::endpoint::check_url(base)?;
    if parsed.scheme() != "https" {
        return Err(Error::InvalidUrl {
            url: kms_url.to_string(),
            reason: "mutual TLS needs an https:// URL".into(),
        });
    }
    Ok(http::Request::builder()
        .method(http::Method::GET)
        .uri(format!("{base}{path_and_query}"))
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())?)
}

/// Decodes the check answer (sans-IO).
pub fn parse_servicekey_response(response: &http::Response<Vec<u8>>) -> DataPlaneResponse {
    parse_data_plane(response, |body| {
        serde_json::from_slice::<ServiceKeyList>(body).map(DataPlaneOutcome::ServiceKeys)
    })
}

fn parse_data_plane(
    response: &http::Response<Vec<u8>>,
    success: impl Fn(&[u8]) -> Result<DataPlaneOutcome, serde_json::Error>,
) -> DataPlaneResponse {
    let status = response.status().as_u16();
    let body = response.body();
    let outcome = if response.status().is_success() {
        success(body)
    } else {
        serde_json::from_slice::<DataPlaneError>(body)
            .map(DataPlaneOutcome::Error)
            .and_then(|o| match &o {
                // `{}` or any JSON object would decode to an all-empty error: keep the text then.
                DataPlaneOutcome::Error(e)
                    if e.error_id.is_none() && e.error_code.is_none() && e.errors.is_empty() =>
                {
                    Err(serde::de::Error::custom("not a data-plane error"))
                }
                _ => Ok(o),
            })
    }
    .unwrap_or_else(|_| DataPlaneOutcome::Unparsed(crate::sans_io::excerpt(body)));
    DataPlaneResponse { status, outcome }
}

/// Makes the check call over `transport` (which presents the client certificate) and returns
/// what the data plane said. A TLS or connection failure (certificate refused, unknown CA) is
/// an `Err` ([`Error::Transport`]); a refusal is a [`DataPlaneResponse`] that is not a success.
pub async fn check_with<T: Transport + ?Sized>(
    transport: &T,
    kms_url: &str,
    okms_id: Uuid,
) -> Result<DataPlaneResponse, Error> {
    let request = servicekey_request(kms_url, okms_id)?;
    Ok(parse_servicekey_response(
        &exchange(transport, request).await?,
    ))
}

/// Asks the domain for `length` random bytes over `transport` (which presents the client
/// certificate): the call that proves the certificate's identities hold [`RANDOM_ACTION`]. A
/// TLS or connection failure is an `Err`; a refusal is a [`DataPlaneResponse`] that is not a
/// success.
pub async fn random_with<T: Transport + ?Sized>(
    transport: &T,
    kms_url: &str,
    okms_id: Uuid,
    length: u32,
) -> Result<DataPlaneResponse, Error> {
    let request = random_request(kms_url, okms_id, length)?;
    Ok(parse_random_response(&exchange(transport, request).await?))
}

async fn exchange<T: Transport + ?Sized>(
    transport: &T,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, Error> {
    let method = request.method().to_string();
    let url = request.uri().to_string();
    transport
        .send(request)
        .await
        .map_err(|source| Error::Transport {
            method,
            url,
            source,
        })
}

/// Makes the mutual-TLS call over reqwest and returns what the data plane said:
/// [`check_with`] over a [`ReqwestConnector`] transport. Needs a Tokio runtime.
#[cfg(feature = "reqwest")]
pub async fn check_mtls(check: &MtlsCheck) -> Result<DataPlaneResponse, Error> {
    let transport = check.connect(&ReqwestConnector::new())?;
    check_with(&transport, &check.kms_url, check.okms_id).await
}

/// Asks the domain for `length` random bytes with the certificate of `check`, over reqwest:
/// [`random_with`] over a [`ReqwestConnector`] transport. Needs a Tokio runtime.
#[cfg(feature = "reqwest")]
pub async fn random_mtls(check: &MtlsCheck, length: u32) -> Result<DataPlaneResponse, Error> {
    let transport = check.connect(&ReqwestConnector::new())?;
    random_with(&transport, &check.kms_url, check.okms_id, length).await
}

/// How long a proof made right after READY keeps retrying a refusal: a new certificate may
/// not have reached every KMS node yet, and a node that lacks it refuses the handshake or
/// answers 401 until it arrives.
///
/// The waits double from `initial_interval` up to `max_interval`; the last one is cut so
/// that no attempt starts later than `bound` after the first. A zero `bound` makes one
/// attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropagationWait {
    /// Give up after this long (measured on the [`Clock`](crate::Clock)).
    pub bound: std::time::Duration,
    /// The first wait.
    pub initial_interval: std::time::Duration,
    /// The longest wait.
    pub max_interval: std::time::Duration,
}

impl Default for PropagationWait {
    fn default() -> Self {
        Self::with_bound(std::time::Duration::from_secs(60))
    }
}

impl PropagationWait {
    /// The default backoff (1 s doubling to 8 s) with this bound.
    pub fn with_bound(bound: std::time::Duration) -> Self {
        PropagationWait {
            bound,
            initial_interval: std::time::Duration::from_secs(1),
            max_interval: std::time::Duration::from_secs(8),
        }
    }
}

/// Told to the caller before each wait of [`retry_refusals`], so that it can say it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropagationRetry {
    /// How many attempts were refused so far.
    pub refused: u32,
    /// How long the next wait lasts.
    pub next_in: std::time::Duration,
    /// The bound of the whole wait.
    pub bound: std::time::Duration,
}

/// Whether an attempt's outcome is what a KMS node that does not know the certificate yet
/// answers: a 401, or a TLS handshake the server ended with an alert other than "revoked" or
/// "expired". Anything else (no listener, an untrusted server certificate, a timeout) is not
/// propagation.
pub fn is_refusal(outcome: &Result<DataPlaneResponse, Error>) -> bool {
    match outcome {
        Ok(answer) => answer.status == 401,
        Err(Error::Transport { source, .. }) => server_refused_handshake(source),
        Err(_) => false,
    }
}

/// Whether a rustls alert from the server is somewhere in `e`'s causes.
#[cfg(feature = "rustls")]
fn server_refused_handshake(e: &(dyn std::error::Error + 'static)) -> bool {
    // A revoked or expired certificate is refused for good: no node will change its mind.
    crate::tls::rustls_cause_is(e, |tls| {
        matches!(
            tls,
            rustls::Error::AlertReceived(alert) if !matches!(
                alert,
                rustls::AlertDescription::CertificateRevoked
                    | rustls::AlertDescription::CertificateExpired
            )
        )
    })
}

#[cfg(not(feature = "rustls"))]
fn server_refused_handshake(_: &(dyn std::error::Error + 'static)) -> bool {
    false
}

/// Makes `attempt` until it is not a refusal ([`is_refusal`]) or `wait.bound` has passed on
/// `clock`, calling `on_retry` before each wait; returns the last outcome. Anything else (a
/// success, a 403 or 500, a bad URL) is returned at once: only a refusal can be propagation.
pub async fn retry_refusals<C, F, Fut>(
    clock: &C,
    wait: PropagationWait,
    attempt: F,
    on_retry: impl FnMut(&PropagationRetry),
) -> Result<DataPlaneResponse, Error>
where
    C: crate::clock::Clock + ?Sized,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<DataPlaneResponse, Error>>,
{
    retry_while_refused(clock, wait, attempt, is_refusal, on_retry).await
}

/// [`retry_refusals`] for any attempt (the KMIP check's, say), with `refused` telling which
/// outcomes a node the certificate has not reached yet gives.
pub async fn retry_while_refused<C, T, F, Fut>(
    clock: &C,
    wait: PropagationWait,
    mut attempt: F,
    refused: impl Fn(&Result<T, Error>) -> bool,
    mut on_retry: impl FnMut(&PropagationRetry),
) -> Result<T, Error>
where
    C: crate::clock::Clock + ?Sized,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let start = clock.now();
    let mut interval = wait.initial_interval;
    let mut count = 0u32;
    loop {
        let outcome = attempt().await;
        if !refused(&outcome) {
            return outcome;
        }
        count = count.saturating_add(1);
        let waited = clock.now().duration_since(start).unwrap_or_default();
        let left = wait.bound.saturating_sub(waited);
        if left.is_zero() {
            return outcome;
        }
        let next_in = interval.min(left);
        on_retry(&PropagationRetry {
            refused: count,
            next_in,
            bound: wait.bound,
        });
        clock.sleep(next_in).await;
        interval = interval
            .saturating_mul(2)
            .min(wait.max_interval.max(interval));
    }
}

#[cfg(all(test, feature = "rustls"))]
mod propagation_tests {
    use std::{
        sync::Mutex,
        time::{Duration, SystemTime},
    };

    use super::*;
    use crate::clock::Clock;
    use crate::transport::{BoxFuture, TransportError, TransportErrorKind};

    /// A clock whose sleeps advance it at once.
    struct FakeClock(Mutex<SystemTime>);

    impl Clock for FakeClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
        fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) += duration;
            Box::pin(async {})
        }
    }

    fn clock() -> FakeClock {
        FakeClock(Mutex::new(SystemTime::UNIX_EPOCH))
    }

    fn answer(status: u16) -> Result<DataPlaneResponse, Error> {
        Ok(DataPlaneResponse {
            status,
            outcome: if status == 200 {
                DataPlaneOutcome::ServiceKeys(ServiceKeyList {
                    objects_list: Vec::new(),
                    continuation_token: None,
                    is_truncated: Some(false),
                })
            } else {
                DataPlaneOutcome::Unparsed(format!("status {status}"))
            },
        })
    }

    fn handshake_refused() -> Result<DataPlaneResponse, Error> {
        Err(Error::Transport {
            method: "GET".into(),
            url: "https://kms.example/api".into(),
            source: TransportError::new(TransportErrorKind::Connect, "handshake refused")
                .with_source(std::io::Error::other(rustls::Error::AlertReceived(
                    rustls::AlertDescription::CertificateUnknown,
                ))),
        })
    }

    async fn run(
        clock: &FakeClock,
        bound: Duration,
        outcomes: Vec<Result<DataPlaneResponse, Error>>,
    ) -> (
        Result<DataPlaneResponse, Error>,
        Vec<PropagationRetry>,
        usize,
    ) {
        let outcomes = Mutex::new(outcomes.into_iter());
        let attempts = Mutex::new(0usize);
        let mut retries = Vec::new();
        let result = retry_refusals(
            clock,
            PropagationWait::with_bound(bound),
            || {
                *attempts.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                let next = outcomes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .next()
                    .unwrap_or_else(|| answer(401));
                async move { next }
            },
            |r| retries.push(*r),
        )
        .await;
        let attempts = *attempts.lock().unwrap_or_else(|e| e.into_inner());
        (result, retries, attempts)
    }

    #[tokio::test]
    async fn refusals_are_retried_until_the_kms_accepts() {
        let clock = clock();
        let (result, retries, attempts) = run(
            &clock,
            Duration::from_secs(60),
            vec![handshake_refused(), answer(401), answer(401), answer(200)],
        )
        .await;
        assert!(result.is_ok_and(|a| a.is_success()));
        assert_eq!(attempts, 4);
        let waits: Vec<_> = retries.iter().map(|r| r.next_in.as_secs()).collect();
        assert_eq!(waits, [1, 2, 4]);
        assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(7));
    }

    #[tokio::test]
    async fn gives_up_after_the_bound_with_the_last_refusal() {
        let clock = clock();
        let (result, retries, _) = run(&clock, Duration::from_secs(20), Vec::new()).await;
        assert_eq!(result.map(|a| a.status).ok(), Some(401));
        let waits: Vec<_> = retries.iter().map(|r| r.next_in.as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 5], "doubling to 8 s, cut at the bound");
        assert_eq!(
            clock.now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(20)
        );
    }

    #[tokio::test]
    async fn other_answers_and_a_zero_bound_are_not_retried() {
        let (result, retries, attempts) =
            run(&clock(), Duration::from_secs(60), vec![answer(403)]).await;
        assert_eq!(result.map(|a| a.status).ok(), Some(403));
        assert_eq!((retries.len(), attempts), (0, 1));
        let (result, retries, attempts) =
            run(&clock(), Duration::ZERO, vec![handshake_refused()]).await;
        assert!(result.is_err());
        assert_eq!((retries.len(), attempts), (0, 1));
        let no_listener = Err(Error::Transport {
            method: "GET".into(),
            url: "https://127.0.0.1:9/api".into(),
            source: TransportError::new(TransportErrorKind::Connect, "connection refused")
                .with_source(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        });
        let (result, retries, attempts) =
            run(&clock(), Duration::from_secs(60), vec![no_listener]).await;
        assert!(result.is_err());
        assert_eq!((retries.len(), attempts), (0, 1));
    }
}
