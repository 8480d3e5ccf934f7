//! The route tables of both sides.

use std::sync::Arc;

use axum::{
    Router,
    http::{Method, StatusCode},
    middleware,
    routing::{get, post},
};

use crate::{auth, credentials, domains, error_answers::ApiError, kms, me, oauth2, state::Shared};

async fn api_not_found() -> ApiError {
    ApiError::not_found("Got an invalid (or empty) URL")
}

async fn api_method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Client::MethodNotAllowed",
        "This method is not allowed on this path",
    )
}

/// The OVHcloud API side. `/1.0/…` serves what clients send to `OVH_ENDPOINT`; `/v1/…` and
/// `/v2/…` what they send after stripping `/1.0` (spec §5.1).
pub(crate) fn api(shared: Arc<Shared>, policy: Arc<auth::AuthPolicy>) -> Router {
    let cred = CREDENTIALS;
    let authed = Router::new()
        .route("/1.0/auth/details", get(auth::details))
        .route("/v1/auth/details", get(auth::details))
        .route("/1.0/me", get(me::me))
        .route("/v1/me", get(me::me))
        .route("/v2/okms/resource", get(domains::list))
        .route("/v2/okms/resource/{okms_id}", get(domains::show))
        .route(cred, get(credentials::list).post(credentials::create))
        .route(
            CREDENTIAL,
            get(credentials::get).delete(credentials::delete),
        )
        .route_layer(middleware::from_fn_with_state(
            (shared.clone(), policy),
            auth::require_auth,
        ));
    Router::new()
        .route("/1.0/auth/time", get(auth::time))
        .route("/v1/auth/time", get(auth::time))
        .route("/auth/time", get(auth::time))
        .route("/auth/oauth2/token", post(oauth2::token))
        .merge(authed)
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
        .with_state(shared)
}

const CREDENTIALS: &str = "/v2/okms/resource/{okms_id}/credential";
const CREDENTIAL: &str = "/v2/okms/resource/{okms_id}/credential/{credential_id}";

/// The IAM actions an authenticated route needs, as the schema's `iamActions` list them
/// (okms-v2.json, me-identity-v1.json); `route` is the route's template. `/auth/details` is in
/// neither file and needs none here.
pub(crate) fn iam_actions(method: &Method, route: &str) -> &'static [&'static str] {
    match (method.as_str(), route) {
        ("GET", "/v2/okms/resource" | "/v2/okms/resource/{okms_id}") => {
            &["okms:apiovh:resource/get"]
        }
        ("GET", CREDENTIALS | CREDENTIAL) => &["okms:apiovh:credential/get"],
        ("POST", CREDENTIALS) => &["okms:apiovh:credential/create"],
        ("DELETE", CREDENTIAL) => &["okms:apiovh:credential/delete"],
        ("GET", "/1.0/me" | "/v1/me") => &["account:apiovh:me/get"],
        _ => &[],
    }
}

/// The OKMS domain side.
pub(crate) fn kms(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/{okms_id}/v1/servicekey", get(kms::list_service_keys))
        .fallback(kms::not_found)
        .with_state(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_okms_operation_needs_the_schema_action() {
        let get = Method::GET;
        assert_eq!(
            iam_actions(&Method::POST, CREDENTIALS),
            ["okms:apiovh:credential/create"]
        );
        assert_eq!(
            iam_actions(&get, CREDENTIALS),
            ["okms:apiovh:credential/get"]
        );
        assert_eq!(
            iam_actions(&get, CREDENTIAL),
            ["okms:apiovh:credential/get"]
        );
        assert_eq!(
            iam_actions(&Method::DELETE, CREDENTIAL),
            ["okms:apiovh:credential/delete"]
        );
        assert_eq!(
            iam_actions(&get, "/v2/okms/resource/{okms_id}"),
            ["okms:apiovh:resource/get"]
        );
        assert_eq!(iam_actions(&get, "/v1/me"), ["account:apiovh:me/get"]);
        assert!(iam_actions(&get, "/v1/auth/details").is_empty());
    }
}
