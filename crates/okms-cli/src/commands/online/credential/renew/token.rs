//! `credential renew` for a key on a PKCS#11 token: the new key made and used there as
//! `LABEL.new`, deployed by relabelling, destroyed with its credential when not deployed.

use std::path::PathBuf;

use okms_api::{ReconcileEvent, ReconcileOptions, Uuid, WaitPolicy};
use okms_csr::{Certificate, CsrBuilder, DistinguishedName, same_public_key};
use okms_lifecycle::{Plan, Proved};
use okms_pkcs11::{
    KeyInfo, KeyListing, ObjectType, Pin, Pkcs11Uri, TlsSigningKey, Token, TokenSigner,
};

use super::{
    Deployment, certifies, check_cert, describe_event, finish_and_report, kms_url,
    lifecycle_failure, not_due_until, pause_for_jitter, reconciliation_undecided, report_not_due,
    run_hook, with_suffix,
};
use crate::cli::{CredentialRenewArgs, GlobalArgs};
use crate::commands::online::credential::verify_cert;
use crate::commands::online::session::{block_on, client};
use crate::commands::pkcs11;
use crate::error::{CliError, CliResult, api_failure, csr_error, p11_error};
use crate::exit::Exit;
use crate::files::{self, Swap};
use crate::input;
use crate::output::Output;

/// The three labels of a token renewal: the deployed key's, the new key's until it is
/// deployed, and the old key's once replaced.
struct Labels {
    live: String,
    new: String,
    backup: String,
}

/// A token renewal, checked: the deployed certificate and the key the URI names.
struct OnToken {
    okms_id: Uuid,
    old_id: Uuid,
    cert: Certificate,
    /// The URI as given: it may carry the PIN source, for the signing session.
    uri: Pkcs11Uri,
    /// The session that generates, relabels and destroys.
    token: Token,
    /// The PIN that session logged in with, for the signing session (asked once).
    pin: Option<Pin>,
    old_key: KeyInfo,
    labels: Labels,
    new_cert: PathBuf,
    backup_cert: PathBuf,
}

impl OnToken {
    /// How the user names the key with `label` (the URI without PIN, without id=).
    fn shown(&self, label: &str) -> String {
        let mut uri = self.uri.without_pin();
        uri.object = Some(label.to_owned());
        uri.to_string()
    }

    fn token_name(&self) -> &str {
        &self.token.description().label
    }

    /// How to give the old key its deployed label back with the token's own tools.
    fn relabel_hint(&self, old_key: &KeyInfo) -> String {
        let mut by_id = self.uri.without_pin();
        if old_key.id.is_empty() {
            by_id.object = Some(self.labels.backup.clone());
        } else {
            by_id.object = None;
            by_id.id = Some(old_key.id.clone());
        }
        format!(
            "relabel the old key (id {}) {} with the token's tools, e.g. `p11tool --login --set-label={} '{by_id}'` for its private and its public key object",
            hex_id(&old_key.id),
            self.labels.live,
            self.labels.live
        )
    }

    /// How to remove the objects labelled `label` with the token's own tools.
    fn removal_hint(&self, label: &str) -> String {
        format!(
            "remove its private and public key objects with the token's tools, e.g. `pkcs11-tool --module MODULE --login --token-label {token} --delete-object --type privkey --label {label}` (and --type pubkey), or `p11tool --login --delete '{uri}'`",
            token = self.token_name(),
            uri = self.shown(label),
        )
    }
}

