//! Authentication, as OVHcloud's API layer does it: the `$1$` signature with a bounded clock
//! skew (AK/AS/CK), or an OAuth2 bearer token; then the IAM check of the route's actions.
//! Also `GET /auth/time` and `GET /auth/details`.

use std::sync::{Arc, RwLock};

use axum::{
    Extension, Json,
    body::{Body, Bytes, to_bytes},
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    EmulatorConfig, Error,
    error_answers::{ApiError, AuthRefusal},
    iam::evaluate::action_matches,
    routes,
    server::ConnInfo,
    signature,
    state::{Caller, Shared, token_key},
    wire::{AllowedRoute, AuthDetails},
};

/// Largest request body accepted (a CSR is a few KiB).
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The authentication choices of a running emulator: the shape of its refusals and the IAM
/// actions it refuses to every caller (settable at run time).
#[derive(Debug)]
pub(crate) struct AuthPolicy {
    legacy_errors: bool,
    denied_actions: RwLock<Vec<String>>,
}

impl AuthPolicy {
    pub(crate) fn new(config: &EmulatorConfig) -> Result<Self, Error> {
        check_action_patterns(&config.deny_actions)?;
        Ok(Self {
            legacy_errors: config.legacy_auth_errors,
            denied_actions: RwLock::new(config.deny_actions.clone()),
        })
    }

    pub(crate) fn set_denied_actions(&self, patterns: Vec<String>) -> Result<(), Error> {
        check_action_patterns(&patterns)?;
        *self
            .denied_actions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = patterns;
        Ok(())
    }

