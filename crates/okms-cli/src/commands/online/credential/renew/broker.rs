//! `credential renew --broker URL`: the same saga, with okms-lifecycle's `BrokerIssuer` in
//! place of the API. The host holds no API credential: the deployed certificate and key
//! authenticate every call (renew and abandon present them; confirm presents the new pair).
//! Everything else is the API path's: the due decision, the key homes, the swap with `.bak`,
//! the hook, the `--json` report, signals and `--timeout`.
//!
//! What an interrupted run leaves is resolved as the API path resolves it, through the broker:
//! - a new key never deployed (`KEY.new`, `LABEL.new`): the successor pending at the broker
//!   (`/v1/status` names it) is abandoned, the key removed, and the renewal starts over. Not
//!   resumed: a fresh start goes through every check in one code path, as without --broker,
//!   and a different CSR would otherwise be refused (409) while that successor waits;
//! - a new pair deployed and not confirmed (the `CERT.revoke` note, written before the swap):
//!   the hook runs again, then the deployed pair is confirmed. Unconfirmed past the broker's
//!   grace period, the new credential would be revoked while deployed, so a failed hook or
//!   confirm keeps the note for the next run instead of giving up. Revoked all the same (the
//!   host was off that long), the previous pair is put back (`restore.rs`) and renewed.

use std::hash::{BuildHasher, Hasher};

use okms_api::broker::{BrokerUrl, RefusalCode};
use okms_api::kms::PropagationWait;
use okms_api::{
    ClientIdentity, ClientKey, MtlsConnector, ReqwestConnector, SecretString, TokioClock, Uuid,
};
use okms_csr::{Certificate, ExposeSecret as _, KeyFormat, PrivateKey};
use okms_lifecycle::{
    BrokerIssuer, BrokerRequest, BrokerRetry, Cause, Error as LifecycleError, KeyHome, Progress,
    RenewalFailure, renew_with,
};
use time::OffsetDateTime;

use super::leftover::{clear_note_file, noted_previous};
use super::options::BrokerTarget;
use super::outcome::{Words, failure};
use super::stop::Stop;
use super::{
    Deployment, Old, P12Copy, RenewOptions, kept_key_resolved, key_kept, progress_lines,
    report_renewed, run_hook,
};
use crate::error::{CliError, CliResult};
use crate::error::{api_failure, csr_error};
use crate::exit::Exit;
use crate::files::{self, Beside};
use crate::input;
use crate::output::Output;

/// The broker's calls wait (429, 503, a lost answer) on Tokio's clock, inside the run's runtime.
static CLOCK: TokioClock = TokioClock;

/// The broker a run renews through, and what its connections trust.
pub(super) struct Broker {
    url: BrokerUrl,
    /// `--broker-ca`: what signed the broker's TLS certificate.
    ca_pem: Option<String>,
    /// `--ca`: trusted for the proof besides the domain CA the broker's answer gives.
    kms_ca_pem: Option<String>,
    connector: ReqwestConnector,
}

/// A certificate and its key, as presented to the broker.
#[derive(Clone)]
pub(super) struct Presented {
    pub cert_pem: String,
    pub key: ClientKey,
}

impl Presented {
    /// A pair in files (the key loaded), as presented to the broker.
    ///
    /// # Errors
    /// When the key cannot be encoded.
    pub fn of_key(cert: &Certificate, key: &PrivateKey) -> CliResult<Self> {
        let pem = key
            .to_pem(KeyFormat::Pkcs8)
            .map_err(|e| csr_error(e, "cannot encode the private key for the broker"))?;
        Ok(Presented {
            cert_pem: cert.to_pem(),
            key: ClientKey::Pem(SecretString::from(pem.expose_secret().to_owned())),
        })
    }
}

/// A key home's way to remove a new key that no live credential certifies any more (the
/// broker abandoned its successor): `KEY.new` and `CERT.new`, or the token's `LABEL.new`.
pub(super) trait Undeployed {
    /// Removes it.
    ///
    /// # Errors
    /// When it cannot be removed.
    fn remove_new_key(&mut self) -> CliResult<()>;
}

