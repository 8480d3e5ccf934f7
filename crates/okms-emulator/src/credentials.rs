//! `/v2/okms/resource/{okmsId}/credential[/{credentialId}]`: list, create, get, delete, with
//! the schema's validation classes and the asynchronous lifecycle.

use std::sync::Arc;

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    domains::known_domain,
    error_answers::{ApiError, parse_uuid},
    keys, pagination,
    server::RequestId,
    state::{CredentialRecord, Phase, Shared},
    urn::{MAX_URN_LEN, check_urn},
    wire::{
        CertificateType, CreationResponse, CredentialFields, CredentialStatus, GetResponse,
        format_date,
    },
};

/// Longest CSR accepted. The real limit is UNCONFIRMED; 16 KiB holds an RSA-4096 CSR with
/// many SANs.
pub const MAX_CSR_LEN: usize = 16 * 1024;

/// The validated create request.
#[derive(Debug)]
struct Creation {
    name: String,
    description: Option<String>,
    identity_urns: Vec<String>,
    validity_days: i64,
    csr: Option<String>,
    certificate_type: Option<CertificateType>,
}

fn printable(s: &str) -> bool {
    s.chars().all(|c| (' '..='~').contains(&c))
}

fn type_error(field: &str, expected: &str) -> ApiError {
    ApiError::bad_request(
        "",
        format!("Invalid body: field {field} must be {expected}"),
    )
}

fn validate(body: &[u8]) -> Result<Creation, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("", format!("Invalid body: not a JSON object ({e})")))?;
    let Value::Object(obj) = value else {
        return Err(ApiError::bad_request(
            "",
            "Invalid body: expected a JSON object",
        ));
    };
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let opt_str = |obj: &Map<String, Value>, k: &str| -> Result<Option<String>, ApiError> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(type_error(k, "a string")),
        }
    };

    // name
    let name = opt_str(&obj, "name")?
        .ok_or_else(|| ApiError::bad_request("", "Invalid body: missing required field name"))?;
    if name.chars().count() > 50 {
        return Err(ApiError::bad_request(
            "CredentialNameMaximumExceeded",
            format!(
                "name is {} characters long; at most 50 are allowed",
                name.chars().count()
            ),
        ));
    }
    if name.is_empty() || !printable(&name) {
        return Err(ApiError::bad_request(
            "CredentialNameInvalidCharacter",
            "name must be 1 to 50 printable ASCII characters (space to ~)",
        ));
    }

    // description
    let description = opt_str(&obj, "description")?;
    if let Some(d) = &description {
        if d.chars().count() > 200 {
            return Err(ApiError::bad_request(
                "CredentialDescriptionMaximumExceeded",
                format!(
                    "description is {} characters long; at most 200 are allowed",
                    d.chars().count()
                ),
            ));
        }
        if !printable(d) {
            return Err(ApiError::bad_request(
                "CredentialDescriptionInvalidCharacter",
                "description may only contain printable ASCII characters (space to ~)",
            ));
        }
    }

    // identityURNs
    let urns = match get("identityURNs") {
        None => {
            return Err(ApiError::bad_request(
                "",
                "Invalid body: missing required field identityURNs",
            ));
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| type_error("identityURNs", "an array of strings"))?,
        Some(_) => return Err(type_error("identityURNs", "an array of strings")),
    };
    if urns.is_empty() {
        return Err(ApiError::bad_request(
            "CredentialIdentityURNsMinimumRequired",
            "identityURNs must contain at least one identity URN",
        ));
    }
    if urns.len() > 25 {
        return Err(ApiError::bad_request(
            "CredentialIdentityURNsMaximumExceeded",
            format!(
                "identityURNs has {} entries; at most 25 are allowed",
                urns.len()
            ),
        ));
    }
    for urn in &urns {
        if urn.is_empty() || urn.len() > MAX_URN_LEN {
            return Err(ApiError::bad_request(
                "CredentialIdentityURNsInvalidSize",
                format!("identity URN must be 1 to {MAX_URN_LEN} characters long"),
            ));
        }
        if let Err(problem) = check_urn(urn) {
            return Err(ApiError::bad_request(
                "CredentialIdentityURNsInvalidURN",
                format!(
                    "{urn:?} is not an identity URN: {problem}; expected e.g. \
                     urn:v1:eu:identity:account:xx1111-ovh or urn:v1:eu:identity:user:xx1111-ovh/login"
                ),
            ));
        }
    }

    // validity
    let validity_days = match get("validity") {
        None => 365,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| type_error("validity", "an integer number of days"))?,
    };
    if validity_days < 1 {
        return Err(ApiError::bad_request(
            "CredentialValidityMinimumRequired",
            format!("validity is {validity_days} days; at least 1 is required"),
        ));
    }
    if validity_days > 365 {
        return Err(ApiError::bad_request(
            "CredentialValidityMaximumExceeded",
            format!("validity is {validity_days} days; at most 365 are allowed"),
        ));
    }

    // certificateType and csr
    let csr = opt_str(&obj, "csr")?;
    let certificate_type = match get("certificateType") {
        None => None,
        Some(_) if csr.is_some() => {
            return Err(ApiError::bad_request(
                "CredentialCertificateTypeIncompatibleFields",
                "certificateType cannot be sent with csr: the CSR's key decides the type",
            ));
        }
        Some(v) => Some(v.as_str().and_then(CertificateType::parse).ok_or_else(|| {
            ApiError::bad_request(
                "CredentialCertificateTypeInvalidEnum",
                format!("certificateType {v} is invalid; use \"ECDSA\" or \"RSA\""),
            )
        })?),
    };
    if let Some(c) = &csr
        && c.len() > MAX_CSR_LEN
    {
        return Err(ApiError::bad_request(
            "CredentialCSRMaximumExceeded",
            format!(
                "csr is {} bytes long; at most {MAX_CSR_LEN} are allowed",
                c.len()
            ),
        ));
    }
    Ok(Creation {
        name,
        description,
        identity_urns: urns,
        validity_days,
        csr,
        certificate_type,
    })
}

