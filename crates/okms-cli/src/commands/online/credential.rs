//! `okms-cli credential create|get|list|delete|wait` (and `check`, in [`super::check`]).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use okms_api::reconcile::ReconcileEvent;
use okms_api::{
    CertificateType, Client, Credential, CredentialRequest, CredentialStatus, ExposeSecret,
    ReconcileOptions, SecretString, Uuid, WaitPolicy,
};
use okms_csr::{Certificate, PrivateKey, PublicKey, same_public_key};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::note_unusual_accounts;
use super::{account, api_failure, block_on, build_urns, client, needs_account, parse_uuid};
use crate::cli::{
    CertificateTypeArg, CredentialCommand, CredentialCreateArgs, CredentialDeleteArgs,
    CredentialGetArgs, CredentialListArgs, CredentialWaitArgs, GlobalArgs,
};
use crate::commands::request::{api_error, load_csr};
use crate::commands::{display_path, usage};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::files;
use crate::input;
use crate::okms_yaml;
use crate::output::Output;

/// Default file for a key OVHcloud generates (as in OVHcloud's guide).
const DEFAULT_KEY_OUT: &str = "domain.key";

/// Runs a `credential` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &CredentialCommand, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    match cmd {
        CredentialCommand::Create(a) => create(a, global, out),
        CredentialCommand::Get(a) => {
            let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
            let id = parse_uuid(&a.id, "credential id (ID)")?;
            if let Some(p) = &a.cert_out {
                files::check_writable(p, a.force)?;
            }
            block_on(get(okms_id, id, a, global, out))
        }
        CredentialCommand::List(a) => {
            let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
            block_on(list(okms_id, a, global, out))
        }
        CredentialCommand::Delete(a) => delete(a, global, out),
        CredentialCommand::Wait(a) => {
            let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
            let id = parse_uuid(&a.id, "credential id (ID)")?;
            if let Some(p) = &a.cert_out {
                files::check_writable(p, a.force)?;
            }
            block_on(wait(okms_id, id, a, global, out))
        }
        CredentialCommand::Check(a) => super::check::run(a, global, out),
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

// ---------------------------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------------------------

/// Where the key comes from.
enum Source {
    /// A CSR (from --csr or inside --request): we hold the key.
    Csr { public_key: PublicKey },
    /// OVHcloud generates the key; it is written to `key_out` at once.
    Generated { key_out: PathBuf },
}

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

fn create(a: &CredentialCreateArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
    // The request, without identities built from the account yet.
    let (mut request, source) = local_request(a)?;
    let profile_plan = match &a.okms_profile {
        Some(name) => Some(plan_profile(a, name, &source, &request)?),
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
                crate::commands::refuse_output_over_input(&a.cert_out, "--cert-out", i, flag)?;
            }
        }
    }
    block_on(async move {
        let client = client(global, out)?;
        if a.request.is_none() && needs_account(&a.identities) {
            let (_, nic, plate) = account(&client).await?;
            out.verbose(&format!("account {nic}, URN region {plate}"));
            request.identity_urns = build_urns(&a.identities, Some((&nic, plate)))?;
        }
        note_unusual_accounts(&request.identity_urns, out);
        request.validate().map_err(|e| api_error(e, ""))?;
        // The profile needs the domain's endpoints; a profile that cannot be written is found
        // out before anything is created.
        let profile = match profile_plan {
            Some(plan) => Some(plan.complete(&client, okms_id, a.force).await?),
            None => None,
        };
        create_online(&client, okms_id, &request, &source, a, out).await?;
        if let Some(profile) = profile {
            profile.write(a.force, out)?;
        }
        Ok(())
    })
}

/// `--okms-profile`, as far as it can be settled offline.
struct ProfilePlan {
    name: String,
    path: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    ca: Option<PathBuf>,
    rsa: bool,
}

/// `--okms-profile` with the domain's endpoints, checked against the file as it is now.
struct ReadyProfile {
    name: String,
    path: PathBuf,
    profile: okms_yaml::Profile,
}

