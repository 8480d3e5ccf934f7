//! `credential renew` for a key on a PKCS#11 token: the new key made and used there as
//! `LABEL.new`, deployed by relabelling (`LABEL` becomes `LABEL.bak`, `LABEL.new` becomes
//! `LABEL`, so the URI the services use names the new key), destroyed with its credential when
//! not deployed.

use okms_api::{Client, ClientKey, Uuid, WaitPolicy};
use okms_csr::{Certificate, KeyAlgorithm, same_public_key};
use okms_lifecycle::{DeployError, KeyHome, Recognizer};
use okms_pkcs11::{KeyInfo, ObjectType, Pin, Pkcs11Uri, TlsSigningKey, Token, TokenSigner};

mod deploy;
mod labels;

use deploy::{DeployFailure, deploy_on_token};
use labels::{leftover_new_key, refuse_taken_labels};

use super::broker::{self, Broker, Presented, Undeployed};
use super::leftover::{self, Leftover};
use super::outcome::Words;
use super::{
    Deployment, Old, P12Copy, RenewOptions, check_cert, key_mismatch, new_csr, not_due_until,
    pause_for_jitter, report_not_due, run_saga, within_deadline,
};
use crate::cli::GlobalArgs;
use crate::commands::online::credential::verify_cert;
use crate::commands::online::session::{block_on, client};
use crate::commands::pkcs11;
use crate::error::p11_error;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::files::{self, Beside};
use crate::input;
use crate::output::Output;

/// A token renewal, checked: the key the URI names, on a token that lets labels change.
struct OnToken<'a> {
    /// The URI as given: it may carry the PIN source, for the signing session.
    uri: Pkcs11Uri,
    /// The session that generates, relabels and destroys.
    token: Token,
    /// The PIN that session logged in with, for the signing session (asked once).
    pin: Option<Pin>,
    old_key: KeyInfo,
    labels: Labels,
    /// The certificate file and its `.new` and `.bak`.
    cert: Beside,
    /// The certificate being replaced: the new CSR's subject.
    old_cert: Certificate,
    algorithm: KeyAlgorithm,
    /// How to reach the token, for the signing session.
    token_args: &'a crate::cli::Pkcs11Args,
    /// The new key's signer, from the CSR to the proof's handshake.
    signer: Option<TokenSigner>,
    /// With --broker: the credential being replaced, noted (`CERT.revoke`) before the relabel,
    /// so that a run killed after it confirms the deployed pair next time.
    note_old: Option<Uuid>,
    out: &'a Output,
}

