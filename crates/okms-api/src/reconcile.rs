//! Exactly-once credential creation: what to do when the create POST's outcome is unknown.
//!
//! The create `POST` is not idempotent and the API has no idempotency key. When its answer is
//! lost (connection dropped after sending, timeout, a 5xx from a gateway), the credential may
//! or may not exist. [`Client::create_credential_reconciled`] never repeats the POST blindly:
//!
//! 1. Before every POST it lists the domain's credentials (the *snapshot*), so that afterwards
//!    "created by this POST" means "not in the snapshot" — no clock comparison involved.
//! 2. After an unknown outcome it lists again. The **candidates** are the new credentials with
//!    the same name, the same identity URNs, the same description and the same origin (from a
//!    CSR or not; same certificate type when both sides say).
//! 3. **With a CSR**, the caller's matcher decides which candidate is ours (its certificate
//!    holds the CSR's public key; a candidate still `CREATING` is waited for first). Exactly
//!    one match is adopted; several are reported as ambiguous. Candidates that are not ours
//!    are left alone.
//! 4. **Without a CSR** (OVHcloud generated the key), the candidate is an orphan: its only
//!    private key was in the lost answer. It is revoked (deleted; a `CREATING` one is waited
//!    for first, since the API refuses to delete it; a retried DELETE refused because the
//!    first one, whose answer was lost, worked counts as done) and the POST is sent once
//!    more. One POST creates at most one credential, so several candidates mean someone else
//!    sent the same request meanwhile: that is reported, nothing is deleted.
//! 5. When nothing was created (no candidate, also after a short re-check for a listing that
//!    lags), the POST is sent once more. At most two POSTs are ever sent.
//! 6. Whatever cannot be decided (an orphan that cannot be deleted, several matches, a
//!    candidate that never settles, a second lost answer) is an
//!    [`Error::ReconcileFailed`] naming the candidate ids, so a person can look. When the
//!    credentials cannot even be listed after a lost answer, it says that a credential of that
//!    name may exist (and, with a generated key, that its key is lost).
//! 7. [`Client::create_credential_reconciled`] hands each [`ReconcileEvent`] to the caller
//!    as it happens, so that a user hears what was done (e.g. orphans deleted) also when
//!    reconciliation then fails.
//! 8. A caller that already holds a listing of the domain (a broker renewing many hosts at
//!    once) passes it with [`Client::create_credential_reconciled_after`] instead of step 1's
//!    listing, in CSR mode only: a snapshot older than the POST only widens the candidates of a
//!    lost answer, and among them only the one holding the CSR's key is adopted (two: an
//!    error), so it stays exactly-once. In generated-key mode a candidate is deleted as an
//!    orphan, so a stale snapshot could delete someone else's credential: it lists anyway.
//!
//! Residual risk, stated honestly: in generated-key mode, if our POST created nothing and
//! *another* client created a credential with the very same name, identities, description and
//! type in the same instant, that one would be taken for our orphan and deleted. Use distinct
//! names per client to rule it out.

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Duration;

use uuid::Uuid;

use crate::client::Client;
use crate::clock::Clock;
// `join_ids` lives with the error messages that list ids; it stays public here too.
pub use crate::error::join_ids;
use crate::error::{Error, quote_value};
use crate::request::CredentialRequest;
use crate::transport::Transport;
use crate::types::{CreatedCredential, Credential, CredentialStatus};
use crate::wait::WaitPolicy;

/// Settings of [`Client::create_credential_reconciled`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileOptions {
    /// How long to wait for a candidate still `CREATING` to settle (to read its certificate,
    /// or to be allowed to delete it).
    pub settle: WaitPolicy,
    /// Pause before listing a second time when the first listing shows no candidate (a
    /// listing may lag behind a creation).
    pub recheck_delay: Duration,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        ReconcileOptions {
            settle: WaitPolicy::with_timeout(Duration::from_secs(120)),
            recheck_delay: Duration::from_secs(2),
        }
    }
}

