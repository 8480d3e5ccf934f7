//! The grace rule, from API state and the clock only: in each policy domain, the live
//! credentials of each allowed name sorted by (createdAt, id); the oldest is the one in use,
//! the others successors. A successor past its grace was never confirmed and is revoked (the
//! host keeps its working previous pair); the younger ones are pending and go into the ledger,
//! so that a restarted broker or another replica answers a repeated CSR with them.

use std::collections::BTreeMap;

use okms_api::{Clock, Credential, Transport};

use super::Engine;
use super::ledger::{NameKey, Successor};
use super::renew::is_live;
use crate::error::Error;
use crate::policy::DomainPolicy;
use crate::service::{AuditFacts, ReconcileReport};

impl<T: Transport, C: Clock> Engine<T, C> {
    /// One pass over every policy domain. A domain that cannot be listed is skipped (the
    /// others are still reconciled) and its error returned at the end.
    pub(crate) async fn reconcile_all(&self) -> Result<ReconcileReport, Error> {
        let mut report = ReconcileReport::default();
        let mut first_error = None;
        for domain in &self.policy().domains {
            if let Err(e) = self.reconcile_domain(domain, &mut report).await {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    async fn reconcile_domain(
        &self,
        domain: &DomainPolicy,
        report: &mut ReconcileReport,
    ) -> Result<(), Error> {
        let mut audit = AuditFacts::default();
        let okms_id = domain.okms_id;
        // A listing that starts after this pass did, shared with confirms arriving meanwhile;
        // creates then take it as their "before" set.
        let arrived = self.listings.ticket();
        let listed = self.listing_since(okms_id, arrived, &mut audit).await?;
        let now = self.now();
        let mut groups: BTreeMap<String, Vec<&Credential>> = BTreeMap::new();
        for credential in listed.iter() {
            if is_live(credential, now) && domain.allows(&credential.name) {
                groups
                    .entry(credential.name.clone())
                    .or_default()
                    .push(credential);
            }
        }
        let grace = time::Duration::try_from(domain.grace).unwrap_or(time::Duration::DAY);
        let mut named: Vec<NameKey> = Vec::new();
        let mut failed = None;
        for (name, mut group) in groups {
            group.sort_by_key(|c| (c.created_at, c.id));
            let key = (okms_id, name);
            let mut pending = Vec::new();
            for successor in group.iter().skip(1) {
                if successor.created_at.saturating_add(grace) <= now {
                    match self.revoke_listed(okms_id, successor, &mut audit).await {
                        Ok(_) => report.expired_unconfirmed.push(successor.id),
                        Err(e) => {
                            failed.get_or_insert(e);
                        }
                    }
                } else {
                    pending.push(Successor {
                        id: successor.id,
                        created_at: successor.created_at,
                        certificate_pem: successor.certificate_pem.clone(),
                        answer: None,
                    });
                }
            }
            report.pending = report
                .pending
                .saturating_add(u32::try_from(pending.len()).unwrap_or(u32::MAX));
            self.ledger.replace(&key, pending);
            named.push(key);
        }
        self.ledger.retain_listed(okms_id, &named);
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}
