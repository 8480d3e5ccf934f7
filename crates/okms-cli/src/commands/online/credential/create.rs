//! `credential create`: the request (from flags or a request file), the create call with
//! reconciliation of a lost answer, the generated key written before anything else, then the
//! certificate.

use std::path::{Path, PathBuf};
use std::time::Duration;

use okms_api::reconcile::{ReconcileEvent, ReconciledCreate};
use okms_api::{
    CertificateType, Client, Credential, CredentialRequest, ExposeSecret, ReconcileOptions,
    SecretString, Uuid, WaitPolicy,
};
use okms_csr::{Certificate, PrivateKey, PublicKey, same_public_key};
use serde::Serialize;

use super::p12_out::P12Plan;
use super::{ensure_newline, profile, verify_cert, wait_ready};
use crate::cli::{CertificateTypeArg, CredentialCreateArgs, GlobalArgs};
use okms_api::IdentitySelection;

use super::Source;
use crate::commands::cert_export::P12Report;
use crate::commands::identities;
use crate::commands::online::account::account;
use crate::commands::online::iam;
use crate::commands::online::session::{block_on, client, parse_uuid};
use crate::error::{CliError, CliResult, api_failure, invalid_request, usage};
use crate::exit::Exit;
use crate::files;
use crate::files::refuse_output_over_input;
use crate::input;
use crate::output::{Output, rfc3339};

/// Default file for a key OVHcloud generates (as in OVHcloud's guide).
const DEFAULT_KEY_OUT: &str = "domain.key";

/// The `--json` result of `credential create`.
#[derive(Serialize)]
struct CreateReport<'a> {
    credential: &'a Credential,
    /// Where the generated private key was written (null with a CSR).
    key_out: Option<String>,
    /// Set when the key could not go to the requested path and went here instead.
    key_fallback: Option<String>,
    /// Where the certificate was written (null with --no-wait).
    cert_out: Option<String>,
    /// The PKCS#12 file written with --p12-out (null without).
    p12: Option<P12Report>,
    /// Whether an existing credential was adopted after a lost answer.
    adopted: bool,
    /// What reconciliation did after a lost answer (`outcome_unknown`, `adopted`,
    /// `nothing_created`, `orphans_deleted`, `resent`).
    reconciliation: Vec<EventReport>,
    public_key_sha256: Option<String>,
}

#[derive(Serialize)]
struct EventReport {
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ids: Vec<Uuid>,
}

fn event_report(e: &ReconcileEvent) -> EventReport {
    let (event, detail, ids) = match e {
        ReconcileEvent::OutcomeUnknown { reason } => {
            ("outcome_unknown", Some(reason.clone()), vec![])
        }
        ReconcileEvent::Adopted { id } => ("adopted", None, vec![*id]),
        ReconcileEvent::NothingCreated => ("nothing_created", None, vec![]),
        ReconcileEvent::OrphansDeleted { ids } => ("orphans_deleted", None, ids.clone()),
        ReconcileEvent::Resent => ("resent", None, vec![]),
        _ => ("other", Some(format!("{e:?}")), vec![]),
    };
    EventReport { event, detail, ids }
}

fn tell_event(e: &ReconcileEvent, out: &Output) {
    match e {
        ReconcileEvent::OutcomeUnknown { reason } => out.warn(&format!(
            "the answer to the create request was lost ({reason}); reconciling instead of sending it again"
        )),
        ReconcileEvent::Adopted { id } => out.warn(&format!(
            "credential {id} was created by that request and holds this CSR's key: adopted it"
        )),
        ReconcileEvent::NothingCreated => out.warn("that request created nothing; sending it once more"),
        ReconcileEvent::OrphansDeleted { ids } => out.warn(&format!(
            "deleted credential(s) {} created by that request: their private key was only in the lost answer",
            okms_api::reconcile::join_ids(ids)
        )),
        ReconcileEvent::Resent => out.warn("sent the create request a second time"),
        other => out.warn(&format!("{other:?}")),
    }
}

