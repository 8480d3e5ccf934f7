//! What the engine remembers between requests: the unconfirmed successors of each credential
//! name and when the last one was made. It is a cache of API state, never the truth: a
//! restarted broker or another replica rebuilds it from a listing (reconcile), so it can be
//! lost at any moment without losing a credential.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use okms_api::broker::RenewAnswer;
use okms_api::{OffsetDateTime, Uuid};

/// A credential name in its domain: what "one host" is to the broker.
pub(crate) type NameKey = (Uuid, String);

/// A successor made (by this engine or another) and not confirmed yet.
#[derive(Debug, Clone)]
pub(crate) struct Successor {
    /// Its credential id.
    pub id: Uuid,
    /// When the API created it (the grace runs from here).
    pub created_at: OffsetDateTime,
    /// Its certificate once READY.
    pub certificate_pem: Option<String>,
    /// The answer already given for it, to give again to the same CSR.
    pub answer: Option<RenewAnswer>,
}

#[derive(Debug, Default)]
struct NameEntry {
    successors: Vec<Successor>,
    /// When the newest successor of this name was made (kept after a confirm: the per-host
    /// rate limit counts from it).
    last_created: Option<OffsetDateTime>,
    /// Held while a renew of this name runs, so that a host's retry waits for its first
    /// attempt instead of racing it to a second credential.
    renewing: Arc<tokio::sync::Mutex<()>>,
}

/// The successors pending per name.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    names: Mutex<HashMap<NameKey, NameEntry>>,
}

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, HashMap<NameKey, NameEntry>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lock to hold while renewing `key`.
    pub fn renew_lock(&self, key: &NameKey) -> Arc<tokio::sync::Mutex<()>> {
        self.lock().entry(key.clone()).or_default().renewing.clone()
    }

    /// The successors of `key` made at or after `since` (the presenter's creation) other than
    /// `presenter`.
    pub fn pending(&self, key: &NameKey, presenter: Uuid, since: OffsetDateTime) -> Vec<Successor> {
        self.lock().get(key).map_or_else(Vec::new, |e| {
            e.successors
                .iter()
                .filter(|s| s.id != presenter && s.created_at >= since)
                .cloned()
                .collect()
        })
    }

    /// The newest pending successor of `key`, for status answers.
    pub fn newest(&self, key: &NameKey, presenter: Uuid) -> Option<Uuid> {
        self.lock().get(key).and_then(|e| {
            e.successors
                .iter()
                .filter(|s| s.id != presenter)
                .max_by_key(|s| (s.created_at, s.id))
                .map(|s| s.id)
        })
    }

    /// When the newest successor of `key` was made.
    pub fn last_created(&self, key: &NameKey) -> Option<OffsetDateTime> {
        self.lock().get(key).and_then(|e| e.last_created)
    }

    /// Records or updates a successor.
    pub fn record(&self, key: &NameKey, successor: Successor) {
        let mut names = self.lock();
        let entry = names.entry(key.clone()).or_default();
        entry.last_created = entry.last_created.max(Some(successor.created_at));
        match entry.successors.iter_mut().find(|s| s.id == successor.id) {
            Some(known) => *known = successor,
            None => entry.successors.push(successor),
        }
    }

    /// Forgets one successor (abandoned, revoked, or gone).
    pub fn forget(&self, key: &NameKey, id: Uuid) {
        if let Some(e) = self.lock().get_mut(key) {
            e.successors.retain(|s| s.id != id);
        }
    }

    /// `confirmed` won: no successor of `key` is pending any more.
    pub fn confirmed(&self, key: &NameKey, confirmed_created_at: OffsetDateTime) {
        let mut names = self.lock();
        let entry = names.entry(key.clone()).or_default();
        entry.successors.clear();
        entry.last_created = entry.last_created.max(Some(confirmed_created_at));
    }

    /// Replaces what is known of `key` by a listing's view: these successors are pending,
    /// no other. Answers already given are kept for successors still pending.
    pub fn replace(&self, key: &NameKey, mut pending: Vec<Successor>) {
        let mut names = self.lock();
        let entry = names.entry(key.clone()).or_default();
        for s in &mut pending {
            if let Some(known) = entry.successors.iter().find(|k| k.id == s.id) {
                s.answer = s.answer.take().or_else(|| known.answer.clone());
            }
            entry.last_created = entry.last_created.max(Some(s.created_at));
        }
        entry.successors = pending;
    }

    /// Drops every name of `okms_id` that a listing did not show with successors.
    pub fn retain_listed(&self, okms_id: Uuid, listed: &[NameKey]) {
        for (key, entry) in self.lock().iter_mut() {
            if key.0 == okms_id && !listed.contains(key) {
                entry.successors.clear();
            }
        }
    }

    /// Successors pending, over every name.
    pub fn count(&self) -> u64 {
        self.lock()
            .values()
            .map(|e| e.successors.len() as u64)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn successor(n: u128, at: i64) -> Successor {
        Successor {
            id: Uuid::from_u128(n),
            created_at: OffsetDateTime::from_unix_timestamp(at)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            certificate_pem: None,
            answer: None,
        }
    }

    #[test]
    fn a_confirm_clears_the_successors_but_not_the_rate_limit_clock() {
        let ledger = Ledger::default();
        let key = (Uuid::from_u128(1), "web-1".to_owned());
        let presenter = successor(10, 100);
        ledger.record(&key, successor(11, 200));
        ledger.record(&key, successor(12, 300));
        let pending = ledger.pending(&key, presenter.id, presenter.created_at);
        assert_eq!(pending.len(), 2);
        assert!(
            ledger
                .pending(&key, presenter.id, successor(0, 250).created_at)
                .len()
                == 1
        );
        assert_eq!(ledger.newest(&key, presenter.id), Some(Uuid::from_u128(12)));
        assert_eq!(ledger.count(), 2);

        ledger.confirmed(&key, successor(12, 300).created_at);
        assert_eq!(ledger.count(), 0);
        assert_eq!(
            ledger.last_created(&key),
            Some(successor(0, 300).created_at)
        );
    }

    #[test]
    fn a_listing_replaces_the_successors_and_keeps_answers_given() {
        let ledger = Ledger::default();
        let key = (Uuid::from_u128(1), "web-1".to_owned());
        let other = (Uuid::from_u128(1), "web-2".to_owned());
        let mut answered = successor(11, 200);
        answered.answer = Some(RenewAnswer {
            credential_id: answered.id,
            certificate_pem: String::new(),
            ca_pem: String::new(),
            not_after: answered.created_at,
            previous_credential_id: Uuid::from_u128(10),
            okms_id: key.0,
            rest_endpoint: None,
            confirm_by: answered.created_at,
        });
        ledger.record(&key, answered);
        ledger.record(&key, successor(12, 300));
        ledger.record(&other, successor(21, 300));

        ledger.replace(&key, vec![successor(11, 200)]);
        ledger.retain_listed(key.0, std::slice::from_ref(&key));
        let pending = ledger.pending(&key, Uuid::from_u128(10), successor(0, 0).created_at);
        assert_eq!(pending.len(), 1);
        assert!(pending.first().is_some_and(|s| s.answer.is_some()));
        assert_eq!(ledger.count(), 1, "web-2 was not listed with successors");
    }
}
