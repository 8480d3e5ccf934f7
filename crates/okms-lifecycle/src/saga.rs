//! The renewal saga: the six steps written once, generic over where the new key lives.
//!
//! ```text
//! 0 the domain's REST endpoint looked up (unless given), the old credential read: every read
//!   before anything is made
//! 1 new key (KeyHome::make_key, sign_csr)
//! 2 create exactly once (Plan::create)
//! 3 READY, certificate checked, proved (Created::wait_ready, KeyHome::check_certificate, Ready::prove)
//! 4 deploy, undone on failure (KeyHome::deploy)
//! 5 hook (the caller's)
//! 6 revoke the old credential (Proved::finish)
//! ```
//!
//! Until step 4 succeeds, every failure revokes the new credential and discards its key, so
//! the old pair stays deployed and nothing is live whose key nobody holds. After it, nothing is
//! undone: the new pair works, and a failure keeps the old credential live as well. The
//! [`RenewalFailure`] says which of these happened, so that a caller can tell its user (or
//! its remote host) exactly what is deployed and which credentials are live.
//!
//! The home of the key (a file, a PKCS#11 token, a remote host that sent a CSR) is the
//! caller's [`KeyHome`]: this module makes no key, touches no file and reads no clock.

use std::fmt;
use std::future::Future;

use okms_api::kms::{PropagationRetry, PropagationWait};
use okms_api::{
    Client, ClientKey, Clock, Credential, MtlsConnector, ReconcileEvent, ReconcileOptions,
    Transport, Uuid, WaitPolicy,
};

use crate::error::{Error, StopReason};
use crate::key_home::{DeployError, KeyHome};
use crate::renewal::{Created, Plan, Ready, Renewed, rest_endpoint};
use crate::step::Step;

/// Where the proof's mutual-TLS call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// This URL.
    Given(String),
    /// The domain's REST endpoint, as the API reports it.
    AsReported,
}

/// One renewal, as decided by the caller: which credential, and how.
#[derive(Debug, Clone)]
pub struct RenewalRequest {
    /// The domain.
    pub okms_id: Uuid,
    /// The credential being replaced.
    pub old_id: Uuid,
    /// The new certificate's validity in days; the old one's when `None`.
    pub validity: Option<u32>,
    /// Keep the old credential live at the end instead of revoking it.
    pub keep_old: bool,
    /// How long to wait for the new credential to be READY (and for one to settle before it
    /// is revoked).
    pub settle: WaitPolicy,
    /// How a lost create answer is reconciled.
    pub reconcile: ReconcileOptions,
    /// Where the proof goes.
    pub endpoint: Endpoint,
    /// CA certificates to trust for the proof besides the platform roots (PEM).
    pub ca_pem: Option<String>,
    /// How long the proof retries a refusal after READY, while the new certificate reaches
    /// the KMS nodes (`PropagationWait::default()`: 60 s).
    pub proof_wait: PropagationWait,
}

/// What the saga has done, as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// The new key exists in its home.
    KeyMade,
    /// Something reconciliation of the create did.
    Reconcile(ReconcileEvent),
    /// The new credential exists.
    Created {
        /// Its id.
        new_id: Uuid,
    },
    /// The KMS refused the new pair, as it does until the certificate reaches it: the proof
    /// waits and retries.
    AwaitingProof {
        /// The new credential.
        new_id: Uuid,
        /// How many attempts were refused, the next wait, and the bound.
        retry: PropagationRetry,
    },
    /// The new pair works against the KMS.
    Proved {
        /// The new credential.
        new_id: Uuid,
    },
    /// The new pair is in place.
    Deployed {
        /// The new credential.
        new_id: Uuid,
    },
    /// A step starts (one report per step, for progress lines).
    Step(Step),
}

/// A finished renewal.
#[derive(Debug)]
pub struct Renewal<D> {
    /// What the API did.
    pub renewed: Renewed,
    /// What the key home put in place.
    pub deployed: D,
}

/// What failed: an API step, or the key's home.
#[derive(Debug)]
pub enum Cause<E> {
    /// An API call or the proof.
    Lifecycle(Error),
    /// The key home.
    Home(E),
}

