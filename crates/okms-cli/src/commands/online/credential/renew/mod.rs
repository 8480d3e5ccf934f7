//! `credential renew`: replaces a deployed certificate and key before they expire.
//!
//! The six steps are okms-lifecycle's renewal saga ([`okms_lifecycle::renew`]); this module
//! checks what is deployed, decides whether renewal is due, and gives the saga the home of the
//! new key: a file ([`file`]) or a PKCS#11 token ([`token`]). The order is what keeps every
//! interruption safe: the new key exists (0600 next to the target, or as `LABEL.new` on the
//! token, never over a live key) before the credential that certifies it; the new pair is
//! proved against the KMS before it is deployed; the deployed pair is swapped with the old one
//! kept as a backup; the old credential is revoked last. Until the swap, a failure revokes the
//! new credential and discards its key, leaving the old pair as it was.

use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::process::Command;

use okms_api::{Client, Domain, ReconcileEvent, Uuid};
use okms_csr::{Certificate, CsrBuilder, CsrSigner, DistinguishedName, PublicKey};
use okms_lifecycle::{
    Decision, Finished, KeyFate, KeyHome, Lifetime, Progress, RenewAt, RenewalFailure, decide,
    jitter, renew_until,
};
use time::OffsetDateTime;

use crate::cli::{CredentialRenewArgs, GlobalArgs};
use crate::commands::cert_export::P12Report;
use crate::commands::online::propagation::propagation_message;
use crate::commands::online::session::parse_uuid;
use crate::commands::online::{kms_trust, read_domain};
use crate::error::csr_error;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::input;
use crate::output::{Output, rfc3339};

mod broker;
mod file;
mod leftover;
mod options;
mod outcome;
mod report;
mod restore;
mod stop;
mod token;

use leftover::Leftover;
use options::{Due, KeyPlace, RenewOptions};
pub(super) use outcome::schedule_error;
use outcome::{Words, failure};
use report::{Deployed, RenewReport};
use stop::Stop;

/// `credential renew`.
///
/// # Errors
/// Exit 3 for a certificate not from OKMS or of another domain or an `--exec` program that
/// cannot run, 4 for a key that does not match it, 5 for a leftover new key that cannot be
/// read, API errors, and exit 9 when the hook fails (the new pair is then in place and the old
/// credential kept).
pub fn run(a: &CredentialRenewArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let o = RenewOptions::from_args(a)?;
    let result = check_hook(&o).and_then(|()| match &o.key {
        KeyPlace::File(key) => file::run(&o, key, global, out),
        KeyPlace::Token { uri, label } => token::run(&o, uri, label, global, out),
    });
    match result {
        // A timer's wrapper reads stdout: a failure says there what is deployed and live.
        Err(e) if out.is_json() => {
            let key = match &o.key {
                KeyPlace::File(key) => key.display().to_string(),
                KeyPlace::Token { uri, .. } => uri.without_pin().to_string(),
            };
            out.json(&o.run.failure_json(&e, &o.cert.display().to_string(), &key))?;
            Err(e)
        }
        other => other,
    }
}

/// The credential being renewed.
struct Old {
    okms_id: Uuid,
    id: Uuid,
    cert: Certificate,
}

/// A deployed renewal, as the hook and the report name it.
struct Deployment {
    /// The key file, or the key's URI (never with a PIN).
    key: String,
    /// The previous pair, when there was one in place (not with --id).
    backup_cert: Option<String>,
    backup_key: Option<String>,
}

/// Where the key's home keeps a `--p12-out` copy of the new pair (only a key file has one).
trait P12Copy {
    /// The domain as read before the saga (with its CAs), for the copy's chain.
    fn domain_read(&mut self, _domain: Option<&Domain>) {}

    /// The copy swapped in with the pair, for the report.
    fn p12_written(&self) -> Option<P12Report> {
        None
    }
}

/// `Some(until)` when the renewal is not due yet (never with --force).
fn not_due_until(
    o: &RenewOptions<'_>,
    cert: &Certificate,
    out: &Output,
) -> CliResult<Option<OffsetDateTime>> {
    let Due::OnSchedule { days_left } = o.due else {
        return Ok(None);
    };
    let at = match days_left {
        Some(days) => RenewAt::days_left(days).map_err(schedule_error)?,
        None => RenewAt::TwoThirds,
    };
    let lifetime = Lifetime::of_certificate(cert).map_err(schedule_error)?;
    if let Some(days) = days_left
        && days >= lifetime.validity_days()
    {
        // Its successor will live as long, so it would be due again at once: a timer would
        // renew at every run.
        out.warn(&format!(
            "--before {days} is at or above the certificate's lifetime ({} days): it is due at every run; leave out --before (two thirds of the lifetime) or give fewer days",
            lifetime.validity_days()
        ));
    }
    // This host's clock: it is the one its TLS stack will judge the certificate by.
    Ok(match decide(&lifetime, at, OffsetDateTime::now_utc()) {
        Decision::NotDue { until } => Some(until),
        _ => None,
    })
}