/// `credential renew --key pkcs11:...`: everything that can be refused is refused before the
/// token holds a new key.
pub(super) fn run_on_token(
    a: &CredentialRenewArgs,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    if a.id.is_some() {
        return Err(crate::error::usage(
            "--id writes the new pair to new files; a key on a token is renewed in place",
        )
        .hint("leave out --id, and give the deployed certificate with --cert"));
    }
    let uri = pkcs11::uri_of_path(&a.key, "--key")?;
    let Some(label) = uri.object.clone().filter(|l| !l.is_empty()) else {
        return Err(CliError::new(
            Exit::InvalidInput,
            "--key: the URI must name the key with object=LABEL",
        )
        .hint("the renewed key takes over that label, so the same URI names it afterwards"));
    };
    if uri.id.is_some() {
        // The new key cannot have the old one's id (ids are unique on a token), so a URI that
        // names the key by id would stop finding it once deployed.
        return Err(CliError::new(
            Exit::InvalidInput,
            "--key: the URI names the key by id=, which the renewed key cannot keep; nothing was created",
        )
        .hint(format!(
            "name the key by its label only (object={label}), here and wherever the deployed URI is used"
        )));
    }
    let (okms_id, old_id, cert) = check_cert(a)?;
    let (token, pin) = pkcs11::open_token_keeping_pin(&uri, &a.token, out)?;
    let old_key = token
        .find_key(&uri)
        .map_err(|e| p11_error(e, format!("cannot use the key {}", uri.without_pin())))?;
    let shown_key = uri.without_pin().to_string();
    if !same_public_key(&cert.public_key(), &old_key.public_key) {
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!(
                "{shown_key} is not the key of {} (key SHA-256 {}, certificate SHA-256 {}); nothing was created or written",
                input::display_path(&a.cert),
                old_key.public_key.fingerprint_sha256(),
                cert.public_key().fingerprint_sha256()
            ),
        )
        .hint("pass the key the certificate was issued for"));
    }
    if let Some(until) = not_due_until(a, &cert)? {
        return report_not_due(a, okms_id, old_id, &cert, &shown_key, until, out);
    }
    let r = OnToken {
        okms_id,
        old_id,
        cert,
        labels: Labels {
            new: format!("{label}.new"),
            backup: format!("{label}.bak"),
            live: label,
        },
        uri,
        token,
        pin,
        old_key,
        new_cert: with_suffix(&a.cert, ".new"),
        backup_cert: with_suffix(&a.cert, ".bak"),
    };
    refuse_taken_labels(a, &r, global, out)?;
    // Some tokens cannot change a label (no C_SetAttributeValue, or read-only objects): find
    // out by writing the old key's own label again, before there is anything to undo.
    r.token
        .relabel_key(&r.old_key, &r.labels.live, &r.uri)
        .map_err(|e| {
            p11_error(
                e,
                format!(
                    "token {:?} does not let its key labels change, so a renewed key could not take over {}; nothing was created",
                    r.token_name(),
                    r.labels.live
                ),
            )
            .hint("renew by hand instead: `okms-cli key new --pkcs11` under a new label, `csr new --key` with it, `credential create --csr`, then point your services at the new URI")
        })?;
    files::check_writable(&r.new_cert, false).map_err(|e| {
        CliError::from(e).hint(format!(
            "a previous renewal may have been interrupted after its new credential was READY; see `okms-cli credential list` for a credential of the same name, then remove {}",
            r.new_cert.display()
        ))
    })?;
    files::check_writable(&r.backup_cert, true)?;
    pause_for_jitter(a, out);
    block_on(renew_on_token(a, r, global, out))
}

