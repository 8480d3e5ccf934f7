//! One listing of a domain shared by every confirm that can use it.
//!
//! A confirm must see every credential made before it arrived (a duplicate successor from
//! another replica included), so it needs a listing that *started* after its arrival. With a
//! thousand hosts confirming at once, each listing its own copy of the domain would cost a
//! thousand listings and hold a thousand copies of every certificate in memory. Instead the
//! listings of a domain run one at a time, and every confirm that arrived before a listing
//! started shares its result: a burst of confirms costs a few listings and one copy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use okms_api::{Clock, Credential, Transport, Uuid};

use super::Engine;
use crate::service::AuditFacts;

/// When a request arrived, in the order listings start: a listing serves the requests whose
/// ticket is older than its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticket(u64);

type Shared = Arc<tokio::sync::Mutex<Option<(Ticket, Arc<Vec<Credential>>)>>>;

/// The latest listing of each domain, and the order of arrivals.
#[derive(Debug, Default)]
pub(crate) struct Listings {
    order: AtomicU64,
    domains: Mutex<HashMap<Uuid, Shared>>,
}

impl Listings {
    /// A ticket for a request arriving now.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.order.fetch_add(1, Ordering::SeqCst))
    }

    fn of(&self, okms_id: Uuid) -> Shared {
        self.domains
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(okms_id)
            .or_default()
            .clone()
    }
}

impl<T: Transport, C: Clock> Engine<T, C> {
    /// The domain's credentials as listed after `arrived`: the latest shared listing when it
    /// started later, else a new one (which later arrivals then share).
    pub(crate) async fn listing_since(
        &self,
        okms_id: Uuid,
        arrived: Ticket,
        audit: &mut AuditFacts,
    ) -> Result<Arc<Vec<Credential>>, okms_api::Error> {
        let shared = self.listings.of(okms_id);
        let mut latest = shared.lock().await;
        if let Some((started, listed)) = latest.as_ref()
            && *started > arrived
        {
            return Ok(listed.clone());
        }
        let started = self.listings.ticket();
        let listed = Arc::new(
            self.api(audit, self.client.list_credentials(okms_id))
                .await?,
        );
        *latest = Some((started, listed.clone()));
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