impl<E: fmt::Display> fmt::Display for Cause<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Lifecycle(e) => e.fmt(f),
            Cause::Home(e) => e.fmt(f),
        }
    }
}

/// What became of the new key when the saga stopped before deploying it.
#[derive(Debug)]
pub enum KeyFate<E> {
    /// There never was one.
    NeverMade,
    /// It was discarded.
    Discarded,
    /// Discarding it failed; it is still in its home, and certified by no live credential.
    DiscardFailed(E),
    /// It was kept because a credential may certify it (a create reconciliation could not
    /// settle, or the new credential could not be revoked).
    Kept,
}

/// A renewal that stopped, by what it left deployed and live. The old credential is live on
/// every path (only the last step revokes it).
#[derive(Debug)]
pub enum RenewalFailure<E, D> {
    /// Stopped before the new credential existed (steps 1 and 2). The old pair is deployed.
    NotCreated {
        /// Why.
        cause: Cause<E>,
        /// The new key.
        new_key: KeyFate<E>,
        /// The name the new credential was to have (the old one's), once it was read: with
        /// [`KeyFate::Kept`], a credential of that name may hold the new key.
        name: Option<String>,
    },
    /// The new credential existed but was not deployed (steps 3 and 4, undone); the saga
    /// revoked it. The old pair is deployed.
    Abandoned {
        /// The new credential.
        new_id: Uuid,
        /// Why.
        cause: Cause<E>,
        /// The revocation: an error leaves the new credential live.
        revoked: Result<(), Error>,
        /// The new key ([`KeyFate::Kept`] when the revocation failed).
        new_key: KeyFate<E>,
    },
    /// Deployment failed and could not be undone (step 4). Both credentials stay live, since
    /// either key may now be in use.
    HalfDeployed {
        /// The new credential.
        new_id: Uuid,
        /// Why, and what the home left where.
        cause: E,
    },
    /// The new pair is deployed and works; the hook failed (step 5), so the old credential
    /// was kept live for what has not reloaded yet.
    HookFailed {
        /// The new credential.
        new_id: Uuid,
        /// What is deployed.
        deployed: D,
        /// The hook's failure.
        cause: E,
    },
    /// The new pair is deployed and works; revoking the old credential failed (step 6).
    OldNotRevoked {
        /// The new credential.
        new_id: Uuid,
        /// What is deployed.
        deployed: D,
        /// Why.
        cause: Error,
    },
}

/// Which pair is deployed after a [`RenewalFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployedPair {
    /// The old pair, as before the renewal.
    Old,
    /// Neither wholly: deployment stopped half way.
    Partly,
    /// The new pair.
    New,
}

impl<E, D> RenewalFailure<E, D> {
    /// Which pair is deployed.
    pub fn deployed_pair(&self) -> DeployedPair {
        match self {
            RenewalFailure::NotCreated { .. } | RenewalFailure::Abandoned { .. } => {
                DeployedPair::Old
            }
            RenewalFailure::HalfDeployed { .. } => DeployedPair::Partly,
            RenewalFailure::HookFailed { .. } | RenewalFailure::OldNotRevoked { .. } => {
                DeployedPair::New
            }
        }
    }

    /// The new credential if it is (or may be) live besides the old one. `None` also when a
    /// create reconciliation could not settle; then a credential named as in
    /// [`RenewalFailure::NotCreated`] may be live.
    pub fn new_live(&self) -> Option<Uuid> {
        match self {
            RenewalFailure::NotCreated { .. } => None,
            RenewalFailure::Abandoned {
                new_id, revoked, ..
            } => revoked.is_err().then_some(*new_id),
            RenewalFailure::HalfDeployed { new_id, .. }
            | RenewalFailure::HookFailed { new_id, .. }
            | RenewalFailure::OldNotRevoked { new_id, .. } => Some(*new_id),
        }
    }
}