/// `LABEL.new` is never reused: it may be the key of a live credential from an interrupted
/// run. `LABEL.bak`, the key of the previous renewal's old credential, is destroyed when that
/// credential is provably revoked (see [`revoked_backup`]), as the file path replaces
/// `KEY.bak`; otherwise only --force goes on, and it keeps the key.
fn refuse_taken_labels(
    a: &CredentialRenewArgs,
    r: &OnToken,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    let listing = r.token.keys(&r.uri).map_err(|e| {
        p11_error(
            e,
            format!("cannot list the keys of token {:?}", r.token_name()),
        )
    })?;
    let holders = |label: &str| {
        let mut ids: Vec<String> = listing
            .usable
            .iter()
            .filter(|k| k.label == label)
            .map(|k| hex_id(&k.id))
            .chain(
                listing
                    .skipped
                    .iter()
                    .filter(|k| k.label == label)
                    .map(|k| hex_id(&k.id)),
            )
            .collect();
        ids.sort();
        ids
    };
    let new_ids = holders(&r.labels.new);
    if !new_ids.is_empty() {
        return Err(leftover_new_key(
            r,
            &format!(
                "a key labelled {} (id {})",
                r.labels.new,
                new_ids.join(", ")
            ),
        ));
    }
    let backup_ids = holders(&r.labels.backup);
    if backup_ids.len() == 1
        && let Some((key, credential_id)) = block_on(revoked_backup(r, &listing, global, out))?
    {
        r.token.destroy_key(&key).map_err(|e| {
            p11_error(
                e,
                format!("cannot remove the previous backup key {}", r.labels.backup),
            )
        })?;
        out.warn(&format!(
            "removed the previous backup key {} (id {}) from token {:?}: its credential {credential_id} is revoked",
            r.labels.backup,
            hex_id(&key.id),
            r.token_name()
        ));
        return Ok(());
    }
    if !backup_ids.is_empty() {
        if !a.force {
            return Err(CliError::new(
                Exit::RefusedOverwrite,
                format!(
                    "token {:?} already holds a key labelled {} (id {}), where this renewal would keep the old key; nothing was created",
                    r.token_name(),
                    r.labels.backup,
                    backup_ids.join(", ")
                ),
            )
            .hint(format!(
                "that is the key of an earlier renewal: once its credential is revoked, {}; or pass --force to keep it and have two keys labelled {}",
                r.removal_hint(&r.labels.backup),
                r.labels.backup
            )));
        }
        out.warn(&format!(
            "token {:?} already holds a key labelled {} (id {}); it is kept, and the old key joins it under that label",
            r.token_name(),
            r.labels.backup,
            backup_ids.join(", ")
        ));
    }
    Ok(())
}

