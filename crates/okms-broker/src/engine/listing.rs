//! One listing of a domain shared by every confirm that can use it.
//!
//! A confirm must see every credential made before it arrived (a duplicate successor from
//! another replica included), so it needs a listing that *started* after its arrival. With a
//! thousand hosts confirming at once, each listing its own copy of the domain would cost a
//! thousand listings and hold a thousand copies of every certificate in memory. Instead the
//! listings of a domain run one at a time, and every confirm that arrived before a listing
//! started shares its result: a burst of confirms costs a few listings and one copy.
//!
//! Creates use the latest finished listing too, of any age, as their "before" set (okms-api's
//! `create_credential_reconciled_after`): any listing that started before the POST will do.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use okms_api::{Clock, Credential, Transport, Uuid};

use super::Engine;
use crate::service::AuditFacts;

/// When a request arrived, in the order listings start: a listing serves the requests whose
/// ticket is older than its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticket(u64);

/// A finished listing and when it started.
type Listed = (Ticket, Arc<Vec<Credential>>);

/// One domain's listings.
#[derive(Debug, Default)]
struct DomainListings {
    /// Held while a listing runs: a domain's listings run one at a time.
    running: tokio::sync::Mutex<()>,
    /// The latest finished listing, readable without waiting for a running one.
    latest: Mutex<Option<Listed>>,
}

impl DomainListings {
    fn latest(&self) -> Option<Listed> {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The latest listing of each domain, and the order of arrivals.
#[derive(Debug, Default)]
pub(crate) struct Listings {
    order: AtomicU64,
    domains: Mutex<HashMap<Uuid, Arc<DomainListings>>>,
}

impl Listings {
    /// A ticket for a request arriving now.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.order.fetch_add(1, Ordering::SeqCst))
    }

    fn of(&self, okms_id: Uuid) -> Arc<DomainListings> {
        self.domains
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(okms_id)
            .or_default()
            .clone()
    }

    /// The ids of credentials named `name` in the latest finished listing of the domain
    /// (empty before the first): a snapshot that started before anything created from now on.
    pub fn known_named(&self, okms_id: Uuid, name: &str) -> HashSet<Uuid> {
        self.of(okms_id)
            .latest()
            .map(|(_, listed)| {
                listed
                    .iter()
                    .filter(|c| c.name == name)
                    .map(|c| c.id)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl<T: Transport, C: Clock> Engine<T, C> {
    /// The domain's credentials as listed after `arrived`: the latest shared listing when it
    /// started later, else a new one (which later arrivals then share). Waiting for another
    /// request's listing counts as waiting for the API in `audit`.
    pub(crate) async fn listing_since(
        &self,
        okms_id: Uuid,
        arrived: Ticket,
        audit: &mut AuditFacts,
    ) -> Result<Arc<Vec<Credential>>, okms_api::Error> {
        let domain = self.listings.of(okms_id);
        let waiting = Instant::now();
        let _running = domain.running.lock().await;
        audit.api_wait += waiting.elapsed();
        if let Some((started, listed)) = domain.latest()
            && started > arrived
        {
            return Ok(listed);
        }
        let started = self.listings.ticket();
        let listed = Arc::new(
            self.api(audit, || self.client.list_credentials(okms_id))
                .await?,
        );
        // The previous listing goes as soon as the requests holding it are done with it.
        *domain.latest.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((started, listed.clone()));
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::Listings;

    #[test]
    fn tickets_follow_arrivals() {
        let listings = Listings::default();
        let first = listings.ticket();
        let second = listings.ticket();
        assert!(first < second);
    }
}
