//! The route tables of both sides.

use std::sync::Arc;

use axum::{
    Router,
    http::StatusCode,
    middleware,
    routing::{get, post},
};

use crate::{auth, credentials, domains, errors::ApiError, kms, me, oauth2, state::Shared};

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
pub(crate) fn api(shared: Arc<Shared>) -> Router {
    let cred = "/v2/okms/resource/{okms_id}/credential";
    let authed = Router::new()
        .route("/1.0/auth/details", get(auth::details))
        .route("/v1/auth/details", get(auth::details))
        .route("/1.0/me", get(me::me))
        .route("/v1/me", get(me::me))
        .route("/v2/okms/resource", get(domains::list))
        .route("/v2/okms/resource/{okms_id}", get(domains::show))
        .route(cred, get(credentials::list).post(credentials::create))
        .route(
            &format!("{cred}/{{credential_id}}"),
            get(credentials::get).delete(credentials::delete),
        )
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
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

/// The OKMS domain side.
pub(crate) fn kms(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/{okms_id}/v1/servicekey", get(kms::list_service_keys))
        .fallback(kms::not_found)
        .with_state(shared)
}
