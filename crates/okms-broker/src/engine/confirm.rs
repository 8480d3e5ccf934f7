//! `POST /v1/confirm` (with the new certificate) and `POST /v1/abandon` (with the old one).
//!
//! Confirm revokes every other live credential of the presenter's name: the previous one and
//! any duplicate successor a race between replicas made. The confirmed one wins; that rule,
//! applied to API state only, is how replicas with no shared state converge.

use okms_api::broker::{AbandonAnswer, AbandonRequest, ConfirmAnswer, ConfirmRequest};
use okms_api::{Clock, CredentialStatus, Transport};

use super::Engine;
use super::authenticate::fingerprint;
use super::refused::Refused;
use super::renew::is_live;
use crate::service::{AuditFacts, PeerCertificate};

impl<T: Transport, C: Clock> Engine<T, C> {
    pub(crate) async fn confirm_as(
        &self,
        peer: &PeerCertificate,
        // The previous credential is found by name: naming it changes nothing, since every
        // other live credential of the name is revoked.
        _request: &ConfirmRequest,
        audit: &mut AuditFacts,
    ) -> Result<ConfirmAnswer, Refused> {
        // The listing both authenticates and finds what to revoke: a confirm is two API
        // calls (list, DELETE), so that a whole renewal stays within six.
        let arrived = self.listings.ticket();
        let (presenter, listed) = self.authenticate_listed(peer, arrived, audit).await?;
        audit.new_credential_id = Some(presenter.credential.id);
        audit.new_fingerprint = Some(fingerprint(&peer.0));
        let key = presenter.key();
        let now = self.now();
        let others = listed.iter().filter(|c| {
            c.name == presenter.credential.name
                && c.id != presenter.credential.id
                && is_live(c, now)
        });
        let mut revoked = Vec::new();
        for other in others {
            match self.revoke_listed(presenter.okms_id, other, audit).await {
                Ok(true) => revoked.push(other.id),
                Ok(false) => {}
                Err(e) => {
                    return Err(Refused::api(
                        &format!("revoking credential {}", other.id),
                        &e,
                    ));
                }
            }
        }
        self.ledger.confirmed(&key, presenter.credential.created_at);
        Ok(ConfirmAnswer {
            credential_id: presenter.credential.id,
            revoked,
        })
    }

    pub(crate) async fn abandon_as(
        &self,
        peer: &PeerCertificate,
        request: &AbandonRequest,
        audit: &mut AuditFacts,
    ) -> Result<AbandonAnswer, Refused> {
        let presenter = self.authenticate(peer, audit).await?;
        let id = request.credential_id;
        audit.new_credential_id = Some(id);
        if id == presenter.credential.id {
            return Err(Refused::bad_request(
                "a host abandons the successor it will not deploy, not the certificate it presents",
            ));
        }
        let key = presenter.key();
        let successor = match self
            .api(audit, || self.client.get_credential(presenter.okms_id, id))
            .await
        {
            Ok(c) => c,
            Err(e) if e.is_not_found() => {
                // Gone already (an earlier abandon, or its grace ended): nothing to do.
                self.ledger.forget(&key, id);
                return Ok(AbandonAnswer { revoked: vec![] });
            }
            Err(e) => return Err(Refused::api("reading the successor", &e)),
        };
        if successor.name != presenter.credential.name
            || successor.created_at < presenter.credential.created_at
        {
            return Err(Refused::not_allowed(format!(
                "credential {id} is not a successor of the presented credential"
            )));
        }
        if successor.status == CredentialStatus::Deleting {
            self.ledger.forget(&key, id);
            return Ok(AbandonAnswer { revoked: vec![] });
        }
        let revoked = self
            .revoke_listed(presenter.okms_id, &successor, audit)
            .await
            .map_err(|e| Refused::api(&format!("revoking credential {id}"), &e))?;
        self.ledger.forget(&key, id);
        Ok(AbandonAnswer {
            revoked: if revoked { vec![id] } else { vec![] },
        })
    }
}
