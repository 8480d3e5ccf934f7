//! The renewal of one credential as a state machine over okms-api calls.
//!
//! ```text
//! Plan ──create──► Created ──wait_ready──► Ready ──prove──► Proved ──(caller deploys)──► finish ──► Renewed
//!                     │                      │                 │
//!                     └──────────── abandon (revokes the new credential) ◄──┘
//! ```
//!
//! Each transition borrows the state it starts from, so when a step fails the caller still
//! holds that state and can `abandon` it: a new credential that was never deployed is revoked,
//! and no credential stays live whose key nobody holds. The old credential is touched only by
//! [`Proved::finish`], after the caller has deployed the new pair.

use std::time::Duration;

use okms_api::kms::{
    DataPlaneResponse, MtlsCheck, PropagationRetry, PropagationWait, check_with, retry_refusals,
};
use okms_api::{
    Client, ClientKey, Clock, Credential, CredentialRequest, CredentialStatus, MtlsConnector,
    ReconcileEvent, ReconcileOptions, Transport, Uuid, WaitPolicy,
};

use crate::error::{Error, Result};
use crate::schedule::Lifetime;
use crate::step::Step;

fn api(step: Step) -> impl FnOnce(okms_api::Error) -> Error {
    move |source| Error::Api { step, source }
}

/// What the new credential will be: the old one's name, identities, description and
/// validity, for a new CSR.
#[derive(Debug, Clone)]
pub struct Plan {
    okms_id: Uuid,
    old: Credential,
    request: CredentialRequest,
}

impl Plan {
    /// Reads the old credential and plans its successor for `csr_pem` (the new key's CSR).
    ///
    /// # Errors
    /// [`Error::Api`] at [`Step::ReadOld`] when the credential cannot be read (e.g. it
    /// belongs to another domain).
    pub async fn for_credential<T: Transport, C: Clock>(
        client: &Client<T, C>,
        okms_id: Uuid,
        old_id: Uuid,
        csr_pem: impl Into<String>,
    ) -> Result<Self> {
        let old = client
            .get_credential(okms_id, old_id)
            .await
            .map_err(api(Step::ReadOld))?;
        Ok(Plan::from_old(okms_id, old, csr_pem))
    }

    /// Plans the successor of `old` (as read from the API) for `csr_pem`.
    pub fn from_old(okms_id: Uuid, old: Credential, csr_pem: impl Into<String>) -> Self {
        let mut request =
            CredentialRequest::from_csr(old.name.clone(), old.identity_urns.clone(), csr_pem);
        request.description = old.description.clone();
        if let Ok(lifetime) = Lifetime::new(old.created_at, old.expired_at) {
            request.validity = Some(lifetime.validity_days());
        }
        Plan {
            okms_id,
            old,
            request,
        }
    }

    /// Another validity, in days (the API accepts 1-365; checked when creating).
    #[must_use]
    pub fn with_validity(mut self, days: u32) -> Self {
        self.request.validity = Some(days);
        self
    }

    /// The request that [`create`](Self::create) will send.
    pub fn request(&self) -> &CredentialRequest {
        &self.request
    }

    /// The credential being replaced.
    pub fn old(&self) -> &Credential {
        &self.old
    }

    /// Creates the new credential through okms-api's exactly-once create: a lost answer is
    /// reconciled, never answered by a blind second POST. `is_ours` tells whether a candidate
    /// credential's certificate holds the new CSR's key (okms-api parses no certificates).
    ///
    /// # Errors
    /// [`Error::Api`] at [`Step::Create`]; nothing was created, or reconciliation names the
    /// candidates in its error.
    pub async fn create<T: Transport, C: Clock>(
        &self,
        client: &Client<T, C>,
        is_ours: &(dyn Fn(&Credential) -> Option<bool> + Send + Sync),
        options: &ReconcileOptions,
        on_event: &(dyn Fn(&ReconcileEvent) + Send + Sync),
    ) -> Result<Created> {
        let done = client
            .create_credential_reconciled(self.okms_id, &self.request, is_ours, options, on_event)
            .await
            .map_err(api(Step::Create))?;
        Ok(Created {
            okms_id: self.okms_id,
            old_id: self.old.id,
            new: done.created.credential,
            events: done.events,
        })
    }
}

/// The new credential exists (maybe still CREATING); nothing is deployed.
#[derive(Debug, Clone)]
pub struct Created {
    okms_id: Uuid,
    old_id: Uuid,
    new: Credential,
    events: Vec<ReconcileEvent>,
}

impl Created {
    /// The new credential's id.
    pub fn new_id(&self) -> Uuid {
        self.new.id
    }

    /// The old credential's id.
    pub fn old_id(&self) -> Uuid {
        self.old_id
    }

    /// What reconciliation did on the way (empty when the first POST was answered).
    pub fn events(&self) -> &[ReconcileEvent] {
        &self.events
    }

