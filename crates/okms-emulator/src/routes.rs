//! The route tables of both sides.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{Method, StatusCode},
    middleware,
    routing::{get, post},
};
use serde_json::{Value, json};

use crate::{
    auth, credentials, domains, error_answers::ApiError, iam, kms, me, oauth2, state::Shared,
};

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
        .route(USERS, get(iam::identities::users))
        .route(USER, get(iam::identities::user))
        .route(GROUPS, get(iam::identities::groups))
        .route(GROUP, get(iam::identities::group))
        .route(OAUTH2_CLIENTS, get(iam::identities::oauth2_clients))
        .route(OAUTH2_CLIENT, get(iam::identities::oauth2_client))
        .route(POLICIES, get(iam::routes::list).post(iam::routes::create))
        .route(
            POLICY,
            get(iam::routes::get)
                .put(iam::routes::update)
                .delete(iam::routes::delete),
        )
        .route(AUTHORIZATION_CHECK, post(iam::routes::check))
        .route_layer(middleware::from_fn_with_state(
            (shared.clone(), policy),
            auth::require_auth,
        ));
    Router::new()
        .route("/1.0/auth/time", get(auth::time))
        .route("/v1/auth/time", get(auth::time))
        .route("/auth/time", get(auth::time))
        .route("/auth/oauth2/token", post(oauth2::token))
        .route(crate::CLOCK_ROUTE, get(clock_now))
        .route(crate::CLOCK_ADVANCE_ROUTE, post(clock_advance))
        .merge(authed)
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
        .with_state(shared)
}

/// The emulator clock as the admin routes answer it.
fn clock_answer(shared: &Shared) -> Result<Json<Value>, ApiError> {
    let offset = shared.lock().time_offset;
    let now = shared.now();
    let rfc3339 = now
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server::InternalServerError",
                format!("cannot format the emulator time: {e}"),
            )
        })?;
    Ok(Json(json!({
        "now": rfc3339,
        "nowEpochSeconds": now.unix_timestamp(),
        "offsetSeconds": offset.as_secs(),
    })))
}

/// `GET /_emulator/clock`: the emulator's time and how far it is ahead of real time.
async fn clock_now(State(shared): State<Arc<Shared>>) -> Result<Json<Value>, ApiError> {
    clock_answer(&shared)
}

fn clock_refusal(message: String) -> ApiError {
    ApiError::bad_request("", message)
}

/// `POST /_emulator/clock/advance` with `{"seconds": N}`: moves the emulator's clock forward,
/// for clients outside the Rust API (scripts, the binary's users). The body is read by hand so
/// that every refusal is a 400 naming the field, in the API's own error shape.
async fn clock_advance(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    const EXAMPLE: &str = r#"{"seconds": 86400}"#;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        clock_refusal(format!(
            "the body is not JSON ({e}); send an object such as {EXAMPLE}"
        ))
    })?;
    let Some(fields) = value.as_object() else {
        return Err(clock_refusal(format!(
            "the body must be a JSON object such as {EXAMPLE}"
        )));
    };
    if let Some(unknown) = fields.keys().find(|k| k.as_str() != "seconds") {
        return Err(clock_refusal(format!(
            "unknown field {unknown:?}: the only field is seconds, as in {EXAMPLE}"
        )));
    }
    let Some(given) = fields.get("seconds") else {
        return Err(clock_refusal(format!(
            "seconds is required: how far to move the clock forward, as in {EXAMPLE}"
        )));
    };
    let seconds = match given.as_u64() {
        Some(s) => s,
        None if given.as_i64().is_some_and(|s| s < 0) => {
            return Err(clock_refusal(format!(
                "seconds must not be negative (got {given}): the emulator clock only moves forward"
            )));
        }
        None => {
            return Err(clock_refusal(format!(
                "seconds must be a whole number of seconds, 0 or more (got {given})"
            )));
        }
    };
    {
        let mut st = shared.lock();
        // Refused rather than clamped: a test that asked for more would otherwise go on with a
        // clock it did not ask for.
        let moved = st
            .time_offset
            .checked_add(std::time::Duration::from_secs(seconds))
            .filter(|total| *total <= crate::MAX_DURATION)
            .ok_or_else(|| {
                let ahead = st.time_offset.as_secs();
                let max = crate::MAX_DURATION.as_secs();
                clock_refusal(format!(
                    "seconds is too large (got {seconds}): the clock is {ahead} s ahead and may be at most {max} s ahead, so at most {} more",
                    max.saturating_sub(ahead)
                ))
            })?;
        st.time_offset = moved;
    }
    clock_answer(&shared)
}