fn pause_for_jitter(o: &RenewOptions<'_>, out: &Output) {
    if let Some(max) = o.jitter {
        let pause = jitter(max, std::hash::RandomState::new().build_hasher().finish());
        out.verbose(&format!(
            "waiting {}s (jitter) before renewing",
            pause.as_secs()
        ));
        std::thread::sleep(pause);
        // The deadline is the renewal's, not the pause's.
        o.started.set(o.started.get() + pause);
    }
}

/// The certificate is OKMS's, of the domain asked for: its domain, its credential id, itself.
fn check_cert(o: &RenewOptions<'_>) -> CliResult<Old> {
    let cert = input::load_certificate(&o.cert)?;
    let shown = input::display_path(&o.cert);
    let not_okms = |what: &str| {
        CliError::new(
            Exit::InvalidInput,
            format!("{shown} was not issued by OKMS: it has no {what}"),
        )
        .hint("renew only an access certificate made by `okms-cli credential create` or the OVHcloud Control Panel")
    };
    let id = cert
        .credential_id()
        .ok_or_else(|| not_okms("credential id"))
        .and_then(|id| parse_uuid(&id, "the certificate's credential id"))?;
    let cert_domain = cert
        .okms_domain()
        .ok_or_else(|| not_okms("okms.domain name"))
        .and_then(|d| parse_uuid(&d, "the certificate's okms.domain"))?;
    o.run.old(cert_domain, id);
    if let Some(given) = o.okms_id
        && given != cert_domain
    {
        return Err(CliError::new(
            Exit::InvalidInput,
            format!(
                "{shown} belongs to domain {cert_domain}, not to --okms-id {given}; nothing was created"
            ),
        )
        .hint("leave out --okms-id (and unset OKMS_ID) to use the certificate's domain"));
    }
    Ok(Old {
        okms_id: cert_domain,
        id,
        cert,
    })
}

/// The deployed key is the certificate's, or the renewal is refused before anything exists.
fn key_mismatch(
    shown_key: &str,
    o: &RenewOptions<'_>,
    key: &PublicKey,
    cert: &Certificate,
) -> CliError {
    CliError::new(
        Exit::VerificationFailed,
        format!(
            "{shown_key} is not the key of {} (key SHA-256 {}, certificate SHA-256 {}); nothing was created or written",
            input::display_path(&o.cert),
            key.fingerprint_sha256(),
            cert.public_key().fingerprint_sha256()
        ),
    )
}

fn report_not_due(
    o: &RenewOptions<'_>,
    old: &Old,
    key: &str,
    until: OffsetDateTime,
    out: &Output,
) -> CliResult<()> {
    if out.is_json() {
        return out.json(&RenewReport {
            renewed: false,
            okms_id: old.okms_id,
            old_id: old.id,
            new_id: None,
            not_due_until: Some(rfc3339(until)),
            cert: o.cert.display().to_string(),
            key: key.to_owned(),
            backup_cert: None,
            backup_key: None,
            old_revoked: false,
            deployed: Deployed::Old,
            live: vec![old.id],
            p12: None,
        });
    }
    out.line(&format!(
        "credential {} is not due until {} (expires {}); nothing done",
        old.id,
        rfc3339(until),
        rfc3339(old.cert.not_after())
    ))
}

/// The new key's CSR, named as the old certificate (or `CN=okms-renewed`), signed by `signer`.
fn new_csr(old: &Certificate, signer: &dyn CsrSigner, failed: &'static str) -> CliResult<String> {
    let subject: DistinguishedName = old
        .subject()
        .parse()
        .or_else(|_| "CN=okms-renewed".parse())
        .map_err(|e| csr_error(e, "cannot name the new CSR"))?;
    let csr = CsrBuilder::new(subject)
        .build(signer)
        .map_err(|e| csr_error(e, failed))?;
    Ok(csr.to_pem())
}