fn plan_profile(
    a: &CredentialCreateArgs,
    name: &str,
    source: &Source,
    request: &CredentialRequest,
) -> CliResult<ProfilePlan> {
    if name.trim().is_empty() {
        return Err(usage("--okms-profile needs a profile name"));
    }
    let path = match &a.okms_config {
        Some(p) => p.clone(),
        None => okms_yaml::default_path().ok_or_else(|| {
            usage("cannot find the okms.yaml of the Go okms tool: no okms.yaml here and no home directory")
                .hint("give the file with --okms-config PATH")
        })?,
    };
    let (key, rsa) = match source {
        Source::Generated { key_out } => {
            if a.okms_profile_key.is_some() {
                return Err(usage(
                    "--okms-profile-key is for --csr or --request; the profile uses the generated key (--key-out)",
                ));
            }
            let rsa = request.certificate_type == Some(CertificateType::Rsa);
            (okms_yaml::absolute(key_out), rsa)
        }
        Source::Csr { public_key } => {
            let Some(key_path) = &a.okms_profile_key else {
                return Err(usage(
                    "--okms-profile with a CSR needs the CSR's private key on this host: --okms-profile-key PATH",
                )
                .hint("the Go okms tool signs with that key; without it, write the profile on the key's host"));
            };
            let bytes = input::read_private(key_path, "the private key")?;
            let key = PrivateKey::import(&bytes, None).map_err(|e| {
                CliError::new(
                    Exit::InvalidInput,
                    format!("--okms-profile-key {}: {e}", display_path(key_path)),
                )
                .hint("give an unencrypted private key: the Go okms tool cannot open an encrypted one")
            })?;
            if !same_public_key(&key.public_key(), public_key) {
                return Err(CliError::new(
                    Exit::VerificationFailed,
                    format!(
                        "--okms-profile-key {} does not hold the CSR's public key; nothing was sent",
                        display_path(key_path)
                    ),
                ));
            }
            let rsa = public_key.algorithm().is_ok_and(|alg| alg.is_rsa());
            (okms_yaml::absolute(key_path), rsa)
        }
    };
    Ok(ProfilePlan {
        name: name.to_owned(),
        path,
        cert: okms_yaml::absolute(&a.cert_out),
        key,
        ca: a.okms_profile_ca.as_deref().map(okms_yaml::absolute),
        rsa,
    })
}

impl ProfilePlan {
    async fn complete(
        self,
        client: &Client,
        okms_id: Uuid,
        force: bool,
    ) -> CliResult<ReadyProfile> {
        let domain = client.get_domain(okms_id, false).await.map_err(|e| {
            api_failure(
                e,
                format!("cannot read OKMS domain {okms_id} for --okms-profile"),
            )
        })?;
        let Some(rest_endpoint) = domain.rest_endpoint else {
            return Err(CliError::new(
                Exit::Api,
                format!("the API reports no REST endpoint for domain {okms_id}; nothing was sent"),
            )
            .hint(
                "create the credential without --okms-profile and configure the Go tool by hand",
            ));
        };
        let kmip_endpoint = if self.rsa {
            domain.kmip_rsa_endpoint.or(domain.kmip_endpoint)
        } else {
            domain.kmip_endpoint
        };
        let ready = ReadyProfile {
            name: self.name,
            path: self.path,
            profile: okms_yaml::Profile {
                rest_endpoint,
                kmip_endpoint,
                ca: self.ca,
                cert: self.cert,
                key: self.key,
            },
        };
        ready
            .render(force)
            .map_err(|e| e.context("nothing was sent"))?;
        Ok(ready)
    }
}

