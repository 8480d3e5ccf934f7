//! `credential renew` for a key in a file: the new key written 0600 as `KEY.new`, deployed by
//! swapping `KEY.new`/`CERT.new` in with the old pair kept as `KEY.bak`/`CERT.bak`, removed
//! when not deployed.

use std::path::Path;

use okms_api::{ClientKey, SecretString, Uuid, WaitPolicy};
use okms_csr::{
    Certificate, ExposeSecret as _, KeyAlgorithm, KeyEncoding, KeyFormat, KeyLayout, KeyProtection,
    Passphrase, PrivateKey, same_public_key,
};
use okms_lifecycle::{DeployError, KeyHome, Recognizer};

use super::broker::{self, Broker, Finished, Presented, Undeployed};
use super::leftover::{self, Leftover};
use super::options::ById;
use super::outcome::Words;
use super::restore::{FilePair, put_previous_back};
use super::{
    Deployment, Old, P12Copy, RenewOptions, check_cert, key_mismatch, new_csr, not_due_until,
    pause_for_jitter, report_not_due, run_saga, within_deadline,
};
use crate::cli::GlobalArgs;
use crate::commands::cert_export::{P12Options, P12Report};
use crate::commands::online::credential::p12_out::StagedP12;
use crate::commands::online::credential::{ensure_newline, verify_cert};
use crate::commands::online::session::{block_on, client};
use crate::error::api_failure;
use crate::error::csr_error;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::files::{self, Beside, WriteError};
use crate::input;
use crate::input::passphrase::{self, Purpose};
use crate::output::Output;

/// `credential renew --key PATH`.
pub(super) fn run(
    o: &RenewOptions<'_>,
    key: &Path,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    let broker = match &o.broker {
        Some(target) => Some(Broker::open(o, target, out)?),
        None => None,
    };
    let (old, algorithm, writing, presented) = match o.by_id {
        Some(by_id) => {
            let reading = credential_by_id(o, key, by_id, global, out);
            let (old, algorithm) = block_on(within_deadline(o, "reading the credential", reading))?;
            (old, algorithm, KeyWriting::fresh(), None)
        }
        None => check_deployed(o, key)?,
    };
    // --broker conflicts with --id: a broker run always has the deployed pair to present.
    let through_broker = broker.as_ref().zip(presented);
    let home = FileHome {
        old_id: old.id,
        algorithm: o.algorithm.unwrap_or(algorithm),
        writing,
        old_cert: old.cert.clone(),
        key: Beside::of(key),
        cert: Beside::of(&o.cert),
        replaced: o.by_id.is_none(),
        p12: None,
        out,
    };
    // Resolved whether or not renewal is due: a leftover must not wait for the next due date.
    if input::exists(&files::pending_revocation(&home.cert)) {
        let put_back = block_on(within_deadline(
            o,
            "finishing an interrupted renewal",
            async {
                if let Some((broker, presented)) = &through_broker {
                    let d = Deployment {
                        key: key.display().to_string(),
                        backup_cert: Some(home.cert.backup.display().to_string()),
                        backup_key: Some(home.key.backup.display().to_string()),
                    };
                    let p = presented.clone();
                    let finished =
                        broker::finish_confirmation(o, broker, p, &old, &home.cert, &d, out);
                    let Finished::DeployedRevoked { previous, refused } = finished.await? else {
                        return Ok(false);
                    };
                    let pair = FilePair {
                        key: &home.key,
                        cert: &home.cert,
                        p12: o.p12.p12_out.as_deref().map(Beside::of),
                        passphrase: home.writing.passphrase.as_ref(),
                    };
                    put_previous_back(o, broker, &pair, *previous, refused, out).await?;
                    return Ok(true);
                }
                let client = client(global, out)?;
                leftover::finish_revocation(o, &client, &old, &home.cert, key, out).await?;
                Ok(false)
            },
        ))?;
        if put_back {
            // The previous pair is deployed again, and was due: renewed from it, as the next
            // run would (once: the note that led here is gone).
            return run(o, key, global, out);
        }
    }
    if input::exists(&home.key.new) {
        let wait = WaitPolicy::with_timeout(o.timeout);
        block_on(within_deadline(o, "resolving a leftover new key", async {
            if let Some((broker, presented)) = &through_broker {
                let shown = home.key.new.display().to_string();
                let p = presented.clone();
                broker::resolve_leftover(o, broker, p, &old, &shown, out).await?;
                return remove_new_files(&home.key, &home.cert, None);
            }
            let client = client(global, out)?;
            leftover::resolve(
                &client,
                &old,
                &home.key,
                &home.cert,
                home.writing.passphrase.as_ref(),
                &wait,
                out,
            )
            .await
        }))?;
    }
    if let Some(until) = not_due_until(o, &old.cert, out)? {
        return report_not_due(o, &old, &key.display().to_string(), until, out);
    }
    // Before anything exists on the API side: every file this run will write must be writable.
    for p in [&home.key.new, &home.cert.new] {
        files::check_writable(p, false).map_err(|e| {
            CliError::from(e).hint(format!(
                "a previous renewal may have been interrupted: its new key is {}; see `okms-cli credential list --okms-id {}` for a credential of the same name it may belong to, delete that credential or deploy the key, then remove the file",
                home.key.new.display(),
                old.okms_id
            ))
        })?;
    }
    for p in [&home.key.backup, &home.cert.backup] {
        files::check_writable(p, true)?;
    }
    for at in [&home.key, &home.cert] {
        files::check_take_over(at).map_err(|e| {
            CliError::from(e).context("nothing was created").hint(format!(
                "the new {} must get the owner, group and mode of {}: renew as root or as its owner",
                at.new.display(),
                at.target.display()
            ))
        })?;
    }
    let mut home = home;
    if let Some(path) = &o.p12.p12_out {
        let options = P12Options::of_output(o.p12, o.ca.as_deref(), o.passphrase);
        let pair = [home.key.target.as_path(), home.cert.target.as_path()];
        let replaced = o.by_id.is_none();
        let rsa = home.algorithm.is_rsa();
        home.p12 = Some(StagedP12::prepare(
            path, replaced, &pair, &options, rsa, out,
        )?);
    }
    pause_for_jitter(o, out);
    block_on(async {
        if let Some((broker, presented)) = through_broker {
            let checking = refuse_live_backup(Ask::Broker(broker, o), old.okms_id, &home);
            within_deadline(o, "checking the backup pair", checking).await?;
            let cert = Beside::of(&o.cert);
            return broker::run_saga(o, broker, presented, &mut home, &old, &cert, out).await;
        }
        let client = client(global, out)?;
        let checking = refuse_live_backup(Ask::Api(&client), old.okms_id, &home);
        within_deadline(o, "checking the backup pair", checking).await?;
        run_saga(o, &client, &mut home, &old, out).await
    })
}