    /// Waits until the new credential is READY with its certificate.
    ///
    /// # Errors
    /// [`Error::Api`] at [`Step::WaitReady`] (a timeout, or the credential went to ERROR).
    pub async fn wait_ready<T: Transport, C: Clock>(
        &self,
        client: &Client<T, C>,
        policy: &WaitPolicy,
    ) -> Result<Ready> {
        let credential = client
            .wait_until_ready(self.okms_id, self.new.id, policy)
            .await
            .map_err(api(Step::WaitReady))?;
        let certificate_pem = credential.certificate_pem.clone().unwrap_or_default();
        Ok(Ready {
            created: Created {
                new: credential,
                ..self.clone()
            },
            certificate_pem,
        })
    }

    /// Revokes the new credential, which was not deployed; returns its id.
    ///
    /// The API refuses to delete a credential still CREATING, so one is waited for first
    /// (up to `settle`).
    ///
    /// # Errors
    /// [`Error::Api`] at [`Step::RevokeNew`]: the new credential may still be live; delete it
    /// by its id.
    pub async fn abandon<T: Transport, C: Clock>(
        self,
        client: &Client<T, C>,
        settle: &WaitPolicy,
    ) -> Result<Uuid> {
        revoke(client, self.okms_id, self.new.id, settle, Step::RevokeNew).await?;
        Ok(self.new.id)
    }
}

async fn revoke<T: Transport, C: Clock>(
    client: &Client<T, C>,
    okms_id: Uuid,
    id: Uuid,
    settle: &WaitPolicy,
    step: Step,
) -> Result<()> {
    let current = match client.get_credential(okms_id, id).await {
        Ok(current) => current,
        // Gone already: an earlier attempt whose answer was lost removed it.
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(api(step)(e)),
    };
    if matches!(current.status, CredentialStatus::Deleting) {
        return Ok(());
    }
    if matches!(current.status, CredentialStatus::Creating) {
        // An error here (e.g. it went to ERROR) still leaves the delete to try.
        let _ = client.wait_until_ready(okms_id, id, settle).await;
    }
    let Err(refused) = client.delete_credential(okms_id, id).await else {
        return Ok(());
    };
    // The client retries a DELETE whose answer was lost; the retry then finds the credential
    // DELETING or gone. Ask the API where it stands before calling the revocation failed.
    match client.get_credential(okms_id, id).await {
        Err(e) if e.is_not_found() => Ok(()),
        Ok(now) if matches!(now.status, CredentialStatus::Deleting) => Ok(()),
        _ => Err(api(step)(refused)),
    }
}

/// The new credential is READY: its certificate can be checked, then proved.
#[derive(Debug, Clone)]
pub struct Ready {
    created: Created,
    certificate_pem: String,
}

impl Ready {
    /// The new credential's id.
    pub fn new_id(&self) -> Uuid {
        self.created.new.id
    }

    /// The new certificate (PEM), to check against the new key and later to deploy.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The new credential as the API last showed it.
    pub fn credential(&self) -> &Credential {
        &self.created.new
    }

    /// Proves the new pair with one mutual-TLS call to the domain at `kms_url`, over a
    /// transport from `connector` (trusting `ca_pem` besides the platform roots): the
    /// certificate is only worth deploying once the KMS accepts it with this key.
    ///
    /// The call runs on whatever the connector's transport runs on: okms-api's
    /// `ReqwestConnector` needs a Tokio runtime, a blocking connector (e.g. `UreqConnector`)
    /// none.
    ///
    /// # Errors
    /// [`Error::Api`] at [`Step::Prove`] when the call cannot be made (the TLS handshake
    /// refused, e.g. a key that does not match); [`Error::ProofRefused`] when the domain
    /// answers with an error.
    pub async fn prove<M: MtlsConnector + ?Sized>(
        &self,
        connector: &M,
        kms_url: &str,
        key: ClientKey,
        ca_pem: Option<String>,
    ) -> Result<Proved> {
        let check = self.mtls_check(kms_url, key, ca_pem);
        self.conclude(prove_once(connector, &check).await)
    }

    /// [`prove`](Self::prove), retrying a refused handshake or a 401 for up to `wait.bound`
    /// on `clock` (a new certificate may not have reached every KMS node yet), telling
    /// `on_retry` before each wait.
    ///
    /// # Errors
    /// As [`prove`](Self::prove), with the last attempt's outcome.
    // prove's four inputs and the retry's three: bundling them would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub async fn prove_within<M: MtlsConnector + ?Sized, C: Clock + ?Sized>(
        &self,
        connector: &M,
        kms_url: &str,
        key: ClientKey,
        ca_pem: Option<String>,
        clock: &C,
        wait: PropagationWait,
        on_retry: impl FnMut(&PropagationRetry),
    ) -> Result<Proved> {
        let check = self.mtls_check(kms_url, key, ca_pem);
        prove_certificate(connector, check, self.new_id(), clock, wait, on_retry).await?;
        Ok(Proved {
            ready: self.clone(),
        })
    }

    fn mtls_check(&self, kms_url: &str, key: ClientKey, ca_pem: Option<String>) -> MtlsCheck {
        MtlsCheck {
            kms_url: kms_url.to_owned(),
            okms_id: self.created.okms_id,
            cert_pem: self.certificate_pem.clone(),
            key,
            ca_pem,
        }
    }

    fn conclude(
        &self,
        answer: std::result::Result<DataPlaneResponse, okms_api::Error>,
    ) -> Result<Proved> {
        let answer = answer.map_err(api(Step::Prove))?;
        if !answer.is_success() {
            return Err(Error::ProofRefused {
                id: self.new_id(),
                answer,
            });
        }
        Ok(Proved {
            ready: self.clone(),
        })
    }

    /// Revokes the new credential, which was not deployed; returns its id.
    ///
    /// # Errors
    /// As [`Created::abandon`].
    pub async fn abandon<T: Transport, C: Clock>(
        self,
        client: &Client<T, C>,
        settle: &WaitPolicy,
    ) -> Result<Uuid> {
        self.created.abandon(client, settle).await
    }
}

