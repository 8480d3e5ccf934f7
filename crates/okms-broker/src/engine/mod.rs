//! The renewal logic behind the HTTPS server: [`Engine`] implements [`Service`] over an
//! okms-api [`Client`] holding the broker's API credentials.
//!
//! Each route authenticates the presented certificate against the API (`authenticate`),
//! then renews (`renew`), confirms or abandons (`confirm`) or answers the schedule
//! (`status`). The API is the only state: the `ledger` of unconfirmed successors is a cache
//! that `reconcile` rebuilds from listings, so a restarted broker or a replica with no shared
//! state decides the same. Every API-using step goes through one gate (at most
//! `api_concurrency` at once) that also counts and times it (`stats`); a client over an
//! [`Audited`] transport also gives each request's audit its exact HTTP calls and every
//! `X-Ovh-QueryID` (`tally`).

mod authenticate;
mod confirm;
mod csr_check;
mod domains;
mod ledger;
mod listing;
mod reconcile;
mod refused;
mod renew;
mod revoke;
mod stats;
mod status;
mod tally;

use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use okms_api::broker::{
    AbandonAnswer, AbandonRequest, ConfirmAnswer, ConfirmRequest, RenewAnswer, RenewRequest,
    StatusAnswer,
};
use okms_api::{Client, Clock, OffsetDateTime, ReconcileOptions, Transport, WaitPolicy};
use tokio::sync::Semaphore;

use crate::error::Error;
use crate::policy::Policy;
use crate::service::{AuditFacts, Handled, PeerCertificate, ReconcileReport, RenewKind, Service};
use domains::DomainCache;
use ledger::Ledger;
use listing::Listings;
use refused::Refused;
use stats::Stats;
pub use tally::Audited;
use tally::Tally;

/// How the engine uses the API.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// At most this many API-using steps at once (the rest queue).
    pub api_concurrency: usize,
    /// How long to wait for a new credential to be READY, and for one still CREATING to
    /// settle before it is revoked.
    pub settle: WaitPolicy,
    /// How a create whose answer was lost is reconciled.
    pub reconcile: ReconcileOptions,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            api_concurrency: 32,
            settle: WaitPolicy::default(),
            reconcile: ReconcileOptions::default(),
        }
    }
}

/// The broker's renewal logic over an API client.
pub struct Engine<T: Transport, C: Clock> {
    client: Client<T, C>,
    policy: RwLock<Arc<Policy>>,
    domains: DomainCache,
    ledger: Ledger,
    listings: Listings,
    stats: Stats,
    api_gate: Semaphore,
    options: EngineOptions,
}

impl<T: Transport, C: Clock> std::fmt::Debug for Engine<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("client", &self.client)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<T: Transport, C: Clock> Engine<T, C> {
    /// Reads each policy domain once (its public CA and REST endpoint) and returns the
    /// engine. It reconciles nothing yet: the server calls [`Service::reconcile`] at start.
    ///
    /// # Errors
    /// [`Error::Api`] when a domain cannot be read, [`Error::Tls`] when the API gives no
    /// public CA for one.
    pub async fn start(
        client: Client<T, C>,
        policy: Arc<Policy>,
        options: EngineOptions,
    ) -> Result<Self, Error> {
        let engine = Engine {
            client,
            policy: RwLock::new(policy.clone()),
            domains: DomainCache::default(),
            ledger: Ledger::default(),
            listings: Listings::default(),
            stats: Stats::default(),
            api_gate: Semaphore::new(options.api_concurrency.max(1)),
            options,
        };
        let mut audit = AuditFacts::default();
        for domain in &policy.domains {
            engine
                .domains
                .load(&engine, domain.okms_id, &mut audit)
                .await?;
        }
        Ok(engine)
    }

