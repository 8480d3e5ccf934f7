//! `GET /v1/me/identity/user[/{user}]`, `/v1/me/identity/group[/{group}]` and
//! `/v1/me/api/oauth2/client[/{clientId}]`: the seeded identities, each with the URN the API
//! gives it (me-identity-v1.json `auth.User.urn`, `auth.Group.urn`, `oauth2.client.identity`).

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use serde_json::{Value, json};
use time::{OffsetDateTime, macros::datetime};

use super::{group_urn, service_account_urn, user_urn};
use crate::{error_answers::ApiError, state::Shared, wire::format_date};

/// Seeded identities exist "since" this date: fixed, so answers do not change between runs.
const SEEDED_AT: OffsetDateTime = datetime!(2024-01-01 00:00:00 UTC);

/// The name of the OAuth2 client of the emulator's own API credentials.
const API_CLIENT_NAME: &str = "okms-emulator";

fn not_found(param: &str, value: &str) -> ApiError {
    ApiError::not_found(format!(
        "The requested object ({param} = {value}) does not exist"
    ))
}

/// `GET /v1/me/identity/user`: the logins.
pub(crate) async fn users(State(shared): State<Arc<Shared>>) -> Json<Vec<String>> {
    Json(
        shared
            .settings
            .iam
            .users
            .iter()
            .map(|u| u.login.clone())
            .collect(),
    )
}

/// `GET /v1/me/identity/user/{user}`: `auth.User`.
pub(crate) async fn user(
    State(shared): State<Arc<Shared>>,
    Path(login): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let nic = &shared.settings.nic;
    let user = shared
        .settings
        .iam
        .users
        .iter()
        .find(|u| u.login == login)
        .ok_or_else(|| not_found("user", &login))?;
    Ok(Json(json!({
        "login": user.login,
        "urn": user_urn(nic, &user.login),
        "group": user.group,
        "groups": [user.group],
        "description": format!("okms-emulator user {}", user.login),
        "email": format!("{}@example.invalid", user.login),
        "status": "OK",
        "type": "USER",
        "creation": format_date(SEEDED_AT),
        "lastUpdate": format_date(SEEDED_AT),
        "passwordLastUpdate": Value::Null,
    })))
}

/// `GET /v1/me/identity/group`: the names.
pub(crate) async fn groups(State(shared): State<Arc<Shared>>) -> Json<Vec<String>> {
    Json(
        shared
            .settings
            .iam
            .groups
            .iter()
            .map(|g| g.name.clone())
            .collect(),
    )
}

/// `GET /v1/me/identity/group/{group}`: `auth.Group`.
pub(crate) async fn group(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let group = shared
        .settings
        .iam
        .group(&name)
        .ok_or_else(|| not_found("group", &name))?;
    Ok(Json(json!({
        "name": group.name,
        "urn": group_urn(&shared.settings.nic, &group.name),
        "role": group.role,
        "description": format!("okms-emulator group {}", group.name),
        "defaultGroup": false,
        "creation": format_date(SEEDED_AT),
        "lastUpdate": format_date(SEEDED_AT),
    })))
}

/// The OAuth2 clients: the seeded service accounts, then the client of the API credentials.
fn clients(shared: &Shared) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = shared
        .settings
        .iam
        .service_accounts
        .iter()
        .map(|s| (s.client_id.clone(), s.name.clone()))
        .collect();
    let own = &shared.settings.credentials.client_id;
    if !all.iter().any(|(id, _)| id == own) {
        all.push((own.clone(), API_CLIENT_NAME.to_owned()));
    }
    all
}

/// `GET /v1/me/api/oauth2/client`: the client ids.
pub(crate) async fn oauth2_clients(State(shared): State<Arc<Shared>>) -> Json<Vec<String>> {
    Json(clients(&shared).into_iter().map(|(id, _)| id).collect())
}

/// `GET /v1/me/api/oauth2/client/{clientId}`: `oauth2.client`.
pub(crate) async fn oauth2_client(
    State(shared): State<Arc<Shared>>,
    Path(client_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (id, name) = clients(&shared)
        .into_iter()
        .find(|(id, _)| *id == client_id)
        .ok_or_else(|| not_found("clientId", &client_id))?;
    Ok(Json(json!({
        "clientId": id,
        "name": name,
        "description": format!("okms-emulator service account {name}"),
        "flow": "CLIENT_CREDENTIALS",
        "callbackUrls": [],
        "createdAt": format_date(SEEDED_AT),
        "identity": service_account_urn(&shared.settings.nic, &id),
    })))
}