/// Runs the renewal of `request.old_id` with the new key in `home`: the six steps of the
/// module doc. The API calls go through `client`, the proof's mutual-TLS call through a
/// transport from `connector`: the saga itself needs no runtime, only what those two run on
/// (okms-api's `ReqwestTransport` and `ReqwestConnector` a Tokio runtime, its blocking ones
/// none). `hook` runs once the new pair is deployed (with the new credential's id); an error
/// from it keeps the old credential live. Progress goes to `on_progress`.
///
/// # Errors
/// A [`RenewalFailure`] saying what is deployed and what is live.
pub async fn renew<H, T, C, M, F>(
    client: &Client<T, C>,
    connector: &M,
    home: &mut H,
    request: &RenewalRequest,
    hook: F,
    on_progress: &(dyn Fn(&Progress) + Send + Sync),
) -> Result<Renewal<H::Deployed>, RenewalFailure<H::Error, H::Deployed>>
where
    H: KeyHome,
    T: Transport,
    C: Clock,
    M: MtlsConnector + ?Sized,
    F: FnOnce(Uuid, &H::Deployed) -> Result<(), H::Error>,
{
    renew_until(
        client,
        connector,
        home,
        request,
        hook,
        on_progress,
        std::future::pending(),
    )
    .await
}

/// [`renew`], stopped when `stop` completes (a signal, a deadline): until the new pair is
/// deployed, a stop is a failed step like any other (the new credential revoked, its key
/// discarded, [`Error::Stopped`] as the cause). The create itself is never cut short (its
/// answer is awaited, then the stop honoured), and neither is the clean-up after a stop. Once
/// deployed, nothing is stopped: the hook and the old credential's revocation run to their end.
///
/// # Errors
/// A [`RenewalFailure`] saying what is deployed and what is live.
pub async fn renew_until<H, T, C, M, F, S>(
    client: &Client<T, C>,
    connector: &M,
    home: &mut H,
    request: &RenewalRequest,
    hook: F,
    on_progress: &(dyn Fn(&Progress) + Send + Sync),
    stop: S,
) -> Result<Renewal<H::Deployed>, RenewalFailure<H::Error, H::Deployed>>
where
    H: KeyHome,
    T: Transport,
    C: Clock,
    M: MtlsConnector + ?Sized,
    F: FnOnce(Uuid, &H::Deployed) -> Result<(), H::Error>,
    S: Future<Output = StopReason> + Send,
{
    let mut stop = std::pin::pin!(stop);
    // The step a stop interrupts, as the error names it.
    let current = std::sync::Mutex::new(Step::FindEndpoint);
    let step = |s: Step| {
        if let Ok(mut c) = current.lock() {
            *c = s;
        }
        on_progress(&Progress::Step(s));
    };
    // Every read before anything is made: a failing endpoint lookup must not cost a create
    // and a revoke.
    let kms_url = match &request.endpoint {
        Endpoint::Given(url) => url.clone(),
        Endpoint::AsReported => {
            step(Step::FindEndpoint);
            until(&mut stop, &current, rest_endpoint(client, request.okms_id))
                .await
                .and_then(|r| r)
                .map_err(|e| RenewalFailure::NotCreated {
                    cause: Cause::Lifecycle(e),
                    new_key: KeyFate::NeverMade,
                    name: None,
                })?
        }
    };

    step(Step::ReadOld);
    let old = until(
        &mut stop,
        &current,
        client.get_credential(request.okms_id, request.old_id),
    )
    .await
    .and_then(|read| {
        read.map_err(|source| Error::Api {
            step: Step::ReadOld,
            source,
        })
    })
    .map_err(|e| RenewalFailure::NotCreated {
        cause: Cause::Lifecycle(e),
        new_key: KeyFate::NeverMade,
        name: None,
    })?;

    // 1. The new key, before any credential can certify it.
    step(Step::NewKey);
    let mut key = match until(&mut stop, &current, home.make_key()).await {
        Ok(Ok(key)) => key,
        Ok(Err(cause)) => {
            return Err(RenewalFailure::NotCreated {
                cause: Cause::Home(cause),
                new_key: KeyFate::NeverMade,
                name: None,
            });
        }
        // make_key may have put part of a key in its home; a next run finds it certified by
        // nothing and removes it.
        Err(e) => {
            return Err(RenewalFailure::NotCreated {
                cause: Cause::Lifecycle(e),
                new_key: KeyFate::NeverMade,
                name: None,
            });
        }
    };
    on_progress(&Progress::KeyMade);
    let csr = match until(&mut stop, &current, home.sign_csr(&key)).await {
        Ok(Ok(csr)) => csr,
        Ok(Err(cause)) => return Err(not_created(home, key, Cause::Home(cause), None).await),
        Err(e) => return Err(not_created(home, key, Cause::Lifecycle(e), None).await),
    };

    // 2. The new credential, exactly once.
    let plan = Plan::from_old(request.okms_id, old, csr);
    let plan = match request.validity {
        Some(days) => plan.with_validity(days),
        None => plan,
    };
    let name = plan.old().name.clone();
    // Not stopped half way: a request cut short may still create a credential after anything
    // this run could check, which would then certify a key nobody holds. A stop during it is
    // honoured once it has answered.
    step(Step::Create);
    let created = {
        let holds = home.recognizer(&key);
        let is_ours = move |c: &Credential| holds(c.certificate_pem.as_deref()?);
        let on_event = |e: &ReconcileEvent| on_progress(&Progress::Reconcile(e.clone()));
        plan.create(client, &is_ours, &request.reconcile, &on_event)
            .await
    };
    let created = match created {
        Ok(created) => created,
        // A candidate reconciliation could not settle may hold the key: keep it.
        Err(e) if reconciliation_undecided(&e) => {
            return Err(RenewalFailure::NotCreated {
                cause: Cause::Lifecycle(e),
                new_key: KeyFate::Kept,
                name: Some(name),
            });
        }
        Err(e) => return Err(not_created(home, key, Cause::Lifecycle(e), Some(name)).await),
    };
    let new_id = created.new_id();
    on_progress(&Progress::Created { new_id });

    // 3. READY, the certificate checked against the new key, then proved.
    let on_retry = |retry: &PropagationRetry| {
        on_progress(&Progress::AwaitingProof {
            new_id,
            retry: *retry,
        });
    };
    let proved = async {
        let (ready, client_key) =
            ready_to_prove(client, home, &mut key, &created, request, &step).await?;
        step(Step::Prove);
        ready
            .prove_within(
                connector,
                &kms_url,
                client_key,
                request.ca_pem.clone(),
                client.clock(),
                request.proof_wait,
                on_retry,
            )
            .await
            .map_err(Cause::Lifecycle)
    };
    let proved = match until(&mut stop, &current, proved).await {
        Ok(proved) => proved,
        Err(stopped) => Err(Cause::Lifecycle(stopped)),
    };
    let proved = match proved {
        Ok(proved) => proved,
        Err(cause) => {
            step(Step::RevokeNew);
            let revoked = created.abandon(client, &request.settle).await.map(|_| ());
            return Err(abandoned(home, key, new_id, cause, revoked).await);
        }
    };
    on_progress(&Progress::Proved { new_id });

    // 4. Deployed, or put back. A stop that came during the proof is honoured here, the last
    // point where the old pair is still deployed.
    if let Some(reason) = stopped_already(&mut stop) {
        step(Step::RevokeNew);
        let revoked = proved.abandon(client, &request.settle).await.map(|_| ());
        let cause = Cause::Lifecycle(Error::Stopped {
            reason,
            step: Step::Deploy,
        });
        return Err(abandoned(home, key, new_id, cause, revoked).await);
    }
    step(Step::Deploy);
    let deployed = match home.deploy(&key, proved.certificate_pem()).await {
        Ok(deployed) => deployed,
        Err(DeployError::Undone(cause)) => {
            step(Step::RevokeNew);
            let revoked = proved.abandon(client, &request.settle).await.map(|_| ());
            return Err(abandoned(home, key, new_id, Cause::Home(cause), revoked).await);
        }
        Err(DeployError::Stuck(cause)) => {
            return Err(RenewalFailure::HalfDeployed { new_id, cause });
        }
    };
    drop(key);
    on_progress(&Progress::Deployed { new_id });

    // 5. The hook: what has not reloaded still uses the old pair, so a failure keeps it live.
    step(Step::Hook);
    if let Err(cause) = hook(new_id, &deployed) {
        return Err(RenewalFailure::HookFailed {
            new_id,
            deployed,
            cause,
        });
    }

    // 6. The old credential, last.
    if !request.keep_old {
        step(Step::RevokeOld);
    }
    match proved.finish(client, request.keep_old).await {
        Ok(renewed) => Ok(Renewal { renewed, deployed }),
        Err(cause) => Err(RenewalFailure::OldNotRevoked {
            new_id,
            deployed,
            cause,
        }),
    }
}

