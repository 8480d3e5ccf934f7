//! What the engine needs of each policy domain, read from the API once and kept: its public
//! CA (the handshake's trust anchor, and `caPEM` in renew answers) and its REST endpoint.
//! Refreshed on reload and when older than [`MAX_AGE`] (a failed refresh keeps the old facts:
//! a CA does not change often, and a renewal should not fail for want of a re-read).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use okms_api::{Clock, Transport, Uuid};

use super::Engine;
use crate::error::Error;
use crate::policy::Policy;
use crate::service::AuditFacts;

/// How long a domain's facts are used before they are read again.
const MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// One domain's facts.
#[derive(Debug, Clone)]
pub(crate) struct DomainFacts {
    /// The domain's CA (PEM).
    pub ca_pem: String,
    /// Its REST endpoint, when the API names one.
    pub rest_endpoint: Option<String>,
    read_at: Instant,
}

/// The facts per domain.
#[derive(Debug, Default)]
pub(crate) struct DomainCache {
    domains: Mutex<HashMap<Uuid, DomainFacts>>,
}

impl DomainCache {
    /// Reads `okms_id` from the API and keeps it.
    ///
    /// # Errors
    /// [`Error::Api`] when it cannot be read, [`Error::Tls`] without a public CA.
    pub async fn load<T: Transport, C: Clock>(
        &self,
        engine: &Engine<T, C>,
        okms_id: Uuid,
        audit: &mut AuditFacts,
    ) -> Result<DomainFacts, Error> {
        let domain = engine
            .api(audit, || engine.client.get_domain(okms_id, true))
            .await?;
        let ca_pem = domain
            .public_ca
            .filter(|ca| !ca.trim().is_empty())
            .ok_or_else(|| {
                Error::Tls(format!(
                    "the API gives no public CA (publicCA) for domain {okms_id}"
                ))
            })?;
        let facts = DomainFacts {
            ca_pem,
            rest_endpoint: domain.rest_endpoint,
            read_at: Instant::now(),
        };
        self.domains
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(okms_id, facts.clone());
        Ok(facts)
    }

    /// The facts of `okms_id`, read again when old (the old ones kept if that fails).
    ///
    /// # Errors
    /// As [`load`](Self::load), only for a domain never read.
    pub async fn get<T: Transport, C: Clock>(
        &self,
        engine: &Engine<T, C>,
        okms_id: Uuid,
        audit: &mut AuditFacts,
    ) -> Result<DomainFacts, Error> {
        let known = self
            .domains
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&okms_id)
            .cloned();
        match known {
            Some(facts) if facts.read_at.elapsed() < MAX_AGE => Ok(facts),
            Some(stale) => Ok(self.load(engine, okms_id, audit).await.unwrap_or(stale)),
            None => self.load(engine, okms_id, audit).await,
        }
    }

    /// The CAs of the policy's domains.
    pub fn cas(&self, policy: &Policy) -> Vec<String> {
        let domains = self.domains.lock().unwrap_or_else(PoisonError::into_inner);
        policy
            .domains
            .iter()
            .filter_map(|d| domains.get(&d.okms_id).map(|f| f.ca_pem.clone()))
            .collect()
    }
}
