//! `credential renew`: replaces a deployed certificate and key before they expire.
//!
//! The order is what keeps every interruption safe: the new key is written (0600, next to the
//! target, never over a live file) before the credential that certifies it exists; the new
//! pair is proved against the KMS before it is deployed; the deployed files are swapped
//! atomically with the old pair kept as a backup; the old credential is revoked last. Until the
//! swap, a failure revokes the new credential and leaves the old pair as it was.
//!
//! A key on a PKCS#11 token (`--key pkcs11:...;object=LABEL`) is renewed on that token: the new
//! key is generated there as `LABEL.new`, signs the CSR and the proof's handshake there, and is
//! deployed by relabelling (`LABEL` becomes `LABEL.bak`, `LABEL.new` becomes `LABEL`), so the
//! URI the services use names the new key. Undeployed, it is destroyed with its credential.

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use okms_api::{
    Client, Credential, ReconcileEvent, ReconcileOptions, SecretString, Uuid, WaitPolicy,
};
use okms_csr::{
    Certificate, CsrBuilder, DistinguishedName, ExposeSecret as _, KeyAlgorithm, KeyFormat,
    PrivateKey, same_public_key,
};
use okms_lifecycle::{Decision, Lifetime, Plan, Proved, RenewAt, decide, jitter};
use serde::Serialize;
use time::OffsetDateTime;

use super::verify_cert;
use crate::cli::{CredentialRenewArgs, GlobalArgs, PassphraseArgs};
use crate::commands::online::session::{block_on, client, parse_uuid};
use crate::commands::pkcs11;
use crate::error::{CliError, CliResult, api_failure, csr_error};
use crate::exit::Exit;
use crate::files::{self, Swap};
use crate::input;
use crate::output::{Output, rfc3339};

mod token;

/// The deployed pair, checked.
struct Deployed {
    okms_id: Uuid,
    credential_id: Uuid,
    cert: Certificate,
    /// The old key's algorithm: the new key's, unless --algorithm.
    algorithm: KeyAlgorithm,
}

