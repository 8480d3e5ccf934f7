//! The OKMS domain side: HTTPS with client certificates, answering
//! `GET /api/{okmsId}/v1/servicekey` and `GET /api/{okmsId}/v1/random` to the holder of a live
//! access certificate of that domain whose identities IAM grants the route's action.
//!
//! Statuses are those `kms-rest.json` declares for `ListServiceKeys` (200, 400, 401, 404, 429,
//! 500: no 403), the body is its `ErrorResponse`, and `error_code` is one of the codes
//! okms-sdk-go publishes (see [`KmsErrorCode`]).

use std::{collections::HashMap, sync::Arc};

use axum::{
    Extension, Json,
    extract::{Path, Query, State},
};
use base64ct::Encoding;
use rustls::{
    RootCertStore, ServerConfig,
    server::{WebPkiClientVerifier, danger::ClientCertVerifier},
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use uuid::Uuid;

use crate::{
    config::ClientAuth,
    error::{Error, Result},
    error_answers::{KmsError, KmsErrorCode},
    iam::{Subject, okms_resource_urn},
    server::ConnInfo,
    state::{Phase, Shared},
    wire::ServiceKeyList,
};

/// The *ring* provider of both TLS endpoints (KMS REST and KMIP). rustls 0.23.48 deprecates
/// `ring::default_provider` because *ring* has no post-quantum key exchange, which a loopback
/// emulator does not need; rustls 0.24 moves it to the `rustls-ring` crate, and this is the
/// one call to change then.
pub(crate) fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the TLS configuration: a server certificate issued by the emulator CA, client
/// certificates verified against the same CA (optional or required), rustls with *ring*.
pub(crate) fn tls_config(
    shared_ca: &crate::ca::Ca,
    client_auth: ClientAuth,
) -> Result<ServerConfig> {
    let provider = ring_provider();
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

/// Who presented a live access certificate of the domain in the path: the IAM subject of the
/// certificate's identities, and the domain's resource URN.
struct Holder {
    subject: Subject,
    resource: String,
}

impl Holder {
    fn may(&self, shared: &Shared, action: &str) -> bool {
        shared.allowed(&self.subject, &self.resource, action)
    }

    /// The refusal of a route whose action the certificate's identities lack. kms-rest.json
    /// declares no 403 on any route, so this is the Authorization category's 401.
    fn require(&self, shared: &Shared, action: &str) -> std::result::Result<(), KmsError> {
        if self.may(shared, action) {
            return Ok(());
        }
        Err(KmsError::new(
            KmsErrorCode::IamAuthorization,
            format!(
                "IAM: the identities of this certificate are not granted {action} on {}; \
                 an IAM policy must allow it for one of them",
                self.resource
            ),
        ))
    }
}

/// Checks the presented certificate against the domain in the path; returns who holds it on
/// success, the data-plane error otherwise.
fn authorize(
    shared: &Shared,
    conn: &ConnInfo,
    okms_id: &str,
) -> std::result::Result<Holder, KmsError> {
    let Some(leaf) = conn.peer_certs.as_ref().and_then(|c| c.first()) else {
        return Err(KmsError::new(
            KmsErrorCode::RestAuthentication,
            "a client certificate is required: present the access certificate of this OKMS domain",
        ));
    };
    let now = shared.now();
    let (cert_domain, phase, propagated, identities) = {
        let st = shared.lock();
        let Some(rec) = st
            .credentials
            .iter()
            .find(|c| c.certificate_der.as_slice() == leaf.as_ref())
        else {
            return Err(KmsError::new(
                KmsErrorCode::RestAuthentication,
                "the client certificate was not issued for an access credential of this service",
            ));
        };
        (
            rec.okms_id,
            rec.phase(now, &shared.settings),
            rec.propagated(now, &shared.settings),
            rec.identity_urns.clone(),
        )
    };
    let refused = |message: &str| Err(KmsError::new(KmsErrorCode::RestAuthentication, message));
    match phase {
        // The client CA is the domain's, so any node completes the handshake; it is the
        // node's lookup of the certificate that fails until the certificate reaches it: 401.
        Phase::Ready if !propagated => {
            return refused(
                "this KMS node does not know the client certificate yet (it was issued moments \
                 ago and has not reached every node): retry shortly",
            );
        }
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
        return Err(KmsError::new(
            KmsErrorCode::RestArgument,
            format!("okmsId {okms_id:?} in the path is not a UUID"),
        ));
    };
    if !shared.has_domain(path_domain) {
        return Err(KmsError::new(
            KmsErrorCode::DomainNotFound,
            format!("OKMS domain {path_domain} not found"),
        ));
    }
    if path_domain != cert_domain {
        return Err(KmsError::new(
            KmsErrorCode::IamAuthorization,
            format!("the client certificate is for OKMS domain {cert_domain}, not {path_domain}"),
        ));
    }
    Ok(Holder {
        subject: shared.subject(&identities),
        resource: okms_resource_urn(&path_domain),
    })
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
) -> std::result::Result<Json<ServiceKeyList>, KmsError> {
    let holder = authorize(&shared, &conn, &okms_id)?;
    if let Some(max) = query.get("max") {
        match max.parse::<u32>() {
            Ok(10..=100) => {}
            _ => {
                return Err(KmsError::new(
                    KmsErrorCode::RestArgument,
                    format!("max must be an integer between 10 and 100, got {max:?}"),
                ));
            }
        }
    }
    if let Some(token) = query.get("continuation-token") {
        if token.chars().count() > MAX_CONTINUATION_TOKEN_LEN {
            return Err(KmsError::new(
                KmsErrorCode::RestArgument,
                format!(
                    "continuation-token is longer than {MAX_CONTINUATION_TOKEN_LEN} characters"
                ),
            ));
        }
        if token != END_OF_LIST_TOKEN {
            return Err(KmsError::new(
                KmsErrorCode::RestArgument,
                "continuation-token is not one this domain returned: send the continuation_token of the previous page, or none",
            ));
        }
    }
    // kms-rest.json: `okms:apikms:serviceKey/get` is "required on each service key to list",
    // so a holder without it sees an empty list rather than a refusal. The emulator stores
    // no keys: the list is empty either way, and the check is what a stored key would face.
    let _may_see_keys = holder.may(&shared, LIST_SERVICE_KEYS_ACTION);
    Ok(Json(ServiceKeyList {
        objects_list: Vec::new(),
        continuation_token: END_OF_LIST_TOKEN.to_owned(),
        is_truncated: false,
    }))
}

/// The action kms-rest.json `ListServiceKeys` needs on each listed key.
const LIST_SERVICE_KEYS_ACTION: &str = "okms:apikms:serviceKey/get";
/// The action kms-rest.json `GenerateRandomBytes` needs.
const RANDOM_ACTION: &str = "okms:apikms:random/get";
/// `maximum` of `length` in `GenerateRandomBytes`.
const MAX_RANDOM_LEN: usize = 4096;

/// `GET /api/{okmsId}/v1/random?length=N` (`GenerateRandomBytes`): `length` 1..=4096,
/// default 1, answered as `GetRandomResponse` (`bytes`, standard base64).
pub(crate) async fn random(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnInfo>,
    Path(okms_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> std::result::Result<Json<serde_json::Value>, KmsError> {
    let holder = authorize(&shared, &conn, &okms_id)?;
    holder.require(&shared, RANDOM_ACTION)?;
    let length = match query.get("length") {
        None => 1,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n @ 1..=MAX_RANDOM_LEN) => n,
            _ => {
                return Err(KmsError::new(
                    KmsErrorCode::RestArgument,
                    format!(
                        "length must be an integer between 1 and {MAX_RANDOM_LEN}, got {raw:?}"
                    ),
                ));
            }
        },
    };
    let mut bytes = vec![0u8; length];
    getrandom::fill(&mut bytes).map_err(|e| {
        KmsError::new(
            KmsErrorCode::RestInternal,
            format!("the emulator's random generator failed: {e}"),
        )
    })?;
    Ok(Json(serde_json::json!({
        "bytes": base64ct::Base64::encode_string(&bytes),
    })))
}

/// Anything else on the KMS side.
pub(crate) async fn not_found() -> KmsError {
    KmsError::new(
        KmsErrorCode::RestNotFound,
        "no such route on this emulated OKMS domain (only GET /api/{okmsId}/v1/servicekey and \
         GET /api/{okmsId}/v1/random)",
    )
}
