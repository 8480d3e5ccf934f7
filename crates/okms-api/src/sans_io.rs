//! The sans-IO core: API calls as values, turned into exact HTTP requests, and HTTP answers
//! turned into typed values or typed errors. Nothing here does I/O or reads the clock.

use std::collections::BTreeMap;
use std::time::Duration;

use http::Method;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::endpoint::Endpoint;
use crate::error::{ApiError, Error, ErrorShape, Field};
use crate::request::CredentialRequest;
use crate::signature::sign;

/// Request header carrying the pagination cursor.
pub const PAGINATION_CURSOR: &str = "x-pagination-cursor";
/// Request header asking for a page size.
pub const PAGINATION_SIZE: &str = "x-pagination-size";
/// Response header carrying the next page's cursor (absent on the last page).
pub const PAGINATION_CURSOR_NEXT: &str = "x-pagination-cursor-next";
/// Response header with the query ID to quote to support.
pub const QUERY_ID: &str = "x-ovh-queryid";

const USER_AGENT_VALUE: &str = concat!("okms-rs/", env!("CARGO_PKG_VERSION"));
/// Longest server error text kept verbatim.
const MESSAGE_MAX: usize = 1024;

/// One API call before authentication: method, path with query, exact body, extra headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Path and query, e.g. `/v2/okms/resource?x=1`; joined to the endpoint by [`Endpoint::url`].
    pub path: String,
    /// Exact body bytes; `None` for no body.
    pub body: Option<Vec<u8>>,
    /// Extra headers (e.g. the pagination cursor).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Whether the call needs credentials (`/auth/time` does not).
    pub authenticated: bool,
}

impl ApiRequest {
    /// A GET.
    pub fn get(path: impl Into<String>) -> Self {
        ApiRequest {
            method: Method::GET,
            path: path.into(),
            body: None,
            headers: Vec::new(),
            authenticated: true,
        }
    }

    /// Whether repeating the call cannot change server state twice.
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self.method,
            Method::GET | Method::HEAD | Method::DELETE | Method::PUT | Method::OPTIONS
        )
    }
}

/// The authentication material for one attempt.
#[derive(Debug, Clone, Copy)]
pub enum RequestAuth<'a> {
    /// No credentials.
    None,
    /// `$1$` signature with this (server-corrected) timestamp.
    Signature {
        /// Application key.
        application_key: &'a str,
        /// Application secret.
        application_secret: &'a SecretString,
        /// Consumer key.
        consumer_key: &'a SecretString,
        /// Unix seconds, already corrected by the server clock offset.
        timestamp: i64,
    },
    /// `Authorization: Bearer`.
    Bearer(&'a SecretString),
}

/// Builds the exact HTTP request for `req` on `endpoint`, signing the exact URL and body.
pub fn build_request(
    endpoint: &Endpoint,
    req: &ApiRequest,
    auth: &RequestAuth<'_>,
) -> Result<http::Request<Vec<u8>>, Error> {
    let url = wire_url(&endpoint.url(&req.path))?;
    let body = req.body.clone().unwrap_or_default();
    let mut b = http::Request::builder()
        .method(req.method.clone())
        .uri(url.as_str())
        .header(ACCEPT, "application/json")
        .header(USER_AGENT, USER_AGENT_VALUE);
    if req.body.is_some() {
        b = b.header(CONTENT_TYPE, "application/json;charset=utf-8");
    }
    for (k, v) in &req.headers {
        b = b.header(k, v);
    }
    if req.authenticated {
        match auth {
            RequestAuth::None => {}
            RequestAuth::Signature {
                application_key,
                application_secret,
                consumer_key,
                timestamp,
            } => {
                let signature = sign(
                    application_secret.expose_secret(),
                    consumer_key.expose_secret(),
                    req.method.as_str(),
                    &url,
                    &body,
                    *timestamp,
                );
                b = b
                    .header("X-Ovh-Application", *application_key)
                    .header("X-Ovh-Consumer", sensitive(consumer_key.expose_secret())?)
                    .header("X-Ovh-Timestamp", timestamp.to_string())
                    .header("X-Ovh-Signature", signature);
            }
            RequestAuth::Bearer(token) => {
                b = b.header(
                    AUTHORIZATION,
                    sensitive(&format!("Bearer {}", token.expose_secret()))?,
                );
            }
        }
    }
    Ok(b.body(body)?)
}