/// Paths next to the targets.
struct Paths {
    new_key: PathBuf,
    new_cert: PathBuf,
    backup_key: PathBuf,
    backup_cert: PathBuf,
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[derive(Serialize)]
struct RenewReport {
    renewed: bool,
    okms_id: Uuid,
    old_id: Uuid,
    new_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_due_until: Option<String>,
    cert: String,
    key: String,
    backup_cert: Option<String>,
    backup_key: Option<String>,
    old_revoked: bool,
}

/// `credential renew`.
///
/// # Errors
/// Exit 3 for a certificate not from OKMS or of another domain, 4 for a key that does not
/// match it, 5 for a leftover new key from an interrupted run, API errors, and exit 1 when the
/// hook fails (the new pair is then in place and the old credential kept).
pub fn run(a: &CredentialRenewArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    if pkcs11::is_uri(&a.key) {
        return token::run_on_token(a, global, out);
    }
    pkcs11::refuse_token_flags(&a.token, "--key pkcs11:URI (a key on a token)")?;
    let deployed = match &a.id {
        Some(id) => block_on(credential_by_id(a, id, global, out))?,
        None => check_deployed(a)?,
    };
    let paths = Paths {
        new_key: with_suffix(&a.key, ".new"),
        new_cert: with_suffix(&a.cert, ".new"),
        backup_key: with_suffix(&a.key, ".bak"),
        backup_cert: with_suffix(&a.cert, ".bak"),
    };
    if let Some(until) = not_due_until(a, &deployed.cert)? {
        let key = a.key.display().to_string();
        return report_not_due(
            a,
            deployed.okms_id,
            deployed.credential_id,
            &deployed.cert,
            &key,
            until,
            out,
        );
    }
    // Before anything exists on the API side: every file this run will write must be writable.
    for p in [&paths.new_key, &paths.new_cert] {
        files::check_writable(p, false).map_err(|e| {
            CliError::from(e).hint(format!(
                "a previous renewal may have been interrupted: its new key is {}; see `okms-cli credential list` for a credential of the same name it may belong to, delete that credential or deploy the key, then remove the file",
                paths.new_key.display()
            ))
        })?;
    }
    for p in [&paths.backup_key, &paths.backup_cert] {
        files::check_writable(p, true)?;
    }
    pause_for_jitter(a, out);
    block_on(renew(a, deployed, paths, global, out))
}

/// Refuses to replace `KEY.bak` unless it is provably nobody's key any more. After a failed
/// hook (or `--keep-old`) the previous credential stays live with its key only in `KEY.bak`;
/// overwriting it would leave a live credential whose key nobody holds. So `KEY.bak` is
/// replaced only when `CERT.bak` is an access certificate of this domain for exactly that key
/// and the API reports its credential gone, deleting or expired.
async fn refuse_live_backup(
    client: &okms_api::Client,
    okms_id: Uuid,
    paths: &Paths,
) -> CliResult<()> {
    if std::fs::symlink_metadata(&paths.backup_key).is_err() {
        return Ok(());
    }
    let (key_bak, cert_bak) = (paths.backup_key.display(), paths.backup_cert.display());
    let unproven = |why: String| {
        CliError::new(
            Exit::RefusedOverwrite,
            format!(
                "{key_bak} would be replaced, but {why}, so it may be the only key of a live credential; nothing was created"
            ),
        )
        .hint(format!(
            "move {key_bak} (and {cert_bak}) elsewhere, or delete them once no live credential needs that key, then renew again"
        ))
    };
    let cert = std::fs::read_to_string(&paths.backup_cert)
        .ok()
        .and_then(|pem| Certificate::from_pem(&pem).ok())
        .ok_or_else(|| unproven(format!("{cert_bak} is missing or not a certificate")))?;
    if cert.okms_domain().and_then(|d| d.parse::<Uuid>().ok()) != Some(okms_id) {
        return Err(unproven(format!(
            "{cert_bak} is not a certificate of domain {okms_id}"
        )));
    }
    let id = cert
        .credential_id()
        .and_then(|id| id.parse::<Uuid>().ok())
        .ok_or_else(|| unproven(format!("{cert_bak} names no credential")))?;
    let key = input::load_private_key(&paths.backup_key, &PassphraseArgs::default())
        .map_err(|_| unproven("it cannot be read as a private key".to_owned()))?;
    if !same_public_key(&cert.public_key(), &key.public_key()) {
        return Err(unproven(format!("it is not the key of {cert_bak}")));
    }
    let live = match client.get_credential(okms_id, id).await {
        Ok(c) => matches!(
            c.status,
            okms_api::CredentialStatus::Creating | okms_api::CredentialStatus::Ready
        ),
        Err(e) if e.is_not_found() => false,
        Err(e) => {
            return Err(api_failure(
                e,
                "cannot check the credential of the backup pair",
            ));
        }
    };
    if !live {
        return Ok(());
    }
    Err(CliError::new(
        Exit::RefusedOverwrite,
        format!(
            "the backup pair {cert_bak} / {key_bak} belongs to credential {id}, which is still live; replacing it would leave that credential with no key"
        ),
    )
    .hint(format!(
        "once nothing uses the old pair any more, revoke it with `okms-cli credential delete {id} --okms-id {okms_id} --yes` (or move the .bak files elsewhere), then renew again; nothing was created"
    )))
}

/// `Some(until)` when the renewal is not due yet (never with --force).
fn not_due_until(a: &CredentialRenewArgs, cert: &Certificate) -> CliResult<Option<OffsetDateTime>> {
    if a.force {
        return Ok(None);
    }
    let at = match a.before {
        Some(days) => RenewAt::days_left(days).map_err(|e| CliError::new(Exit::InvalidInput, e))?,
        None => RenewAt::TwoThirds,
    };
    let lifetime = Lifetime::new(cert.not_before(), cert.not_after())
        .map_err(|e| CliError::new(Exit::InvalidInput, e))?;
    // This host's clock: it is the one its TLS stack will judge the certificate by.
    Ok(match decide(&lifetime, at, OffsetDateTime::now_utc()) {
        Decision::NotDue { until } => Some(until),
        _ => None,
    })
}

fn pause_for_jitter(a: &CredentialRenewArgs, out: &Output) {
    if let Some(max) = a.jitter {
        let pause = jitter(max, std::hash::RandomState::new().build_hasher().finish());
        out.verbose(&format!(
            "waiting {}s (jitter) before renewing",
            pause.as_secs()
        ));
        std::thread::sleep(pause);
    }
}

fn check_deployed(a: &CredentialRenewArgs) -> CliResult<Deployed> {
    let (okms_id, credential_id, cert) = check_cert(a)?;
    let shown = input::display_path(&a.cert);
    let key = input::load_private_key(&a.key, &PassphraseArgs::default())?;
    if !same_public_key(&cert.public_key(), &key.public_key()) {
        // A renewal stopped between its two renames leaves the new key in place and the new
        // certificate beside the old one: say how to finish instead of only refusing.
        let new_cert = with_suffix(&a.cert, ".new");
        let interrupted = std::fs::read_to_string(&new_cert)
            .ok()
            .and_then(|pem| Certificate::from_pem(&pem).ok())
            .is_some_and(|c| same_public_key(&c.public_key(), &key.public_key()));
        let hint = if interrupted {
            format!(
                "an interrupted renewal deployed the new key but not its certificate {}: finish it with `mv {} {}.bak && mv {} {}` (the old credential stays live: revoke it once nothing uses it)",
                new_cert.display(),
                a.cert.display(),
                a.cert.display(),
                new_cert.display(),
                a.cert.display()
            )
        } else {
            "pass the key the certificate was issued for".to_owned()
        };
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!(
                "{} is not the key of {shown} (key SHA-256 {}, certificate SHA-256 {}); nothing was created or written",
                input::display_path(&a.key),
                key.public_key().fingerprint_sha256(),
                cert.public_key().fingerprint_sha256()
            ),
        )
        .hint(hint));
    }
    Ok(Deployed {
        okms_id,
        credential_id,
        cert,
        algorithm: key.algorithm(),
    })
}