/// `fut`, unless `stop` completes first.
async fn until<S, F>(
    stop: &mut std::pin::Pin<&mut S>,
    current: &std::sync::Mutex<Step>,
    fut: F,
) -> Result<F::Output, Error>
where
    S: Future<Output = StopReason>,
    F: Future,
{
    let mut fut = std::pin::pin!(fut);
    // The stop first: once it has come, the step's own progress does not matter.
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(reason) = stop.as_mut().poll(cx) {
            let step = current.lock().map_or(Step::Prove, |s| *s);
            return std::task::Poll::Ready(Err(Error::Stopped { reason, step }));
        }
        fut.as_mut().poll(cx).map(Ok)
    })
    .await
}

/// Whether `stop` has completed, without waiting.
fn stopped_already<S: Future<Output = StopReason>>(
    stop: &mut std::pin::Pin<&mut S>,
) -> Option<StopReason> {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match stop.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(reason) => Some(reason),
        std::task::Poll::Pending => None,
    }
}

/// Step 3 up to the proof: READY, and the certificate checked against the new key; returns
/// the ready credential and the key to prove it with.
async fn ready_to_prove<H: KeyHome, T: Transport, C: Clock>(
    client: &Client<T, C>,
    home: &mut H,
    key: &mut H::Key,
    created: &Created,
    request: &RenewalRequest,
    step: &(dyn Fn(Step) + Send + Sync),
) -> Result<(Ready, ClientKey), Cause<H::Error>> {
    step(Step::WaitReady);
    let ready = created
        .wait_ready(client, &request.settle)
        .await
        .map_err(Cause::Lifecycle)?;
    home.check_certificate(key, ready.new_id(), ready.certificate_pem())
        .map_err(Cause::Home)?;
    let client_key = home.proof_key(key).await.map_err(Cause::Home)?;
    Ok((ready, client_key))
}

