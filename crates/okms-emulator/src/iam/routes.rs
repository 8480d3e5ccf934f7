//! `/v2/iam/policy[/{policyId}]` (list with the schema's filters, create, get, replace,
//! delete) and `POST /v2/iam/resource/{resourceURN}/authorization/check`.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Extension, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    evaluate::action_matches,
    store::{self, Policy},
};
use crate::{
    error_answers::{ApiError, parse_uuid},
    pagination,
    state::Shared,
};

/// The schema lists no error class for the policy list, so a bad cursor is the generic
/// `Client::BadRequest`.
const CURSOR_CLASS: &str = "";
const CURSOR_KIND: &str = "policy";

type Params = Query<Vec<(String, String)>>;

/// The values of a `string[]` query parameter: repeated (`?identity=a&identity=b`) or
/// comma-separated (`?identity=a,b`); URNs and action names hold no comma.
fn values<'a>(query: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    query
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// A `boolean` query parameter: absent, `true` or `false`.
fn boolean(query: &[(String, String)], name: &str) -> Result<Option<bool>, ApiError> {
    match query.iter().rev().find(|(k, _)| k == name) {
        None => Ok(None),
        Some((_, v)) => match v.as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            other => Err(ApiError::bad_request(
                "",
                format!("Invalid query parameter {name}: {other:?} is not true or false"),
            )),
        },
    }
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found(format!(
        "The requested object (policyId = {id}) does not exist"
    ))
}

fn owner(shared: &Shared) -> &str {
    &shared.settings.nic
}

/// `GET /v2/iam/policy`: every filter given must match (`identity`, `resourceURN`, `action`:
/// one of the listed values; `readOnly`: equal). An `action` filter matches a policy whose
/// allow, except or deny list names that action, or a pattern covering it.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    match list_inner(&shared, &headers, &query) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn list_inner(
    shared: &Shared,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<Response, ApiError> {
    let s = &shared.settings;
    let page = pagination::parse(
        headers,
        CURSOR_KIND,
        CURSOR_CLASS,
        s.default_page_size,
        s.max_page_size,
    )?;
    boolean(query, "details")?;
    let read_only = boolean(query, "readOnly")?;
    let identities = values(query, "identity");
    let resources = values(query, "resourceURN");
    let actions = values(query, "action");
    let matches = |p: &Policy| {
        (identities.is_empty() || p.body.identities.iter().any(|i| identities.contains(&i.as_str())))
            && (resources.is_empty()
                || p.body.resources.iter().any(|r| resources.contains(&r.as_str())))
            && (actions.is_empty()
                || p.actions()
                    .any(|pattern| actions.iter().any(|a| action_matches(pattern, a))))
            // Every emulated policy is editable.
            && read_only != Some(true)
    };
    let items: Vec<(u64, Value)> = shared
        .lock()
        .policies
        .iter()
        .filter(|p| matches(p))
        .map(|p| (p.seq, p.to_json(owner(shared))))
        .collect();
    let mut out = HeaderMap::new();
    let body = pagination::paginate(items, page, CURSOR_KIND, &mut out);
    Ok((out, Json(body)).into_response())
}

/// `POST /v2/iam/policy`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = store::parse_body(&body)?;
    let now = shared.now();
    let mut st = shared.lock();
    st.next_policy_seq += 1;
    let policy = Policy {
        seq: st.next_policy_seq,
        id: Uuid::new_v4(),
        body,
        created_at: now,
        updated_at: None,
    };
    let answer = policy.to_json(owner(&shared));
    st.policies.push(policy);
    Ok(Json(answer))
}

/// `GET /v2/iam/policy/{policyId}`.
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(policy_id): Path<String>,
    Query(query): Params,
) -> Result<Json<Value>, ApiError> {
    let id = parse_uuid("policyId", &policy_id)?;
    boolean(&query, "details")?;
    let st = shared.lock();
    let policy = st
        .policies
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| not_found(id))?;
    Ok(Json(policy.to_json(owner(&shared))))
}

/// `PUT /v2/iam/policy/{policyId}`: `iam.policy.Update` replaces every field a client sets.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(policy_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = parse_uuid("policyId", &policy_id)?;
    let body = store::parse_body(&body)?;
    let now = shared.now();
    let mut st = shared.lock();
    let policy = st
        .policies
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(|| not_found(id))?;
    policy.body = body;
    policy.updated_at = Some(now);
    Ok(Json(policy.to_json(owner(&shared))))
}

/// `DELETE /v2/iam/policy/{policyId}`: the schema's response is `void`, answered as 204
/// without a body.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(policy_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_uuid("policyId", &policy_id)?;
    let mut st = shared.lock();
    let before = st.policies.len();
    st.policies.retain(|p| p.id != id);
    if st.policies.len() == before {
        return Err(not_found(id));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v2/iam/resource/{resourceURN}/authorization/check`: `iam.AuthorizeRequest`
/// (`actions`, required) answered with `iam.AuthorizeResponse`, evaluated for the caller. The
/// route itself needs no IAM action (its `iamActions` list is empty), so any caller may ask
/// about its own rights.
pub(crate) async fn check(
    State(shared): State<Arc<Shared>>,
    Extension(subject): Extension<super::Subject>,
    Path(resource_urn): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    store::check_resource_urn(&resource_urn).map_err(|why| {
        ApiError::bad_request(
            "",
            format!("Invalid path parameter resourceURN: {resource_urn:?} {why}"),
        )
    })?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("", format!("Invalid body: not JSON ({e})")))?;
    let invalid = |what: &str| ApiError::bad_request("", format!("Invalid body: field {what}"));
    let raw = match value.get("actions") {
        None | Some(Value::Null) => return Err(invalid("actions is required")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("actions must be an array of strings")),
    };
    let mut actions = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        match item.as_str() {
            Some(a) if !a.is_empty() => actions.push(a.to_owned()),
            Some(_) => return Err(invalid(&format!("actions[{i}] is empty"))),
            None => return Err(invalid(&format!("actions[{i}] must be a string"))),
        }
    }
    let (authorized, unauthorized): (Vec<String>, Vec<String>) = actions
        .into_iter()
        .partition(|a| shared.allowed(&subject, &resource_urn, a));
    Ok(Json(json!({
        "authorizedActions": authorized,
        "unauthorizedActions": unauthorized,
    })))
}