impl Broker {
    /// The broker of `--broker`, trusting `--broker-ca` (read now).
    ///
    /// # Errors
    /// Exit 3 when a CA file cannot be read.
    pub fn open(o: &RenewOptions<'_>, target: &BrokerTarget, out: &Output) -> CliResult<Self> {
        let read = |path: &std::path::Path, what: &str| {
            input::read_text(path, what).map(|text| text.to_string())
        };
        let ca_pem = match &target.ca {
            Some(path) => Some(read(path, "the broker's CA certificate")?),
            None => None,
        };
        let kms_ca_pem = match &o.ca {
            Some(path) => Some(read(path, "the CA certificate")?),
            None => None,
        };
        out.verbose(&format!(
            "renewing through the broker {}; no API credential is read",
            target.url
        ));
        Ok(Broker {
            url: target.url.clone(),
            ca_pem,
            kms_ca_pem,
            connector: ReqwestConnector::new(),
        })
    }

    /// An issuer renewing `old`, presenting `presented` (its pair).
    fn issuer(
        &self,
        o: &RenewOptions<'_>,
        old: &Old,
        presented: Presented,
    ) -> BrokerIssuer<'_, ReqwestConnector, TokioClock> {
        let defaults = BrokerRetry::default();
        let retry = BrokerRetry {
            // Waiting past the run's deadline would only be cut short.
            budget: defaults.budget.min(o.time_left()),
            seed: std::hash::RandomState::new().build_hasher().finish(),
            ..defaults
        };
        BrokerIssuer::new(
            &self.connector,
            &CLOCK,
            BrokerRequest {
                broker: self.url.clone(),
                broker_ca_pem: self.ca_pem.clone(),
                okms_id: old.okms_id,
                old_id: old.id,
                old_cert_pem: presented.cert_pem,
                old_key: presented.key,
                endpoint: o.kms_url.clone(),
                extra_ca_pem: self.kms_ca_pem.clone(),
                proof_wait: PropagationWait::with_bound(o.propagation_wait),
                retry,
            },
        )
    }
}

/// Runs the saga through the broker with the new key in `home`, presenting `presented` (the
/// deployed pair of `old`), then reports the renewal. `cert` is the certificate's place, where
/// the note of an unconfirmed deployment lives.
pub(super) async fn run_saga<H>(
    o: &RenewOptions<'_>,
    broker: &Broker,
    presented: Presented,
    home: &mut H,
    old: &Old,
    cert: &Beside,
    out: &Output,
) -> CliResult<()>
where
    H: KeyHome<Error = CliError, Deployed = Deployment> + Words + P12Copy + Undeployed,
{
    let mut issuer = broker.issuer(o, old, presented);
    let stop = Stop::listen(o.time_left());
    let on_progress = progress_lines(o, home.new_key_shown(), out);
    let hook = |new_id, d: &Deployment| run_hook(o, old, new_id, d);
    let renewal = renew_with(&mut issuer, home, hook, &on_progress, stop.reason()).await;
    let f = match renewal {
        Ok(renewal) => {
            clear_note(cert, out);
            let p12 = home.p12_written();
            return report_renewed(o, old, &renewal.renewed, &renewal.deployed, p12, out);
        }
        Err(f) => f,
    };
    o.run.saga_failed(&f);
    let kept = key_kept(&f);
    let conflicting = conflict(&f);
    let err = broker_failure(f, home, old);
    if conflicting {
        // The broker holds a successor for a key no file of this host holds any more (a
        // leftover removed by hand): abandoned, so that the next run is not refused again.
        return Err(match abandon_pending(&issuer).await {
            Ok(Some(id)) => err
                .context(format!(
                    "the broker's unconfirmed successor {id}, whose key this host does not hold, was abandoned"
                ))
                .hint("run the renewal again"),
            Ok(None) => err,
            Err(e) => err.context(format!("abandoning that successor failed too: {:#}", e.error)),
        });
    }
    if !kept {
        return Err(err);
    }
    // A successor may certify the kept key (a renew whose answer never came, an abandon that
    // failed): resolved now as the next run would, so that nothing is left behind.
    let shown = home.new_key_shown();
    let resolved = match abandon_for_leftover(&issuer, &shown, out).await {
        Ok(()) => home.remove_new_key(),
        Err(e) => Err(e),
    };
    Err(kept_key_resolved(o, err, resolved))
}

/// A new key an interrupted run left (`shown`): the successor the broker holds for `old`, if
/// any, is abandoned; the caller then removes the key.
///
/// # Errors
/// The broker's refusals and failures (the key is then kept).
pub(super) async fn resolve_leftover(
    o: &RenewOptions<'_>,
    broker: &Broker,
    presented: Presented,
    old: &Old,
    shown: &str,
    out: &Output,
) -> CliResult<()> {
    let issuer = broker.issuer(o, old, presented);
    abandon_for_leftover(&issuer, shown, out).await
}