async fn not_created<H: KeyHome>(
    home: &mut H,
    key: H::Key,
    cause: Cause<H::Error>,
    name: Option<String>,
) -> RenewalFailure<H::Error, H::Deployed> {
    RenewalFailure::NotCreated {
        cause,
        new_key: discard(home, key).await,
        name,
    }
}

async fn abandoned<H: KeyHome>(
    home: &mut H,
    key: H::Key,
    new_id: Uuid,
    cause: Cause<H::Error>,
    revoked: Result<(), Error>,
) -> RenewalFailure<H::Error, H::Deployed> {
    // A credential that could not be revoked still certifies the key: it must stay usable.
    let new_key = match &revoked {
        Ok(()) => discard(home, key).await,
        Err(_) => KeyFate::Kept,
    };
    RenewalFailure::Abandoned {
        new_id,
        cause,
        revoked,
        new_key,
    }
}

async fn discard<H: KeyHome>(home: &mut H, key: H::Key) -> KeyFate<H::Error> {
    match home.discard(key).await {
        Ok(()) => KeyFate::Discarded,
        Err(e) => KeyFate::DiscardFailed(e),
    }
}

/// A create that reconciliation could not settle: a candidate credential may hold the new key.
fn reconciliation_undecided(e: &Error) -> bool {
    matches!(
        e,
        Error::Api {
            source: okms_api::Error::ReconcileFailed { .. },
            ..
        }
    )
}