/// The URL exactly as the transport puts it on the wire (parsed and serialized by the `url`
/// crate, as reqwest does: dot segments resolved, characters percent-encoded), which is what
/// the server hashes to check the signature. A fragment is never sent, so it is refused
/// rather than signed.
fn wire_url(url: &str) -> Result<String, Error> {
    let parsed = url::Url::parse(url).map_err(|e| Error::InvalidUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    if parsed.fragment().is_some() {
        return Err(Error::invalid(
            Field::Path,
            "contains '#': a URL fragment is not sent to the server and cannot be signed",
        ));
    }
    Ok(parsed.into())
}

pub(crate) fn sensitive(v: &str) -> Result<HeaderValue, Error> {
    let mut h = HeaderValue::from_str(v).map_err(|_| {
        Error::invalid(
            Field::Credential,
            "contains characters not allowed in an HTTP header",
        )
    })?;
    h.set_sensitive(true);
    Ok(h)
}

/// Request constructors for every operation (sans-IO).
pub mod ops {
    use super::*;

    /// `GET /auth/time` (unauthenticated): the server's clock.
    pub fn auth_time() -> ApiRequest {
        ApiRequest {
            authenticated: false,
            ..ApiRequest::get("/auth/time")
        }
    }

    /// `GET /v1/auth/details`.
    pub fn auth_details() -> ApiRequest {
        ApiRequest::get("/v1/auth/details")
    }

    /// `GET /v1/me`.
    pub fn me() -> ApiRequest {
        ApiRequest::get("/v1/me")
    }

    /// `GET /v2/okms/resource`, one page.
    pub fn list_domains(cursor: Option<&str>) -> Result<ApiRequest, Error> {
        with_cursor(ApiRequest::get("/v2/okms/resource"), cursor)
    }

    /// `GET /v2/okms/resource/{okmsId}[?publicCA=true]`.
    pub fn get_domain(okms_id: Uuid, public_ca: bool) -> ApiRequest {
        let q = if public_ca { "?publicCA=true" } else { "" };
        ApiRequest::get(format!("/v2/okms/resource/{okms_id}{q}"))
    }

    /// `GET /v2/okms/resource/{okmsId}/credential`, one page.
    pub fn list_credentials(okms_id: Uuid, cursor: Option<&str>) -> Result<ApiRequest, Error> {
        with_cursor(
            ApiRequest::get(format!("/v2/okms/resource/{okms_id}/credential")),
            cursor,
        )
    }

    /// `POST /v2/okms/resource/{okmsId}/credential` after validating `request`.
    pub fn create_credential(
        okms_id: Uuid,
        request: &CredentialRequest,
    ) -> Result<ApiRequest, Error> {
        request.validate()?;
        Ok(ApiRequest {
            method: Method::POST,
            body: Some(request.to_json()?),
            ..ApiRequest::get(format!("/v2/okms/resource/{okms_id}/credential"))
        })
    }

    /// `GET /v2/okms/resource/{okmsId}/credential/{credentialId}`.
    pub fn get_credential(okms_id: Uuid, credential_id: Uuid) -> ApiRequest {
        ApiRequest::get(format!(
            "/v2/okms/resource/{okms_id}/credential/{credential_id}"
        ))
    }

    /// `DELETE /v2/okms/resource/{okmsId}/credential/{credentialId}`.
    pub fn delete_credential(okms_id: Uuid, credential_id: Uuid) -> ApiRequest {
        ApiRequest {
            method: Method::DELETE,
            ..get_credential(okms_id, credential_id)
        }
    }

    fn with_cursor(mut req: ApiRequest, cursor: Option<&str>) -> Result<ApiRequest, Error> {
        if let Some(c) = cursor {
            let v = HeaderValue::from_str(c).map_err(|_| {
                Error::invalid(
                    Field::PaginationCursor,
                    "the server's cursor is not a valid header value",
                )
            })?;
            req.headers
                .push((HeaderName::from_static(PAGINATION_CURSOR), v));
        }
        Ok(req)
    }
}

/// Parses a JSON answer into `T`, or the error answer into [`Error::Api`].
pub fn parse_json<T: DeserializeOwned>(
    response: &http::Response<Vec<u8>>,
    what: &'static str,
) -> Result<T, Error> {
    check_status(response)?;
    decode(response, what, true)
}

/// Like [`parse_json`] but never quotes the body in errors (the body may hold a private key).
pub fn parse_json_secret<T: DeserializeOwned>(
    response: &http::Response<Vec<u8>>,
    what: &'static str,
) -> Result<T, Error> {
    check_status(response)?;
    decode(response, what, false)
}

fn decode<T: DeserializeOwned>(
    response: &http::Response<Vec<u8>>,
    what: &'static str,
    quote: bool,
) -> Result<T, Error> {
    serde_json::from_slice(response.body()).map_err(|source| Error::Decode {
        what,
        status: response.status().as_u16(),
        body_excerpt: if quote {
            excerpt(response.body())
        } else {
            "<not shown: may hold a secret>".into()
        },
        source: if quote { source } else { redacted(&source) },
    })
}

/// serde_json's messages quote the offending value (`invalid type: string "…"`, `unknown
/// variant `…``), which in a secret-bearing answer may be a private key or a token. Keep only
/// what kind of error it was and where.
fn redacted(source: &serde_json::Error) -> serde_json::Error {
    use serde::de::Error as _;
    let kind = match source.classify() {
        serde_json::error::Category::Io => "I/O",
        serde_json::error::Category::Syntax => "JSON syntax",
        serde_json::error::Category::Data => "unexpected field value",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    serde_json::Error::custom(format!(
        "{kind} at line {} column {} (value not shown: may hold a secret)",
        source.line(),
        source.column()
    ))
}

/// `Ok` for 2xx, else the decoded error answer.
pub fn check_status(response: &http::Response<Vec<u8>>) -> Result<(), Error> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(parse_error(response).into())
    }
}