/// Something reconciliation did, for the caller to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconcileEvent {
    /// The POST's outcome was unknown; `reason` says why.
    OutcomeUnknown {
        /// The error that made the outcome unknown.
        reason: String,
    },
    /// A credential created by the lost POST was found and adopted (CSR mode).
    Adopted {
        /// Its id.
        id: Uuid,
    },
    /// Nothing was created by the lost POST; it was sent once more.
    NothingCreated,
    /// Credentials whose private key was lost with the answer were revoked (deleted).
    OrphansDeleted {
        /// Their ids.
        ids: Vec<Uuid>,
    },
    /// The POST was sent a second time.
    Resent,
}

/// What [`Client::create_credential_reconciled`] produced.
#[derive(Debug)]
pub struct ReconciledCreate {
    /// The credential. `private_key_pem` is set only when OVHcloud generated the key and its
    /// answer arrived: persist it before anything else. For an adopted credential it is the
    /// credential as last read (no private key: the CSR's key is the caller's).
    pub created: CreatedCredential,
    /// What happened on the way, in order (empty when the first POST simply succeeded).
    pub events: Vec<ReconcileEvent>,
}

impl ReconciledCreate {
    /// Whether an existing credential was adopted rather than created by an answered POST.
    pub fn adopted(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, ReconcileEvent::Adopted { .. }))
    }
}

/// The new credentials (not in `before`) that could have come from `request`.
///
/// Same name, same identity URNs (as a set), same description, and the same origin: from a
/// CSR when the request has one, generated otherwise (with the same certificate type when both
/// the request and the credential say). Deleted or deleting credentials are left out.
pub fn candidates(
    before: &HashSet<Uuid>,
    after: &[Credential],
    request: &CredentialRequest,
) -> Vec<Credential> {
    let want_urns: HashSet<&str> = request.identity_urns.iter().map(String::as_str).collect();
    let with_csr = request.csr.is_some();
    after
        .iter()
        .filter(|c| !before.contains(&c.id))
        .filter(|c| c.name == request.name)
        .filter(|c| c.status != CredentialStatus::Deleting)
        .filter(|c| {
            c.identity_urns
                .iter()
                .map(String::as_str)
                .collect::<HashSet<_>>()
                == want_urns
        })
        .filter(|c| {
            // An empty description may come back as absent.
            let d = |s: &Option<String>| s.clone().filter(|t| !t.is_empty());
            d(&c.description) == d(&request.description)
        })
        .filter(|c| c.from_csr.is_none_or(|f| f == with_csr))
        .filter(|c| match (&request.certificate_type, &c.certificate_type) {
            (Some(want), Some(got)) if !with_csr => want == got,
            _ => true,
        })
        .cloned()
        .collect()
}

/// What to do with the candidates of a lost POST made with a CSR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrDecision {
    /// Adopt this one: its certificate holds our key.
    Adopt(Uuid),
    /// None is ours: nothing was created; the POST may be sent again.
    NothingCreated,
    /// Cannot decide; a person must look at these ids.
    Undecided {
        /// The credentials concerned.
        ids: Vec<Uuid>,
        /// Why.
        reason: String,
    },
}

/// Decides, from settled candidates and the matcher's verdicts (`Some(true)`: its certificate
/// holds our key; `Some(false)`: another key; `None`: no certificate to tell), which one is ours.
pub fn decide_csr(verdicts: &[(Uuid, Option<bool>)]) -> CsrDecision {
    let ours: Vec<Uuid> = verdicts
        .iter()
        .filter(|(_, v)| *v == Some(true))
        .map(|(id, _)| *id)
        .collect();
    let unknown: Vec<Uuid> = verdicts
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(id, _)| *id)
        .collect();
    match (ours.as_slice(), unknown.is_empty()) {
        ([one], _) => CsrDecision::Adopt(*one),
        ([], true) => CsrDecision::NothingCreated,
        ([], false) => CsrDecision::Undecided {
            ids: unknown,
            reason: "their certificates could not be read (not READY), so it is unknown whether one holds this CSR's key".into(),
        },
        (many, _) => CsrDecision::Undecided {
            ids: many.to_vec(),
            reason: "several credentials hold this CSR's key".into(),
        },
    }
}

