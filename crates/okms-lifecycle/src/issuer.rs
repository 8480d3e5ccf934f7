//! Who issues the new certificate: the saga's other side, as the [`KeyHome`](crate::KeyHome) is
//! its own side. Two issuers ship: [`ApiIssuer`](crate::ApiIssuer) (OVHcloud's API through
//! okms-api's `Client`, the caller holding API credentials) and
//! [`BrokerIssuer`](crate::BrokerIssuer) (a renewal broker over mutual TLS, the caller holding
//! only its current certificate and key).

use std::future::Future;

use okms_api::kms::PropagationRetry;
use okms_api::{ClientKey, Uuid};
use time::OffsetDateTime;

use crate::error::Error;
use crate::key_home::Recognizer;
use crate::request::Progress;
use crate::step::Step;

/// How an issuer tells the saga (and through it the caller) what it is doing.
#[derive(Clone, Copy)]
pub struct Tell<'a> {
    progress: &'a (dyn Fn(&Progress) + Send + Sync),
    step: &'a (dyn Fn(Step) + Send + Sync),
}

impl<'a> Tell<'a> {
    pub(crate) fn new(
        progress: &'a (dyn Fn(&Progress) + Send + Sync),
        step: &'a (dyn Fn(Step) + Send + Sync),
    ) -> Self {
        Tell { progress, step }
    }

    /// A step starts: reported, and named by a stop that interrupts it.
    pub fn step(&self, step: Step) {
        (self.step)(step);
    }

    /// Something worth telling happened.
    pub fn progress(&self, progress: &Progress) {
        (self.progress)(progress);
    }

    /// A proof attempt was refused and will be retried, for credential `new_id`.
    pub fn awaiting_proof(&self, new_id: Uuid, retry: &PropagationRetry) {
        self.progress(&Progress::AwaitingProof {
            new_id,
            retry: *retry,
        });
    }
}

/// What issues the successor of the credential being renewed.
///
/// The saga calls, in order: [`prepare`](Self::prepare) (every read before anything is made),
/// [`issue`](Self::issue) once the new key's CSR exists (exactly once: never cut short),
/// [`wait_ready`](Self::wait_ready), [`prove`](Self::prove) with the new key, and, once the
/// caller deployed the new pair and its hook succeeded, [`finish`](Self::finish). Before the
/// deployment, any failure or stop makes it call [`abandon`](Self::abandon) instead: the
/// successor is revoked, so none stays live whose key nobody holds. Each transition borrows
/// the state it starts from, so that [`Self::Created`] can always be abandoned.
pub trait Issuer {
    /// The successor exists (maybe not READY yet); nothing is deployed.
    type Created: Send + Sync;
    /// The successor is READY, with its certificate.
    type Ready: Send + Sync;
    /// The new pair works against the KMS.
    type Proved: Send;
    /// A finished renewal.
    type Renewed: Finished;

    /// Reads what the renewal needs before anything is made, so that a failing read costs no
    /// create and no revoke.
    ///
    /// # Errors
    /// When a read fails; nothing was made.
    fn prepare(&mut self, tell: Tell<'_>) -> impl Future<Output = Result<(), Error>> + Send;

    /// The name the successor will carry, once known: a failure that may have left one names
    /// it.
    fn successor_name(&self) -> Option<String>;

    /// Has the successor issued for `csr_pem`, exactly once (a lost answer is resolved, never
    /// answered by a blind second credential). `recognizer` tells whether a certificate holds
    /// the new key.
    ///
    /// # Errors
    /// When no successor was issued, or it cannot be told whether one was
    /// ([`issue_undecided`](Self::issue_undecided)).
    fn issue(
        &mut self,
        csr_pem: String,
        recognizer: Recognizer,
        tell: Tell<'_>,
    ) -> impl Future<Output = Result<Self::Created, Error>> + Send;

    /// Whether an [`issue`](Self::issue) failure may have left a successor that certifies the
    /// new key (the key must then be kept, for the caller to resolve).
    fn issue_undecided(&self, error: &Error) -> bool;

    /// The successor's credential id.
    fn new_id(&self, created: &Self::Created) -> Uuid;

    /// Waits until the successor is READY.
    ///
    /// # Errors
    /// When it does not become READY (or does not fit the renewal).
    fn wait_ready(
        &self,
        created: &Self::Created,
        tell: Tell<'_>,
    ) -> impl Future<Output = Result<Self::Ready, Error>> + Send;

    /// The READY successor's certificate (PEM), to check against the new key and to deploy.
    fn certificate_pem<'r>(&self, ready: &'r Self::Ready) -> &'r str;

    /// Proves the new pair (`key`, the new key as a mutual-TLS client key) against the KMS.
    ///
    /// # Errors
    /// When the proof cannot be made or is refused.
    fn prove(
        &self,
        ready: &Self::Ready,
        key: ClientKey,
        tell: Tell<'_>,
    ) -> impl Future<Output = Result<Self::Proved, Error>> + Send;

    /// Revokes the successor, which will not be deployed.
    ///
    /// # Errors
    /// When it may still be live.
    fn abandon(&self, created: Self::Created) -> impl Future<Output = Result<(), Error>> + Send;

    /// Ends the renewal once the new pair is deployed (`key` is the new key, which the broker
    /// issuer presents): the old credential is revoked (unless the caller asked to keep it).
    ///
    /// # Errors
    /// When the old credential may still be live; the new pair is deployed and works.
    fn finish(
        &self,
        proved: Self::Proved,
        key: ClientKey,
        tell: Tell<'_>,
    ) -> impl Future<Output = Result<Self::Renewed, Error>> + Send;
}

/// What any finished renewal tells, whoever issued it.
pub trait Finished {
    /// The credential that was replaced.
    fn old_id(&self) -> Uuid;
    /// The new credential.
    fn new_id(&self) -> Uuid;
    /// When the new certificate expires.
    fn not_after(&self) -> OffsetDateTime;
    /// Whether the old credential was revoked.
    fn old_revoked(&self) -> bool;
}

impl Finished for crate::renewal::Renewed {
    fn old_id(&self) -> Uuid {
        self.old_id
    }

    fn new_id(&self) -> Uuid {
        self.new.id
    }

    fn not_after(&self) -> OffsetDateTime {
        self.new.expired_at
    }

    fn old_revoked(&self) -> bool {
        self.old_revoked
    }
}
