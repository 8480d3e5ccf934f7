//! The renewal broker's protocol: okms-rs's own, JSON over mutual TLS, versioned by its path
//! (`/v1`). One definition, sans-IO, shared by the broker (`okms-broker`, which serves it) and
//! by the hosts that renew through it (okms-lifecycle's broker issuer, `okms-cli credential
//! renew --broker`). `docs/broker-protocol.md` is its prose description.
//!
//! Every `/v1` route is called with the host's client certificate: the broker serves only a
//! certificate that is byte-equal to a READY credential the broker's policy allows.
//!
//! - `POST /v1/renew` `{"csr": PEM}` → 201 [`RenewAnswer`] (200 when the same CSR is sent
//!   again and its successor is already made). Any other field is refused (400): the name,
//!   identities, description and validity come from the old credential and the policy.
//! - `POST /v1/confirm` `{}` or `{"previousCredentialId": ID}`, with the **new** certificate →
//!   200 [`ConfirmAnswer`]: the host deployed it, the previous credential is revoked.
//! - `POST /v1/abandon` `{"credentialId": ID}`, with the **old** certificate → 200
//!   [`AbandonAnswer`]: the host will not deploy that successor (its proof or its deployment
//!   failed); the broker revokes it now instead of at its grace's end. Idempotent.
//! - `GET /v1/status` → 200 [`StatusAnswer`]: when the presented certificate's renewal is due.
//! - `GET /healthz`, `GET /metrics` (Prometheus text): no client certificate needed.
//!
//! Every refusal is a [`BrokerRefusal`] body (`{"error": code, "message": text}`); 429 and 503
//! carry `Retry-After` in seconds.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub use crate::broker_refusal::{BrokerRefusal, RefusalBody, RefusalCode};
use crate::error::Error;

/// `POST`: a new certificate for the presented one.
pub const RENEW_PATH: &str = "/v1/renew";
/// `POST`: the new certificate is deployed; revoke the previous one.
pub const CONFIRM_PATH: &str = "/v1/confirm";
/// `POST`: the host gives up a successor it will not deploy.
pub const ABANDON_PATH: &str = "/v1/abandon";
/// `GET`: the presented certificate's renewal schedule.
pub const STATUS_PATH: &str = "/v1/status";
/// `GET`: liveness (no client certificate).
pub const HEALTH_PATH: &str = "/healthz";
/// `GET`: Prometheus metrics (no client certificate).
pub const METRICS_PATH: &str = "/metrics";
/// The largest request body a broker reads (a CSR of an RSA-4096 key is under 2 KiB).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// The body of `POST /v1/renew`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    /// The new key's PKCS#10 CSR, PEM.
    pub csr: String,
}

/// The body of `POST /v1/confirm`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfirmRequest {
    /// The credential the confirmed one replaces, from its [`RenewAnswer`]; the broker finds
    /// it by name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_credential_id: Option<Uuid>,
}

/// The body of `POST /v1/abandon`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AbandonRequest {
    /// The successor (from its [`RenewAnswer`]) the host will not deploy.
    pub credential_id: Uuid,
}

/// The answer to an abandon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbandonAnswer {
    /// The credentials revoked (empty when it was gone already).
    pub revoked: Vec<Uuid>,
}

/// The answer to a renewal: the successor credential, READY.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewAnswer {
    /// The new credential.
    pub credential_id: Uuid,
    /// Its certificate (PEM): deploy it with the key the CSR was made from.
    #[serde(rename = "certificatePEM")]
    pub certificate_pem: String,
    /// The domain's CA (PEM), which issued it.
    #[serde(rename = "caPEM")]
    pub ca_pem: String,
    /// When the new certificate expires.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// The credential it replaces (the one presented), revoked on confirm.
    pub previous_credential_id: Uuid,
    /// The domain.
    pub okms_id: Uuid,
    /// The domain's REST endpoint, where the host proves the new pair before deploying it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_endpoint: Option<String>,
    /// Without a confirm by then, the broker revokes the new credential and the previous one
    /// stays live.
    #[serde(with = "time::serde::rfc3339")]
    pub confirm_by: OffsetDateTime,
}

