//! `GET /v2/okms/resource` (paginated) and `GET /v2/okms/resource/{okmsId}`.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use axum::{
    Extension, Json,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use uuid::Uuid;

use crate::{
    error_answers::{ApiError, parse_uuid},
    iam::{Subject, okms_resource_urn},
    pagination,
    state::Shared,
    wire::{Domain, IamMetadata, ResourceState},
};

/// Error class suffix for a bad cursor on this list: none. The schema lists no error class
/// for `GET /v2/okms/resource`, so the answer is the generic `Client::BadRequest`.
const CURSOR_CLASS: &str = "";

fn domain(shared: &Shared, index: usize, id: Uuid, with_ca: bool) -> Domain {
    let region = shared.settings.region.clone();
    let ca = with_ca.then(|| shared.ca.cert_pem().to_owned());
    Domain {
        id,
        rest_endpoint: shared.settings.kms_url.clone(),
        kmip_endpoint: shared.settings.kmip_endpoint.clone(),
        kmip_rsa_endpoint: None,
        swagger_endpoint: format!("{}/swagger-ui", shared.settings.kms_url),
        public_ca: ca.clone(),
        public_rsa_ca: ca,
        service_key_count: 0,
        secret_count: 0,
        secret_version_count: 0,
        kmip_object_count: 0,
        pci_dss_enabled: shared
            .settings
            .pci_dss_domains
            .contains(&id)
            .then_some(true),
        iam: IamMetadata {
            id,
            urn: okms_resource_urn(&id),
            display_name: if index == 0 {
                format!("okms-emulator {region}")
            } else {
                format!("okms-emulator {region} #{index}")
            },
            tags: BTreeMap::new(),
            state: ResourceState::Ok,
        },
        region,
    }
}

/// Checks the domain of a path.
pub(crate) fn known_domain(shared: &Shared, raw: &str) -> Result<Uuid, ApiError> {
    let id = parse_uuid("okmsId", raw)?;
    if shared.has_domain(id) {
        Ok(id)
    } else {
        Err(ApiError::not_found(format!(
            "The requested object (okmsId = {id}) does not exist"
        )))
    }
}

fn wants_ca(query: &HashMap<String, String>) -> bool {
    query.get("publicCA").is_some_and(|v| v == "true")
}

/// List.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Extension(subject): Extension<Subject>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let s = &shared.settings;
    let page = match pagination::parse(
        &headers,
        "resource",
        CURSOR_CLASS,
        s.default_page_size,
        s.max_page_size,
    ) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let items = s
        .domains
        .iter()
        .enumerate()
        // A list shows what the caller may read and refuses nothing (iam-v2 filters lists).
        .filter(|(_, id)| {
            shared.allowed(&subject, &okms_resource_urn(id), "okms:apiovh:resource/get")
        })
        .map(|(i, id)| (i as u64 + 1, domain(&shared, i, *id, wants_ca(&query))))
        .collect();
    let mut out = HeaderMap::new();
    let body = pagination::paginate(items, page, "resource", &mut out);
    (out, Json(body)).into_response()
}

/// Show one.
pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path(okms_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Domain>, ApiError> {
    let id = known_domain(&shared, &okms_id)?;
    let index = shared
        .settings
        .domains
        .iter()
        .position(|d| *d == id)
        .unwrap_or(0);
    Ok(Json(domain(&shared, index, id, wants_ca(&query))))
}
