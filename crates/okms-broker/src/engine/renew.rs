//! `POST /v1/renew`: the successor of the presented credential for the host's CSR, made once.
//!
//! A pending successor answers the same CSR again (a lost answer costs nothing) and refuses
//! another one (409); a new successor is planned by okms-lifecycle's [`Plan`] (the old
//! credential's name, identities, description and validity), made through okms-api's
//! exactly-once create with the latest shared listing as its "before" set, recorded in the
//! ledger at once (so a retry finds it even if the wait for READY fails), waited for, and
//! checked to hold the CSR's key.

use std::time::Duration;

use okms_api::broker::{RenewAnswer, RenewRequest};
use okms_api::{Clock, Credential, CredentialStatus, Transport};
use okms_csr::{Csr, PublicKey};
use okms_lifecycle::{Plan, holds_key};

use super::Engine;
use super::authenticate::{Presenter, fingerprint};
use super::csr_check::check_csr;
use super::ledger::Successor;
use super::refused::Refused;
use crate::service::{AuditFacts, PeerCertificate, RenewKind};

/// Whether a certificate (PEM) holds `public`; `None` when it is no certificate.
fn certifies(public: &PublicKey, pem: &str) -> Option<bool> {
    holds_key(public.clone())(pem)
}

impl<T: Transport, C: Clock> Engine<T, C> {
    pub(crate) async fn renew_as(
        &self,
        peer: &PeerCertificate,
        request: &RenewRequest,
        audit: &mut AuditFacts,
    ) -> Result<(RenewAnswer, RenewKind), Refused> {
        let presenter = self.authenticate(peer, audit).await?;
        let csr = check_csr(
            &request.csr,
            &presenter.certificate,
            &presenter.policy.key_algorithms,
        )?;
        let key = presenter.key();
        // One renew per name at a time: a host's retry waits for its first attempt and then
        // finds its successor in the ledger.
        let lock = self.ledger.renew_lock(&key);
        let _renewing = lock.lock().await;

        if let Some(answer) = self.repeated(&presenter, &csr, audit).await? {
            note_new(audit, &answer);
            return Ok((answer, RenewKind::Repeated));
        }
        let now = self.now();
        if let Some(last) = self.ledger.last_created(&key) {
            let interval = presenter.policy.min_renew_interval;
            let since = Duration::try_from(now - last).unwrap_or_default();
            if let Some(wait) = interval.checked_sub(since).filter(|w| !w.is_zero()) {
                let wait = Duration::from_secs(wait.as_secs().max(1));
                return Err(Refused::rate_limited(
                    format!(
                        "credential name {:?} had a new certificate {} s ago; the policy allows one every {} s",
                        presenter.credential.name,
                        since.as_secs(),
                        interval.as_secs()
                    ),
                    wait,
                ));
            }
        }
        let answer = self.create_successor(&presenter, &csr, audit).await?;
        note_new(audit, &answer);
        Ok((answer, RenewKind::Created))
    }

    /// The answer for a successor already made for this CSR's key; 409 when one is pending
    /// for another key.
    async fn repeated(
        &self,
        presenter: &Presenter,
        csr: &Csr,
        audit: &mut AuditFacts,
    ) -> Result<Option<RenewAnswer>, Refused> {
        let key = presenter.key();
        let pending = self.ledger.pending(
            &key,
            presenter.credential.id,
            presenter.credential.created_at,
        );
        let mut other = None;
        for mut successor in pending {
            if let Some(answer) = &successor.answer {
                if certifies(&csr.public_key(), &answer.certificate_pem) == Some(true) {
                    return Ok(Some(answer.clone()));
                }
                // Before a 409, the API is asked (rarely: only here): an operator may have
                // revoked that successor by hand since the ledger learnt of it, and a host
                // must not be refused over a credential that is gone.
                if !self.still_live(presenter, successor.id, audit).await? {
                    self.ledger.forget(&key, successor.id);
                    continue;
                }
                other = Some(successor.id);
                continue;
            }
            let pem = match successor.certificate_pem.clone() {
                Some(pem) => pem,
                None => {
                    let ready = self
                        .api(audit, || {
                            self.client.wait_until_ready(
                                presenter.okms_id,
                                successor.id,
                                &self.options.settle,
                            )
                        })
                        .await;
                    match ready {
                        Ok(credential) => {
                            successor.created_at = credential.created_at;
                            successor.certificate_pem = credential.certificate_pem.clone();
                            credential.certificate_pem.unwrap_or_default()
                        }
                        Err(okms_api::Error::UnexpectedStatus { .. }) => {
                            self.ledger.forget(&key, successor.id);
                            continue;
                        }
                        Err(e) if e.is_not_found() => {
                            self.ledger.forget(&key, successor.id);
                            continue;
                        }
                        Err(e) => return Err(Refused::api("waiting for the successor", &e)),
                    }
                }
            };
            if certifies(&csr.public_key(), &pem) == Some(true) {
                let answer = self
                    .answer(presenter, successor.id, successor.created_at, pem, audit)
                    .await?;
                successor.answer = Some(answer.clone());
                self.ledger.record(&key, successor);
                return Ok(Some(answer));
            }
            self.ledger.record(&key, successor.clone());
            other = Some(successor.id);
        }
        match other {
            Some(id) => Err(Refused::conflict(format!(
                "successor {id} was made for another key and waits for its confirm: deploy and \
                 confirm it, abandon it, or wait for its grace to end"
            ))),
            None => Ok(None),
        }
    }

