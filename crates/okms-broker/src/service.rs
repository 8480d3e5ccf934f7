//! The seam between the HTTPS server and the renewal logic: the server authenticates nothing
//! beyond the TLS handshake and maps a [`Handled`] to an HTTP answer and an audit line; the
//! [`Service`] (the engine, or a fake in the server's tests) decides everything else.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use okms_api::Uuid;
use okms_api::broker::{
    AbandonAnswer, AbandonRequest, BrokerRefusal, ConfirmAnswer, ConfirmRequest, RenewAnswer,
    RenewRequest, StatusAnswer,
};

use crate::error::Error;
use crate::policy::Policy;

/// The client certificate the host presented in the TLS handshake (DER), already checked by
/// the handshake to chain to a policy domain's CA and to be held by the peer.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerCertificate(pub Vec<u8>);

impl std::fmt::Debug for PeerCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerCertificate({} bytes)", self.0.len())
    }
}

/// What a request did, for its audit line: ids, fingerprints and the API's query ids; never
/// a key, a CSR body or a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFacts {
    /// The domain of the presented certificate, once known.
    pub okms_id: Option<Uuid>,
    /// The credential the presented certificate belongs to, once known.
    pub client_credential_id: Option<Uuid>,
    /// The presented certificate's SHA-256 fingerprint (lowercase hex).
    pub client_fingerprint: Option<String>,
    /// The credential made (renew) or confirmed (confirm).
    pub new_credential_id: Option<Uuid>,
    /// The new certificate's SHA-256 fingerprint (lowercase hex).
    pub new_fingerprint: Option<String>,
    /// Credentials revoked while handling the request.
    pub revoked: Vec<Uuid>,
    /// `X-Ovh-QueryID` of every API call made for the request.
    pub api_query_ids: Vec<String>,
    /// API calls made for the request.
    pub api_calls: u32,
    /// Time spent in the request's API calls (its own; okms-api's retries included).
    pub api_time: Duration,
    /// Time spent waiting for the API: for the concurrency bound to let a call through, or
    /// for another request's listing that this one shares. With `api_time` subtracted from
    /// the request's duration, what is left is the broker's own work.
    pub api_wait: Duration,
    /// Why a request was refused, precisely (the answer to the host says less: which check
    /// an unauthenticated certificate failed is for the operator, not for the client).
    pub detail: Option<String>,
}

/// How a renew was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewKind {
    /// A new successor was made (201).
    Created,
    /// The successor already made for this CSR was answered again (200).
    Repeated,
}

/// A request's result and its audit facts.
#[derive(Debug)]
pub struct Handled<T> {
    /// The answer, or the refusal.
    pub result: Result<T, BrokerRefusal>,
    /// What it did.
    pub audit: AuditFacts,
}

/// What the broker does for authenticated hosts.
pub trait Service: Send + Sync + 'static {
    /// `POST /v1/renew`.
    fn renew(
        &self,
        peer: PeerCertificate,
        request: RenewRequest,
    ) -> impl Future<Output = Handled<(RenewAnswer, RenewKind)>> + Send;

    /// `POST /v1/confirm`.
    fn confirm(
        &self,
        peer: PeerCertificate,
        request: ConfirmRequest,
    ) -> impl Future<Output = Handled<ConfirmAnswer>> + Send;

    /// `POST /v1/abandon` (with the old certificate).
    fn abandon(
        &self,
        peer: PeerCertificate,
        request: AbandonRequest,
    ) -> impl Future<Output = Handled<AbandonAnswer>> + Send;

    /// `GET /v1/status`.
    fn status(&self, peer: PeerCertificate) -> impl Future<Output = Handled<StatusAnswer>> + Send;

    /// Appends the service's own Prometheus metrics (API calls and latency, renewals by
    /// outcome, successors pending) to `out`, in the text exposition format.
    fn write_metrics(&self, out: &mut String);

    /// The CAs (PEM) of the policy's domains: the TLS handshake accepts client certificates
    /// that chain to one of them.
    fn client_cas(&self) -> Vec<String>;

    /// Applies a new policy (SIGHUP): fetches the CAs of new domains; the old policy stays in
    /// force when this fails.
    ///
    /// # Errors
    /// When a new domain's CA cannot be read from the API.
    fn reload(&self, policy: Arc<Policy>) -> impl Future<Output = Result<(), Error>> + Send;

    /// One pass of the grace rule and duplicate convergence over the policy's domains (the
    /// server calls it at start and periodically).
    fn reconcile(&self) -> impl Future<Output = Result<ReconcileReport, Error>> + Send;
}

/// What a reconciliation pass found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Unconfirmed successors still within their grace.
    pub pending: u32,
    /// Successors revoked because their grace passed unconfirmed.
    pub expired_unconfirmed: Vec<Uuid>,
    /// Duplicate successors revoked (a race between replicas or a lost answer).
    pub duplicates: Vec<Uuid>,
}