/// The answer to a confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmAnswer {
    /// The confirmed (presented) credential.
    pub credential_id: Uuid,
    /// The credentials revoked by this confirm (the previous one, and any duplicate successor
    /// a race made); empty when a confirm already did it.
    pub revoked: Vec<Uuid>,
}

/// The answer to a status request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusAnswer {
    /// The presented credential.
    pub credential_id: Uuid,
    /// Its domain.
    pub okms_id: Uuid,
    /// Its name.
    pub name: String,
    /// When it expires.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// From when the broker renews it.
    #[serde(with = "time::serde::rfc3339")]
    pub renew_after: OffsetDateTime,
    /// Whether that time has come.
    pub due: bool,
    /// An unconfirmed successor made for it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_successor: Option<Uuid>,
}

/// A broker's base URL: `https://`, no query or fragment; a path prefix (a broker behind a
/// reverse proxy) is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl(url::Url);

impl BrokerUrl {
    /// Parses and checks `text`.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] when it is not an `https://` URL without query or fragment.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: text.to_string(),
            reason: reason.to_string(),
        };
        let url = url::Url::parse(text).map_err(|e| invalid(&format!("{e}")))?;
        if url.scheme() != "https" {
            return Err(invalid(
                "a broker is reached over mutual TLS: use an https:// URL",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL names no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("remove the query (?...) or fragment (#...)"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "remove the user and password: the client certificate authenticates",
            ));
        }
        Ok(BrokerUrl(url))
    }

    /// `route` (one of the `*_PATH` constants) under this base.
    pub fn join(&self, route: &str) -> String {
        let base = self.0.as_str().trim_end_matches('/');
        format!("{base}{route}")
    }

    /// The URL as given (normalised).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// `POST /v1/renew` with `csr_pem`.
///
/// # Errors
/// [`Error::InvalidUrl`] when the URL cannot carry the request (not expected for a parsed
/// [`BrokerUrl`]).
pub fn renew_request(base: &BrokerUrl, csr_pem: &str) -> Result<http::Request<Vec<u8>>, Error> {
    let body = RenewRequest {
        csr: csr_pem.to_string(),
    };
    json_request(base, http::Method::POST, RENEW_PATH, Some(&body))
}

/// `POST /v1/confirm`, naming the previous credential when known.
///
/// # Errors
/// As [`renew_request`].
pub fn confirm_request(
    base: &BrokerUrl,
    previous_credential_id: Option<Uuid>,
) -> Result<http::Request<Vec<u8>>, Error> {
    let body = ConfirmRequest {
        previous_credential_id,
    };
    json_request(base, http::Method::POST, CONFIRM_PATH, Some(&body))
}

/// `POST /v1/abandon` for the successor `credential_id`.
///
/// # Errors
/// As [`renew_request`].
pub fn abandon_request(
    base: &BrokerUrl,
    credential_id: Uuid,
) -> Result<http::Request<Vec<u8>>, Error> {
    let body = AbandonRequest { credential_id };
    json_request(base, http::Method::POST, ABANDON_PATH, Some(&body))
}

/// `GET /v1/status`.
///
/// # Errors
/// As [`renew_request`].
pub fn status_request(base: &BrokerUrl) -> Result<http::Request<Vec<u8>>, Error> {
    json_request::<()>(base, http::Method::GET, STATUS_PATH, None)
}

fn json_request<B: Serialize>(
    base: &BrokerUrl,
    method: http::Method,
    route: &str,
    body: Option<&B>,
) -> Result<http::Request<Vec<u8>>, Error> {
    let url = base.join(route);
    let bytes = match body {
        Some(b) => serde_json::to_vec(b).map_err(Error::RequestDecode)?,
        None => Vec::new(),
    };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(&url)
        .header(http::header::ACCEPT, "application/json");
    if body.is_some() {
        builder = builder.header(http::header::CONTENT_TYPE, "application/json");
    }
    builder.body(bytes).map_err(|e| Error::InvalidUrl {
        url,
        reason: e.to_string(),
    })
}