    /// The actions among `needed` that a deny pattern matches, in the route's order.
    fn refused(&self, needed: &[&'static str]) -> Vec<&'static str> {
        let denied = self
            .denied_actions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        needed
            .iter()
            .copied()
            .filter(|action| denied.iter().any(|p| action_matches(p, action)))
            .collect()
    }
}

/// A deny pattern is an IAM action such as `okms:apiovh:credential/create`, optionally ending
/// in one `*`: no blank, no comma (the refusal lists actions comma-separated), no other `*`.
fn check_action_patterns(patterns: &[String]) -> Result<(), Error> {
    for p in patterns {
        let body = p.strip_suffix('*').unwrap_or(p);
        let bad = if p.is_empty() {
            Some("it is empty")
        } else if body.contains('*') {
            Some("`*` is allowed only at the end")
        } else if p
            .chars()
            .any(|c| c == ',' || c.is_whitespace() || c.is_control())
        {
            Some("it contains a comma, a blank or a control character")
        } else {
            None
        };
        if let Some(reason) = bad {
            return Err(Error::Config(format!(
                "invalid IAM action to deny {p:?}: {reason}; give an action such as \
                 okms:apiovh:credential/create, or a prefix ending in * such as \
                 okms:apiovh:credential/*"
            )));
        }
    }
    Ok(())
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

fn check_bearer(shared: &Shared, token: &str) -> Result<Caller, AuthRefusal> {
    let now = shared.now();
    let st = shared.lock();
    match st.tokens.get(&token_key(token)) {
        None => Err(AuthRefusal::UnknownToken),
        Some(t) if now >= t.expires_at => Err(AuthRefusal::ExpiredToken),
        Some(t) => Ok(Caller::OAuth2 {
            client_id: t.client_id.clone(),
        }),
    }
}

fn check_signed(shared: &Shared, parts: &Parts, body: &[u8]) -> Result<Caller, AuthRefusal> {
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
        Rejection::MissingApplication => AuthRefusal::NoCredentials,
        Rejection::UnknownApplication => AuthRefusal::UnknownApplicationKey,
        Rejection::MissingConsumer => AuthRefusal::NoConsumerKey,
        Rejection::UnknownConsumer => AuthRefusal::UnknownConsumerKey,
        Rejection::MissingTimestamp => {
            AuthRefusal::Timestamp("Missing X-Ovh-Timestamp header".to_owned())
        }
        Rejection::BadTimestamp => {
            AuthRefusal::Timestamp("X-Ovh-Timestamp must be decimal unix seconds".to_owned())
        }
        Rejection::ClockSkew { drift, max } => AuthRefusal::Timestamp(format!(
            "Query out of time: X-Ovh-Timestamp is {drift} s away from server time \
             (at most {max} s allowed); synchronise with GET /auth/time"
        )),
        Rejection::MissingSignature => {
            AuthRefusal::Signature("Missing X-Ovh-Signature header".to_owned())
        }
        Rejection::BadSignature => AuthRefusal::Signature("Invalid signature".to_owned()),
    })
}

/// Middleware for every authenticated route: buffers the body (it is part of the
/// signature), checks the credentials, then the IAM actions of the route (before any
/// processing, as a refusal must change nothing), and records the caller.
pub(crate) async fn require_auth(
    State((shared, policy)): State<(Arc<Shared>, Arc<AuthPolicy>)>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            // The real limit and answer are unknown (INVENTED); the generic class keeps the
            // answer inside the schema's vocabulary rather than inventing a class name.
            return ApiError::bad_request("", format!("request body larger than {MAX_BODY} bytes"))
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
    let caller = match caller {
        Ok(caller) => caller,
        Err(refusal) => return refusal.into_response(policy.legacy_errors),
    };
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or("", MatchedPath::as_str);
    let actions = routes::iam_actions(&parts.method, route);
    let subject = shared.api_subject(&caller);
    let resource = routes::iam_resource(&shared.settings.nic, route, parts.uri.path());
    let denied = policy.refused(actions);
    // The configured denials apply on top of the policies, whoever the caller is.
    let refused: Vec<&str> = actions
        .iter()
        .copied()
        .filter(|action| {
            denied.contains(action)
                || resource
                    .as_deref()
                    .is_some_and(|r| !shared.allowed(&subject, r, action))
        })
        .collect();
    if !refused.is_empty() {
        return ApiError::iam_refusal(&refused).into_response();
    }
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(caller);
    req.extensions_mut().insert(subject);
    next.run(req).await
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
    let acting_as = shared.acting_as(&caller);
    let (method, mut identities, description) = match caller {
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
    // A configured caller identity replaces whatever the credentials would map to.
    let user = acting_as.as_deref().and_then(|urn| {
        urn.strip_prefix(&format!("urn:v1:eu:identity:user:{nic}/"))
            .map(str::to_owned)
    });
    if let Some(urn) = acting_as {
        identities = vec![urn];
    }
    let allowed_routes = ["GET", "POST", "PUT", "DELETE"]
        .into_iter()
        .map(|method| AllowedRoute { method, path: "/*" })
        .collect();
    Json(AuthDetails {
        account: nic,
        method,
        identities,
        user,
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
    fn deny_patterns_match_whole_actions_or_a_prefix() {
        assert!(action_matches(
            "okms:apiovh:credential/create",
            "okms:apiovh:credential/create"
        ));
        assert!(!action_matches(
            "okms:apiovh:credential/create",
            "okms:apiovh:credential/get"
        ));
        assert!(!action_matches(
            "okms:apiovh:credential",
            "okms:apiovh:credential/get"
        ));
        assert!(action_matches(
            "okms:apiovh:credential/*",
            "okms:apiovh:credential/get"
        ));
        assert!(!action_matches(
            "okms:apiovh:credential/*",
            "okms:apiovh:resource/get"
        ));
        assert!(action_matches("*", "account:apiovh:me/get"));
        for bad in [
            "",
            "okms:*:credential/get",
            "a,b",
            "okms:apiovh:credential/ get",
        ] {
            let e = check_action_patterns(&[bad.to_owned()]).unwrap_err();
            assert!(
                e.to_string().contains("okms:apiovh:credential/create"),
                "{e}"
            );
        }
        assert!(check_action_patterns(&["okms:apiovh:*".to_owned(), "*".to_owned()]).is_ok());
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