/// `credential create`.
///
/// # Errors
/// Usage and input errors before anything is sent; API errors; exit 4 when the certificate
/// does not hold the expected key.
pub(super) fn run(a: &CredentialCreateArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
    // The request, without identities built from the account yet.
    let (mut request, source) = local_request(a)?;
    let profile_plan = match &a.okms_profile {
        Some(name) => Some(profile::plan(a, name, &source, &request)?),
        None => None,
    };
    // Outputs: refuse before anything is sent.
    if let Source::Generated { key_out } = &source {
        // Never over an existing key, --force or not: a key is not replaceable.
        files::check_writable(key_out, false).map_err(|e| {
            CliError::from(e).hint("choose another --key-out; an existing key is never replaced")
        })?;
        if files::same_file(key_out, &a.cert_out) || key_out == &a.cert_out {
            return Err(usage("--key-out and --cert-out name the same file"));
        }
    }
    if !a.no_wait {
        files::check_writable(&a.cert_out, a.force)?;
        for (input, flag) in [(&a.csr, "--csr"), (&a.request, "--request")] {
            if let Some(i) = input {
                refuse_output_over_input(&a.cert_out, "--cert-out", i, flag)?;
            }
        }
    }
    let p12 = P12Plan::check(a, &source, out)?;
    block_on(async move {
        let client = client(global, out)?;
        let selection = IdentitySelection::from(&a.identities);
        if a.request.is_none() && selection.needs_account() {
            let (_, nic, plate) = account(&client).await?;
            out.verbose(&format!("account {nic}, URN region {plate}"));
            request.identity_urns = identities::urns_for_api_account(&selection, plate, &nic)?;
        }
        identities::note_unusual_accounts(&request.identity_urns, out);
        identities::warn_unknown(&client, &request.identity_urns, out).await;
        request.validate().map_err(|e| invalid_request(e, ""))?;
        iam::rights::precheck_create(&client, okms_id, &request.identity_urns, out).await?;
        if matches!(source, Source::Generated { .. }) {
            pci_dss_check(&client, okms_id, a.require_csr, out).await?;
        }
        // The profile needs the domain's endpoints; a profile that cannot be written is found
        // out before anything is created.
        let profile = match profile_plan {
            Some(plan) => Some(plan.complete(&client, okms_id, a.force).await?),
            None => None,
        };
        create_online(&client, okms_id, &request, &source, p12, a, out).await?;
        if !a.no_wait {
            iam::rights::warn_if_no_kms_rights(&client, okms_id, &request.identity_urns, out).await;
        }
        if let Some(profile) = profile {
            profile.write(a.force, out)?;
        }
        Ok(())
    })
}

/// The request from the flags or the request file, validated as far as possible offline.
fn local_request(a: &CredentialCreateArgs) -> CliResult<(CredentialRequest, Source)> {
    if let Some(path) = &a.request {
        let (body, csr) = input::load_request(path)?;
        let source = match csr {
            Some(csr) => {
                if a.key_out.is_some() {
                    return Err(usage(
                        "--key-out cannot be used with a request that carries a CSR: you hold that key",
                    ));
                }
                Source::Csr {
                    public_key: csr.public_key(),
                }
            }
            None => Source::Generated {
                key_out: a.key_out.clone().unwrap_or_else(|| DEFAULT_KEY_OUT.into()),
            },
        };
        return Ok((body, source));
    }
    let Some(name) = a.name.clone() else {
        return Err(usage("--name is required (or give --request FILE)"));
    };
    let selection = IdentitySelection::from(&a.identities);
    identities::check(&selection)?;
    if selection.is_empty() {
        return Err(usage(
            "say who may use the credential: --identity URN, --root, --user LOGIN, --group NAME or --service-account CLIENT_ID",
        ));
    }
    let mut body = CredentialRequest::new(name, identities::given_urns(&selection)?);
    if let Some(d) = &a.description {
        body = body.with_description(d.clone());
    }
    if let Some(v) = a.validity {
        body = body.with_validity(v);
    }
    let source = if let Some(csr_path) = &a.csr {
        let csr = input::load_verified_csr(csr_path)?;
        body.csr = Some(csr.to_pem());
        Source::Csr {
            public_key: csr.public_key(),
        }
    } else {
        body = body.with_certificate_type(match a.certificate_type.unwrap_or_default() {
            CertificateTypeArg::Ecdsa => CertificateType::Ecdsa,
            CertificateTypeArg::Rsa => CertificateType::Rsa,
        });
        Source::Generated {
            key_out: a.key_out.clone().unwrap_or_else(|| DEFAULT_KEY_OUT.into()),
        }
    };
    // Everything but the identities built from the account can be checked now.
    let mut check = body.clone();
    if check.identity_urns.is_empty() {
        check.identity_urns = vec!["urn:v1:eu:identity:account:xx1-ovh".into()];
    }
    check.validate().map_err(|e| invalid_request(e, ""))?;
    Ok((body, source))
}