/// Whether a certificate holds `public`: how reconciliation recognises the new credential.
/// Runs the saga with the new key in `home`, then reports the renewal.
async fn run_saga<H>(
    o: &RenewOptions<'_>,
    client: &Client,
    home: &mut H,
    old: &Old,
    out: &Output,
) -> CliResult<()>
where
    H: KeyHome<Error = CliError, Deployed = Deployment> + Words + Leftover + P12Copy,
{
    // One read of the domain gives the proof its endpoint, its CA and the .p12 its chain.
    let reading = read_domain(Some(client), old.okms_id, None, out);
    let domain = within_deadline(o, "reading the domain", reading).await?;
    home.domain_read(domain.as_ref());
    let trust = kms_trust(
        domain.as_ref(),
        old.okms_id,
        okms_api::KmsEndpoint::Rest,
        o.ca.as_deref(),
        out,
    )?;
    let reported = domain.and_then(|d| d.rest_endpoint);
    let request = o.request(old.okms_id, old.id, trust.ca_pem, reported);
    let stop = Stop::listen(o.time_left());
    let on_progress = progress_lines(o, home.new_key_shown(), out);
    let hook = |new_id, d: &Deployment| run_hook(o, old, new_id, d);
    let connector = okms_api::ReqwestConnector::new();
    let renewal = renew_until(
        client,
        &connector,
        home,
        &request,
        hook,
        &on_progress,
        stop.reason(),
    )
    .await;
    let renewal = match renewal {
        Ok(renewal) => {
            home.old_revocation_settled();
            renewal
        }
        Err(f) => {
            // Revoking the old credential failed: the note makes the next run try again.
            if matches!(f, RenewalFailure::HookFailed { .. }) {
                home.old_revocation_settled();
            }
            o.run.saga_failed(&f);
            let kept = key_kept(&f);
            let err = failure(f, home, old);
            if !kept {
                return Err(err);
            }
            // A credential may hold the kept key (a create cut short, a revocation that
            // failed): resolved now as the next run would, so that nothing is left behind.
            let wait = okms_api::WaitPolicy::with_timeout(o.timeout);
            let resolved = home.resolve_kept(client, old, &wait, out).await;
            return Err(kept_key_resolved(o, err, resolved));
        }
    };
    let p12 = home.p12_written();
    report_renewed(o, old, &renewal.renewed, &renewal.deployed, p12, out)
}

/// A failure `err` whose kept new key was then resolved as a leftover (`resolved`), as told.
fn kept_key_resolved(o: &RenewOptions<'_>, err: CliError, resolved: CliResult<()>) -> CliError {
    match resolved {
        Ok(()) => {
            o.run.leftover_resolved();
            let mut err = err.context(
                "the new key was resolved as a leftover (see above): nothing is left behind",
            );
            err.hint = Some("run the renewal again".to_owned());
            err
        }
        Err(e) => err.context(format!("resolving the new key failed too: {:#}", e.error)),
    }
}

/// The progress lines of a saga whose new key is shown as `new_key`.
fn progress_lines<'a>(
    o: &RenewOptions<'_>,
    new_key: String,
    out: &'a Output,
) -> impl Fn(&Progress) + Send + Sync + 'a {
    let started = o.started.get();
    move |p: &Progress| match p {
        Progress::Reconcile(e) => out.warn(&describe_event(e)),
        Progress::Created { new_id } => out.info(&format!(
            "credential {new_id} created for the new key ({new_key})"
        )),
        Progress::AwaitingProof { retry, .. } => out.info(&propagation_message(retry)),
        Progress::Step(step) => out.verbose(&format!(
            "{step} ({:.1}s elapsed)",
            started.elapsed().as_secs_f64()
        )),
        Progress::Retrying { step, wait, reason } => out.info(&format!(
            "{step}: {reason}; trying again in {}s",
            wait.as_secs()
        )),
        _ => {}
    }
}

/// A finished renewal, reported (`--json`: the one object of the run).
fn report_renewed(
    o: &RenewOptions<'_>,
    old: &Old,
    renewed: &impl Finished,
    d: &Deployment,
    p12: Option<P12Report>,
    out: &Output,
) -> CliResult<()> {
    let (okms_id, old_id, new_id) = (old.okms_id, old.id, renewed.new_id());
    let old_revoked = renewed.old_revoked();
    if out.is_json() {
        return out.json(&RenewReport {
            renewed: true,
            okms_id,
            old_id,
            new_id: Some(new_id),
            not_due_until: None,
            cert: o.cert.display().to_string(),
            key: d.key.clone(),
            backup_cert: d.backup_cert.clone(),
            backup_key: d.backup_key.clone(),
            old_revoked,
            deployed: Deployed::New,
            live: std::iter::once(new_id)
                .chain((!old_revoked).then_some(old_id))
                .collect(),
            p12,
        });
    }
    out.line(&format!(
        "renewed: credential {new_id} replaces {old_id} ({}); expires {}",
        if old_revoked { "revoked" } else { "kept live" },
        rfc3339(renewed.not_after())
    ))
}

