//! All mutable emulator state, behind one mutex, plus the immutable settings it runs with.
//! Lifecycle transitions are not timers: a credential's status is computed from its
//! timestamps whenever somebody looks.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    ca::Ca,
    config::ApiCredentials,
    faults::{Decision, FaultEngine, FaultSpec},
    iam::{IamSeed, Subject, evaluate, store::Policy},
    wire::{CertificateType, CredentialStatus},
};

/// Who made an authenticated request.
#[derive(Clone, Debug)]
pub(crate) enum Caller {
    /// Application key + consumer key.
    Application,
    /// OAuth2 service account.
    OAuth2 {
        /// Its client id.
        client_id: String,
    },
}

/// Settings fixed at start-up.
#[derive(Debug)]
pub(crate) struct Settings {
    pub ready_delay: Duration,
    /// How long after READY the KMS data plane still refuses the certificate.
    pub kms_propagation: Duration,
    pub delete_delay: Duration,
    pub token_ttl: Duration,
    pub max_clock_skew: Duration,
    pub default_page_size: usize,
    pub max_page_size: usize,
    pub nic: String,
    pub region: String,
    /// The main domain first, then the extra ones.
    pub domains: Vec<Uuid>,
    /// The domains that are PCI-DSS enabled.
    pub pci_dss_domains: Vec<Uuid>,
    pub credentials: ApiCredentials,
    pub kms_url: String,
    /// The domains' `kmipEndpoint` (host:port).
    pub kmip_endpoint: String,
    /// The account's identities (the API caller's identity is in [`State`], changeable).
    pub iam: IamSeed,
}

/// Where a credential is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Certificate not delivered yet.
    Creating,
    /// Certificate available.
    Ready,
    /// Past its `expiredAt`.
    Expired,
    /// Deletion requested.
    Deleting,
    /// Deleted: the API no longer knows it.
    Deleted,
}

impl Phase {
    /// The wire status, or None once deleted.
    pub fn wire(self) -> Option<CredentialStatus> {
        match self {
            Phase::Creating => Some(CredentialStatus::Creating),
            Phase::Ready => Some(CredentialStatus::Ready),
            Phase::Expired => Some(CredentialStatus::Expired),
            Phase::Deleting => Some(CredentialStatus::Deleting),
            Phase::Deleted => None,
        }
    }
}

/// One credential as the emulator remembers it, deleted ones included.
#[derive(Debug, Clone)]
pub(crate) struct CredentialRecord {
    pub seq: u64,
    pub id: Uuid,
    pub okms_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub identity_urns: Vec<String>,
    pub from_csr: bool,
    pub certificate_type: CertificateType,
    pub created_at: OffsetDateTime,
    pub expired_at: OffsetDateTime,
    pub certificate_pem: String,
    pub certificate_der: Vec<u8>,
    pub deleted_at: Option<OffsetDateTime>,
    pub request_id: u64,
    pub answer_lost: bool,
}

impl CredentialRecord {
    pub fn phase(&self, now: OffsetDateTime, settings: &Settings) -> Phase {
        if let Some(deleted_at) = self.deleted_at {
            return if now >= deleted_at + settings.delete_delay {
                Phase::Deleted
            } else {
                Phase::Deleting
            };
        }
        if now < self.created_at + settings.ready_delay {
            Phase::Creating
        } else if now >= self.expired_at {
            Phase::Expired
        } else {
            Phase::Ready
        }
    }

    /// Whether the KMS data plane knows this credential's certificate yet: `kms_propagation`
    /// after it became READY.
    pub fn propagated(&self, now: OffsetDateTime, settings: &Settings) -> bool {
        now >= self.created_at + settings.ready_delay + settings.kms_propagation
    }
}

/// The map key of an access token: its SHA-1, hex.
pub(crate) fn token_key(token: &str) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(token.as_bytes()))
}

/// An OAuth2 access token.
#[derive(Debug)]
pub(crate) struct TokenRecord {
    pub client_id: String,
    pub expires_at: OffsetDateTime,
}