/// Whether a credential's certificate holds `key` (`None`: no certificate to tell).
fn cert_matches(c: &Credential, key: &PublicKey) -> Option<bool> {
    let pem = c.certificate_pem.as_deref()?;
    let cert = Certificate::from_pem(pem).ok()?;
    Some(same_public_key(&cert.public_key(), key))
}

/// The create call and what follows it: the generated key written first (it exists nowhere
/// else), then the certificate, then the report.
async fn create_online(
    client: &Client,
    okms_id: Uuid,
    request: &CredentialRequest,
    source: &Source,
    p12: Option<P12Plan>,
    a: &CredentialCreateArgs,
    out: &Output,
) -> CliResult<()> {
    let result = create_reconciled(client, okms_id, request, source, a.timeout, out).await?;
    let adopted = result.adopted();
    let mut credential = result.created.credential;
    let id = credential.id;
    let mut kept = match source {
        Source::Generated { key_out } => {
            let key_pem = result.created.private_key_pem;
            keep_generated_key(client, okms_id, id, key_out, key_pem, a.timeout, out).await?
        }
        Source::Csr { .. } => KeptKey::default(),
    };
    let expected_key = match source {
        Source::Csr { public_key } => Some(public_key.clone()),
        Source::Generated { .. } => kept.public_key,
    };
    let mut cert_out = None;
    let mut p12_report = None;
    if !a.no_wait {
        credential = write_issued_cert(client, okms_id, id, expected_key.as_ref(), a, out).await?;
        cert_out = Some(a.cert_out.display().to_string());
        if let Some(plan) = p12 {
            let generated = kept.private_key.take();
            let written = plan
                .write(client, okms_id, &credential, generated, a.force, out)
                .await;
            p12_report = Some(written.map_err(|e| {
                e.context(format!(
                    "credential {id} is READY and its pair written, but the PKCS#12 file was not"
                ))
            })?);
        }
    }
    let report = CreateReport {
        credential: &credential,
        key_out: kept.at_requested,
        key_fallback: kept.fallback.clone(),
        cert_out,
        p12: p12_report,
        adopted,
        reconciliation: result.events.iter().map(event_report).collect(),
        public_key_sha256: expected_key.as_ref().map(PublicKey::fingerprint_sha256),
    };
    show_created(&report, source, okms_id, a, out)?;
    if let Some(p) = kept.fallback {
        return Err(CliError::new(
            Exit::Error,
            format!(
                "the private key of credential {id} could not be written to {}; it was saved to {p}",
                key_out_display(source)
            ),
        )
        .hint(format!("move {p} where you want it (keep it private: mode 0600)")));
    }
    Ok(())
}

/// The create POST, reconciled when its answer is lost. With a CSR, a credential is ours when
/// its certificate holds the CSR's key.
async fn create_reconciled(
    client: &Client,
    okms_id: Uuid,
    request: &CredentialRequest,
    source: &Source,
    timeout: Duration,
    out: &Output,
) -> CliResult<ReconciledCreate> {
    let our_key = match source {
        Source::Csr { public_key } => Some(public_key.clone()),
        Source::Generated { .. } => None,
    };
    let matcher = move |c: &Credential| our_key.as_ref().and_then(|k| cert_matches(c, k));
    let options = ReconcileOptions {
        settle: WaitPolicy::with_timeout(timeout),
        recheck_delay: Duration::from_secs(1),
    };
    out.verbose(&format!(
        "creating credential {:?} in domain {okms_id}",
        request.name
    ));
    // Events are told as they happen: when reconciliation then fails, the user still learns
    // what it did (e.g. which orphans it deleted) before the error.
    client
        .create_credential_reconciled(okms_id, request, &matcher, &options, &|e| {
            tell_event(e, out);
        })
        .await
        .map_err(|e| api_failure(e, format!("cannot create credential {:?}", request.name)))
}

