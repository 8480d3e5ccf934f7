//! Revoking a credential a listing or a read just showed, as okms-lifecycle's revocation
//! does (gone or DELETING counts as done, one still CREATING is let settle first) but without
//! reading it again first: the caller has just seen it, and that read would be the seventh
//! API call of a renewal.

use okms_api::{Clock, Credential, CredentialStatus, Transport};

use super::Engine;
use crate::service::AuditFacts;

impl<T: Transport, C: Clock> Engine<T, C> {
    /// Revokes `listed`; `Ok(true)` when it was live as listed and is now going or gone
    /// (also when it vanished meanwhile: a DELETE whose answer was lost and that okms-api
    /// sent again finds it gone), `Ok(false)` when the listing showed it DELETING already.
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
                .api(audit, || {
                    self.client.wait_until_ready(okms_id, listed.id, settle)
                })
                .await;
        }
        let refused = match self
            .api(audit, || self.client.delete_credential(okms_id, listed.id))
            .await
        {
            Ok(_) => None,
            Err(e) if e.is_not_found() => None,
            Err(e) => Some(e),
        };
        if let Some(refused) = refused {
            // okms-api retries a DELETE whose answer was lost; the retry then finds the
            // credential DELETING. Ask where it stands before calling it a failure.
            match self
                .api(audit, || self.client.get_credential(okms_id, listed.id))
                .await
            {
                Err(e) if e.is_not_found() => {}
                Ok(now) if now.status == CredentialStatus::Deleting => {}
                _ => return Err(refused),
            }
        }
        audit.revoked.push(listed.id);
        Ok(true)
    }
}