enum Step {
    Done(Box<ReconciledCreate>),
    SendAgain,
}

/// The events so far, each also handed to the caller's callback as it happens (so that a user
/// hears of them even when reconciliation then fails).
struct EventLog<'a> {
    events: Vec<ReconcileEvent>,
    on_event: &'a (dyn Fn(&ReconcileEvent) + Send + Sync),
}

impl EventLog<'_> {
    fn push(&mut self, e: ReconcileEvent) {
        (self.on_event)(&e);
        self.events.push(e);
    }
}

/// The error when the credentials cannot be listed after a create whose outcome is unknown:
/// a credential may exist, and the user must be told so, with what to do.
fn lookup_failed(request: &CredentialRequest, okms_id: Uuid, e: &Error, generated: bool) -> Error {
    Error::ReconcileFailed {
        name: request.name.clone(),
        okms_id,
        candidates: Vec::new(),
        reason: format!(
            "could not list the domain's credentials to find out whether the request created one \
             ({}); a credential named {} may have been created{}: list the domain's \
             credentials and {}",
            error_chain(e),
            quote_value(&request.name),
            if generated {
                " and its private key, sent only in the lost answer, is lost"
            } else {
                ""
            },
            if generated {
                "delete it"
            } else {
                "use it (its certificate holds this CSR's key) or delete it"
            }
        ),
    }
}

impl<T: Transport, C: Clock> Client<T, C> {
    /// Creates a credential exactly once, reconciling when the POST's outcome is unknown (see
    /// the [module documentation](crate::reconcile)).
    ///
    /// `on_event` is called with each [`ReconcileEvent`] as it happens (they are also returned
    /// on success).
    ///
    /// `is_ours` is consulted in CSR mode only: given a candidate credential, it answers
    /// whether its certificate holds the CSR's public key (`None` when it cannot tell, e.g. no
    /// certificate). okms-api parses no certificates; the caller does.
    ///
    /// On success after a lost answer in generated-key mode, the returned `private_key_pem`
    /// comes from the second POST's answer: persist it at once.
    pub async fn create_credential_reconciled(
        &self,
        okms_id: Uuid,
        request: &CredentialRequest,
        is_ours: &(dyn Fn(&Credential) -> Option<bool> + Send + Sync),
        options: &ReconcileOptions,
        on_event: &(dyn Fn(&ReconcileEvent) + Send + Sync),
    ) -> Result<ReconciledCreate, Error> {
        self.reconciled(okms_id, request, None, is_ours, options, on_event)
            .await
    }

    /// As [`create_credential_reconciled`](Self::create_credential_reconciled), without
    /// listing the whole domain before the POST when `request` has a CSR: `before` holds the
    /// ids of credentials that a listing started before this call showed (those of the
    /// request's name suffice; see the [module documentation](crate::reconcile), step 8). With
    /// a thousand creates at once, that is a thousand listings of the domain fewer, and no
    /// thousand copies of it in memory. A request without a CSR lists as usual.
    pub async fn create_credential_reconciled_after(
        &self,
        okms_id: Uuid,
        request: &CredentialRequest,
        before: &HashSet<Uuid>,
        is_ours: &(dyn Fn(&Credential) -> Option<bool> + Send + Sync),
        options: &ReconcileOptions,
        on_event: &(dyn Fn(&ReconcileEvent) + Send + Sync),
    ) -> Result<ReconciledCreate, Error> {
        let known = request.csr.is_some().then_some(before);
        self.reconciled(okms_id, request, known, is_ours, options, on_event)
            .await
    }