/// Where a generated key went, and the key itself when it could be read back.
#[derive(Default)]
struct KeptKey {
    at_requested: Option<String>,
    fallback: Option<String>,
    public_key: Option<PublicKey>,
    /// For `--p12-out`.
    private_key: Option<PrivateKey>,
}

/// Writes the key OVHcloud generated (see [`save_key`]). A credential returned without its
/// key is revoked: nobody could ever use it.
async fn keep_generated_key(
    client: &Client,
    okms_id: Uuid,
    id: Uuid,
    key_out: &Path,
    key_pem: Option<SecretString>,
    timeout: Duration,
    out: &Output,
) -> CliResult<KeptKey> {
    let Some(key_pem) = key_pem else {
        let deleted = revoke_keyless(client, okms_id, id, timeout).await;
        let err = CliError::new(
            Exit::Api,
            format!(
                "the API created credential {id} but returned no private key (privateKeyPEM); {}",
                if deleted {
                    "it was deleted, since nobody holds its key"
                } else {
                    "it could not be deleted"
                }
            ),
        );
        return Err(if deleted {
            err
        } else {
            err.hint(format!(
                "delete it: okms-cli credential delete {id} --okms-id {okms_id} --yes"
            ))
        });
    };
    let mut kept = KeptKey::default();
    match save_key(client, okms_id, id, key_out, &key_pem, timeout, out).await? {
        Saved::AtRequested => kept.at_requested = Some(key_out.display().to_string()),
        Saved::Fallback(p) => kept.fallback = Some(p.display().to_string()),
    }
    match PrivateKey::import(key_pem.expose_secret().as_bytes(), None) {
        Ok(k) => {
            kept.public_key = Some(k.public_key());
            kept.private_key = Some(k);
        }
        Err(e) => {
            out.warn(&format!(
                "the private key OVHcloud returned cannot be read ({e}); the certificate cannot be checked against it"
            ));
        }
    }
    Ok(kept)
}

/// Waits for READY, checks that the certificate holds the expected key, writes it.
async fn write_issued_cert(
    client: &Client,
    okms_id: Uuid,
    id: Uuid,
    expected_key: Option<&PublicKey>,
    a: &CredentialCreateArgs,
    out: &Output,
) -> CliResult<Credential> {
    let credential = wait_ready(client, okms_id, id, a.timeout, out, Some(&a.cert_out)).await?;
    let pem = credential.certificate_pem.clone().unwrap_or_default();
    verify_cert(&pem, expected_key, id)?;
    files::write_public_file(&a.cert_out, ensure_newline(&pem).as_bytes(), a.force).map_err(
        |e| {
            CliError::from(e).context(format!(
                "credential {id} is READY, but its certificate was not written"
            ))
        },
    )?;
    Ok(credential)
}

/// The `--json` report, or the summary and the next command to run.
fn show_created(
    report: &CreateReport<'_>,
    source: &Source,
    okms_id: Uuid,
    a: &CredentialCreateArgs,
    out: &Output,
) -> CliResult<()> {
    if out.is_json() {
        return out.json(report);
    }
    let credential = report.credential;
    let id = credential.id;
    out.field("Credential id", &id.to_string())?;
    out.field("Name", &credential.name)?;
    out.field("Status", credential.status.as_str())?;
    out.field("Expires", &rfc3339(credential.expired_at))?;
    let written_key = report.key_out.as_ref().or(report.key_fallback.as_ref());
    if let Some(k) = written_key {
        out.field("Private key", &format!("{k} (mode 0600)"))?;
    }
    if let Some(c) = &report.cert_out {
        out.field("Certificate", c)?;
    }
    if let Some(p) = &report.p12 {
        out.field(
            "PKCS#12",
            &format!("{} ({} CA certificate(s))", p.path, p.chain_certificates),
        )?;
    }
    let key_path = match (source, written_key) {
        (_, Some(k)) => k.clone(),
        (Source::Csr { .. }, None) => "YOUR_KEY".into(),
        (Source::Generated { .. }, None) => DEFAULT_KEY_OUT.into(),
    };
    match &report.cert_out {
        Some(c) => out.line(&format!(
            "Next: okms-cli credential check --cert {c} --key {key_path} --okms-id {okms_id}"
        )),
        None => out.line(&format!(
            "Next: okms-cli credential wait {id} --okms-id {okms_id} --cert-out {}",
            a.cert_out.display()
        )),
    }
}