/// Whom [`refuse_live_backup`] asks whether the backup pair's credential is live.
enum Ask<'a> {
    /// The API (the credential's status).
    Api(&'a okms_api::Client),
    /// The broker (whether it serves the backup pair).
    Broker(&'a Broker, &'a RenewOptions<'a>),
}

/// The deployed pair, checked: the old credential, the old key's algorithm, how the old key
/// is stored (which the new one copies) and, with --broker, the pair as presented to it.
fn check_deployed(
    o: &RenewOptions<'_>,
    key_path: &Path,
) -> CliResult<(Old, KeyAlgorithm, KeyWriting, Option<Presented>)> {
    let old = check_cert(o)?;
    let name = input::display_path(key_path);
    let bytes = input::read_private(key_path, "the private key")?;
    let cannot_load = |e| csr_error(e, format!("cannot load the private key {name}"));
    let layout = PrivateKey::layout_of(&bytes).map_err(cannot_load)?;
    let passphrase = match layout.protection {
        KeyProtection::EncryptedPkcs8 => {
            Some(passphrase::obtain(o.passphrase, Purpose::Decrypt, &name)?)
        }
        KeyProtection::Plain(_) => None,
    };
    let key = PrivateKey::import(&bytes, passphrase.as_ref()).map_err(cannot_load)?;
    if !same_public_key(&old.cert.public_key(), &key.public_key()) {
        // A renewal stopped between its two renames leaves the new key in place and the new
        // certificate beside the old one: say how to finish instead of only refusing.
        let new_cert = Beside::of(&o.cert).new;
        let interrupted = input::certificate_if_any(&new_cert)
            .is_some_and(|c| same_public_key(&c.public_key(), &key.public_key()));
        let hint = if interrupted {
            format!(
                "an interrupted renewal deployed the new key but not its certificate {}: finish it with `mv {} {}.bak && mv {} {}` (the old credential stays live: revoke it once nothing uses it)",
                new_cert.display(),
                o.cert.display(),
                o.cert.display(),
                new_cert.display(),
                o.cert.display()
            )
        } else {
            "pass the key the certificate was issued for".to_owned()
        };
        let shown_key = input::display_path(key_path);
        return Err(key_mismatch(&shown_key, o, &key.public_key(), &old.cert).hint(hint));
    }
    let presented = match o.broker {
        Some(_) => Some(Presented::of_key(&old.cert, &key)?),
        None => None,
    };
    let writing = KeyWriting { layout, passphrase };
    Ok((old, key.algorithm(), writing, presented))
}

/// Removes a new key and certificate never deployed (and the staged `--p12-out` copy).
fn remove_new_files(key: &Beside, cert: &Beside, p12: Option<&Beside>) -> CliResult<()> {
    let mut staged = vec![key, cert];
    staged.extend(p12);
    files::remove_undeployed(&staged).map_err(|e| {
        CliError::new(
            Exit::Error,
            format!("cannot remove {}: {e}", key.new.display()),
        )
        .hint(format!(
            "remove {} by hand, then renew again",
            key.new.display()
        ))
    })
}

/// `--id`: the credential as the API shows it, and --cert/--key free to receive the new pair.
async fn credential_by_id(
    o: &RenewOptions<'_>,
    key: &Path,
    by_id: ById,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<(Old, KeyAlgorithm)> {
    let ById {
        okms_id,
        credential_id,
    } = by_id;
    for target in [o.cert.as_path(), key] {
        if input::exists(target) {
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
        .hint(format!(
            "wait for it: okms-cli credential wait {credential_id} --okms-id {okms_id}"
        )));
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
    o.run.old(okms_id, credential_id);
    let old = Old {
        okms_id,
        id: credential_id,
        cert,
    };
    Ok((old, algorithm))
}

/// Refuses to replace `KEY.bak` unless it is provably nobody's key any more. After a failed
/// hook (or `--keep-old`) the previous credential stays live with its key only in `KEY.bak`;
/// overwriting it would leave a live credential whose key nobody holds. So `KEY.bak` is
/// replaced only when `CERT.bak` is an access certificate of this domain for exactly that key
/// and the API reports its credential gone, deleting or expired.
async fn refuse_live_backup(ask: Ask<'_>, okms_id: Uuid, home: &FileHome<'_>) -> CliResult<()> {
    if !input::exists(&home.key.backup) {
        return Ok(());
    }
    let (key_bak, cert_bak) = (home.key.backup.display(), home.cert.backup.display());
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
    let cert = input::certificate_if_any(&home.cert.backup)
        .ok_or_else(|| unproven(format!("{cert_bak} is missing or not a certificate")))?;
    if okms_lifecycle::okms_domain(&cert) != Some(okms_id) {
        return Err(unproven(format!(
            "{cert_bak} is not a certificate of domain {okms_id}"
        )));
    }
    let id = okms_lifecycle::credential_id(&cert)
        .ok_or_else(|| unproven(format!("{cert_bak} names no credential")))?;
    // A backup written by an earlier renewal is protected as the deployed key is.
    let key = input::read_private(&home.key.backup, "the backup key")
        .ok()
        .and_then(|bytes| PrivateKey::import(&bytes, home.writing.passphrase.as_ref()).ok())
        .ok_or_else(|| unproven("it cannot be read as a private key".to_owned()))?;
    if !same_public_key(&cert.public_key(), &key.public_key()) {
        return Err(unproven(format!("it is not the key of {cert_bak}")));
    }
    let client = match ask {
        Ask::Api(client) => client,
        Ask::Broker(broker, o) => {
            let pair = Presented::of_key(&cert, &key)?;
            let backup = Old { okms_id, id, cert };
            return match broker::backup_live(o, broker, &backup, pair).await? {
                true => Err(live_backup(id, okms_id, home, true)),
                false => Ok(()),
            };
        }
    };
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
    Err(live_backup(id, okms_id, home, false))
}

/// The backup pair belongs to credential `id`, still live.
fn live_backup(id: Uuid, okms_id: Uuid, home: &FileHome<'_>, broker: bool) -> CliError {
    let (key_bak, cert_bak) = (home.key.backup.display(), home.cert.backup.display());
    let revoke = if broker {
        "ask the broker's operator to revoke it".to_owned()
    } else {
        format!("revoke it with `okms-cli credential delete {id} --okms-id {okms_id} --yes`")
    };
    CliError::new(
        Exit::RefusedOverwrite,
        format!(
            "the backup pair {cert_bak} / {key_bak} belongs to credential {id}, which is still live; replacing it would leave that credential with no key"
        ),
    )
    .hint(format!(
        "once nothing uses the old pair any more, {revoke} (or move the .bak files elsewhere), then renew again; nothing was created"
    ))
}

/// How the new key file is written: as the one it replaces (same structure, PEM or DER, and
/// encrypted with the same passphrase), so that whatever reads it keeps reading it.
struct KeyWriting {
    layout: KeyLayout,
    passphrase: Option<Passphrase>,
}

impl KeyWriting {
    /// With nothing to copy (`--id`): unencrypted PKCS#8 PEM, what `csr new` writes.
    fn fresh() -> Self {
        KeyWriting {
            layout: KeyLayout {
                protection: KeyProtection::Plain(KeyFormat::Pkcs8),
                encoding: KeyEncoding::Pem,
            },
            passphrase: None,
        }
    }
}

/// The new key lives in `KEY.new` until it is swapped in.
struct FileHome<'a> {
    /// The credential being replaced, noted as to be revoked while the swap is under way.
    old_id: Uuid,
    algorithm: KeyAlgorithm,
    writing: KeyWriting,
    /// The certificate being replaced: the new CSR's subject.
    old_cert: Certificate,
    key: Beside,
    cert: Beside,
    /// Whether a pair is in place to be kept as the backup (not with --id).
    replaced: bool,
    /// `--p12-out`: staged as `FILE.new` and swapped in with the pair.
    p12: Option<StagedP12>,
    out: &'a Output,
}

/// The new key, and its PEM for the proof's handshake.
struct NewKey {
    key: PrivateKey,
    pem: SecretString,
}

impl KeyHome for FileHome<'_> {
    type Key = NewKey;
    type Deployed = Deployment;
    type Error = CliError;

    async fn make_key(&mut self) -> CliResult<NewKey> {
        let alg = self.algorithm;
        let key =
            PrivateKey::generate(alg).map_err(|e| csr_error(e, "cannot generate the new key"))?;
        let encode = |e| csr_error(e, "cannot encode the new key");
        let stored = key
            .to_layout(self.writing.layout, self.writing.passphrase.as_ref())
            .map_err(encode)?;
        files::write_new_key(&self.key, &stored)?;
        // The proof's handshake takes the plain key, which never reaches the disk.
        let pem = key.to_pem(KeyFormat::Pkcs8).map_err(encode)?;
        self.out.verbose(&format!(
            "new {alg} key written to {}",
            self.key.new.display()
        ));
        Ok(NewKey {
            key,
            pem: SecretString::from(pem.expose_secret().to_owned()),
        })
    }

    async fn sign_csr(&mut self, key: &NewKey) -> CliResult<String> {
        new_csr(&self.old_cert, &key.key, "cannot build the new CSR")
    }

    fn recognizer(&self, key: &NewKey) -> Recognizer {
        okms_lifecycle::holds_key(key.key.public_key())
    }

    fn check_certificate(&self, key: &NewKey, new_id: Uuid, pem: &str) -> CliResult<()> {
        verify_cert(pem, Some(&key.key.public_key()), new_id)
    }

    async fn proof_key(&mut self, key: &mut NewKey) -> CliResult<ClientKey> {
        Ok(key.pem.clone().into())
    }

    async fn deploy(
        &mut self,
        key: &NewKey,
        pem: &str,
    ) -> Result<Deployment, DeployError<CliError>> {
        // Noted before the swap: a run killed after it leaves the note for the next run.
        let noted = || match self.replaced {
            true => files::note_pending_revocation(&self.cert, &self.old_id.to_string()),
            false => Ok(()),
        };
        if let Some(p12) = &mut self.p12 {
            p12.stage(&key.pem, pem).map_err(DeployError::Undone)?;
        }
        let mut deployed = vec![&self.key, &self.cert];
        deployed.extend(self.p12.as_ref().map(StagedP12::at));
        let swapped = files::write_new_cert(&self.cert, &ensure_newline(pem))
            .and_then(|()| noted())
            .and_then(|()| files::swap_in(&deployed));
        match swapped {
            Ok(()) => {}
            // Half deployed: the new key may be in use at its target.
            Err(e @ WriteError::SwapIncomplete { .. }) => return Err(DeployError::Stuck(e.into())),
            Err(e) => {
                // The old pair is deployed: nothing to revoke (a note left is found stale).
                let _ = files::clear_pending_revocation(&self.cert);
                return Err(DeployError::Undone(e.into()));
            }
        }
        let (cert, key) = (self.cert.target.display(), self.key.target.display());
        if self.replaced {
            self.out.info(&format!(
                "new pair in place at {cert} and {key} (previous pair kept as {} and {})",
                self.cert.backup.display(),
                self.key.backup.display()
            ));
        } else {
            self.out
                .info(&format!("new pair written to {cert} and {key}"));
        }
        if let Some(p12) = &self.p12 {
            p12.tell_deployed(self.out);
        }
        Ok(Deployment {
            key: key.to_string(),
            backup_cert: self
                .replaced
                .then(|| self.cert.backup.display().to_string()),
            backup_key: self.replaced.then(|| self.key.backup.display().to_string()),
        })
    }

    async fn discard(&mut self, _key: NewKey) -> CliResult<()> {
        let mut staged = vec![&self.key, &self.cert];
        staged.extend(self.p12.as_ref().map(StagedP12::at));
        files::remove_undeployed(&staged).map_err(|e| {
            CliError::new(
                Exit::Error,
                format!("cannot remove {}: {e}", self.key.new.display()),
            )
        })
    }
}

impl Undeployed for FileHome<'_> {
    fn remove_new_key(&mut self) -> CliResult<()> {
        remove_new_files(&self.key, &self.cert, self.p12.as_ref().map(StagedP12::at))
    }
}