const CREDENTIALS: &str = "/v2/okms/resource/{okms_id}/credential";
const CREDENTIAL: &str = "/v2/okms/resource/{okms_id}/credential/{credential_id}";
const USERS: &str = "/v1/me/identity/user";
const USER: &str = "/v1/me/identity/user/{user}";
const GROUPS: &str = "/v1/me/identity/group";
const GROUP: &str = "/v1/me/identity/group/{group}";
const OAUTH2_CLIENTS: &str = "/v1/me/api/oauth2/client";
const OAUTH2_CLIENT: &str = "/v1/me/api/oauth2/client/{client_id}";
const POLICIES: &str = "/v2/iam/policy";
const POLICY: &str = "/v2/iam/policy/{policy_id}";
const AUTHORIZATION_CHECK: &str = "/v2/iam/resource/{resource_urn}/authorization/check";

/// The IAM actions an authenticated route needs, as the schema's `iamActions` list them
/// (okms-v2.json, me-identity-v1.json, iam-v2.json); `route` is the route's template.
/// `/auth/details` is in none of the files and needs none here; the authorization check's
/// `iamActions` list is empty.
pub(crate) fn iam_actions(method: &Method, route: &str) -> &'static [&'static str] {
    match (method.as_str(), route) {
        ("GET", "/v2/okms/resource" | "/v2/okms/resource/{okms_id}") => {
            &["okms:apiovh:resource/get"]
        }
        ("GET", CREDENTIALS | CREDENTIAL) => &["okms:apiovh:credential/get"],
        ("POST", CREDENTIALS) => &["okms:apiovh:credential/create"],
        ("DELETE", CREDENTIAL) => &["okms:apiovh:credential/delete"],
        ("GET", "/1.0/me" | "/v1/me") => &["account:apiovh:me/get"],
        ("GET", USERS | USER) => &["account:apiovh:me/identity/user/get"],
        ("GET", GROUPS | GROUP) => &["account:apiovh:me/identity/group/get"],
        ("GET", OAUTH2_CLIENTS | OAUTH2_CLIENT) => &["account:apiovh:me/api/oauth2/client/get"],
        ("GET", POLICIES | POLICY) => &["account:apiovh:iam/policy/get"],
        ("POST", POLICIES) => &["account:apiovh:iam/policy/create"],
        ("PUT", POLICY) => &["account:apiovh:iam/policy/edit"],
        ("DELETE", POLICY) => &["account:apiovh:iam/policy/delete"],
        _ => &[],
    }
}

/// The resource whose policies decide a route: the domain of the path for `/v2/okms/resource/
/// {okmsId}/...`, the account for `/v1/me...` and `/v2/iam/...`. None for the domain list,
/// which is filtered per domain instead, and for a path whose domain is not a UUID (the route
/// answers that 400 itself).
pub(crate) fn iam_resource(nic: &str, route: &str, path: &str) -> Option<String> {
    if route.starts_with("/v2/okms/resource/{okms_id}") {
        let raw = path.split('/').nth(4)?;
        return uuid::Uuid::parse_str(raw)
            .ok()
            .map(|id| iam::okms_resource_urn(&id));
    }
    let account_routes = ["/1.0/me", "/v1/me", POLICIES, AUTHORIZATION_CHECK];
    account_routes
        .iter()
        .any(|prefix| route.starts_with(prefix))
        .then(|| iam::account_resource_urn(nic))
}

/// The OKMS domain side.
pub(crate) fn kms(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/{okms_id}/v1/servicekey", get(kms::list_service_keys))
        .route("/api/{okms_id}/v1/random", get(kms::random))
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
        assert_eq!(
            iam_actions(&Method::PUT, POLICY),
            ["account:apiovh:iam/policy/edit"]
        );
        assert_eq!(
            iam_actions(&get, USER),
            ["account:apiovh:me/identity/user/get"]
        );
        assert!(iam_actions(&Method::POST, AUTHORIZATION_CHECK).is_empty());
    }

    #[test]
    fn each_route_is_decided_on_its_resource() {
        // Concrete paths are built from the templates: a path literal here would read as a
        // served route to schema_conformance.rs's route scan.
        let id = uuid::Uuid::new_v4();
        let credentials_of = |okms_id: &str| CREDENTIALS.replace("{okms_id}", okms_id);
        assert_eq!(
            iam_resource("n", CREDENTIALS, &credentials_of(&id.to_string())),
            Some(format!("urn:v1:eu:resource:okms:{id}"))
        );
        assert_eq!(
            iam_resource("n", CREDENTIALS, &credentials_of("not-a-uuid")),
            None
        );
        let domains = CREDENTIALS
            .find("{okms_id}")
            .map_or(CREDENTIALS, |at| &CREDENTIALS[..at - 1]);
        assert!(domains.ends_with("resource"), "{domains}");
        assert_eq!(iam_resource("n", domains, domains), None);
        for (route, path) in [
            (USERS, USERS.to_owned()),
            (POLICY, POLICY.replace("{policy_id}", "x")),
            (AUTHORIZATION_CHECK, AUTHORIZATION_CHECK.to_owned()),
        ] {
            assert_eq!(
                iam_resource("n", route, &path).as_deref(),
                Some("urn:v1:eu:resource:account:n"),
                "{route}"
            );
        }
    }
}