/// Reads a renew answer (201, or 200 for a repeated CSR).
///
/// # Errors
/// [`Error::Broker`] for a refusal, [`Error::Decode`] for a 2xx answer that is not one.
pub fn read_renew_answer(response: &http::Response<Vec<u8>>) -> Result<RenewAnswer, Error> {
    read_answer(response, "broker renew answer")
}

/// Reads a confirm answer.
///
/// # Errors
/// As [`read_renew_answer`].
pub fn read_confirm_answer(response: &http::Response<Vec<u8>>) -> Result<ConfirmAnswer, Error> {
    read_answer(response, "broker confirm answer")
}

/// Reads an abandon answer.
///
/// # Errors
/// As [`read_renew_answer`].
pub fn read_abandon_answer(response: &http::Response<Vec<u8>>) -> Result<AbandonAnswer, Error> {
    read_answer(response, "broker abandon answer")
}

/// Reads a status answer.
///
/// # Errors
/// As [`read_renew_answer`].
pub fn read_status_answer(response: &http::Response<Vec<u8>>) -> Result<StatusAnswer, Error> {
    read_answer(response, "broker status answer")
}

fn read_answer<T: serde::de::DeserializeOwned>(
    response: &http::Response<Vec<u8>>,
    what: &'static str,
) -> Result<T, Error> {
    if !response.status().is_success() {
        return Err(Error::Broker(Box::new(read_refusal(response))));
    }
    serde_json::from_slice(response.body()).map_err(|source| Error::Decode {
        what,
        status: response.status().as_u16(),
        // A renew answer holds only public material (certificates), never a key.
        body_excerpt: String::from_utf8_lossy(response.body())
            .chars()
            .take(200)
            .collect(),
        source,
    })
}

/// The refusal an error answer carries; a body that is not the broker's (a proxy's page) is
/// kept as the message, shortened.
pub fn read_refusal(response: &http::Response<Vec<u8>>) -> BrokerRefusal {
    let status = response.status().as_u16();
    let retry_after = crate::sans_io::retry_after(response);
    match serde_json::from_slice::<RefusalBody>(response.body()) {
        Ok(body) => BrokerRefusal {
            status,
            code: body.error,
            message: body.message,
            retry_after,
        },
        Err(_) => BrokerRefusal {
            status,
            code: RefusalCode::Unknown,
            message: String::from_utf8_lossy(response.body())
                .chars()
                .take(200)
                .collect(),
            retry_after,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_renew_body_with_any_other_field_is_refused() {
        let err = serde_json::from_str::<RenewRequest>(r#"{"csr":"x","name":"root"}"#);
        assert!(err.is_err_and(|e| e.to_string().contains("unknown field `name`")));
    }

    #[test]
    fn broker_urls_must_be_https_without_query() {
        assert!(BrokerUrl::parse("https://broker.example:8443/okms").is_ok());
        for bad in [
            "http://broker.example",
            "https://broker.example/?x=1",
            "https://u:p@broker.example",
            "broker",
        ] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
        let url = BrokerUrl::parse("https://b.example:8443/okms/").unwrap_or_else(|e| {
            unreachable!("{e}");
        });
        assert_eq!(url.join(RENEW_PATH), "https://b.example:8443/okms/v1/renew");
    }

    #[test]
    fn a_refusal_keeps_its_code_and_retry_after() {
        let response = http::Response::builder()
            .status(503)
            .header("retry-after", "7")
            .body(br#"{"error":"unavailable","message":"busy"}"#.to_vec())
            .unwrap_or_default();
        let refusal = read_refusal(&response);
        assert_eq!(refusal.code, RefusalCode::Unavailable);
        assert_eq!(refusal.retry_after, Some(Duration::from_secs(7)));
        assert!(refusal.is_retryable());
    }
}