fn credential_fields(rec: &CredentialRecord, status: CredentialStatus) -> CredentialFields {
    CredentialFields {
        id: rec.id,
        name: rec.name.clone(),
        description: rec.description.clone(),
        identity_urns: rec.identity_urns.clone(),
        status,
        from_csr: rec.from_csr,
        certificate_type: rec.certificate_type,
        created_at: format_date(rec.created_at),
        expired_at: format_date(rec.expired_at),
    }
}

fn get_response(rec: &CredentialRecord, status: CredentialStatus) -> GetResponse {
    let certificate_pem = matches!(status, CredentialStatus::Ready | CredentialStatus::Expired)
        .then(|| rec.certificate_pem.clone());
    GetResponse {
        credential: credential_fields(rec, status),
        certificate_pem,
    }
}

/// `GET …/credential`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(okms_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let okms_id = match known_domain(&shared, &okms_id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let s = &shared.settings;
    let page = match pagination::parse(
        &headers,
        "credential",
        "CredentialPaginationCursorInvalidValue",
        s.default_page_size,
        s.max_page_size,
    ) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let now = shared.now();
    let items: Vec<(u64, GetResponse)> = shared
        .lock()
        .credentials
        .iter()
        .filter(|c| c.okms_id == okms_id)
        .filter_map(|c| {
            let status = c.phase(now, s).wire()?;
            Some((c.seq, get_response(c, status)))
        })
        .collect();
    let mut out = HeaderMap::new();
    let body = pagination::paginate(items, page, "credential", &mut out);
    (out, Json(body)).into_response()
}

