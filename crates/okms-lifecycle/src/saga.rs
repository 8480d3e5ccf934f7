//! The renewal saga: the six steps written once, generic over where the new key lives
//! ([`KeyHome`]) and over who issues its certificate ([`Issuer`]: the API, or a broker).
//!
//! ```text
//! 0 every read before anything is made (Issuer::prepare: the API issuer looks up the domain's
//!   REST endpoint, unless given, and reads the old credential)
//! 1 new key (KeyHome::make_key, sign_csr)
//! 2 issue exactly once (Issuer::issue: Plan::create, or a broker's renew)
//! 3 READY, certificate checked, proved (Issuer::wait_ready, KeyHome::check_certificate, Issuer::prove)
//! 4 deploy, undone on failure (KeyHome::deploy)
//! 5 hook (the caller's)
//! 6 finish: revoke the old credential, or confirm to the broker, which does (Issuer::finish)
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

use std::future::Future;

use okms_api::{Client, Clock, MtlsConnector, Transport, Uuid};

use crate::api_issuer::ApiIssuer;
use crate::error::{Error, StopReason};
use crate::failure::{Cause, KeyFate, Renewal, RenewalFailure};
use crate::issuer::{Issuer, Tell};
use crate::key_home::{DeployError, KeyHome};
use crate::request::{Progress, RenewalRequest};
use crate::step::Step;

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
    let mut issuer = ApiIssuer::new(client, connector, request);
    renew_with(&mut issuer, home, hook, on_progress, stop).await
}

/// The saga over any [`Issuer`]: [`renew_until`] is this with an [`ApiIssuer`]; a host that
/// renews through a broker gives a [`BrokerIssuer`](crate::BrokerIssuer). Stops are honoured as
/// [`renew_until`] says; the issue (step 2) is never cut short.
///
/// # Errors
/// A [`RenewalFailure`] saying what is deployed and what is live.
pub async fn renew_with<I, H, F, S>(
    issuer: &mut I,
    home: &mut H,
    hook: F,
    on_progress: &(dyn Fn(&Progress) + Send + Sync),
    stop: S,
) -> Result<Renewal<H::Deployed, I::Renewed>, RenewalFailure<H::Error, H::Deployed>>
where
    I: Issuer,
    H: KeyHome,
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
    let tell = Tell::new(on_progress, &step);
    // 0. Every read before anything is made: a failing read must not cost a create and a
    // revoke.
    until(&mut stop, &current, issuer.prepare(tell))
        .await
        .and_then(|r| r)
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

    // 2. The new credential, exactly once. Not stopped half way: a request cut short may
    // still create a credential after anything this run could check, which would then certify
    // a key nobody holds. A stop during it is honoured once it has answered.
    let name = issuer.successor_name();
    let created = issuer.issue(csr, home.recognizer(&key), tell).await;
    let created = match created {
        Ok(created) => created,
        // A successor may hold the key: keep it.
        Err(e) if issuer.issue_undecided(&e) => {
            return Err(RenewalFailure::NotCreated {
                cause: Cause::Lifecycle(e),
                new_key: KeyFate::Kept,
                name,
            });
        }
        Err(e) => return Err(not_created(home, key, Cause::Lifecycle(e), name).await),
    };
    let new_id = issuer.new_id(&created);
    on_progress(&Progress::Created { new_id });

    // 3. READY, the certificate checked against the new key, then proved.
    let proved = async {
        let ready = issuer
            .wait_ready(&created, tell)
            .await
            .map_err(Cause::Lifecycle)?;
        let pem = issuer.certificate_pem(&ready);
        home.check_certificate(&key, new_id, pem)
            .map_err(Cause::Home)?;
        let client_key = home.proof_key(&mut key).await.map_err(Cause::Home)?;
        step(Step::Prove);
        let proved = issuer
            .prove(&ready, client_key.clone(), tell)
            .await
            .map_err(Cause::Lifecycle)?;
        Ok((proved, pem.to_owned(), client_key))
    };
    let proved = match until(&mut stop, &current, proved).await {
        Ok(proved) => proved,
        Err(stopped) => Err(Cause::Lifecycle(stopped)),
    };
    let (proved, certificate_pem, client_key) = match proved {
        Ok(proved) => proved,
        Err(cause) => {
            step(Step::RevokeNew);
            let revoked = issuer.abandon(created).await;
            return Err(abandoned(home, key, new_id, cause, revoked).await);
        }
    };
    on_progress(&Progress::Proved { new_id });

    // 4. Deployed, or put back. A stop that came during the proof is honoured here, the last
    // point where the old pair is still deployed.
    if let Some(reason) = stopped_already(&mut stop) {
        step(Step::RevokeNew);
        let revoked = issuer.abandon(created).await;
        let cause = Cause::Lifecycle(Error::Stopped {
            reason,
            step: Step::Deploy,
        });
        return Err(abandoned(home, key, new_id, cause, revoked).await);
    }
    step(Step::Deploy);
    let deployed = match home.deploy(&key, &certificate_pem).await {
        Ok(deployed) => deployed,
        Err(DeployError::Undone(cause)) => {
            step(Step::RevokeNew);
            let revoked = issuer.abandon(created).await;
            return Err(abandoned(home, key, new_id, Cause::Home(cause), revoked).await);
        }
        Err(DeployError::Stuck(cause)) => {
            return Err(RenewalFailure::HalfDeployed { new_id, cause });
        }
    };
    drop(key);
    drop(created);
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
    match issuer.finish(proved, client_key, tell).await {
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