/// `credential renew --key pkcs11:...`: everything that can be refused is refused before the
/// token holds a new key.
pub(super) fn run(
    o: &RenewOptions<'_>,
    uri: &Pkcs11Uri,
    label: &str,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    let old = check_cert(o)?;
    let (token, pin) = pkcs11::open_token_keeping_pin(uri, o.token, out)?;
    let old_key = token
        .find_key(uri)
        .map_err(|e| p11_error(e, format!("cannot use the key {}", uri.without_pin())))?;
    let shown_key = uri.without_pin().to_string();
    if !same_public_key(&old.cert.public_key(), &old_key.public_key) {
        return Err(key_mismatch(&shown_key, o, &old_key.public_key, &old.cert)
            .hint("pass the key the certificate was issued for"));
    }
    let through_broker = match &o.broker {
        Some(target) => {
            let broker = Broker::open(o, target, out)?;
            let signer = key_signer(uri, o.token, pin.as_ref(), label, &old_key, out)?;
            let presented = Presented {
                cert_pem: old.cert.to_pem(),
                key: TlsSigningKey::new(signer).into_arc().into(),
            };
            Some((broker, presented))
        }
        None => None,
    };
    // Resolved whether or not renewal is due: a leftover must not wait for the next due date.
    let new_label = format!("{label}.new");
    let cert = Beside::of(&o.cert);
    if let Some((broker, presented)) = &through_broker
        && input::exists(&files::pending_revocation(&cert))
    {
        let mut backup_label = uri.without_pin();
        backup_label.object = Some(format!("{label}.bak"));
        let d = Deployment {
            key: shown_key.clone(),
            backup_cert: Some(cert.backup.display().to_string()),
            backup_key: Some(backup_label.to_string()),
        };
        let p = presented.clone();
        let finished = block_on(within_deadline(
            o,
            "finishing an interrupted renewal",
            broker::finish_confirmation(o, broker, p, &old, &cert, &d, out),
        ))?;
        // A token's labels are not put back on their own (as a file home's pair is): the
        // refusal says how.
        if let broker::Finished::DeployedRevoked { refused, .. } = finished {
            return Err(refused);
        }
    }
    if has_key_labelled(&token, uri, &new_label)? {
        let wait = WaitPolicy::with_timeout(o.timeout);
        block_on(within_deadline(o, "resolving a leftover new key", async {
            if let Some((broker, presented)) = &through_broker {
                let shown = format!("{new_label} on the token");
                let p = presented.clone();
                broker::resolve_leftover(o, broker, p, &old, &shown, out).await?;
                return destroy_labelled(&token, uri, &new_label, &cert);
            }
            let client = client(global, out)?;
            resolve_label(&token, uri, &new_label, &cert, &client, &old, &wait, out).await
        }))?;
    }
    if let Some(until) = not_due_until(o, &old.cert, out)? {
        return report_not_due(o, &old, &shown_key, until, out);
    }
    let mut r = OnToken {
        labels: Labels {
            new: format!("{label}.new"),
            backup: format!("{label}.bak"),
            live: label.to_owned(),
        },
        uri: uri.clone(),
        token,
        pin,
        algorithm: o.algorithm.unwrap_or(old_key.algorithm),
        old_key,
        cert: Beside::of(&o.cert),
        old_cert: old.cert.clone(),
        token_args: o.token,
        signer: None,
        note_old: through_broker.as_ref().map(|_| old.id),
        out,
    };
    let broker = through_broker.as_ref().map(|(b, _)| b);
    refuse_taken_labels(o, &r, &old, broker, global, out)?;
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
    files::check_writable(&r.cert.new, false).map_err(|e| {
        CliError::from(e).hint(format!(
            "a previous renewal may have been interrupted after its new credential was READY; see `okms-cli credential list --okms-id {}` for a credential of the same name, then remove {}",
            old.okms_id,
            r.cert.new.display()
        ))
    })?;
    files::check_writable(&r.cert.backup, true)?;
    pause_for_jitter(o, out);
    block_on(async {
        if let Some((broker, presented)) = through_broker {
            return broker::run_saga(o, &broker, presented, &mut r, &old, &cert, out).await;
        }
        let client = client(global, out)?;
        run_saga(o, &client, &mut r, &old, out).await
    })
}

/// A signer for the token key `key` labelled `label`, in a session of its own, logged in with
/// the PIN already given: how the broker is shown a pair whose key stays on the token.
fn key_signer(
    uri: &Pkcs11Uri,
    token_args: &crate::cli::Pkcs11Args,
    pin: Option<&Pin>,
    label: &str,
    key: &KeyInfo,
    out: &Output,
) -> CliResult<TokenSigner> {
    let mut uri = uri.clone();
    uri.object = Some(label.to_owned());
    uri.id = (!key.id.is_empty()).then(|| key.id.clone());
    uri.object_type = Some(ObjectType::Private);
    pkcs11::open_token_with_pin(&uri, token_args, pin, out)?
        .into_signer(&uri)
        .map_err(|e| p11_error(e, format!("cannot use the key {label} to sign")))
}

/// Destroys the keys labelled `label` (`LABEL.new`, certified by nothing any more) and the
/// never-deployed `CERT.new`.
fn destroy_labelled(token: &Token, uri: &Pkcs11Uri, label: &str, cert: &Beside) -> CliResult<()> {
    let listing = token
        .keys(uri)
        .map_err(|e| p11_error(e, "cannot list the keys of the token"))?;
    for key in listing.usable.iter().filter(|k| k.label == label) {
        token.destroy_key(key).map_err(|e| {
            p11_error(
                e,
                format!(
                    "cannot destroy the leftover key {label} (id {})",
                    hex_id(&key.id)
                ),
            )
        })?;
    }
    files::remove_undeployed(&[cert]).map_err(|e| {
        CliError::new(
            Exit::Error,
            format!("cannot remove {}: {e}", cert.new.display()),
        )
    })
}