/// `POST …/credential`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(okms_id): Path<String>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    body: Bytes,
) -> Result<Json<CreationResponse>, ApiError> {
    let okms_id = known_domain(&shared, &okms_id)?;
    let req = validate(&body)?;
    let from_csr = req.csr.is_some();
    let csr = req.csr.clone();
    let requested_type = req.certificate_type.unwrap_or(CertificateType::Ecdsa);
    // Key generation (RSA especially) and CSR verification are CPU work: keep them off the
    // async workers.
    let keyed = tokio::task::spawn_blocking(move || match csr {
        Some(pem) => keys::key_from_csr(&pem)
            .map(|k| (k.spki_der, k.certificate_type, None))
            .map_err(Ok),
        None => keys::generate(requested_type)
            .map(|g| (g.spki_der, requested_type, Some(g.private_key_pem)))
            .map_err(Err),
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server::InternalServerError",
            format!("key task failed: {e}"),
        )
    })?;
    let (spki_der, certificate_type, private_key_pem) = match keyed {
        Ok(k) => k,
        Err(Ok(rejection)) => {
            return Err(ApiError::bad_request(
                "CredentialCSRInvalidCharacter",
                rejection.message(),
            ));
        }
        Err(Err(e)) => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server::InternalServerError",
                format!("key generation failed: {e}"),
            ));
        }
    };

    let id = Uuid::new_v4();
    let created_at = shared.now();
    let expired_at = created_at + time::Duration::days(req.validity_days);
    let (certificate_pem, certificate_der) = shared
        .ca
        .issue_access_certificate(id, okms_id, &spki_der, created_at, expired_at)
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server::InternalServerError",
                format!("certificate issuance failed: {e}"),
            )
        })?;
    let record = {
        let mut st = shared.lock();
        st.next_seq += 1;
        let record = CredentialRecord {
            seq: st.next_seq,
            id,
            okms_id,
            name: req.name,
            description: req.description,
            identity_urns: req.identity_urns,
            from_csr,
            certificate_type,
            created_at,
            expired_at,
            certificate_pem,
            certificate_der,
            deleted_at: None,
            request_id,
            answer_lost: false,
        };
        st.credentials.push(record.clone());
        record
    };
    let status = record
        .phase(created_at, &shared.settings)
        .wire()
        .unwrap_or(CredentialStatus::Creating);
    Ok(Json(CreationResponse {
        credential: credential_fields(&record, status),
        private_key_pem: private_key_pem.map(|k| k.as_str().to_owned()),
    }))
}

fn find(shared: &Shared, okms_id: &str, credential_id: &str) -> Result<(Uuid, Uuid), ApiError> {
    let okms_id = known_domain(shared, okms_id)?;
    let id = parse_uuid("credentialId", credential_id)?;
    Ok((okms_id, id))
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found(format!(
        "The requested object (credentialId = {id}) does not exist"
    ))
}

/// `GET …/credential/{credentialId}`.
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path((okms_id, credential_id)): Path<(String, String)>,
) -> Result<Json<GetResponse>, ApiError> {
    let (okms_id, id) = find(&shared, &okms_id, &credential_id)?;
    let now = shared.now();
    let st = shared.lock();
    let rec = st
        .credentials
        .iter()
        .find(|c| c.id == id && c.okms_id == okms_id)
        .ok_or_else(|| not_found(id))?;
    let status = rec
        .phase(now, &shared.settings)
        .wire()
        .ok_or_else(|| not_found(id))?;
    Ok(Json(get_response(rec, status)))
}

