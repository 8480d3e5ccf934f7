//! The first minutes of a certificate: a KMS node it has not reached yet refuses it, so a
//! proof (`credential check`, REST or KMIP, and renewal's) retries a refusal for a bounded
//! time, and says that it waits.

use std::time::Duration;

use okms_api::kms::PropagationRetry;
use okms_csr::Certificate;
use time::OffsetDateTime;

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