/// The mutable part.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub credentials: Vec<CredentialRecord>,
    /// Keyed by [`token_key`] so the tokens themselves are not kept.
    pub tokens: HashMap<String, TokenRecord>,
    pub next_seq: u64,
    pub next_request_id: u64,
    pub clock_skew_secs: i64,
    pub time_offset: Duration,
    /// IAM policies, in creation order.
    pub policies: Vec<Policy>,
    pub next_policy_seq: u64,
    /// The identity URN API callers act as; None is the root account.
    pub api_caller: Option<String>,
    /// The identity URN OAuth2 callers act as, when not `api_caller`'s.
    pub oauth2_caller: Option<String>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub settings: Settings,
    pub ca: Ca,
    state: Mutex<State>,
    faults: Mutex<FaultEngine>,
}

impl Shared {
    pub fn new(
        settings: Settings,
        ca: Ca,
        seed: u64,
        faults: Vec<FaultSpec>,
        skew: i64,
    ) -> Arc<Self> {
        let api_caller = settings.iam.api_caller.clone();
        let oauth2_caller = settings.iam.oauth2_caller.clone();
        Arc::new(Self {
            settings,
            ca,
            state: Mutex::new(State {
                clock_skew_secs: skew,
                api_caller,
                oauth2_caller,
                ..State::default()
            }),
            faults: Mutex::new(FaultEngine::new(seed, faults)),
        })
    }

    /// Locks the state. A handler that panicked while holding the lock leaves consistent data
    /// (every mutation is a single push or field write), so a poisoned lock is recovered.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The emulator's notion of "now" (real time, plus any test time travel).
    pub fn now(&self) -> OffsetDateTime {
        let offset = self.lock().time_offset;
        let real = OffsetDateTime::now_utc();
        real.checked_add(time::Duration::try_from(offset).unwrap_or(time::Duration::ZERO))
            .unwrap_or(real)
    }

    /// The clock the API pretends to have: `now()` plus the configured skew.
    pub fn server_clock(&self) -> OffsetDateTime {
        let skew = self.lock().clock_skew_secs;
        let now = self.now();
        now.checked_add(time::Duration::seconds(skew))
            .unwrap_or(now)
    }

    pub fn decide_fault(&self, method: &str, path: &str) -> Decision {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .decide(method, path)
    }

    pub fn fault_counts(&self) -> Vec<(FaultSpec, u64)> {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .fired()
    }

    pub fn replace_faults(&self, specs: Vec<FaultSpec>) {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .replace(specs);
    }

    pub fn next_request_id(&self) -> u64 {
        let mut st = self.lock();
        st.next_request_id += 1;
        st.next_request_id
    }

    /// Marks what a request created as "answer lost" (the drop-after fault fired on it).
    pub fn mark_answer_lost(&self, request_id: u64) {
        for c in self.lock().credentials.iter_mut() {
            if c.request_id == request_id {
                c.answer_lost = true;
            }
        }
    }

    pub fn has_domain(&self, id: Uuid) -> bool {
        self.settings.domains.contains(&id)
    }

    /// The identity URN `caller` acts as: OAuth2 bearers as `oauth2_caller` when set, every
    /// caller as `api_caller` otherwise; None is the root account.
    pub fn acting_as(&self, caller: &Caller) -> Option<String> {
        let st = self.lock();
        match caller {
            Caller::OAuth2 { .. } if st.oauth2_caller.is_some() => st.oauth2_caller.clone(),
            _ => st.api_caller.clone(),
        }
    }

    /// The subject `caller` is evaluated as.
    pub fn api_subject(&self, caller: &Caller) -> Subject {
        let urn = self
            .acting_as(caller)
            .unwrap_or_else(|| crate::iam::root_urn(&self.settings.nic));
        self.subject(&[urn])
    }

    /// The subject of identity URNs (an API caller, or an access certificate's identities).
    pub fn subject(&self, urns: &[String]) -> Subject {
        Subject::of(&self.settings.iam, &self.settings.nic, urns)
    }

    /// Whether `subject` may do `action` on `resource` now (emulator clock).
    pub fn allowed(&self, subject: &Subject, resource: &str, action: &str) -> bool {
        if *subject == Subject::Unrestricted {
            return true;
        }
        let now = self.now();
        evaluate::is_allowed(&self.lock().policies, now, subject, resource, action)
    }
}