/// A new key an interrupted run left (`shown`) is resolved: the successor the broker holds
/// for it, if any, abandoned (the caller then removes the key).
async fn abandon_for_leftover<M: MtlsConnector + ?Sized>(
    issuer: &BrokerIssuer<'_, M, TokioClock>,
    shown: &str,
    out: &Output,
) -> CliResult<()> {
    match abandon_pending(issuer).await {
        Ok(Some(id)) => out.warn(&format!(
            "an interrupted renewal left {shown}, the key of credential {id}, never deployed: the broker abandoned it; starting over"
        )),
        Ok(None) => out.warn(&format!(
            "an interrupted renewal left {shown}, for which the broker holds no successor: removing it"
        )),
        Err(e) => {
            return Err(e.context(format!(
                "{shown} is left by an interrupted renewal and was kept; nothing was created"
            )));
        }
    }
    Ok(())
}

/// Abandons the successor the broker holds, unconfirmed, for the presented credential (as
/// `/v1/status` names it); its id, `None` when there is none.
async fn abandon_pending<M: MtlsConnector + ?Sized>(
    issuer: &BrokerIssuer<'_, M, TokioClock>,
) -> CliResult<Option<Uuid>> {
    let silent = |_: &Progress| {};
    let status = issuer
        .status(&silent)
        .await
        .map_err(|e| call_failure(e, "cannot ask the broker for the successor it holds"))?;
    let Some(id) = status.pending_successor else {
        return Ok(None);
    };
    issuer
        .abandon_successor(id, &silent)
        .await
        .map_err(|e| call_failure(e, format!("cannot abandon the broker's successor {id}")))?;
    Ok(Some(id))
}

/// Whether the broker refused the renew because it holds a successor for another key (409).
fn conflict<E, D>(f: &RenewalFailure<E, D>) -> bool {
    matches!(
        f,
        RenewalFailure::NotCreated {
            cause: Cause::Lifecycle(LifecycleError::Api {
                source: okms_api::Error::Broker(refusal),
                ..
            }),
            ..
        } if refusal.code == RefusalCode::Conflict
    )
}

/// How [`finish_confirmation`] ended.
pub(super) enum Finished {
    /// The deployed pair is confirmed (or the note was stale): it stands.
    Confirmed,
    /// The broker no longer serves the deployed pair: unconfirmed past its grace period (the
    /// host was off, or the broker down, that long), it was revoked. `previous` (`CERT.bak`,
    /// whose credential the broker never revokes unless the new one is confirmed) can be put
    /// back; `refused` says what happened, for when it cannot.
    DeployedRevoked {
        previous: Box<Old>,
        refused: CliError,
    },
}

/// Finishes a renewal killed (or whose hook or confirm failed) after its swap: the note
/// `CERT.revoke` names the previous credential, `CERT.bak` is its certificate, and the
/// deployed pair (`deployed`, presented as `presented`; `d` as the hook names it) is the
/// new one. The hook runs again (it may not have run), then the deployed pair is confirmed
/// and the broker revokes the previous credential. A note that does not match the files is
/// stale and only removed.
///
/// # Errors
/// Exit 9 when the hook fails, the broker's refusals: the note is kept for the next run.
pub(super) async fn finish_confirmation(
    o: &RenewOptions<'_>,
    broker: &Broker,
    presented: Presented,
    deployed: &Old,
    cert: &Beside,
    d: &Deployment,
    out: &Output,
) -> CliResult<Finished> {
    let Some(previous) = noted_previous(cert, deployed) else {
        clear_note_file(cert)?;
        return Ok(Finished::Confirmed);
    };
    let old_id = previous.id;
    let new_id = deployed.id;
    run_hook(o, &previous, new_id, d).map_err(|e| unconfirmed_hook(e, new_id))?;
    let identity = ClientIdentity {
        cert_pem: presented.cert_pem.clone(),
        key: presented.key.clone(),
    };
    let issuer = broker.issuer(o, deployed, presented);
    let silent = |_: &Progress| {};
    let answer = match issuer
        .confirm_deployed(identity, Some(old_id), &silent)
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            let forbidden = refused_as_forbidden(&e);
            let err = call_failure(
                e,
                format!("cannot confirm credential {new_id} to the broker"),
            );
            if !forbidden {
                return Err(err.hint("run the renewal again soon: it confirms the deployed pair; unconfirmed, the broker revokes it at the end of its grace period"));
            }
            // Not a READY credential any more: the grace period passed unconfirmed.
            let refused = err.hint(format!(
                "the broker no longer serves the deployed certificate (credential {new_id}), likely revoked unconfirmed at the end of its grace period; put the previous pair back ({} and its key's .bak) and renew again",
                cert.backup.display()
            ));
            return Ok(Finished::DeployedRevoked {
                previous: Box::new(previous),
                refused,
            });
        }
    };
    out.warn(&format!(
        "an interrupted renewal deployed credential {new_id} but did not confirm it: confirmed to the broker (revoked: {:?})",
        answer.revoked
    ));
    clear_note_file(cert)?;
    Ok(Finished::Confirmed)
}