    /// The policy in force.
    fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The one clock grace, expiry and rate limits are read from: the API client's.
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.client.clock().now())
    }

    /// Runs one API-using step through the concurrency gate, counting and timing it and
    /// keeping the query id of a failure.
    ///
    /// The step's future is made, on the heap, only once the gate lets it through: a request
    /// queued at the gate then holds a few hundred bytes, not the step's whole state machine
    /// (a create's is kilobytes), which a burst of a thousand hosts would multiply.
    async fn api<R, E: ApiFailure, F: Future<Output = Result<R, E>>>(
        &self,
        audit: &mut AuditFacts,
        step: impl FnOnce() -> F,
    ) -> Result<R, E> {
        self.stats
            .queued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let waiting = Instant::now();
        let permit = self.api_gate.acquire().await;
        let waited = waiting.elapsed();
        audit.api_wait += waited;
        self.stats
            .queued
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        self.stats
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let result = Box::pin(step()).await;
        self.stats
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        drop(permit);
        let took = started.elapsed();
        audit.api_time += took;
        self.stats.api_call(took, waited, result.is_err());
        audit.api_calls = audit.api_calls.saturating_add(1);
        if let Err(e) = &result
            && let Some(id) = e.api_error().and_then(okms_api::Error::query_id)
        {
            audit.api_query_ids.push(id.to_owned());
        }
        result
    }
}

/// The okms-api error inside a step's error, for its query id.
trait ApiFailure {
    fn api_error(&self) -> Option<&okms_api::Error>;
}

impl ApiFailure for okms_api::Error {
    fn api_error(&self) -> Option<&okms_api::Error> {
        Some(self)
    }
}

impl ApiFailure for okms_lifecycle::Error {
    fn api_error(&self) -> Option<&okms_api::Error> {
        match self {
            okms_lifecycle::Error::Api { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A request's outcome with its facts; a refusal's reason goes to the audit line.
fn handled<A>(result: Result<A, Refused>, mut audit: AuditFacts) -> Handled<A> {
    let result = result.map_err(|refused| {
        audit.detail = Some(refused.detail);
        refused.refusal
    });
    Handled { result, audit }
}

impl<T, C> Service for Engine<T, C>
where
    T: Transport + 'static,
    C: Clock + 'static,
{
    async fn renew(
        &self,
        peer: PeerCertificate,
        request: RenewRequest,
    ) -> Handled<(RenewAnswer, RenewKind)> {
        let handle = async {
            let mut audit = AuditFacts::default();
            let result = self.renew_as(&peer, &request, &mut audit).await;
            self.stats.renewal(match &result {
                Ok((_, RenewKind::Created)) => stats::RenewOutcome::Created,
                Ok((_, RenewKind::Repeated)) => stats::RenewOutcome::Repeated,
                Err(refused) => stats::RenewOutcome::Refused(refused.refusal.code),
            });
            handled(result, audit)
        };
        Tally::around(handle, |h| &mut h.audit).await
    }

    async fn confirm(
        &self,
        peer: PeerCertificate,
        request: ConfirmRequest,
    ) -> Handled<ConfirmAnswer> {
        let handle = async {
            let mut audit = AuditFacts::default();
            let result = self.confirm_as(&peer, &request, &mut audit).await;
            if result.is_ok() {
                self.stats.confirmed();
            }
            handled(result, audit)
        };
        Tally::around(handle, |h| &mut h.audit).await
    }

    async fn abandon(
        &self,
        peer: PeerCertificate,
        request: AbandonRequest,
    ) -> Handled<AbandonAnswer> {
        let handle = async {
            let mut audit = AuditFacts::default();
            let result = self.abandon_as(&peer, &request, &mut audit).await;
            if result.is_ok() {
                self.stats.abandoned();
            }
            handled(result, audit)
        };
        Tally::around(handle, |h| &mut h.audit).await
    }

    async fn status(&self, peer: PeerCertificate) -> Handled<StatusAnswer> {
        let handle = async {
            let mut audit = AuditFacts::default();
            let result = self.status_of(&peer, &mut audit).await;
            handled(result, audit)
        };
        Tally::around(handle, |h| &mut h.audit).await
    }

    fn write_metrics(&self, out: &mut String) {
        // Counted when scraped, not after every request: walking the ledger is O(hosts).
        self.stats
            .pending
            .store(self.ledger.count(), std::sync::atomic::Ordering::Relaxed);
        self.stats.write(out);
    }

    fn client_cas(&self) -> Vec<String> {
        self.domains.cas(&self.policy())
    }

    async fn reload(&self, policy: Arc<Policy>) -> Result<(), Error> {
        let mut audit = AuditFacts::default();
        for domain in &policy.domains {
            self.domains.load(self, domain.okms_id, &mut audit).await?;
        }
        *self.policy.write().unwrap_or_else(PoisonError::into_inner) = policy;
        Ok(())
    }

    async fn reconcile(&self) -> Result<ReconcileReport, Error> {
        self.reconcile_all().await
    }
}