/// The next-page cursor, when there is one.
pub fn next_cursor(response: &http::Response<Vec<u8>>) -> Option<String> {
    response
        .headers()
        .get(PAGINATION_CURSOR_NEXT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The server clock from a `/auth/time` answer (a bare JSON integer).
pub fn parse_auth_time(response: &http::Response<Vec<u8>>) -> Result<i64, Error> {
    parse_json(response, "server time")
}

/// `Retry-After` in seconds (the HTTP-date form is not used by these APIs and is ignored).
pub fn retry_after(response: &http::Response<Vec<u8>>) -> Option<Duration> {
    response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Decodes any error answer: OVH `{"class","message","details"}`, auth layer
/// `{"errorCode","httpCode","message"}`, OAuth2 `{"error","error_description"}`, data plane
/// `{"error_id","error_code","errors","request_id"}`, or raw text (truncated).
pub fn parse_error(response: &http::Response<Vec<u8>>) -> ApiError {
    let status = response.status();
    let mut e = ApiError {
        status: status.as_u16(),
        class: None,
        code: None,
        message: String::new(),
        details: BTreeMap::new(),
        unauthorized_actions_by_iam: Vec::new(),
        unauthorized_actions_by_authentication: Vec::new(),
        query_id: response
            .headers()
            .get(QUERY_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        retry_after: retry_after(response),
        shape: ErrorShape::Raw,
    };
    let json: Option<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(response.body()).ok();
    let str_of = |m: &serde_json::Map<String, serde_json::Value>, k: &str| {
        m.get(k).and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
    };
    match json {
        Some(m) if m.contains_key("errorCode") => {
            e.shape = ErrorShape::AuthLayer;
            e.code = str_of(&m, "errorCode");
            e.message = str_of(&m, "message").unwrap_or_default();
            if let Some(h) = str_of(&m, "httpCode") {
                e.details.insert("httpCode".into(), h);
            }
        }
        Some(m) if m.contains_key("class") || m.contains_key("message") => {
            e.shape = ErrorShape::Ovh;
            e.class = str_of(&m, "class");
            e.message = str_of(&m, "message").unwrap_or_default();
            if let Some(serde_json::Value::Object(d)) = m.get("details") {
                for (k, v) in d {
                    let text = match v {
                        serde_json::Value::Array(_) => Some(action_list(v).join(", ")),
                        _ => str_of(d, k),
                    };
                    if let Some(text) = text {
                        e.details.insert(k.clone(), text);
                    }
                }
                if let Some(v) = d.get("unauthorizedActionsByIAM") {
                    e.unauthorized_actions_by_iam = action_list(v);
                }
                if let Some(v) = d.get("unauthorizedActionsByAuthentication") {
                    e.unauthorized_actions_by_authentication = action_list(v);
                }
            }
        }
        Some(m) if m.get("error").is_some_and(|v| v.is_string()) => {
            e.shape = ErrorShape::OAuth2;
            e.code = str_of(&m, "error");
            e.message = str_of(&m, "error_description").unwrap_or_default();
        }
        Some(m) if m.contains_key("error_code") || m.contains_key("errors") => {
            e.shape = ErrorShape::DataPlane;
            e.code = str_of(&m, "error_code");
            e.message = match m.get("errors") {
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => String::new(),
            };
            for k in ["error_id", "request_id"] {
                if let Some(v) = str_of(&m, k) {
                    e.details.insert(k.into(), v);
                }
            }
        }
        _ => {
            e.message = excerpt(response.body());
        }
    }
    if e.message.is_empty() {
        e.message = status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string();
    }
    e
}

/// The actions of an `unauthorizedActionsBy…` detail. OVHcloud types `details` as a map of
/// strings (go-ovh `APIError.Details map[string]string`; the IAM troubleshooting guide shows
/// `"unauthorizedActionsByIAM": "vps:apiovh:reboot"`), so several actions come as one
/// comma-separated string; an array of strings is accepted as well, in case the server ever
/// sends the list as JSON. Blank entries are dropped.
fn action_list(v: &serde_json::Value) -> Vec<String> {
    let pieces: Vec<&str> = match v {
        serde_json::Value::String(s) => s.split(',').collect(),
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(serde_json::Value::as_str)
            .flat_map(|s| s.split(','))
            .collect(),
        _ => Vec::new(),
    };
    pieces
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The start of a body as text, for messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    match s.char_indices().nth(MESSAGE_MAX) {
        Some((i, _)) => format!("{}… ({} bytes in all)", &s[..i], body.len()),
        None => s.to_string(),
    }
}
