//! The OKMS domain side: HTTPS with client certificates, answering
//! `GET /api/{okmsId}/v1/servicekey` to the holder of a live access certificate of that domain.
//!
//! Statuses are those `kms-rest.json` declares for `ListServiceKeys` (200, 400, 401, 404, 429,
//! 500: no 403), the body is its `ErrorResponse`, and `error_code` is one of the codes
//! okms-sdk-go publishes (see [`PublishedCode`]).

use std::{collections::HashMap, sync::Arc};

use axum::{
    Extension, Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use rustls::{
    RootCertStore, ServerConfig,
    server::{WebPkiClientVerifier, danger::ClientCertVerifier},
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use uuid::Uuid;

use crate::{
    config::ClientAuth,
    error::{Error, Result},
    errors::{KmsCategory, KmsError},
    server::ConnInfo,
    state::{Phase, Shared},
    wire::ServiceKeyList,
};

/// Builds the TLS configuration: a server certificate issued by the emulator CA, client
/// certificates verified against the same CA (optional or required), rustls with *ring*.
pub(crate) fn tls_config(
    shared_ca: &crate::ca::Ca,
    client_auth: ClientAuth,
) -> Result<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (cert_der, key_der) = shared_ca.issue_server_certificate()?;
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(shared_ca.cert_der().to_vec()))
        .map_err(Error::Tls)?;
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let verifier: Arc<dyn ClientCertVerifier> = match client_auth {
        ClientAuth::Optional => builder.allow_unauthenticated().build(),
        ClientAuth::Required => builder.build(),
    }
    .map_err(Error::ClientVerifier)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(cert_der)], key)
        .map_err(Error::Tls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The `error_code`s this side answers with. Each value is one okms-sdk-go's `errors_test.go`
/// decodes (Major `(c>>24)&0xff`, Minor `(c>>16)&0xff`, Category `(c>>12)&0xf`, app code
/// `c&0xfff`, names from its `errors.go`), except [`PublishedCode::RestNotFound`], which is
/// built from published field values but not itself listed. Which code the real server sends
/// for which refusal is not published: that mapping is invented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum PublishedCode {
    /// REST / Authentication Provider / Authentication, app code 3.
    RestAuthentication = 50_475_011,
    /// CCM / IAM / Authorization, app code 1.
    IamAuthorization = 16_924_673,
    /// CCM / Domain / Not Found, app code 1.
    DomainNotFound = 16_994_305,
    /// REST / General / Argument, app code 1.
    RestArgument = 50_405_377,
    /// REST / General / Not Found, app code 1 (fields published, combination not seen).
    RestNotFound = (3 << 24) | (1 << 16) | (5 << 12) | 1,
}

impl PublishedCode {
    fn category(self) -> KmsCategory {
        match self {
            Self::RestAuthentication => KmsCategory::Authentication,
            Self::IamAuthorization => KmsCategory::Authorization,
            Self::DomainNotFound | Self::RestNotFound => KmsCategory::NotFound,
            Self::RestArgument => KmsCategory::Argument,
        }
    }
}

/// A data-plane refusal: `ErrorResponse` (`error_id`, `error_code`, `errors`, `request_id`,
/// nothing else: the schema says `additionalProperties: false`).
#[derive(Debug)]
pub(crate) struct KmsRefusal {
    error: KmsError,
    code: PublishedCode,
}

impl KmsRefusal {
    fn new(code: PublishedCode, message: impl Into<String>) -> Self {
        let mut error = KmsError::new(code.category(), message);
        // Every data-plane route in kms-rest.json declares 401 and none declares 403, so an
        // identity that is known but has no right on the domain (category Authorization)
        // gets 401, the only refusal of the caller the spec allows. 404 would tell the owner
        // of both domains that the domain they named does not exist, which is false.
        if error.status == StatusCode::FORBIDDEN {
            error.status = StatusCode::UNAUTHORIZED;
        }
        Self { error, code }
    }
}

impl IntoResponse for KmsRefusal {
    fn into_response(self) -> Response {
        (
            self.error.status,
            Json(json!({
                "error_id": Uuid::new_v4().to_string(),
                "error_code": self.code as u32,
                "errors": [self.error.message],
                "request_id": Uuid::new_v4().to_string(),
            })),
        )
            .into_response()
    }
}