    /// Whether the successor `id` is still creating or READY at the API.
    async fn still_live(
        &self,
        presenter: &Presenter,
        id: okms_api::Uuid,
        audit: &mut AuditFacts,
    ) -> Result<bool, Refused> {
        let read = self
            .api(audit, || self.client.get_credential(presenter.okms_id, id))
            .await;
        match read {
            Ok(c) => Ok(matches!(
                c.status,
                CredentialStatus::Creating | CredentialStatus::Ready
            )),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(Refused::api("reading the pending successor", &e)),
        }
    }

    /// Makes, waits for and checks a new successor.
    async fn create_successor(
        &self,
        presenter: &Presenter,
        csr: &Csr,
        audit: &mut AuditFacts,
    ) -> Result<RenewAnswer, Refused> {
        let key = presenter.key();
        let mut plan = Plan::from_old(
            presenter.okms_id,
            presenter.credential.clone(),
            csr.to_pem(),
        );
        if let Some(days) = presenter.policy.validity_days {
            plan = plan.with_validity(days);
        }
        let holds = holds_key(csr.public_key());
        let is_ours = move |c: &Credential| holds(c.certificate_pem.as_deref()?);
        // What a lost answer's candidates are told apart from: the name's credentials in the
        // latest shared listing (any age will do, see okms-api's reconcile step 8), the
        // presented one and the pending successors, instead of a listing of the whole domain
        // per create.
        let mut before = self
            .listings
            .known_named(presenter.okms_id, &presenter.credential.name);
        before.insert(presenter.credential.id);
        before.extend(
            self.ledger
                .pending(
                    &key,
                    presenter.credential.id,
                    presenter.credential.created_at,
                )
                .iter()
                .map(|s| s.id),
        );
        let created = self
            .api(audit, || {
                self.client.create_credential_reconciled_after(
                    presenter.okms_id,
                    plan.request(),
                    &before,
                    &is_ours,
                    &self.options.reconcile,
                    &|_| {},
                )
            })
            .await
            .map_err(|e| Refused::api("creating the successor", &e))?;
        let new_id = created.created.credential.id;
        audit.new_credential_id = Some(new_id);
        self.ledger.record(
            &key,
            Successor {
                id: new_id,
                created_at: self.now(),
                certificate_pem: None,
                answer: None,
            },
        );
        // A failed wait leaves the successor in the ledger: the host's retry with the same
        // CSR picks it up, and reconcile revokes it if nobody does.
        let ready = self
            .api(audit, || {
                self.client
                    .wait_until_ready(presenter.okms_id, new_id, &self.options.settle)
            })
            .await
            .map_err(|e| Refused::api("waiting for the successor to be READY", &e))?;
        let pem = ready.certificate_pem.clone().unwrap_or_default();
        if certifies(&csr.public_key(), &pem) != Some(true) {
            // Never hand out a certificate for a key the host does not hold.
            self.ledger.forget(&key, new_id);
            let revoked = self.revoke_listed(presenter.okms_id, &ready, audit).await;
            return Err(Refused::internal(format!(
                "successor {new_id}'s certificate does not hold the CSR's key; revoked: {}",
                revoked.is_ok()
            )));
        }
        let created_at = ready.created_at;
        let answer = self
            .answer(presenter, new_id, created_at, pem.clone(), audit)
            .await?;
        self.ledger.record(
            &key,
            Successor {
                id: new_id,
                created_at,
                certificate_pem: Some(pem),
                answer: Some(answer.clone()),
            },
        );
        Ok(answer)
    }

    async fn answer(
        &self,
        presenter: &Presenter,
        id: okms_api::Uuid,
        created_at: okms_api::OffsetDateTime,
        certificate_pem: String,
        audit: &mut AuditFacts,
    ) -> Result<RenewAnswer, Refused> {
        let not_after = okms_csr::Certificate::from_pem(&certificate_pem)
            .map_err(|e| Refused::internal(format!("successor {id}'s certificate: {e}")))?
            .not_after();
        let domain = self
            .domains
            .get(self, presenter.okms_id, audit)
            .await
            .map_err(|e| Refused::internal(format!("domain {}: {e}", presenter.okms_id)))?;
        let grace = time::Duration::try_from(presenter.policy.grace).unwrap_or(time::Duration::DAY);
        Ok(RenewAnswer {
            credential_id: id,
            certificate_pem,
            ca_pem: domain.ca_pem,
            not_after,
            previous_credential_id: presenter.credential.id,
            okms_id: presenter.okms_id,
            rest_endpoint: domain.rest_endpoint,
            confirm_by: created_at.saturating_add(grace),
        })
    }
}

/// The audit's facts of the successor answered.
fn note_new(audit: &mut AuditFacts, answer: &RenewAnswer) {
    audit.new_credential_id = Some(answer.credential_id);
    audit.new_fingerprint = okms_csr::Certificate::from_pem(&answer.certificate_pem)
        .ok()
        .map(|c| fingerprint(c.to_der()));
}

/// Whether a listed credential counts as live: neither going, failed nor expired.
pub(crate) fn is_live(credential: &Credential, now: okms_api::OffsetDateTime) -> bool {
    matches!(
        credential.status,
        CredentialStatus::Ready | CredentialStatus::Creating
    ) && credential.expired_at > now
}