impl ReadyProfile {
    /// The file's current text (if any) and its new content.
    fn render(&self, force: bool) -> CliResult<(Option<String>, okms_yaml::Updated)> {
        let existing = match std::fs::read_to_string(&self.path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(CliError::new(
                    Exit::Error,
                    format!("cannot read {}: {e}", self.path.display()),
                ));
            }
        };
        let updated =
            okms_yaml::update(existing.as_deref(), &self.path, &self.name, &self.profile, force)
                .map_err(|e| {
                    let hint = match e {
                        okms_yaml::ProfileError::Exists { .. } => {
                            "add --force to point it at the new certificate, or choose another --okms-profile"
                        }
                        okms_yaml::ProfileError::Invalid { .. } => {
                            "fix the file, or give another one with --okms-config"
                        }
                        okms_yaml::ProfileError::Legacy { .. } => {
                            "move its profiles under `profiles:` with `version: 1` by hand (the Go tool's own `okms configure --migrate-only` would drop that key), or give another file with --okms-config"
                        }
                    };
                    CliError::new(Exit::InvalidInput, e).hint(hint)
                })?;
        Ok((existing, updated))
    }

    /// Writes the profile (mode 0600, atomically), after the certificate exists. A legacy
    /// file is copied, byte for byte, to a new name next to it before it is replaced.
    fn write(&self, force: bool, out: &Output) -> CliResult<()> {
        let failed = |e: CliError| {
            e.context(format!(
                "the credential was created and its certificate written, but profile {:?} was not",
                self.name
            ))
        };
        let (existing, updated) = self.render(force).map_err(failed)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| {
                    failed(CliError::new(
                        Exit::Error,
                        format!("cannot create {}: {e}", dir.display()),
                    ))
                })?;
        }
        let backup = match (&updated.legacy_profiles, &existing) {
            (Some(_), Some(old)) => Some(self.keep_legacy_copy(old).map_err(failed)?),
            _ => None,
        };
        // Replacing the file is the point: its other content was carried over by render().
        files::write_secret_file(&self.path, updated.text.as_bytes(), true)
            .map_err(|e| failed(CliError::from(e)))?;
        if let (Some(names), Some(backup)) = (&updated.legacy_profiles, &backup) {
            out.warn(&format!(
                "{} had the legacy layout (no `version`); its profile(s) {} are now under `profiles:` \
                 (version 1), where the Go okms tool reads them; the old file is kept as {}",
                self.path.display(),
                names.join(", "),
                backup.display()
            ));
        }
        out.verbose(&format!(
            "wrote profile {:?} to {}",
            self.name,
            self.path.display()
        ));
        if !out.is_json() {
            out.line(&format!(
                "Profile {:?} written to {}: the Go okms tool can use it with --profile {}",
                self.name,
                self.path.display(),
                self.name
            ))?;
        }
        let overriding = okms_yaml::overriding_env_vars(
            std::env::vars_os().map(|(name, _)| name),
            self.profile.kmip_endpoint.is_some(),
        );
        if !overriding.is_empty() {
            out.warn(&format!(
                "set in this environment, and read by the Go okms tool before okms.yaml: {}; \
                 unset them for profile {:?} to take effect",
                overriding.join(", "),
                self.name
            ));
        }
        Ok(())
    }

    /// Copies the legacy file's exact bytes to `<file>.v0.bak`, or `<file>.v0.N.bak` when
    /// that exists: a copy is never written over anything.
    fn keep_legacy_copy(&self, old: &str) -> CliResult<PathBuf> {
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| okms_yaml::FILE_NAME.to_owned());
        for n in 0..1000u32 {
            let name = if n == 0 {
                format!("{file_name}.v0.bak")
            } else {
                format!("{file_name}.v0.{n}.bak")
            };
            let candidate = self.path.with_file_name(name);
            match files::write_secret_file(&candidate, old.as_bytes(), false) {
                Ok(()) => return Ok(candidate),
                Err(files::WriteError::Exists(_)) => continue,
                Err(e) => {
                    return Err(CliError::from(e).context(format!(
                        "cannot keep a copy of {} before converting it",
                        self.path.display()
                    )));
                }
            }
        }
        Err(CliError::new(
            Exit::Error,
            format!(
                "cannot keep a copy of {}: {file_name}.v0.bak to {file_name}.v0.999.bak all exist",
                self.path.display()
            ),
        )
        .hint("remove old copies you no longer need"))
    }
}