/// `--id`: the credential as the API shows it, and --cert/--key free to receive the new pair.
async fn credential_by_id(
    a: &CredentialRenewArgs,
    id: &str,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<Deployed> {
    let credential_id = parse_uuid(id, "--id")?;
    let Some(okms_id) = a.okms_id.as_deref() else {
        return Err(crate::error::usage("--id needs the credential's domain")
            .hint("pass --okms-id ID, or set OKMS_ID"));
    };
    let okms_id = parse_uuid(okms_id, "--okms-id")?;
    for target in [&a.cert, &a.key] {
        if std::fs::symlink_metadata(target).is_ok() {
            return Err(CliError::new(
                Exit::RefusedOverwrite,
                format!(
                    "--id writes a new pair, and {} exists; nothing was created",
                    target.display()
                ),
            )
            .hint("to renew the pair deployed there, leave out --id; otherwise choose paths that do not exist"));
        }
    }
    let client = client(global, out)?;
    let credential = client
        .get_credential(okms_id, credential_id)
        .await
        .map_err(|e| api_failure(e, format!("cannot read credential {credential_id}")))?;
    let Some(pem) = credential.certificate_pem.as_deref() else {
        return Err(CliError::new(
            Exit::InvalidInput,
            format!(
                "credential {credential_id} has no certificate yet (status {:?}); nothing was created",
                credential.status
            ),
        )
        .hint(format!("wait for it: okms-cli credential wait {credential_id}")));
    };
    let cert = Certificate::from_pem(pem).map_err(|e| {
        csr_error(
            e,
            format!("cannot read the certificate of credential {credential_id}"),
        )
    })?;
    let algorithm = cert
        .public_key()
        .algorithm()
        .map_err(|e| csr_error(e, "cannot tell the credential's key algorithm"))?;
    Ok(Deployed {
        okms_id,
        credential_id,
        cert,
        algorithm,
    })
}

/// The certificate is OKMS's, of the domain asked for: its domain, its credential id, itself.
fn check_cert(a: &CredentialRenewArgs) -> CliResult<(Uuid, Uuid, Certificate)> {
    let cert = input::load_certificate(&a.cert)?;
    let shown = input::display_path(&a.cert);
    let not_okms = |what: &str| {
        CliError::new(
            Exit::InvalidInput,
            format!("{shown} was not issued by OKMS: it has no {what}"),
        )
        .hint("renew only an access certificate made by `okms-cli credential create` or the OVHcloud Control Panel")
    };
    let credential_id = cert
        .credential_id()
        .ok_or_else(|| not_okms("credential id"))
        .and_then(|id| parse_uuid(&id, "the certificate's credential id"))?;
    let cert_domain = cert
        .okms_domain()
        .ok_or_else(|| not_okms("okms.domain name"))
        .and_then(|d| parse_uuid(&d, "the certificate's okms.domain"))?;
    let okms_id = match &a.okms_id {
        Some(given) => {
            let given = parse_uuid(given, "--okms-id")?;
            if given != cert_domain {
                return Err(CliError::new(
                    Exit::InvalidInput,
                    format!(
                        "{shown} belongs to domain {cert_domain}, not to --okms-id {given}; nothing was created"
                    ),
                )
                .hint("leave out --okms-id (and unset OKMS_ID) to use the certificate's domain"));
            }
            given
        }
        None => cert_domain,
    };
    Ok((okms_id, credential_id, cert))
}

fn report_not_due(
    a: &CredentialRenewArgs,
    okms_id: Uuid,
    credential_id: Uuid,
    cert: &Certificate,
    key: &str,
    until: OffsetDateTime,
    out: &Output,
) -> CliResult<()> {
    if out.is_json() {
        return out.json(&RenewReport {
            renewed: false,
            okms_id,
            old_id: credential_id,
            new_id: None,
            not_due_until: Some(rfc3339(until)),
            cert: a.cert.display().to_string(),
            key: key.to_owned(),
            backup_cert: None,
            backup_key: None,
            old_revoked: false,
        });
    }
    out.line(&format!(
        "credential {credential_id} is not due until {} (expires {}); nothing done",
        rfc3339(until),
        rfc3339(cert.not_after())
    ))
}

/// Removes the new key file unless the credential certifying it may still be live.
fn discard_new_key(paths: &Paths) {
    let _ = std::fs::remove_file(&paths.new_key);
    let _ = std::fs::remove_file(&paths.new_cert);
}

async fn renew(
    a: &CredentialRenewArgs,
    d: Deployed,
    paths: Paths,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    let okms_id = d.okms_id;
    let old_id = d.credential_id;
    let client = client(global, out)?;
    refuse_live_backup(&client, okms_id, &paths).await?;

    // 1. The new key, on disk before any credential can certify it.
    let alg = a.algorithm.map_or(d.algorithm, Into::into);
    let new_key =
        PrivateKey::generate(alg).map_err(|e| csr_error(e, "cannot generate the new key"))?;
    let subject: DistinguishedName = d
        .cert
        .subject()
        .parse()
        .or_else(|_| "CN=okms-renewed".parse())
        .map_err(|e| csr_error(e, "cannot name the new CSR"))?;
    let csr = CsrBuilder::new(subject)
        .build(&new_key)
        .map_err(|e| csr_error(e, "cannot build the new CSR"))?;
    let key_pem = new_key
        .to_pem(KeyFormat::Pkcs8)
        .map_err(|e| csr_error(e, "cannot encode the new key"))?;
    files::write_secret_file(&paths.new_key, key_pem.expose_secret().as_bytes(), false)?;
    out.verbose(&format!(
        "new {alg} key written to {}",
        paths.new_key.display()
    ));

    // 2. The new credential, exactly once.
    let plan = match Plan::for_credential(&client, okms_id, old_id, csr.to_pem()).await {
        Ok(p) => p,
        Err(e) => {
            discard_new_key(&paths);
            return Err(lifecycle_failure(e, "nothing was created").hint(format!(
                "the old pair at {} and {} is unchanged",
                a.cert.display(),
                a.key.display()
            )));
        }
    };
    let plan = match a.validity {
        Some(days) => plan.with_validity(days),
        None => plan,
    };
    let is_ours = certifies(new_key.public_key());
    let on_event = |e: &ReconcileEvent| out.warn(&describe_event(e));
    let created = match plan
        .create(&client, &is_ours, &ReconcileOptions::default(), &on_event)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            // Reconciliation names any candidate it could not settle; the key stays on disk
            // only in that case, since such a candidate may hold it.
            let undecided = reconciliation_undecided(&e);
            if !undecided {
                discard_new_key(&paths);
            }
            return Err(lifecycle_failure(e, "the old pair is unchanged and still works")
                .hint(if undecided {
                    format!(
                        "the new key is kept at {key}: if `okms-cli credential list --okms-id {okms_id}` shows a new credential named {name:?}, it holds this key; delete that credential, then remove {key}",
                        key = paths.new_key.display(),
                        name = plan.old().name
                    )
                } else {
                    "run the renewal again".to_owned()
                }));
        }
    };
    let new_id = created.new_id();
    out.info(&format!(
        "credential {new_id} created for the new key ({})",
        paths.new_key.display()
    ));
    let settle = WaitPolicy::with_timeout(a.timeout);

    // 3. READY, the certificate checked against the new key, then proved.
    let proved: Result<Proved, CliError> = async {
        let ready = created
            .wait_ready(&client, &settle)
            .await
            .map_err(|e| lifecycle_failure(e, "the new credential is not usable"))?;
        verify_cert(ready.certificate_pem(), Some(&new_key.public_key()), new_id)?;
        let kms_url = kms_url(a, &client, okms_id).await?;
        let ca_pem = match &a.ca {
            Some(p) => Some(input::read_text(p, "the CA certificate")?.to_string()),
            None => None,
        };
        let key = SecretString::from(key_pem.expose_secret().to_owned());
        ready
            .prove(&kms_url, key.into(), ca_pem)
            .await
            .map_err(|e| lifecycle_failure(e, "the new pair does not work"))
    }
    .await;
    let proved = match proved {
        Ok(p) => p,
        Err(e) => return Err(abandon_new(created, &client, &settle, &paths, a, e).await),
    };

    // 4. The swap, the old pair kept as a backup.
    let pem = super::ensure_newline(proved.certificate_pem());
    let swapped = files::write_public_file(&paths.new_cert, pem.as_bytes(), false).and_then(|()| {
        files::swap_with_backup(&[
            Swap {
                new: paths.new_key.clone(),
                target: a.key.clone(),
                backup: paths.backup_key.clone(),
            },
            Swap {
                new: paths.new_cert.clone(),
                target: a.cert.clone(),
                backup: paths.backup_cert.clone(),
            },
        ])
    });
    match swapped {
        Ok(()) => {}
        // Half deployed: the new key may be in use at its target, so the new credential must
        // stay live, and the old one too (its key is in the backup).
        Err(e @ files::WriteError::SwapIncomplete { .. }) => {
            return Err(CliError::from(e)
                .context(format!(
                    "renewal stopped half way through deploying: both the old credential {old_id} and the new one {} stay live",
                    proved.new_id()
                ))
                .hint(format!(
                    "put the old pair back (move {} over {} and {} over {}) or finish by hand with the .new files, then revoke the credential whose key is no longer deployed: okms-cli credential delete ID --okms-id {okms_id} --yes",
                    paths.backup_key.display(),
                    a.key.display(),
                    paths.backup_cert.display(),
                    a.cert.display()
                )));
        }
        Err(e) => {
            return Err(abandon_proved(proved, &client, &settle, &paths, a, e.into()).await);
        }
    }
    // With --id there was no pair in place to keep.
    let replaced = a.id.is_none();
    if replaced {
        out.info(&format!(
            "new pair in place at {} and {} (previous pair kept as {} and {})",
            a.cert.display(),
            a.key.display(),
            paths.backup_cert.display(),
            paths.backup_key.display()
        ));
    } else {
        out.info(&format!(
            "new pair written to {} and {}",
            a.cert.display(),
            a.key.display()
        ));
    }

    // 5. The hook.
    let deployment = Deployment {
        okms_id,
        old_id,
        new_id,
        key: a.key.display().to_string(),
        backup_cert: replaced.then(|| paths.backup_cert.display().to_string()),
        backup_key: replaced.then(|| paths.backup_key.display().to_string()),
    };
    run_hook(a, &deployment)?;

    // 6. The old credential, last.
    finish_and_report(a, proved, &client, &deployment, out).await
}