/// `--exec`'s program exists and may be executed, checked before anything is created: found
/// only after the swap, a mistyped name would leave the old credential live and the next run
/// blocked behind its backup.
fn check_hook(o: &RenewOptions<'_>) -> CliResult<()> {
    let Some(program) = o.hook.first() else {
        return Ok(());
    };
    let program = Path::new(program);
    let runnable = crate::files::is_runnable;
    let found = if program.components().count() > 1 || program.is_absolute() {
        runnable(program)
    } else {
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| runnable(&dir.join(program)))
        })
    };
    if found {
        return Ok(());
    }
    Err(CliError::new(
        Exit::InvalidInput,
        format!(
            "--exec: {} is not an executable file{}; nothing was created",
            program.display(),
            if program.components().count() > 1 { "" } else { " on PATH" }
        ),
    )
    .hint("give the program's full path (it runs with no shell), e.g. --exec /usr/bin/systemctl reload my-app.service"))
}

/// `--exec`: the program gets the deployed paths (or URIs) and the ids in its environment.
fn run_hook(o: &RenewOptions<'_>, old: &Old, new_id: Uuid, d: &Deployment) -> CliResult<()> {
    let Some((program, args)) = o.hook.split_first() else {
        return Ok(());
    };
    let (okms_id, old_id) = (old.okms_id, old.id);
    let mut command = Command::new(program);
    command.args(args);
    for (name, value) in [
        ("OKMS_RENEW_BACKUP_CERT", &d.backup_cert),
        ("OKMS_RENEW_BACKUP_KEY", &d.backup_key),
    ] {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    let status = command
        .env("OKMS_RENEW_CERT", &o.cert)
        .env("OKMS_RENEW_KEY", &d.key)
        .env("OKMS_RENEW_OLD_ID", old_id.to_string())
        .env("OKMS_RENEW_NEW_ID", new_id.to_string())
        .env("OKMS_ID", okms_id.to_string())
        .status();
    let failure = match status {
        Ok(s) if s.success() => None,
        Ok(s) => Some(match s.code() {
            Some(code) => format!("exited with code {code}"),
            None => "was killed by a signal".to_owned(),
        }),
        Err(e) => Some(format!("could not be started ({e})")),
    };
    match failure {
        // Programs not yet reloaded still hold the old certificate: keep it working.
        Some(how) => Err(CliError::new(
            Exit::HookFailed,
            format!(
                "the hook {} {how}; the new pair (credential {new_id}) is in place and works, and the old credential {old_id} was kept live",
                Path::new(program).display()
            ),
        )
        .hint(format!(
            "fix what the hook does, then revoke the old credential: okms-cli credential delete {old_id} --okms-id {okms_id} --yes"
        ))),
        None => Ok(()),
    }
}

/// `fut`, a step before the saga (reading, resolving a leftover), within the run's deadline.
async fn within_deadline<T>(
    o: &RenewOptions<'_>,
    what: &str,
    fut: impl Future<Output = CliResult<T>>,
) -> CliResult<T> {
    tokio::time::timeout(o.time_left(), fut)
        .await
        .unwrap_or_else(|_| {
            Err(CliError::new(
                Exit::Timeout,
                format!("renewal stopped: the deadline passed while {what}; nothing was created"),
            )
            .hint("--timeout bounds the whole run (every call and wait): give it more time, e.g. --timeout 10m"))
        })
}

/// Whether the saga kept the new key because a live credential may certify it.
fn key_kept<E, D>(f: &RenewalFailure<E, D>) -> bool {
    matches!(
        f,
        RenewalFailure::NotCreated {
            new_key: KeyFate::Kept,
            ..
        } | RenewalFailure::Abandoned {
            new_key: KeyFate::Kept,
            ..
        }
    )
}

fn describe_event(e: &ReconcileEvent) -> String {
    match e {
        ReconcileEvent::OutcomeUnknown { reason } => {
            format!("the create answer was lost ({reason}); reconciling")
        }
        ReconcileEvent::Adopted { id } => {
            format!("credential {id} was created by the lost request; adopted")
        }
        ReconcileEvent::NothingCreated => "the lost request created nothing".to_owned(),
        ReconcileEvent::OrphansDeleted { ids } => format!("revoked orphan credential(s) {ids:?}"),
        ReconcileEvent::Resent => "create request sent once more".to_owned(),
        other => format!("{other:?}"),
    }
}