    /// The exactly-once create; `known`: the caller's snapshot for the first POST (CSR mode
    /// only), else a listing before each POST.
    async fn reconciled(
        &self,
        okms_id: Uuid,
        request: &CredentialRequest,
        known: Option<&HashSet<Uuid>>,
        is_ours: &(dyn Fn(&Credential) -> Option<bool> + Send + Sync),
        options: &ReconcileOptions,
        on_event: &(dyn Fn(&ReconcileEvent) + Send + Sync),
    ) -> Result<ReconciledCreate, Error> {
        request.validate()?;
        let mut events = EventLog {
            events: Vec::new(),
            on_event,
        };
        for attempt in 0..2u8 {
            // The second POST follows a lost answer (rare): it lists, for the narrowest
            // candidates should that answer be lost too.
            let before: Cow<'_, HashSet<Uuid>> = match known {
                Some(known) if attempt == 0 => Cow::Borrowed(known),
                _ => Cow::Owned(
                    self.list_credentials(okms_id)
                        .await?
                        .into_iter()
                        .map(|c| c.id)
                        .collect(),
                ),
            };
            if attempt > 0 {
                events.push(ReconcileEvent::Resent);
            }
            let err = match self.create_credential(okms_id, request).await {
                Ok(created) => {
                    return Ok(ReconciledCreate {
                        created,
                        events: events.events,
                    });
                }
                Err(e @ Error::CreateOutcomeUnknown { .. }) => e,
                Err(e) => return Err(e),
            };
            events.push(ReconcileEvent::OutcomeUnknown {
                reason: error_chain(&err),
            });
            let last = attempt == 1;
            let step = if request.csr.is_some() {
                self.reconcile_csr(okms_id, request, &before, is_ours, options, &mut events)
                    .await?
            } else {
                self.reconcile_generated(okms_id, request, &before, options, &mut events)
                    .await?
            };
            match step {
                Step::Done(r) => return Ok(*r),
                Step::SendAgain if !last => {}
                Step::SendAgain => {
                    return Err(Error::ReconcileFailed {
                        name: request.name.clone(),
                        okms_id,
                        candidates: Vec::new(),
                        reason: "the answer to the create request was lost twice; nothing is \
                                 left behind (see above), but no credential was created"
                            .into(),
                    });
                }
            }
        }
        // The loop always returns; keep the compiler and a future edit honest.
        Err(Error::ReconcileFailed {
            name: request.name.clone(),
            okms_id,
            candidates: Vec::new(),
            reason: "reconciliation ended without a decision".into(),
        })
    }

    /// Lists the candidates, listing a second time after a pause when there are none.
    async fn find_candidates(
        &self,
        okms_id: Uuid,
        request: &CredentialRequest,
        before: &HashSet<Uuid>,
        options: &ReconcileOptions,
    ) -> Result<Vec<Credential>, Error> {
        let found = candidates(before, &self.list_credentials(okms_id).await?, request);
        if !found.is_empty() {
            return Ok(found);
        }
        self.clock().sleep(options.recheck_delay).await;
        Ok(candidates(
            before,
            &self.list_credentials(okms_id).await?,
            request,
        ))
    }

    /// Waits until the credential is no longer CREATING (READY with a certificate, or a final
    /// status); `None` when it does not settle in time or cannot be read.
    async fn settle(
        &self,
        okms_id: Uuid,
        c: Credential,
        policy: &WaitPolicy,
    ) -> Option<Credential> {
        if c.status == CredentialStatus::Ready && c.certificate_pem.is_some() {
            return Some(c);
        }
        match self.wait_until_ready(okms_id, c.id, policy).await {
            Ok(c) => Some(c),
            Err(Error::UnexpectedStatus { .. }) => self.get_credential(okms_id, c.id).await.ok(),
            Err(_) => None,
        }
    }

    /// Deletes a credential; `true` once it is deleting or gone. A DELETE whose answer was
    /// lost is retried (it is idempotent) and the retry is refused because the first one
    /// worked ("already DELETING", or 404): the credential is read back to tell.
    async fn revoke(&self, okms_id: Uuid, id: Uuid) -> bool {
        if self.delete_credential(okms_id, id).await.is_ok() {
            return true;
        }
        match self.get_credential(okms_id, id).await {
            Ok(c) => c.status == CredentialStatus::Deleting,
            Err(e) => e.status() == Some(404),
        }
    }

    async fn reconcile_csr(
        &self,
        okms_id: Uuid,
        request: &CredentialRequest,
        before: &HashSet<Uuid>,
        is_ours: &(dyn Fn(&Credential) -> Option<bool> + Send + Sync),
        options: &ReconcileOptions,
        events: &mut EventLog<'_>,
    ) -> Result<Step, Error> {
        let found = self
            .find_candidates(okms_id, request, before, options)
            .await
            .map_err(|e| lookup_failed(request, okms_id, &e, false))?;
        let mut verdicts = Vec::with_capacity(found.len());
        let mut settled = Vec::with_capacity(found.len());
        for c in found {
            let id = c.id;
            match self.settle(okms_id, c, &options.settle).await {
                Some(c) => {
                    verdicts.push((id, is_ours(&c)));
                    settled.push(c);
                }
                None => verdicts.push((id, None)),
            }
        }
        match decide_csr(&verdicts) {
            CsrDecision::Adopt(id) => {
                events.push(ReconcileEvent::Adopted { id });
                let credential = match settled.into_iter().find(|c| c.id == id) {
                    Some(c) => c,
                    None => self.get_credential(okms_id, id).await?,
                };
                Ok(Step::Done(Box::new(ReconciledCreate {
                    created: CreatedCredential {
                        credential,
                        private_key_pem: None,
                    },
                    events: std::mem::take(&mut events.events),
                })))
            }
            CsrDecision::NothingCreated => {
                events.push(ReconcileEvent::NothingCreated);
                Ok(Step::SendAgain)
            }
            CsrDecision::Undecided { ids, reason } => Err(Error::ReconcileFailed {
                name: request.name.clone(),
                okms_id,
                candidates: ids,
                reason,
            }),
        }
    }

    async fn reconcile_generated(
        &self,
        okms_id: Uuid,
        request: &CredentialRequest,
        before: &HashSet<Uuid>,
        options: &ReconcileOptions,
        events: &mut EventLog<'_>,
    ) -> Result<Step, Error> {
        let orphans = self
            .find_candidates(okms_id, request, before, options)
            .await
            .map_err(|e| lookup_failed(request, okms_id, &e, true))?;
        if orphans.is_empty() {
            events.push(ReconcileEvent::NothingCreated);
            return Ok(Step::SendAgain);
        }
        if orphans.len() > 1 {
            // One POST creates at most one credential: the others belong to someone else
            // who sent the same request at the same moment, and which one is ours is unknown.
            return Err(Error::ReconcileFailed {
                name: request.name.clone(),
                okms_id,
                candidates: orphans.iter().map(|c| c.id).collect(),
                reason: "the create answer, with the only copy of the generated private key, was \
                         lost, and several identical credentials appeared meanwhile; at most one \
                         is from this request and its key is lost: check them and delete the \
                         unused ones"
                    .into(),
            });
        }
        let mut deleted = Vec::new();
        let mut failed = Vec::new();
        for o in orphans {
            let id = o.id;
            // The API refuses to delete a CREATING credential: let it settle first.
            let ready = o.status != CredentialStatus::Creating
                || self.settle(okms_id, o, &options.settle).await.is_some();
            if ready && self.revoke(okms_id, id).await {
                deleted.push(id);
            } else {
                failed.push(id);
            }
        }
        if !deleted.is_empty() {
            events.push(ReconcileEvent::OrphansDeleted {
                ids: deleted.clone(),
            });
        }
        if !failed.is_empty() {
            return Err(Error::ReconcileFailed {
                name: request.name.clone(),
                okms_id,
                candidates: failed,
                reason: format!(
                    "the create answer, with the only copy of the generated private key, was lost; \
                     these credentials have no usable key and could not be deleted{}",
                    if deleted.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({} other(s) were deleted: {})",
                            deleted.len(),
                            join_ids(&deleted)
                        )
                    }
                ),
            });
        }
        Ok(Step::SendAgain)
    }
}

