//! The first minutes of a certificate: a KMS node it has not reached yet refuses it, so a
//! proof (`credential check`, REST or KMIP, and renewal's) retries a refusal for a bounded
//! time, and says that it waits.

use std::time::Duration;

use okms_api::kms::PropagationRetry;
use okms_api::{Client, CredentialStatus, Uuid};
use okms_csr::Certificate;
use time::OffsetDateTime;

use crate::output::Output;

/// How long to retry a refusal: only a certificate issued in the last minutes may still be on
/// its way to the KMS nodes; an older one that is refused (revoked, say) is refused for good,
/// and its user should hear so at once.
pub(super) fn propagation_wait_for(cert: &Certificate, asked: Duration) -> Duration {
    let recent = OffsetDateTime::now_utc() - RECENT_CERTIFICATE;
    if cert.not_before() > recent {
        asked
    } else {
        Duration::ZERO
    }
}

/// Narrows `wait` with what the API knows, when there is API access: a credential the API no
/// longer has READY (deleted, being deleted, expired) is refused by every KMS node for good, so
/// waiting for it to reach them only delays the verdict by the whole wait. When the API cannot
/// tell (no access, no right to read credentials, an error), the wait stays.
pub(super) async fn wait_given_api_state(
    api: Option<&Client>,
    okms_id: Uuid,
    credential_id: Option<&str>,
    wait: Duration,
    out: &Output,
) -> Duration {
    let Some(id) = credential_id.and_then(|id| Uuid::parse_str(id).ok()) else {
        return wait;
    };
    let Some(api) = api.filter(|_| !wait.is_zero()) else {
        return wait;
    };
    let state = match api.get_credential(okms_id, id).await {
        Ok(credential) if credential.status == CredentialStatus::Ready => return wait,
        Ok(credential) => format!("is {}", credential.status),
        Err(e) if e.is_not_found() => "does not exist".to_owned(),
        Err(e) => {
            out.verbose(&format!(
                "the API could not say whether credential {id} is READY ({e}); a refusal is \
                 retried for up to {} s",
                wait.as_secs()
            ));
            return wait;
        }
    };
    out.verbose(&format!(
        "the API says credential {id} {state}: a refusal is final, not retried"
    ));
    Duration::ZERO
}

/// A certificate younger than this may not have reached every KMS node yet.
const RECENT_CERTIFICATE: time::Duration = time::Duration::minutes(15);

/// What a proof says while it waits for a new certificate to reach the KMS nodes.
pub(crate) fn propagation_message(retry: &PropagationRetry) -> String {
    format!(
        "the KMS does not accept the certificate yet (a new one may not have reached every KMS \
         node); retrying in {} s, for up to {} s in all",
        retry.next_in.as_secs_f64().ceil(),
        retry.bound.as_secs_f64().ceil()
    )
}