/// Whether the broker refused the presented certificate (403): not a READY credential it
/// serves.
fn refused_as_forbidden(e: &LifecycleError) -> bool {
    matches!(
        e,
        LifecycleError::Api {
            source: okms_api::Error::Broker(refusal),
            ..
        } if refusal.code == RefusalCode::Forbidden
    )
}

/// Whether the pair `backup` (presented as `presented`) is still a credential the broker
/// serves: an expired certificate is not, one the broker refuses (403) is not.
///
/// # Errors
/// Any other failure to ask: the caller must not assume the pair unused.
pub(super) async fn backup_live(
    o: &RenewOptions<'_>,
    broker: &Broker,
    backup: &Old,
    presented: Presented,
) -> CliResult<bool> {
    // This host's clock: the one its TLS stack judges the certificate by.
    if backup.cert.not_after() <= OffsetDateTime::now_utc() {
        return Ok(false);
    }
    let issuer = broker.issuer(o, backup, presented);
    let silent = |_: &Progress| {};
    match issuer.status(&silent).await {
        Ok(_) => Ok(true),
        Err(e) if refused_as_forbidden(&e) => Ok(false),
        Err(e) => Err(call_failure(
            e,
            format!(
                "cannot ask the broker whether credential {} (the backup pair) is live",
                backup.id
            ),
        )),
    }
}

/// A stopped broker renewal as a CLI error: as the API path words it, with the hints a host
/// without API credentials can follow.
fn broker_failure<H: Words>(
    f: RenewalFailure<CliError, Deployment>,
    home: &H,
    old: &Old,
) -> CliError {
    let old_id = old.id;
    match f {
        RenewalFailure::HookFailed { cause, new_id, .. } => unconfirmed_hook(cause, new_id),
        RenewalFailure::OldNotRevoked { new_id, cause, .. } => {
            let state = format!(
                "the new pair (credential {new_id}) is in place and works, but is not confirmed: the old credential {old_id} is still live"
            );
            call_failure(cause, state).hint(
                "run the renewal again soon: it confirms the deployed pair (the broker then revokes the old credential); unconfirmed, the broker revokes the new one at the end of its grace period",
            )
        }
        f @ RenewalFailure::Abandoned {
            new_id,
            revoked: Err(_),
            ..
        } => {
            let removal = home.removal();
            failure(f, home, old).hint(format!(
                "the broker revokes credential {new_id} at the end of its grace period, as it was never confirmed; {removal} (the next run also does)"
            ))
        }
        other => failure(other, home, old),
    }
}

/// The hook failed after the swap: the new pair is deployed and not confirmed.
fn unconfirmed_hook(cause: CliError, new_id: Uuid) -> CliError {
    cause.hint(format!(
        "fix what the hook does, then run the renewal again: it runs the hook again and confirms credential {new_id} to the broker, which then revokes the old one; unconfirmed, the broker revokes {new_id} at the end of its grace period"
    ))
}

/// A broker call's failure under `context`.
fn call_failure(
    e: LifecycleError,
    context: impl std::fmt::Display + Send + Sync + 'static,
) -> CliError {
    match e {
        LifecycleError::Api { source, .. } => api_failure(source, context),
        other => CliError::new(Exit::Error, format!("{context}: {other}")),
    }
}

/// The note of an unconfirmed deployment is settled: the deployed pair is confirmed.
fn clear_note(cert: &Beside, out: &Output) {
    if let Err(e) = files::clear_pending_revocation(cert) {
        out.warn(&format!(
            "cannot remove {}: {e}; remove it by hand, or the next run confirms the deployed pair again",
            files::pending_revocation(cert).display()
        ));
    }
}