/// The request from the flags or the request file, validated as far as possible offline.
fn local_request(a: &CredentialCreateArgs) -> CliResult<(CredentialRequest, Source)> {
    if let Some(path) = &a.request {
        let name = display_path(path);
        let bytes = input::read(path, "the request")?;
        let body = CredentialRequest::from_json(&bytes).map_err(|e| match e {
            okms_api::Error::InvalidField { .. } => {
                api_error(e, "").context(format!("{name} holds an invalid request"))
            }
            _ => CliError {
                exit: Exit::InvalidInput,
                error: anyhow::Error::new(e).context(format!("{name} is not a credential request")),
                hint: Some("a request file is written by `okms-cli request new`".to_owned()),
            },
        })?;
        let source = match &body.csr {
            Some(pem) => {
                let csr = okms_csr::Csr::from_pem(pem).map_err(|e| {
                    crate::commands::csr_error(e, format!("{name}: csr: not a valid CSR"))
                })?;
                csr.verify().map_err(|e| {
                    let mut err = crate::commands::csr_error(
                        e,
                        format!("{name}: csr: the signature does not verify"),
                    );
                    err.exit = Exit::VerificationFailed;
                    err
                })?;
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
    let urns = build_urns(&a.identities, None)?;
    if urns.is_empty() && !needs_account(&a.identities) {
        return Err(usage(
            "say who may use the credential: --identity URN, --root, --user LOGIN, --group NAME or --service-account CLIENT_ID",
        ));
    }
    let mut body = CredentialRequest::new(name, urns);
    if let Some(d) = &a.description {
        body = body.with_description(d.clone());
    }
    if let Some(v) = a.validity {
        body = body.with_validity(v);
    }
    let source = if let Some(csr_path) = &a.csr {
        let csr = load_csr(csr_path)?;
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
    check.validate().map_err(|e| api_error(e, ""))?;
    Ok((body, source))
}

/// Whether a credential's certificate holds `key` (`None`: no certificate to tell).
fn cert_matches(c: &Credential, key: &PublicKey) -> Option<bool> {
    let pem = c.certificate_pem.as_deref()?;
    let cert = Certificate::from_pem(pem).ok()?;
    Some(same_public_key(&cert.public_key(), key))
}

async fn create_online(
    client: &Client,
    okms_id: Uuid,
    request: &CredentialRequest,
    source: &Source,
    a: &CredentialCreateArgs,
    out: &Output,
) -> CliResult<()> {
    let our_key = match source {
        Source::Csr { public_key } => Some(public_key.clone()),
        Source::Generated { .. } => None,
    };
    let matcher = move |c: &Credential| our_key.as_ref().and_then(|k| cert_matches(c, k));
    let options = ReconcileOptions {
        settle: WaitPolicy::with_timeout(a.timeout),
        recheck_delay: Duration::from_secs(1),
    };
    out.verbose(&format!(
        "creating credential {:?} in domain {okms_id}",
        request.name
    ));
    // Events are told as they happen: when reconciliation then fails, the user still learns
    // what it did (e.g. which orphans it deleted) before the error.
    let result = client
        .create_credential_reconciled(okms_id, request, &matcher, &options, &|e| {
            tell_event(e, out);
        })
        .await
        .map_err(|e| api_failure(e, format!("cannot create credential {:?}", request.name)))?;
    let adopted = result.adopted();
    let mut credential = result.created.credential;
    let id = credential.id;

    // The generated key first: it exists nowhere else.
    let mut key_report = None;
    let mut key_fallback = None;
    let mut generated_public = None;
    if let Source::Generated { key_out } = source {
        let Some(key_pem) = result.created.private_key_pem else {
            // Nobody holds its key: revoke it rather than leave it behind.
            let deleted = revoke_keyless(client, okms_id, id, a.timeout).await;
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
        match save_key(client, okms_id, id, key_out, &key_pem, a.timeout, out).await? {
            Saved::AtRequested => key_report = Some(key_out.display().to_string()),
            Saved::Fallback(p) => key_fallback = Some(p.display().to_string()),
        }
        generated_public = match PrivateKey::import(key_pem.expose_secret().as_bytes(), None) {
            Ok(k) => Some(k.public_key()),
            Err(e) => {
                out.warn(&format!(
                    "the private key OVHcloud returned cannot be read ({e}); the certificate cannot be checked against it"
                ));
                None
            }
        };
    }
    let expected_key = match source {
        Source::Csr { public_key } => Some(public_key.clone()),
        Source::Generated { .. } => generated_public,
    };

    let mut cert_out = None;
    if !a.no_wait {
        credential = wait_ready(client, okms_id, id, a.timeout, out, Some(&a.cert_out)).await?;
        let pem = credential.certificate_pem.clone().unwrap_or_default();
        verify_cert(&pem, expected_key.as_ref(), id)?;
        files::write_public_file(&a.cert_out, ensure_newline(&pem).as_bytes(), a.force).map_err(
            |e| {
                CliError::from(e).context(format!(
                    "credential {id} is READY, but its certificate was not written"
                ))
            },
        )?;
        cert_out = Some(a.cert_out.display().to_string());
    }

    let report = CreateReport {
        credential: &credential,
        key_out: key_report.clone(),
        key_fallback: key_fallback.clone(),
        cert_out: cert_out.clone(),
        adopted,
        reconciliation: result.events.iter().map(event_report).collect(),
        public_key_sha256: expected_key.as_ref().map(PublicKey::fingerprint_sha256),
    };
    if out.is_json() {
        out.json(&report)?;
    } else {
        out.field("Credential id", &id.to_string())?;
        out.field("Name", &credential.name)?;
        out.field("Status", credential.status.as_str())?;
        out.field("Expires", &rfc3339(credential.expired_at))?;
        if let Some(k) = key_report.as_ref().or(key_fallback.as_ref()) {
            out.field("Private key", &format!("{k} (mode 0600)"))?;
        }
        if let Some(c) = &cert_out {
            out.field("Certificate", c)?;
        }
        let key_path = match (source, &key_report, &key_fallback) {
            (_, Some(k), _) | (_, _, Some(k)) => k.clone(),
            (Source::Csr { .. }, ..) => "YOUR_KEY".into(),
            _ => DEFAULT_KEY_OUT.into(),
        };
        if let Some(c) = &cert_out {
            out.line(&format!(
                "Next: okms-cli credential check --cert {c} --key {key_path} --okms-id {okms_id}"
            ))?;
        } else {
            out.line(&format!(
                "Next: okms-cli credential wait {id} --okms-id {okms_id} --cert-out {}",
                a.cert_out.display()
            ))?;
        }
    }
    if let Some(p) = key_fallback {
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

fn key_out_display(source: &Source) -> String {
    match source {
        Source::Generated { key_out } => key_out.display().to_string(),
        Source::Csr { .. } => String::new(),
    }
}

fn ensure_newline(pem: &str) -> String {
    if pem.ends_with('\n') {
        pem.to_owned()
    } else {
        format!("{pem}\n")
    }
}

/// Checks that the issued certificate holds the key we expect (refusing a mismatch, exit 4).
fn verify_cert(pem: &str, expected: Option<&PublicKey>, id: Uuid) -> CliResult<()> {
    let cert = Certificate::from_pem(pem).map_err(|e| {
        crate::commands::csr_error(
            e,
            format!("the certificate of credential {id} cannot be read"),
        )
    })?;
    if let Some(k) = expected
        && !same_public_key(&cert.public_key(), k)
    {
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!(
                "the certificate of credential {id} does not hold the expected public key (SHA-256 {}, got {}); it was not written",
                k.fingerprint_sha256(),
                cert.public_key().fingerprint_sha256()
            ),
        )
        .hint("report this to OVHcloud support with the credential id"));
    }
    Ok(())
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

/// Polls until READY with a progress line on a terminal; exit 8 on timeout.
async fn wait_ready(
    client: &Client,
    okms_id: Uuid,
    id: Uuid,
    timeout: Duration,
    out: &Output,
    cert_out: Option<&Path>,
) -> CliResult<Credential> {
    let progress = std::io::stderr().is_terminal() && !out.is_quiet();
    let start = Instant::now();
    let result = client
        .wait_until_ready_with(okms_id, id, &WaitPolicy::with_timeout(timeout), |c| {
            if progress {
                let _ = write!(
                    std::io::stderr(),
                    "\rwaiting for credential {id}: {} ({}s)   ",
                    c.status,
                    start.elapsed().as_secs()
                );
            }
        })
        .await;
    if progress {
        let _ = writeln!(std::io::stderr());
    }
    result.map_err(|e| {
        let timed_out = matches!(e, okms_api::Error::WaitTimeout { .. });
        let err = api_failure(e, format!("credential {id} did not become READY"));
        if timed_out {
            let mut cmd = format!("okms-cli credential wait {id} --okms-id {okms_id}");
            if let Some(p) = cert_out {
                cmd.push_str(&format!(" --cert-out {}", p.display()));
            }
            err.hint(format!("wait longer with: {cmd}"))
        } else {
            err
        }
    })
}

// ---------------------------------------------------------------------------------------------
// get, list, wait, delete
// ---------------------------------------------------------------------------------------------

/// The `--json` result of `credential get` and `credential wait`.
#[derive(Serialize)]
struct CredentialReport<'a> {
    credential: &'a Credential,
    cert_out: Option<String>,
}

fn show_credential(c: &Credential, out: &Output) -> CliResult<()> {
    out.field("Id", &c.id.to_string())?;
    out.field("Name", &c.name)?;
    if let Some(d) = &c.description {
        out.field("Description", d)?;
    }
    out.field("Status", c.status.as_str())?;
    if let Some(t) = &c.certificate_type {
        out.field("Certificate type", t.as_str())?;
    }
    if let Some(f) = c.from_csr {
        out.field("From CSR", if f { "yes" } else { "no" })?;
    }
    out.field("Created", &rfc3339(c.created_at))?;
    out.field("Expires", &rfc3339(c.expired_at))?;
    for (i, u) in c.identity_urns.iter().enumerate() {
        out.field(if i == 0 { "Identities" } else { "" }, u)?;
    }
    Ok(())
}

/// The end of `get` and `wait`: the certificate to `cert_out` if asked, then the credential.
fn write_and_report(
    c: &Credential,
    cert_out: Option<&Path>,
    force: bool,
    out: &Output,
) -> CliResult<()> {
    if let Some(p) = cert_out {
        write_cert(c, p, force)?;
    }
    let cert_out = cert_out.map(|p| p.display().to_string());
    if out.is_json() {
        return out.json(&CredentialReport {
            credential: c,
            cert_out,
        });
    }
    show_credential(c, out)?;
    if let Some(p) = cert_out {
        out.field("Certificate", &p)?;
    }
    Ok(())
}

fn write_cert(c: &Credential, path: &Path, force: bool) -> CliResult<()> {
    let Some(pem) = c
        .certificate_pem
        .as_deref()
        .filter(|_| c.status == CredentialStatus::Ready)
    else {
        return Err(CliError::new(
            Exit::Error,
            format!(
                "credential {} is {}: it has no certificate to write",
                c.id, c.status
            ),
        )
        .hint(format!(
            "wait for it: okms-cli credential wait {} --okms-id ID --cert-out {}",
            c.id,
            path.display()
        )));
    };
    verify_cert(pem, None, c.id)?;
    files::write_public_file(path, ensure_newline(pem).as_bytes(), force)?;
    Ok(())
}

async fn get(
    okms_id: Uuid,
    id: Uuid,
    a: &CredentialGetArgs,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    let client = client(global, out)?;
    let c = client.get_credential(okms_id, id).await.map_err(|e| {
        api_failure(
            e,
            format!("cannot read credential {id} of domain {okms_id}"),
        )
    })?;
    write_and_report(&c, a.cert_out.as_deref(), a.force, out)
}

#[derive(Serialize)]
struct ListReport<'a> {
    okms_id: Uuid,
    credentials: &'a [Credential],
}

async fn list(
    okms_id: Uuid,
    _a: &CredentialListArgs,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    let client = client(global, out)?;
    let creds = client.list_credentials(okms_id).await.map_err(|e| {
        api_failure(
            e,
            format!("cannot list the credentials of domain {okms_id}"),
        )
    })?;
    if out.is_json() {
        return out.json(&ListReport {
            okms_id,
            credentials: &creds,
        });
    }
    if creds.is_empty() {
        out.info(&format!("domain {okms_id} has no credential"));
        return Ok(());
    }
    out.line(&format!(
        "{:<36}  {:<8}  {:<5}  {:<25}  NAME",
        "ID", "STATUS", "TYPE", "EXPIRES"
    ))?;
    for c in &creds {
        out.line(&format!(
            "{:<36}  {:<8}  {:<5}  {:<25}  {}",
            c.id,
            c.status.as_str(),
            c.certificate_type.as_ref().map_or("-", |t| t.as_str()),
            rfc3339(c.expired_at),
            c.name
        ))?;
    }
    Ok(())
}

async fn wait(
    okms_id: Uuid,
    id: Uuid,
    a: &CredentialWaitArgs,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    let client = client(global, out)?;
    let c = wait_ready(&client, okms_id, id, a.timeout, out, a.cert_out.as_deref()).await?;
    write_and_report(&c, a.cert_out.as_deref(), a.force, out)
}

#[derive(Serialize)]
struct DeleteReport<'a> {
    deleted: Uuid,
    okms_id: Uuid,
    credential: Option<&'a Credential>,
}

fn delete(a: &CredentialDeleteArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
    let id = parse_uuid(&a.id, "credential id (ID)")?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !a.yes && !interactive {
        return Err(usage(format!(
            "refusing to delete credential {id} without confirmation: there is no terminal to ask on"
        ))
        .hint("pass --yes to confirm"));
    }
    block_on(async move {
        let client = client(global, out)?;
        if !a.yes {
            let c = client.get_credential(okms_id, id).await.map_err(|e| {
                api_failure(
                    e,
                    format!("cannot read credential {id} of domain {okms_id}"),
                )
            })?;
            if !confirm(&format!(
                "Revoke and delete credential {id} ({:?}, {}) of domain {okms_id}? Programs using its certificate will stop working. [y/N] ",
                c.name, c.status
            ))? {
                return Err(CliError::new(
                    Exit::Error,
                    "not confirmed; nothing was deleted",
                ));
            }
        }
        let last = client.delete_credential(okms_id, id).await.map_err(|e| {
            api_failure(
                e,
                format!("cannot delete credential {id} of domain {okms_id}"),
            )
        })?;
        if out.is_json() {
            return out.json(&DeleteReport {
                deleted: id,
                okms_id,
                credential: last.as_ref(),
            });
        }
        out.line(&format!(
            "Credential {id} is being revoked and deleted{}.",
            last.as_ref()
                .map(|c| format!(" (status {})", c.status))
                .unwrap_or_default()
        ))
    })
}

fn confirm(question: &str) -> CliResult<bool> {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(question.as_bytes());
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError {
            exit: Exit::Error,
            error: anyhow::Error::new(e).context("cannot read the answer from the terminal"),
            hint: None,
        })?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
