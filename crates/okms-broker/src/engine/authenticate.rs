//! Who is asking: the presented certificate must be byte-equal to the certificate of a READY,
//! unexpired credential of a policy domain whose name the policy allows. The handshake already
//! checked that it chains to a policy domain's CA and that the peer holds its key.

use okms_api::{Clock, Credential, CredentialStatus, Transport, Uuid};
use okms_csr::Certificate;
use sha2::{Digest, Sha256};

use std::sync::Arc;

use super::Engine;
use super::ledger::NameKey;
use super::listing::Ticket;
use super::refused::Refused;
use crate::policy::DomainPolicy;
use crate::service::{AuditFacts, PeerCertificate};

/// An authenticated host: its credential as the API shows it, and what the policy says.
#[derive(Debug, Clone)]
pub(crate) struct Presenter {
    /// The domain.
    pub okms_id: Uuid,
    /// The presented credential (READY, with its certificate).
    pub credential: Credential,
    /// The presented certificate.
    pub certificate: Certificate,
    /// The policy's entry for the domain.
    pub policy: DomainPolicy,
}

impl Presenter {
    /// The name the host renews under.
    pub fn key(&self) -> NameKey {
        (self.okms_id, self.credential.name.clone())
    }
}

/// Lowercase hex SHA-256 of DER bytes.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the certificate claims, checked without the API: whose credential, which domain.
struct Claim {
    okms_id: Uuid,
    credential_id: Uuid,
    certificate: Certificate,
    policy: DomainPolicy,
}

impl<T: Transport, C: Clock> Engine<T, C> {
    /// Authenticates `peer` (one API call: GET its credential), filling the audit's client
    /// facts as they become known.
    pub(crate) async fn authenticate(
        &self,
        peer: &PeerCertificate,
        audit: &mut AuditFacts,
    ) -> Result<Presenter, Refused> {
        let claim = self.claim(peer, audit)?;
        let read = self
            .api(audit, || {
                self.client
                    .get_credential(claim.okms_id, claim.credential_id)
            })
            .await;
        let credential = match read {
            Ok(c) => Some(c),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(Refused::api("reading the client's credential", &e)),
        };
        self.verify(peer, claim, credential)
    }

    /// Authenticates `peer` from a listing of its domain (one API call, which the caller
    /// needs anyway: confirm then revokes from it); returns the listing too.
    /// `arrived` orders the request against listings shared with other confirms
    /// ([`Engine::listing_since`]).
    pub(crate) async fn authenticate_listed(
        &self,
        peer: &PeerCertificate,
        arrived: Ticket,
        audit: &mut AuditFacts,
    ) -> Result<(Presenter, Arc<Vec<Credential>>), Refused> {
        let claim = self.claim(peer, audit)?;
        let listed = self
            .listing_since(claim.okms_id, arrived, audit)
            .await
            .map_err(|e| Refused::api("listing the domain's credentials", &e))?;
        let credential = listed.iter().find(|c| c.id == claim.credential_id).cloned();
        Ok((self.verify(peer, claim, credential)?, listed))
    }

    /// The checks that need no API call.
    fn claim(&self, peer: &PeerCertificate, audit: &mut AuditFacts) -> Result<Claim, Refused> {
        audit.client_fingerprint = Some(fingerprint(&peer.0));
        let certificate = Certificate::from_der(&peer.0).map_err(|e| {
            Refused::forbidden(format!("the client certificate is unreadable: {e}"))
        })?;
        let credential_id = okms_lifecycle::credential_id(&certificate).ok_or_else(|| {
            Refused::forbidden("the client certificate's serial is no OKMS credential id")
        })?;
        audit.client_credential_id = Some(credential_id);
        let okms_id = okms_lifecycle::okms_domain(&certificate).ok_or_else(|| {
            Refused::forbidden("the client certificate names no OKMS domain (okms.domain:)")
        })?;
        audit.okms_id = Some(okms_id);
        let policy = self.policy().domain(okms_id).cloned().ok_or_else(|| {
            Refused::forbidden(format!("domain {okms_id} is not in the broker's policy"))
        })?;
        if !certificate.is_valid_at(self.now()) {
            return Err(Refused::forbidden(format!(
                "the client certificate is not valid now (notAfter {})",
                certificate.not_after()
            )));
        }
        Ok(Claim {
            okms_id,
            credential_id,
            certificate,
            policy,
        })
    }

    /// The checks against the credential as the API shows it (`None`: it does not exist).
    fn verify(
        &self,
        peer: &PeerCertificate,
        claim: Claim,
        credential: Option<Credential>,
    ) -> Result<Presenter, Refused> {
        let Claim {
            okms_id,
            credential_id,
            certificate,
            policy,
        } = claim;
        let credential = credential.ok_or_else(|| {
            Refused::forbidden(format!(
                "credential {credential_id} does not exist in domain {okms_id}"
            ))
        })?;
        if credential.status != CredentialStatus::Ready {
            return Err(Refused::forbidden(format!(
                "credential {credential_id} is {}, not READY",
                credential.status
            )));
        }
        if credential.expired_at <= self.now() {
            return Err(Refused::forbidden(format!(
                "credential {credential_id} expired at {}",
                credential.expired_at
            )));
        }
        let same_certificate = credential
            .certificate_pem
            .as_deref()
            .and_then(|pem| Certificate::from_pem(pem).ok())
            .is_some_and(|issued| issued.to_der() == peer.0.as_slice());
        if !same_certificate {
            return Err(Refused::forbidden(format!(
                "the client certificate is not credential {credential_id}'s certificate"
            )));
        }
        if !policy.allows(&credential.name) {
            return Err(Refused::forbidden(format!(
                "the policy does not let credential name {:?} renew in domain {okms_id}",
                credential.name
            )));
        }
        Ok(Presenter {
            okms_id,
            credential,
            certificate,
            policy,
        })
    }
}