/// The `LABEL.bak` key, when nothing can need it any more: it is the only key under that
/// label, `CERT.bak` is an access certificate of this domain for exactly that key, and the
/// API says its credential is gone, deleting or expired. Anything less certain keeps the key.
async fn revoked_backup(
    r: &OnToken,
    listing: &KeyListing,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<Option<(KeyInfo, Uuid)>> {
    let Some(key) = listing.usable.iter().find(|k| k.label == r.labels.backup) else {
        return Ok(None);
    };
    let Some(cert) = std::fs::read_to_string(&r.backup_cert)
        .ok()
        .and_then(|pem| Certificate::from_pem(&pem).ok())
    else {
        return Ok(None);
    };
    let same_domain = cert.okms_domain().and_then(|d| d.parse::<Uuid>().ok()) == Some(r.okms_id);
    let Some(id) = cert.credential_id().and_then(|id| id.parse::<Uuid>().ok()) else {
        return Ok(None);
    };
    if !same_domain || !same_public_key(&cert.public_key(), &key.public_key) {
        return Ok(None);
    }
    let client = client(global, out)?;
    let revoked = match client.get_credential(r.okms_id, id).await {
        Ok(c) => matches!(
            c.status,
            okms_api::CredentialStatus::Deleting | okms_api::CredentialStatus::Expired
        ),
        Err(e) if e.is_not_found() => true,
        Err(e) => {
            return Err(api_failure(
                e,
                "cannot check the credential of the backup key",
            ));
        }
    };
    Ok(revoked.then(|| (key.clone(), id)))
}

/// `found` names what holds the new key's label (or, rarely, its id).
fn leftover_new_key(r: &OnToken, found: &str) -> CliError {
    CliError::new(
        Exit::RefusedOverwrite,
        format!(
            "token {:?} already holds {found}, left by an interrupted renewal; nothing was created",
            r.token_name(),
        ),
    )
    .hint(format!(
        "see `okms-cli credential list` for a credential of the same name it may belong to; delete that credential, then {}",
        r.removal_hint(&r.labels.new)
    ))
}

/// Destroys the undeployed new key; says what became of it.
fn destroy_new_key(r: &OnToken, key: &KeyInfo) -> String {
    match r.token.destroy_key(key) {
        Ok(()) => format!("the new key {} was destroyed", r.labels.new),
        Err(e) => format!(
            "destroying the new key {} failed too ({e}): {}",
            r.labels.new,
            r.removal_hint(&r.labels.new)
        ),
    }
}

/// The new key's signer, in a session of its own (a `TokenSigner` keeps its session, and the
/// proof hands it to the TLS stack for good), logged in with the PIN already given.
fn new_key_signer(
    a: &CredentialRenewArgs,
    r: &OnToken,
    key: &KeyInfo,
    out: &Output,
) -> CliResult<TokenSigner> {
    let mut uri = r.uri.clone();
    uri.object = Some(r.labels.new.clone());
    uri.id = Some(key.id.clone());
    uri.object_type = Some(ObjectType::Private);
    pkcs11::open_token_with_pin(&uri, &a.token, r.pin.as_ref(), out)?
        .into_signer(&uri)
        .map_err(|e| {
            p11_error(
                e,
                format!("cannot use the new key {}", r.shown(&r.labels.new)),
            )
        })
}

async fn renew_on_token(
    a: &CredentialRenewArgs,
    r: OnToken,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    let (okms_id, old_id) = (r.okms_id, r.old_id);
    let unchanged = format!(
        "the old pair ({} and {}) is unchanged and still works",
        a.cert.display(),
        r.shown(&r.labels.live)
    );
    let client = client(global, out)?;

    // 1. The new key, on the token before any credential can certify it; the CSR signed there.
    let alg = a.algorithm.map_or(r.old_key.algorithm, Into::into);
    if alg.is_rsa() {
        out.verbose(&format!(
            "generating an {alg} key on the token; this can take a moment"
        ));
    }
    let new_key = r
        .token
        .generate_key(alg, &r.labels.new, None, &r.uri)
        .map_err(|e| match e {
            // The listing saw no private key there: a public key object holds the label.
            okms_pkcs11::Error::KeyExists {
                attribute, value, ..
            } => leftover_new_key(&r, &format!("an object with {attribute} {value}")),
            e => p11_error(
                e,
                format!(
                    "cannot generate the new {alg} key on token {:?}",
                    r.token_name()
                ),
            ),
        })?;
    out.verbose(&format!(
        "new {alg} key generated on token {:?} as {}",
        r.token_name(),
        r.labels.new
    ));
    let signed = new_key_signer(a, &r, &new_key, out).and_then(|signer| {
        let subject: DistinguishedName = r
            .cert
            .subject()
            .parse()
            .or_else(|_| "CN=okms-renewed".parse())
            .map_err(|e| csr_error(e, "cannot name the new CSR"))?;
        let csr = CsrBuilder::new(subject)
            .build(&signer)
            .map_err(|e| csr_error(e, "cannot sign the new CSR on the token"))?;
        Ok((signer, csr))
    });
    let (signer, csr) = match signed {
        Ok(s) => s,
        Err(e) => {
            let fate = destroy_new_key(&r, &new_key);
            return Err(e.context(format!("renewal stopped; {fate}; {unchanged}")));
        }
    };

    // 2. The new credential, exactly once.
    let plan = match Plan::for_credential(&client, okms_id, old_id, csr.to_pem()).await {
        Ok(p) => p,
        Err(e) => {
            let fate = destroy_new_key(&r, &new_key);
            return Err(lifecycle_failure(
                e,
                format!("nothing was created; {fate}; {unchanged}"),
            ));
        }
    };
    let plan = match a.validity {
        Some(days) => plan.with_validity(days),
        None => plan,
    };
    let is_ours = certifies(new_key.public_key.clone());
    let on_event = |e: &ReconcileEvent| out.warn(&describe_event(e));
    let created = match plan
        .create(&client, &is_ours, &ReconcileOptions::default(), &on_event)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            // As for a key file: a candidate reconciliation could not settle may hold the key.
            let undecided = reconciliation_undecided(&e);
            if undecided {
                return Err(lifecycle_failure(e, unchanged).hint(format!(
                    "the new key is kept on the token as {new}: if `okms-cli credential list --okms-id {okms_id}` shows a new credential named {name:?}, it holds this key; delete that credential, then {removal}",
                    new = r.labels.new,
                    name = plan.old().name,
                    removal = r.removal_hint(&r.labels.new)
                )));
            }
            let fate = destroy_new_key(&r, &new_key);
            return Err(
                lifecycle_failure(e, format!("{fate}; {unchanged}")).hint("run the renewal again")
            );
        }
    };
    let new_id = created.new_id();
    out.info(&format!(
        "credential {new_id} created for the new key ({})",
        r.shown(&r.labels.new)
    ));
    let settle = WaitPolicy::with_timeout(a.timeout);

    // 3. READY, the certificate checked against the new key, then proved with the handshake
    //    signed on the token.
    let proved: Result<Proved, CliError> = async {
        let ready = created
            .wait_ready(&client, &settle)
            .await
            .map_err(|e| lifecycle_failure(e, "the new credential is not usable"))?;
        verify_cert(ready.certificate_pem(), Some(&new_key.public_key), new_id)?;
        let kms_url = kms_url(a, &client, okms_id).await?;
        let ca_pem = match &a.ca {
            Some(p) => Some(input::read_text(p, "the CA certificate")?.to_string()),
            None => None,
        };
        let key = TlsSigningKey::new(signer).into_arc();
        ready
            .prove(&kms_url, key.into(), ca_pem)
            .await
            .map_err(|e| lifecycle_failure(e, "the new pair does not work"))
    }
    .await;
    let proved = match proved {
        Ok(p) => p,
        Err(e) => {
            let revoked = created.abandon(&client, &settle).await;
            return Err(abandoned_on_token(
                revoked, new_id, &r, &new_key, &unchanged, e,
            ));
        }
    };

    // 4. Deployed: the certificate file beside the target, the token keys relabelled, then
    //    the certificate swapped in; each step undone if a later one fails.
    let deployed = deploy_on_token(a, &r, &new_key, proved.certificate_pem());
    let (old_key, new_key) = match deployed {
        Ok(keys) => keys,
        Err(DeployFailure::Undone(e)) => {
            let revoked = proved.abandon(&client, &settle).await;
            let _ = std::fs::remove_file(&r.new_cert);
            return Err(abandoned_on_token(
                revoked, new_id, &r, &new_key, &unchanged, e,
            ));
        }
        Err(DeployFailure::Stuck(e)) => {
            // The token is in neither the old state nor the new: the new credential stays live
            // so that whichever key ends up under the label has a working certificate.
            return Err(e.context(format!(
                "renewal stopped while deploying; the new credential {new_id} was kept live (its certificate is {}) and the old credential {old_id} too",
                r.new_cert.display()
            )));
        }
    };
    out.info(&format!(
        "new pair in place at {} and {} (previous certificate kept as {}, previous key as {})",
        a.cert.display(),
        r.shown(&r.labels.live),
        r.backup_cert.display(),
        r.shown(&r.labels.backup)
    ));
    out.verbose(&format!(
        "on token {:?}: {} is id {}, {} is id {}",
        r.token_name(),
        new_key.label,
        hex_id(&new_key.id),
        old_key.label,
        hex_id(&old_key.id)
    ));

    // 5. The hook, 6. the old credential, last.
    let deployment = Deployment {
        okms_id,
        old_id,
        new_id,
        key: r.shown(&r.labels.live),
        backup_cert: Some(r.backup_cert.display().to_string()),
        backup_key: Some(r.shown(&r.labels.backup)),
    };
    run_hook(a, &deployment)?;
    finish_and_report(a, proved, &client, &deployment, out).await
}