impl KeyHome for OnToken<'_> {
    type Key = KeyInfo;
    type Deployed = Deployment;
    type Error = CliError;

    async fn make_key(&mut self) -> CliResult<KeyInfo> {
        let alg = self.algorithm;
        if alg.is_rsa() {
            self.out.verbose(&format!(
                "generating an {alg} key on the token; this can take a moment"
            ));
        }
        let key = self
            .token
            .generate_key(alg, &self.labels.new, None, &self.uri)
            .map_err(|e| match e {
                // The listing saw no private key there: a public key object holds the label.
                okms_pkcs11::Error::KeyExists {
                    attribute, value, ..
                } => leftover_new_key(self, &format!("an object with {attribute} {value}")),
                e => p11_error(
                    e,
                    format!(
                        "cannot generate the new {alg} key on token {:?}",
                        self.token_name()
                    ),
                ),
            })?;
        self.out.verbose(&format!(
            "new {alg} key generated on token {:?} as {}",
            self.token_name(),
            self.labels.new
        ));
        Ok(key)
    }

    async fn sign_csr(&mut self, key: &KeyInfo) -> CliResult<String> {
        let signer = self.new_key_signer(key)?;
        let csr = new_csr(
            &self.old_cert,
            &signer,
            "cannot sign the new CSR on the token",
        )?;
        self.signer = Some(signer);
        Ok(csr)
    }

    fn recognizer(&self, key: &KeyInfo) -> Recognizer {
        okms_lifecycle::holds_key(key.public_key.clone())
    }

    fn check_certificate(&self, key: &KeyInfo, new_id: Uuid, pem: &str) -> CliResult<()> {
        verify_cert(pem, Some(&key.public_key), new_id)
    }

    async fn proof_key(&mut self, key: &mut KeyInfo) -> CliResult<ClientKey> {
        // The signer's session goes to the TLS stack for good: a second proof needs a new one.
        let signer = match self.signer.take() {
            Some(signer) => signer,
            None => self.new_key_signer(key)?,
        };
        Ok(TlsSigningKey::new(signer).into_arc().into())
    }

    async fn deploy(
        &mut self,
        key: &KeyInfo,
        pem: &str,
    ) -> Result<Deployment, DeployError<CliError>> {
        let (old_key, new_key) = match deploy_on_token(self, key, pem) {
            Ok(keys) => keys,
            Err(DeployFailure::Undone(e)) => {
                // Not deployed: its certificate file must not look like a pending deployment,
                // nor its note like an unconfirmed one.
                let _ = files::remove_undeployed(&[&self.cert]);
                let _ = files::clear_pending_revocation(&self.cert);
                return Err(DeployError::Undone(e));
            }
            Err(DeployFailure::Stuck(e)) => return Err(DeployError::Stuck(e)),
        };
        self.out.info(&format!(
            "new pair in place at {} and {} (previous certificate kept as {}, previous key as {})",
            self.cert.target.display(),
            self.shown(&self.labels.live),
            self.cert.backup.display(),
            self.shown(&self.labels.backup)
        ));
        self.out.verbose(&format!(
            "on token {:?}: {} is id {}, {} is id {}",
            self.token_name(),
            new_key.label,
            hex_id(&new_key.id),
            old_key.label,
            hex_id(&old_key.id)
        ));
        Ok(Deployment {
            key: self.shown(&self.labels.live),
            backup_cert: Some(self.cert.backup.display().to_string()),
            backup_key: Some(self.shown(&self.labels.backup)),
        })
    }

    async fn discard(&mut self, key: KeyInfo) -> CliResult<()> {
        // The signing session goes first: it holds the key the token is asked to destroy.
        self.signer = None;
        self.token
            .destroy_key(&key)
            .map_err(|e| CliError::new(Exit::Error, e))
    }
}

// A key on a token is never copied out (`--p12-out` is refused up front).
impl P12Copy for OnToken<'_> {}

impl Undeployed for OnToken<'_> {
    fn remove_new_key(&mut self) -> CliResult<()> {
        // The signing session goes first: it holds the key the token is asked to destroy.
        self.signer = None;
        destroy_labelled(&self.token, &self.uri, &self.labels.new, &self.cert)
    }
}

