//! Revoking a credential a listing or a read just showed, as okms-lifecycle's revocation
//! does (gone or DELETING counts as done, one still CREATING is let settle first) but without
//! reading it again first: the caller has just seen it, and that read would be the seventh
//! API call of a renewal.

use okms_api::{Clock, Credential, CredentialStatus, Transport};

use super::Engine;
use crate::service::AuditFacts;

impl<T: Transport, C: Clock> Engine<T, C> {
    /// Revokes `listed`; `Ok(true)` when this call deleted it, `Ok(false)` when it was gone or
    /// going already.
    pub(crate) async fn revoke_listed(
        &self,
        okms_id: okms_api::Uuid,
        listed: &Credential,
        audit: &mut AuditFacts,
    ) -> Result<bool, okms_api::Error> {
        if listed.status == CredentialStatus::Deleting {
            return Ok(false);
        }
        if listed.status == CredentialStatus::Creating {
            // The API refuses to delete a credential still CREATING; a failure here (it went
            // to ERROR) still leaves the delete to try.
            let settle = &self.options.settle;
            let _ = self
                .api(
                    audit,
                    self.client.wait_until_ready(okms_id, listed.id, settle),
                )
                .await;
        }
        let refused = match self
            .api(audit, self.client.delete_credential(okms_id, listed.id))
            .await
        {
            Ok(_) => {
                audit.revoked.push(listed.id);
                return Ok(true);
            }
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => e,
        };
        // okms-api retries a DELETE whose answer was lost; the retry then finds the
        // credential DELETING or gone. Ask where it stands before calling it a failure.
        match self
            .api(audit, self.client.get_credential(okms_id, listed.id))
            .await
        {
            Err(e) if e.is_not_found() => Ok(false),
            Ok(now) if now.status == CredentialStatus::Deleting => {
                audit.revoked.push(listed.id);
                Ok(true)
            }
            _ => Err(refused),
        }
    }
}