enum DeployFailure {
    /// Everything this step changed was put back: the old pair is deployed.
    Undone(CliError),
    /// Putting back failed: the error says which label each key has now.
    Stuck(CliError),
}

/// Writes the new certificate beside the target, relabels the keys (`LABEL` to `LABEL.bak`,
/// `LABEL.new` to `LABEL`), then swaps the certificate in. Returns the old and the new key as
/// now labelled.
fn deploy_on_token(
    a: &CredentialRenewArgs,
    r: &OnToken,
    new_key: &KeyInfo,
    cert_pem: &str,
) -> Result<(KeyInfo, KeyInfo), DeployFailure> {
    let relabel_error = |e, what: &str| p11_error(e, format!("cannot deploy the new key: {what}"));
    let pem = crate::commands::online::credential::ensure_newline(cert_pem);
    files::write_public_file(&r.new_cert, pem.as_bytes(), false)
        .map_err(|e| DeployFailure::Undone(e.into()))?;
    let old_key = r
        .token
        .relabel_key(&r.old_key, &r.labels.backup, &r.uri)
        .map_err(|e| {
            let restored = !matches!(
                &e,
                okms_pkcs11::Error::Relabel {
                    restored: false,
                    ..
                }
            );
            let err = relabel_error(e, "moving the old key aside");
            if restored {
                DeployFailure::Undone(err)
            } else {
                DeployFailure::Stuck(err)
            }
        })?;
    let new_key = match r.token.relabel_key(new_key, &r.labels.live, &r.uri) {
        Ok(k) => k,
        Err(e) => {
            let new_restored = !matches!(
                &e,
                okms_pkcs11::Error::Relabel {
                    restored: false,
                    ..
                }
            );
            let err = relabel_error(e, "giving the new key the deployed label");
            // Only once the new key is off the label may the old one have it back: two keys
            // under it would make the deployed URI ambiguous.
            let back = if new_restored {
                r.token
                    .relabel_key(&old_key, &r.labels.live, &r.uri)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            } else {
                Err("not tried while the new key may hold part of the label".to_owned())
            };
            return Err(match back {
                Ok(()) => DeployFailure::Undone(err),
                Err(back) => DeployFailure::Stuck(err.context(format!(
                    "and the old key could not have its label back ({back}): it is labelled {} now, so the deployed URI does not name it; {}",
                    r.labels.backup,
                    r.relabel_hint(&old_key)
                ))),
            });
        }
    };
    let swapped = files::swap_with_backup(&[Swap {
        new: r.new_cert.clone(),
        target: a.cert.clone(),
        backup: r.backup_cert.clone(),
    }]);
    if let Err(e) = swapped {
        let err = CliError::from(e);
        let undo = r
            .token
            .relabel_key(&new_key, &r.labels.new, &r.uri)
            .and_then(|_| r.token.relabel_key(&old_key, &r.labels.live, &r.uri));
        return Err(match undo {
            Ok(_) => DeployFailure::Undone(err),
            Err(back) => DeployFailure::Stuck(err.context(format!(
                "the certificate {} is still the old one, and putting the token labels back failed ({back}): the new key (id {}) may still be labelled {}; give it the label {} and the old key its label back: {}",
                a.cert.display(),
                hex_id(&new_key.id),
                r.labels.live,
                r.labels.new,
                r.relabel_hint(&old_key)
            ))),
        });
    }
    Ok((old_key, new_key))
}

/// The state after an undeployed token renewal was abandoned: the new credential revoked and
/// its key destroyed, or, if the revocation failed, both kept and named.
fn abandoned_on_token(
    revoked: okms_lifecycle::Result<Uuid>,
    new_id: Uuid,
    r: &OnToken,
    new_key: &KeyInfo,
    unchanged: &str,
    cause: CliError,
) -> CliError {
    match revoked {
        Ok(_) => {
            let fate = destroy_new_key(r, new_key);
            cause.context(format!(
                "renewal failed; the new credential {new_id} was revoked and {fate}; {unchanged}"
            ))
        }
        Err(e) => cause
            .context(format!(
                "renewal failed, and the new credential {new_id} could not be revoked ({e}); its key is kept on the token as {}; {unchanged}",
                r.labels.new
            ))
            .hint(format!(
                "revoke it: okms-cli credential delete {new_id} --yes, then {}",
                r.removal_hint(&r.labels.new)
            )),
    }
}

/// A `CKA_ID` as `key list` prints it.
fn hex_id(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