impl Leftover for OnToken<'_> {
    async fn resolve_kept(
        &mut self,
        client: &Client,
        old: &Old,
        wait: &WaitPolicy,
        out: &Output,
    ) -> CliResult<()> {
        // The signing session goes first: it holds the key the token is asked to destroy.
        self.signer = None;
        let label = &self.labels.new;
        resolve_label(
            &self.token,
            &self.uri,
            label,
            &self.cert,
            client,
            old,
            wait,
            out,
        )
        .await
    }
}

/// Whether the token holds a private key labelled `label`.
fn has_key_labelled(token: &Token, uri: &Pkcs11Uri, label: &str) -> CliResult<bool> {
    let listing = token
        .keys(uri)
        .map_err(|e| p11_error(e, "cannot list the keys of the token"))?;
    Ok(listing.usable.iter().any(|k| k.label == label))
}

/// Resolves the keys labelled `label` (`LABEL.new`) that an interrupted renewal left, as a
/// leftover `KEY.new` is: the credential that certifies each is revoked, then the key is
/// destroyed (with `CERT.new`, never deployed).
#[allow(clippy::too_many_arguments)]
async fn resolve_label(
    token: &Token,
    uri: &Pkcs11Uri,
    label: &str,
    cert: &Beside,
    client: &Client,
    old: &Old,
    wait: &WaitPolicy,
    out: &Output,
) -> CliResult<()> {
    let listing = token
        .keys(uri)
        .map_err(|e| p11_error(e, "cannot list the keys of the token"))?;
    for key in listing.usable.iter().filter(|k| k.label == label) {
        let shown = format!("{label} (id {})", hex_id(&key.id));
        leftover::revoke_holder(client, old, &key.public_key, &shown, wait, out).await?;
        token
            .destroy_key(key)
            .map_err(|e| p11_error(e, format!("cannot destroy the leftover key {shown}")))?;
    }
    files::remove_undeployed(&[cert]).map_err(|e| {
        CliError::new(
            Exit::Error,
            format!("cannot remove {}: {e}", cert.new.display()),
        )
    })
}

impl Words for OnToken<'_> {
    fn new_key_shown(&self) -> String {
        self.shown(&self.labels.new)
    }

    fn unchanged(&self) -> String {
        format!(
            "the old pair is unchanged and still works ({} and {})",
            self.cert.target.display(),
            self.shown(&self.labels.live)
        )
    }

    fn kept(&self) -> String {
        format!("on the token as {}", self.labels.new)
    }

    fn removal(&self) -> String {
        self.removal_hint(&self.labels.new)
    }

    fn discarded(&self) -> String {
        format!("the new key {} was destroyed", self.labels.new)
    }

    fn discard_failed(&self, e: &CliError) -> String {
        format!(
            "destroying the new key {} failed too ({:#}): {}",
            self.labels.new,
            e.error,
            self.removal_hint(&self.labels.new)
        )
    }

    fn half_deployed(&self, cause: CliError, old: &Old, new_id: Uuid) -> CliError {
        // The token is in neither the old state nor the new: the new credential stays live so
        // that whichever key ends up under the label has a working certificate.
        cause.context(format!(
            "renewal stopped while deploying; the new credential {new_id} was kept live (its certificate is {}) and the old credential {} too",
            self.cert.new.display(),
            old.id
        ))
    }
}

/// The three labels of a token renewal: the deployed key's, the new key's until it is
/// deployed, and the old key's once replaced.
struct Labels {
    live: String,
    new: String,
    backup: String,
}

impl OnToken<'_> {
    /// The new key's signer, in a session of its own (a `TokenSigner` keeps its session, and
    /// the proof hands it to the TLS stack for good), logged in with the PIN already given.
    fn new_key_signer(&self, key: &KeyInfo) -> CliResult<TokenSigner> {
        let label = &self.labels.new;
        key_signer(
            &self.uri,
            self.token_args,
            self.pin.as_ref(),
            label,
            key,
            self.out,
        )
        .map_err(|e| e.context(format!("cannot use the new key {}", self.shown(label))))
    }

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

/// A `CKA_ID` as `key list` prints it.
fn hex_id(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
