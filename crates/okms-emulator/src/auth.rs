//! Authentication, as OVHcloud's API layer does it: the `$1$` signature with a bounded clock
//! skew (AK/AS/CK), or an OAuth2 bearer token. Also `GET /auth/time` and `GET /auth/details`.

use std::sync::Arc;

use axum::{
    Extension, Json,
    body::{Body, Bytes, to_bytes},
    extract::{Request, State},
    http::{HeaderMap, StatusCode, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    errors::{ApiError, AuthCode, AuthError},
    server::ConnInfo,
    signature,
    state::{Shared, token_key},
    wire::{AllowedRoute, AuthDetails},
};

/// Largest request body accepted (a CSR is a few KiB).
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// Who made an authenticated request.
#[derive(Clone, Debug)]
pub(crate) enum Caller {
    /// Application key + consumer key.
    Application,
    /// OAuth2 service account.
    OAuth2 {
        /// Its client id.
        client_id: String,
    },
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The URL exactly as the client addressed it, which is what the client signed.
fn full_url(parts: &Parts) -> String {
    if parts.uri.scheme().is_some() {
        // absolute-form request line
        return parts.uri.to_string();
    }
    let host = header(&parts.headers, "host")
        .map(str::to_owned)
        .unwrap_or_else(|| {
            parts
                .extensions
                .get::<ConnInfo>()
                .map(|c| c.local_addr.to_string())
                .unwrap_or_default()
        });
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    format!("http://{host}{path}")
}

fn check_bearer(shared: &Shared, token: &str) -> Result<Caller, AuthError> {
    let now = shared.now();
    let st = shared.lock();
    match st.tokens.get(&token_key(token)) {
        None => Err(AuthError::new(
            AuthCode::InvalidCredential,
            "This access token is not valid; request a new one from /auth/oauth2/token",
        )
        .with_status(StatusCode::UNAUTHORIZED)),
        Some(t) if now >= t.expires_at => Err(AuthError::new(
            AuthCode::InvalidCredential,
            "This access token has expired; request a new one from /auth/oauth2/token",
        )
        .with_status(StatusCode::UNAUTHORIZED)),
        Some(t) => Ok(Caller::OAuth2 {
            client_id: t.client_id.clone(),
        }),
    }
}

fn check_signed(shared: &Shared, parts: &Parts, body: &[u8]) -> Result<Caller, AuthError> {
    use signature::Rejection;
    let h = &parts.headers;
    let url = full_url(parts);
    let req = signature::SignedRequest {
        application: header(h, "x-ovh-application"),
        consumer: header(h, "x-ovh-consumer"),
        timestamp: header(h, "x-ovh-timestamp"),
        signature: header(h, "x-ovh-signature"),
        method: parts.method.as_str(),
        url: &url,
        body,
    };
    let server = shared.server_clock().unix_timestamp();
    let max = i64::try_from(shared.settings.max_clock_skew.as_secs()).unwrap_or(i64::MAX);
    let rejection = match signature::verify(&shared.settings.credentials, &req, server, max) {
        Ok(()) => return Ok(Caller::Application),
        Err(r) => r,
    };
    Err(match rejection {
        Rejection::MissingApplication => AuthError::new(
            AuthCode::NotAuthenticated,
            "You must login first (send X-Ovh-Application/X-Ovh-Consumer/X-Ovh-Timestamp/\
             X-Ovh-Signature or Authorization: Bearer)",
        ),
        Rejection::UnknownApplication => {
            AuthError::new(AuthCode::InvalidKey, "Invalid application key")
        }
        Rejection::MissingConsumer => AuthError::new(
            AuthCode::NotCredential,
            "This call needs a consumer key: send X-Ovh-Consumer",
        ),
        Rejection::UnknownConsumer => AuthError::new(
            AuthCode::InvalidCredential,
            "This credential does not exist",
        ),
        Rejection::MissingTimestamp => {
            AuthError::new(AuthCode::QueryTimeOut, "Missing X-Ovh-Timestamp header")
        }
        Rejection::BadTimestamp => AuthError::new(
            AuthCode::QueryTimeOut,
            "X-Ovh-Timestamp must be decimal unix seconds",
        ),
        Rejection::ClockSkew { drift, max } => AuthError::new(
            AuthCode::QueryTimeOut,
            format!(
                "Query out of time: X-Ovh-Timestamp is {drift} s away from server time \
                 (at most {max} s allowed); synchronise with GET /auth/time"
            ),
        ),
        Rejection::MissingSignature => {
            AuthError::new(AuthCode::InvalidSignature, "Missing X-Ovh-Signature header")
        }
        Rejection::BadSignature => AuthError::new(AuthCode::InvalidSignature, "Invalid signature"),
    })
}

/// Middleware for every authenticated route: buffers the body (it is part of the
/// signature), checks the credentials and records the caller.
pub(crate) async fn require_auth(
    State(shared): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Client::PayloadTooLarge",
                format!("request body larger than {MAX_BODY} bytes"),
            )
            .into_response();
        }
    };
    let bearer = header(&parts.headers, "authorization")
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let caller = match bearer {
        Some(token) => check_bearer(&shared, token),
        None => check_signed(&shared, &parts, &bytes),
    };
    match caller {
        Ok(caller) => {
            let mut req = Request::from_parts(parts, Body::from(bytes));
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /auth/time`: the server clock as a bare JSON integer (skew fault included).
pub(crate) async fn time(State(shared): State<Arc<Shared>>) -> Json<i64> {
    Json(shared.server_clock().unix_timestamp())
}

/// `GET /v1/auth/details`.
pub(crate) async fn details(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
) -> Json<AuthDetails> {
    let nic = shared.settings.nic.clone();
    let (method, identities, description) = match caller {
        Caller::Application => (
            "account",
            vec![format!("urn:v1:eu:identity:account:{nic}")],
            Some("okms-emulator application".to_owned()),
        ),
        Caller::OAuth2 { client_id } => (
            "oauth2_client_credentials",
            vec![format!(
                "urn:v1:eu:identity:credential:{nic}/oauth2-{client_id}"
            )],
            Some("okms-emulator service account".to_owned()),
        ),
    };
    let allowed_routes = ["GET", "POST", "PUT", "DELETE"]
        .into_iter()
        .map(|method| AllowedRoute { method, path: "/*" })
        .collect();
    Json(AuthDetails {
        account: nic,
        method,
        identities,
        user: None,
        description,
        roles: Vec::new(),
        allowed_routes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parts(uri: &str, host: Option<&str>) -> Parts {
        let mut b = axum::http::Request::builder().uri(uri);
        if let Some(h) = host {
            b = b.header("host", h);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn full_url_keeps_path_and_query_as_sent() {
        let p = parts("/v2/okms/resource?x=1&y=%20", Some("127.0.0.1:8080"));
        assert_eq!(
            full_url(&p),
            "http://127.0.0.1:8080/v2/okms/resource?x=1&y=%20"
        );
        let p = parts("http://localhost:9/1.0/me", None);
        assert_eq!(full_url(&p), "http://localhost:9/1.0/me");
    }
}