/// The new pair works against the KMS. The caller deploys it now (files, a token, a secret
/// store), then calls [`finish`](Self::finish); if deployment fails, [`abandon`](Self::abandon).
#[derive(Debug, Clone)]
pub struct Proved {
    ready: Ready,
}

impl Proved {
    /// The new credential's id.
    pub fn new_id(&self) -> Uuid {
        self.ready.new_id()
    }

    /// The old credential's id.
    pub fn old_id(&self) -> Uuid {
        self.ready.created.old_id
    }

    /// The proved certificate (PEM), to deploy.
    pub fn certificate_pem(&self) -> &str {
        self.ready.certificate_pem()
    }

    /// Revokes the new credential because it could not be deployed; returns its id.
    ///
    /// # Errors
    /// As [`Created::abandon`].
    pub async fn abandon<T: Transport, C: Clock>(
        self,
        client: &Client<T, C>,
        settle: &WaitPolicy,
    ) -> Result<Uuid> {
        self.ready.abandon(client, settle).await
    }

    /// Ends the renewal once the new pair is deployed: revokes the old credential, unless
    /// `keep_old` (it then stays live until it expires or someone deletes it).
    ///
    /// # Errors
    /// [`Error::Api`] at [`Step::RevokeOld`]: the new pair is deployed and works, the old
    /// credential is still live; delete it by its id.
    pub async fn finish<T: Transport, C: Clock>(
        self,
        client: &Client<T, C>,
        keep_old: bool,
    ) -> Result<Renewed> {
        let old_id = self.old_id();
        if !keep_old {
            // The old credential is READY or EXPIRED, never CREATING: no settling needed.
            let settle = WaitPolicy::with_timeout(Duration::ZERO);
            revoke(
                client,
                self.ready.created.okms_id,
                old_id,
                &settle,
                Step::RevokeOld,
            )
            .await?;
        }
        Ok(Renewed {
            old_id,
            new: self.ready.created.new,
            old_revoked: !keep_old,
        })
    }
}

/// Proves a new pair outside the API's state machine (a certificate a broker issued): one
/// mutual-TLS call to the domain at `kms_url` with `certificate_pem` and `key`, trusting
/// `ca_pem` besides the platform roots, retried as [`Ready::prove_within`] retries a refusal.
///
/// # Errors
/// As [`Ready::prove`], naming credential `new_id`.
// The proof's inputs and the retry's: bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn prove_certificate<M: MtlsConnector + ?Sized, C: Clock + ?Sized>(
    connector: &M,
    check: MtlsCheck,
    new_id: Uuid,
    clock: &C,
    wait: PropagationWait,
    on_retry: impl FnMut(&PropagationRetry),
) -> Result<()> {
    let answer = retry_refusals(clock, wait, || prove_once(connector, &check), on_retry)
        .await
        .map_err(api(Step::Prove))?;
    if !answer.is_success() {
        return Err(Error::ProofRefused { id: new_id, answer });
    }
    Ok(())
}

/// One attempt of the proof, on a transport of its own: a retry after a refusal must not reuse
/// a connection to the node that refused (it may lack the new certificate still).
async fn prove_once<M: MtlsConnector + ?Sized>(
    connector: &M,
    check: &MtlsCheck,
) -> std::result::Result<DataPlaneResponse, okms_api::Error> {
    let transport = check.connect(connector)?;
    check_with(&transport, &check.kms_url, check.okms_id).await
}

/// A finished renewal.
#[derive(Debug, Clone)]
pub struct Renewed {
    /// The credential that was replaced.
    pub old_id: Uuid,
    /// The new credential (READY, with its certificate).
    pub new: Credential,
    /// Whether the old credential was revoked (false with `keep_old`).
    pub old_revoked: bool,
}

/// The domain's REST endpoint as the API reports it: where the proof's mutual-TLS call goes
/// when the caller names none.
///
/// # Errors
/// [`Error::Api`] at [`Step::FindEndpoint`] when the domain cannot be read;
/// [`Error::NoRestEndpoint`] when the API reports none.
pub async fn rest_endpoint<T: Transport, C: Clock>(
    client: &Client<T, C>,
    okms_id: Uuid,
) -> Result<String> {
    let domain = client
        .get_domain(okms_id, false)
        .await
        .map_err(api(Step::FindEndpoint))?;
    domain
        .rest_endpoint
        .ok_or(Error::NoRestEndpoint { okms_id })
}