/// A deployed renewal, as the hook and the report name it.
struct Deployment {
    okms_id: Uuid,
    old_id: Uuid,
    new_id: Uuid,
    /// The key file, or the key's URI (never with a PIN).
    key: String,
    /// The previous pair, when there was one in place (not with --id).
    backup_cert: Option<String>,
    backup_key: Option<String>,
}

/// `--exec`: the program gets the deployed paths (or URIs) and the ids in its environment.
fn run_hook(a: &CredentialRenewArgs, d: &Deployment) -> CliResult<()> {
    let Some((program, args)) = a.exec.split_first() else {
        return Ok(());
    };
    let (okms_id, old_id, new_id) = (d.okms_id, d.old_id, d.new_id);
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
        .env("OKMS_RENEW_CERT", &a.cert)
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
            Exit::Error,
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

/// Revokes the old credential (unless --keep-old) and reports the renewal.
async fn finish_and_report(
    a: &CredentialRenewArgs,
    proved: Proved,
    client: &Client,
    d: &Deployment,
    out: &Output,
) -> CliResult<()> {
    let (okms_id, old_id, new_id) = (d.okms_id, d.old_id, d.new_id);
    let renewed = proved.finish(client, a.keep_old).await.map_err(|e| {
        lifecycle_failure(
            e,
            format!(
                "the new pair (credential {new_id}) is in place and works, but the old credential {old_id} is still live"
            ),
        )
        .hint(format!(
            "revoke it: okms-cli credential delete {old_id} --okms-id {okms_id} --yes"
        ))
    })?;
    if out.is_json() {
        return out.json(&RenewReport {
            renewed: true,
            okms_id,
            old_id,
            new_id: Some(new_id),
            not_due_until: None,
            cert: a.cert.display().to_string(),
            key: d.key.clone(),
            backup_cert: d.backup_cert.clone(),
            backup_key: d.backup_key.clone(),
            old_revoked: renewed.old_revoked,
        });
    }
    out.line(&format!(
        "renewed: credential {new_id} replaces {old_id} ({}); expires {}",
        if renewed.old_revoked {
            "revoked"
        } else {
            "kept live"
        },
        rfc3339(renewed.new.expired_at)
    ))
}

async fn kms_url(a: &CredentialRenewArgs, client: &Client, okms_id: Uuid) -> CliResult<String> {
    if let Some(u) = &a.kms_url {
        return Ok(u.clone());
    }
    let d = client.get_domain(okms_id, false).await.map_err(|e| {
        api_failure(
            e,
            format!("cannot read OKMS domain {okms_id} to find its REST endpoint"),
        )
    })?;
    d.rest_endpoint.ok_or_else(|| {
        CliError::new(
            Exit::Api,
            format!("the API reports no REST endpoint for domain {okms_id}"),
        )
        .hint("give it with --kms-url")
    })
}

/// Whether a credential's certificate holds `public`: how reconciliation recognises ours.
fn certifies(public: okms_csr::PublicKey) -> impl Fn(&Credential) -> Option<bool> {
    move |c: &Credential| {
        let pem = c.certificate_pem.as_deref()?;
        let cert = Certificate::from_pem(pem).ok()?;
        Some(same_public_key(&cert.public_key(), &public))
    }
}

/// A create that reconciliation could not settle: a candidate credential may hold the new key.
fn reconciliation_undecided(e: &okms_lifecycle::Error) -> bool {
    matches!(
        e,
        okms_lifecycle::Error::Api {
            source: okms_api::Error::ReconcileFailed { .. },
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

/// A lifecycle error as a CLI error, with the state the user is left in.
fn lifecycle_failure(e: okms_lifecycle::Error, state: impl std::fmt::Display) -> CliError {
    let exit = match &e {
        okms_lifecycle::Error::ProofRefused { .. } => Exit::Api,
        _ => Exit::Error,
    };
    match e {
        okms_lifecycle::Error::Api { step, source } => {
            api_failure(source, format!("renewal stopped while {step}; {state}"))
        }
        other => CliError::new(exit, format!("renewal stopped: {other}; {state}")),
    }
}

async fn abandon_new(
    created: okms_lifecycle::Created,
    client: &Client,
    settle: &WaitPolicy,
    paths: &Paths,
    a: &CredentialRenewArgs,
    cause: CliError,
) -> CliError {
    let new_id = created.new_id();
    let result = created.abandon(client, settle).await;
    abandoned(result, new_id, paths, a, cause)
}

async fn abandon_proved(
    proved: Proved,
    client: &Client,
    settle: &WaitPolicy,
    paths: &Paths,
    a: &CredentialRenewArgs,
    cause: CliError,
) -> CliError {
    let new_id = proved.new_id();
    let result = proved.abandon(client, settle).await;
    abandoned(result, new_id, paths, a, cause)
}

fn abandoned(
    result: okms_lifecycle::Result<Uuid>,
    new_id: Uuid,
    paths: &Paths,
    a: &CredentialRenewArgs,
    cause: CliError,
) -> CliError {
    let old = format!(
        "the old pair at {} and {} is unchanged and still works",
        a.cert.display(),
        a.key.display()
    );
    match result {
        Ok(_) => {
            discard_new_key(paths);
            cause.context(format!(
                "renewal failed; the new credential {new_id} was revoked and its key removed; {old}"
            ))
        }
        Err(e) => cause
            .context(format!(
                "renewal failed, and the new credential {new_id} could not be revoked ({e}); its key is kept at {}; {old}",
                paths.new_key.display()
            ))
            .hint(format!(
                "revoke it: okms-cli credential delete {new_id} --yes, then remove {}",
                paths.new_key.display()
            )),
    }
}