/// Checks the presented certificate against the domain in the path; returns nothing on
/// success, the data-plane error otherwise.
fn authorize(
    shared: &Shared,
    conn: &ConnInfo,
    okms_id: &str,
) -> std::result::Result<(), KmsRefusal> {
    let Some(leaf) = conn.peer_certs.as_ref().and_then(|c| c.first()) else {
        return Err(KmsRefusal::new(
            PublishedCode::RestAuthentication,
            "a client certificate is required: present the access certificate of this OKMS domain",
        ));
    };
    let now = shared.now();
    let (cert_domain, phase) = {
        let st = shared.lock();
        let Some(rec) = st
            .credentials
            .iter()
            .find(|c| c.certificate_der.as_slice() == leaf.as_ref())
        else {
            return Err(KmsRefusal::new(
                PublishedCode::RestAuthentication,
                "the client certificate was not issued for an access credential of this service",
            ));
        };
        (rec.okms_id, rec.phase(now, &shared.settings))
    };
    let refused = |message: &str| Err(KmsRefusal::new(PublishedCode::RestAuthentication, message));
    match phase {
        Phase::Ready => {}
        Phase::Creating => {
            return refused("the access credential of this certificate is not READY yet");
        }
        Phase::Expired => return refused("the client certificate has expired"),
        Phase::Deleting | Phase::Deleted => {
            return refused(
                "the client certificate was revoked (its access credential was deleted)",
            );
        }
    }
    let Ok(path_domain) = Uuid::parse_str(okms_id) else {
        return Err(KmsRefusal::new(
            PublishedCode::RestArgument,
            format!("okmsId {okms_id:?} in the path is not a UUID"),
        ));
    };
    if !shared.has_domain(path_domain) {
        return Err(KmsRefusal::new(
            PublishedCode::DomainNotFound,
            format!("OKMS domain {path_domain} not found"),
        ));
    }
    if path_domain != cert_domain {
        return Err(KmsRefusal::new(
            PublishedCode::IamAuthorization,
            format!("the client certificate is for OKMS domain {cert_domain}, not {path_domain}"),
        ));
    }
    Ok(())
}

/// `continuation_token` of a complete list. The schema makes the field required with
/// `minLength: 1`, so even the last page carries a non-empty token (never `""`, never
/// omitted); `is_truncated: false` is what tells a client to stop. Sent back as
/// `continuation-token`, it gives the same empty last page.
const END_OF_LIST_TOKEN: &str = "end-of-list";

/// `maxLength` of the `continuation-token` query parameter.
const MAX_CONTINUATION_TOKEN_LEN: usize = 500;

/// `GET /api/{okmsId}/v1/servicekey`: `max` (10..=100), `continuation-token` (at most 500
/// characters) and `state` as kms-rest.json declares them. The emulator stores no service
/// keys, so every list is one empty page. `state` is not checked: its `KeyStates` values are
/// not in the schema excerpt, and with no keys no filter changes the answer.
pub(crate) async fn list_service_keys(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnInfo>,
    Path(okms_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> std::result::Result<Json<ServiceKeyList>, KmsRefusal> {
    authorize(&shared, &conn, &okms_id)?;
    if let Some(max) = query.get("max") {
        match max.parse::<u32>() {
            Ok(10..=100) => {}
            _ => {
                return Err(KmsRefusal::new(
                    PublishedCode::RestArgument,
                    format!("max must be an integer between 10 and 100, got {max:?}"),
                ));
            }
        }
    }
    if let Some(token) = query.get("continuation-token") {
        if token.chars().count() > MAX_CONTINUATION_TOKEN_LEN {
            return Err(KmsRefusal::new(
                PublishedCode::RestArgument,
                format!(
                    "continuation-token is longer than {MAX_CONTINUATION_TOKEN_LEN} characters"
                ),
            ));
        }
        if token != END_OF_LIST_TOKEN {
            return Err(KmsRefusal::new(
                PublishedCode::RestArgument,
                "continuation-token is not one this domain returned: send the continuation_token of the previous page, or none",
            ));
        }
    }
    Ok(Json(ServiceKeyList {
        objects_list: Vec::new(),
        continuation_token: END_OF_LIST_TOKEN.to_owned(),
        is_truncated: false,
    }))
}

/// Anything else on the KMS side.
pub(crate) async fn not_found() -> KmsRefusal {
    KmsRefusal::new(
        PublishedCode::RestNotFound,
        "no such route on this emulated OKMS domain (only GET /api/{okmsId}/v1/servicekey)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_codes_decode_to_their_category() {
        for code in [
            PublishedCode::RestAuthentication,
            PublishedCode::IamAuthorization,
            PublishedCode::DomainNotFound,
            PublishedCode::RestArgument,
            PublishedCode::RestNotFound,
        ] {
            let c = code as u32;
            assert_eq!((c >> 12) & 0xf, code.category() as u32, "{code:?}");
            assert!(matches!((c >> 24) & 0xff, 1 | 3), "{code:?}: CCM or REST");
        }
    }

    #[test]
    fn no_refusal_is_a_403() {
        let r = KmsRefusal::new(PublishedCode::IamAuthorization, "x");
        assert_eq!(r.error.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            KmsRefusal::new(PublishedCode::DomainNotFound, "x")
                .error
                .status,
            StatusCode::NOT_FOUND
        );
    }
}