impl P12Copy for FileHome<'_> {
    fn domain_read(&mut self, domain: Option<&okms_api::Domain>) {
        if let (Some(p12), Some(domain)) = (self.p12.as_mut(), domain) {
            p12.domain_read(domain, self.out);
        }
    }

    fn p12_written(&self) -> Option<P12Report> {
        self.p12.as_ref().and_then(StagedP12::written)
    }
}

impl Leftover for FileHome<'_> {
    async fn resolve_kept(
        &mut self,
        client: &okms_api::Client,
        old: &Old,
        wait: &WaitPolicy,
        out: &Output,
    ) -> CliResult<()> {
        let passphrase = self.writing.passphrase.as_ref();
        leftover::resolve(client, old, &self.key, &self.cert, passphrase, wait, out).await
    }

    fn old_revocation_settled(&self) {
        if let Err(e) = files::clear_pending_revocation(&self.cert) {
            self.out.warn(&format!(
                "cannot remove {}: {e}; remove it by hand, or the next run revokes the old credential",
                files::pending_revocation(&self.cert).display()
            ));
        }
    }
}

impl Words for FileHome<'_> {
    fn new_key_shown(&self) -> String {
        self.key.new.display().to_string()
    }

    fn unchanged(&self) -> String {
        format!(
            "the old pair is unchanged and still works ({} and {})",
            self.cert.target.display(),
            self.key.target.display()
        )
    }

    fn kept(&self) -> String {
        format!("at {}", self.key.new.display())
    }

    fn removal(&self) -> String {
        format!("remove {}", self.key.new.display())
    }

    fn discarded(&self) -> String {
        format!("the new key {} was removed", self.key.new.display())
    }

    fn revoked_and_discarded(&self) -> String {
        "its key removed".to_owned()
    }

    fn discard_failed(&self, e: &CliError) -> String {
        format!(
            "removing the new key failed ({:#}): remove {} by hand",
            e.error,
            self.key.new.display()
        )
    }

    fn half_deployed(&self, cause: CliError, old: &Old, new_id: Uuid) -> CliError {
        cause
            .context(format!(
                "renewal stopped half way through deploying: both the old credential {} and the new one {new_id} stay live",
                old.id
            ))
            .hint(format!(
                "put the old pair back (move {} over {} and {} over {}), then revoke the new credential: okms-cli credential delete {new_id} --okms-id {okms_id} --yes; or finish by hand with the .new files, then revoke the old one: okms-cli credential delete {} --okms-id {okms_id} --yes",
                self.key.backup.display(),
                self.key.target.display(),
                self.cert.backup.display(),
                self.cert.target.display(),
                old.id,
                okms_id = old.okms_id
            ))
    }
}