fn key_out_display(source: &Source) -> String {
    match source {
        Source::Generated { key_out } => key_out.display().to_string(),
        Source::Csr { .. } => String::new(),
    }
}

enum Saved {
    AtRequested,
    Fallback(PathBuf),
}

/// Writes the generated key to `key_out`, else to a fallback file (next to it, in the working
/// directory, in the temporary directory). If every write fails, the credential is deleted
/// (its key would be lost) and the command fails.
async fn save_key(
    client: &Client,
    okms_id: Uuid,
    id: Uuid,
    key_out: &Path,
    key_pem: &SecretString,
    timeout: Duration,
    out: &Output,
) -> CliResult<Saved> {
    let bytes = ensure_newline(key_pem.expose_secret());
    let bytes = zeroize::Zeroizing::new(bytes.into_bytes());
    let first = match files::write_secret_file(key_out, &bytes, false) {
        Ok(()) => return Ok(Saved::AtRequested),
        Err(e) => e,
    };
    out.warn(&format!(
        "cannot write the private key of credential {id} to {}: {first}{}",
        key_out.display(),
        std::error::Error::source(&first)
            .map(|s| format!(" ({s})"))
            .unwrap_or_default()
    ));
    let file_name = key_out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| DEFAULT_KEY_OUT.into());
    let rescue_name = format!("{file_name}.{id}.rescued");
    let mut places: Vec<PathBuf> = Vec::new();
    if let Some(dir) = key_out.parent().filter(|p| !p.as_os_str().is_empty()) {
        places.push(dir.join(&rescue_name));
    }
    places.push(PathBuf::from(&rescue_name));
    places.push(std::env::temp_dir().join(&rescue_name));
    for p in places {
        if files::write_secret_file(&p, &bytes, false).is_ok() {
            out.warn(&format!(
                "the private key of credential {id} was saved to {} instead (mode 0600)",
                p.display()
            ));
            return Ok(Saved::Fallback(p));
        }
    }
    // Nobody can hold this key: revoke the credential rather than leave it keyless.
    let deleted = revoke_keyless(client, okms_id, id, timeout).await;
    Err(CliError::new(
        Exit::Error,
        format!(
            "the private key of credential {id} could not be written anywhere ({}, the working directory, {}); {}",
            key_out.display(),
            std::env::temp_dir().display(),
            if deleted {
                "the credential was deleted, since its key is lost"
            } else {
                "the credential could not be deleted: delete it, its key is lost"
            }
        ),
    )
    .hint("free some space or fix the permissions, then create the credential again"))
}

/// Deletes a credential whose private key nobody holds, waiting first for it to leave
/// CREATING (the API refuses to delete it before). Whether it worked.
async fn revoke_keyless(client: &Client, okms_id: Uuid, id: Uuid, timeout: Duration) -> bool {
    // Even a failed wait (ERROR, EXPIRED) leaves a state the API can delete from.
    let _ = client
        .wait_until_ready(okms_id, id, &WaitPolicy::with_timeout(timeout))
        .await;
    client.delete_credential(okms_id, id).await.is_ok()
}

/// A key OVHcloud makes (no CSR) is not covered by a PCI-DSS domain's compliance: warned, or
/// refused with `--require-csr`, before anything is created. A domain the API does not
/// describe as PCI-DSS enabled (or cannot be read) gets neither.
async fn pci_dss_check(
    client: &okms_api::Client,
    okms_id: Uuid,
    require_csr: bool,
    out: &Output,
) -> CliResult<()> {
    let pci = match client.get_domain(okms_id, false).await {
        Ok(d) => d.pci_dss_enabled == Some(true),
        Err(e) => {
            out.verbose(&format!(
                "cannot read domain {okms_id} for its PCI-DSS setting: {e}"
            ));
            false
        }
    };
    if !pci {
        return Ok(());
    }
    let text = format!(
        "domain {okms_id} is PCI-DSS enabled, and a private key made by OVHcloud (no CSR) is not covered by PCI-DSS"
    );
    if require_csr {
        return Err(
            CliError::new(Exit::InvalidInput, format!("{text}; nothing was sent")).hint(
                "make the key on this host and send its CSR: okms-cli csr new, then --csr FILE",
            ),
        );
    }
    out.warn(&format!("{text}; use --csr to keep the key on this host"));
    Ok(())
}