fn error_chain(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::OffsetDateTime;

    const URN: &str = "urn:v1:eu:identity:account:xx1111-ovh";

    fn cred(n: u128, name: &str, from_csr: Option<bool>) -> Credential {
        Credential {
            id: Uuid::from_u128(n),
            name: name.into(),
            description: None,
            identity_urns: vec![URN.into()],
            status: CredentialStatus::Creating,
            from_csr,
            certificate_type: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            expired_at: OffsetDateTime::UNIX_EPOCH,
            certificate_pem: None,
        }
    }

    #[test]
    fn candidates_are_new_and_identical_in_what_was_sent() {
        let req = CredentialRequest::new("app", vec![URN.into()]);
        let before: HashSet<Uuid> = [Uuid::from_u128(1)].into();
        let mut other_urns = cred(5, "app", Some(false));
        other_urns.identity_urns = vec!["urn:v1:eu:identity:user:xx1111-ovh/x".into()];
        let mut described = cred(6, "app", None);
        described.description = Some("x".into());
        let mut deleting = cred(7, "app", None);
        deleting.status = CredentialStatus::Deleting;
        let all = vec![
            cred(1, "app", Some(false)), // existed before
            cred(2, "app", Some(false)), // new, same: candidate
            cred(3, "other", Some(false)),
            cred(4, "app", Some(true)), // from a CSR: not from this request
            other_urns,
            described,
            deleting,
            cred(8, "app", None), // origin unknown (older API): candidate
        ];
        let ids: Vec<u128> = candidates(&before, &all, &req)
            .iter()
            .map(|c| c.id.as_u128())
            .collect();
        assert_eq!(ids, vec![2, 8]);

        let with_csr = CredentialRequest::from_csr("app", vec![URN.into()], "csr");
        let ids: Vec<u128> = candidates(&before, &all, &with_csr)
            .iter()
            .map(|c| c.id.as_u128())
            .collect();
        assert_eq!(ids, vec![4, 8]);
    }

    #[test]
    fn certificate_type_must_agree_when_both_say() {
        let req = CredentialRequest::new("app", vec![URN.into()])
            .with_certificate_type(crate::CertificateType::Rsa);
        let mut ec = cred(2, "app", Some(false));
        ec.certificate_type = Some(crate::CertificateType::Ecdsa);
        let mut rsa = cred(3, "app", Some(false));
        rsa.certificate_type = Some(crate::CertificateType::Rsa);
        let ids: Vec<u128> = candidates(&HashSet::new(), &[ec, rsa], &req)
            .iter()
            .map(|c| c.id.as_u128())
            .collect();
        assert_eq!(ids, vec![3]);
    }

    #[test]
    fn csr_decisions() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert_eq!(decide_csr(&[]), CsrDecision::NothingCreated);
        assert_eq!(
            decide_csr(&[(a, Some(false)), (b, Some(true))]),
            CsrDecision::Adopt(b)
        );
        // One sure match wins even when another cannot be read.
        assert_eq!(
            decide_csr(&[(a, None), (b, Some(true))]),
            CsrDecision::Adopt(b)
        );
        assert_eq!(
            decide_csr(&[(a, Some(false)), (b, Some(false))]),
            CsrDecision::NothingCreated
        );
        assert!(matches!(
            decide_csr(&[(a, None), (b, Some(false))]),
            CsrDecision::Undecided { ids, .. } if ids == vec![a]
        ));
        assert!(matches!(
            decide_csr(&[(a, Some(true)), (b, Some(true))]),
            CsrDecision::Undecided { ids, .. } if ids == vec![a, b]
        ));
    }
}