/// `DELETE …/credential/{credentialId}`: revokes; the credential is `DELETING`, then gone.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((okms_id, credential_id)): Path<(String, String)>,
) -> Result<Json<GetResponse>, ApiError> {
    let (okms_id, id) = find(&shared, &okms_id, &credential_id)?;
    let now = shared.now();
    let mut st = shared.lock();
    let rec = st
        .credentials
        .iter_mut()
        .find(|c| c.id == id && c.okms_id == okms_id)
        .ok_or_else(|| not_found(id))?;
    match rec.phase(now, &shared.settings) {
        Phase::Deleted => Err(not_found(id)),
        phase @ (Phase::Creating | Phase::Deleting) => Err(ApiError::bad_request(
            "CredentialStatusInvalid",
            format!(
                "credential {id} is {}; it can be deleted once it is READY or EXPIRED",
                match phase {
                    Phase::Creating => "CREATING",
                    _ => "already DELETING",
                }
            ),
        )),
        Phase::Ready | Phase::Expired => {
            rec.deleted_at = Some(now);
            let status = rec
                .phase(now, &shared.settings)
                .wire()
                .unwrap_or(CredentialStatus::Deleting);
            Ok(Json(get_response(rec, status)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn class(body: &str) -> String {
        validate(body.as_bytes()).unwrap_err().class
    }

    #[test]
    fn validation_classes() {
        let u = r#"["urn:v1:eu:identity:account:xx1111-ovh"]"#;
        let long = "a".repeat(51);
        assert_eq!(
            class(&format!(r#"{{"name":"{long}","identityURNs":{u}}}"#)),
            "Client::BadRequest::CredentialNameMaximumExceeded"
        );
        assert_eq!(
            class(&format!(r#"{{"name":"é","identityURNs":{u}}}"#)),
            "Client::BadRequest::CredentialNameInvalidCharacter"
        );
        assert_eq!(
            class(&format!(r#"{{"name":"","identityURNs":{u}}}"#)),
            "Client::BadRequest::CredentialNameInvalidCharacter"
        );
        let d = "d".repeat(201);
        assert_eq!(
            class(&format!(
                r#"{{"name":"n","description":"{d}","identityURNs":{u}}}"#
            )),
            "Client::BadRequest::CredentialDescriptionMaximumExceeded"
        );
        assert_eq!(
            class(&format!(
                r#"{{"name":"n","description":"a\tb","identityURNs":{u}}}"#
            )),
            "Client::BadRequest::CredentialDescriptionInvalidCharacter"
        );
        assert_eq!(
            class(r#"{"name":"n","identityURNs":[]}"#),
            "Client::BadRequest::CredentialIdentityURNsMinimumRequired"
        );
        let many = format!(
            "[{}]",
            vec![r#""urn:v1:eu:identity:account:xx1111-ovh""#; 26].join(",")
        );
        assert_eq!(
            class(&format!(r#"{{"name":"n","identityURNs":{many}}}"#)),
            "Client::BadRequest::CredentialIdentityURNsMaximumExceeded"
        );
        assert_eq!(
            class(r#"{"name":"n","identityURNs":["nope"]}"#),
            "Client::BadRequest::CredentialIdentityURNsInvalidURN"
        );
        assert_eq!(
            class(r#"{"name":"n","identityURNs":[""]}"#),
            "Client::BadRequest::CredentialIdentityURNsInvalidSize"
        );
        assert_eq!(
            class(&format!(
                r#"{{"name":"n","identityURNs":{u},"validity":0}}"#
            )),
            "Client::BadRequest::CredentialValidityMinimumRequired"
        );
        assert_eq!(
            class(&format!(
                r#"{{"name":"n","identityURNs":{u},"validity":366}}"#
            )),
            "Client::BadRequest::CredentialValidityMaximumExceeded"
        );
        assert_eq!(
            class(&format!(
                r#"{{"name":"n","identityURNs":{u},"certificateType":"DSA"}}"#
            )),
            "Client::BadRequest::CredentialCertificateTypeInvalidEnum"
        );
        assert_eq!(
            class(&format!(
                r#"{{"name":"n","identityURNs":{u},"certificateType":"RSA","csr":"x"}}"#
            )),
            "Client::BadRequest::CredentialCertificateTypeIncompatibleFields"
        );
        let big = "A".repeat(MAX_CSR_LEN + 1);
        assert_eq!(
            class(&format!(
                r#"{{"name":"n","identityURNs":{u},"csr":"{big}"}}"#
            )),
            "Client::BadRequest::CredentialCSRMaximumExceeded"
        );
        assert_eq!(class("not json"), "Client::BadRequest");
        assert_eq!(class(r#"{"identityURNs":[]}"#), "Client::BadRequest");
        assert_eq!(
            class(&format!(
                r#"{{"name":"n","identityURNs":{u},"validity":"30"}}"#
            )),
            "Client::BadRequest"
        );
        let ok = validate(
            format!(r#"{{"name":"n","identityURNs":{u},"certificateType":null,"validity":null}}"#)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.validity_days, 365);
        assert!(ok.certificate_type.is_none());
    }
}
