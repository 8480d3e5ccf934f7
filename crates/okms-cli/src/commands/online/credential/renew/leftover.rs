//! A `KEY.new` left by an interrupted renewal, resolved on the next run without a human.
//!
//! The choice is to revoke and start over, never to finish: the interrupted run's credential
//! was never deployed (`KEY.new` is still beside the target), so nothing uses it, and starting
//! over goes through every check (proof included) in one code path instead of two. The
//! credential that certifies the leftover key is found among the live credentials of the old
//! one's name (a renewal's successor always takes that name); one still creating is waited for
//! first, because only its certificate can show whose key it is. Only when every such
//! credential is proved to certify another key is the leftover removed. The same goes for a
//! token's `LABEL.new`, and for a new key the saga itself had to keep.
//!
//! A run killed after its swap and before the old credential's revocation leaves the note
//! `CERT.revoke`; the next run finishes that renewal (hook, then revocation).

use std::path::Path;

use okms_api::{Client, Credential, CredentialStatus, Uuid, WaitPolicy};
use okms_csr::{Passphrase, PrivateKey, PublicKey};

use super::{Deployment, Old, RenewOptions, run_hook};
use crate::error::api_failure;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::files::{self, Beside};
use crate::input;
use crate::output::Output;

/// What a home does with a new key its saga kept (a credential may certify it): the same as
/// the next run does with a leftover, at once.
pub(super) trait Leftover {
    /// Revokes the credential that certifies the kept key, if any, then removes the key.
    fn resolve_kept(
        &mut self,
        client: &Client,
        old: &Old,
        wait: &WaitPolicy,
        out: &Output,
    ) -> impl Future<Output = CliResult<()>>;

    /// The old credential is revoked, or kept live on purpose (a failed hook, `--keep-old`):
    /// nothing is left for a next run to finish.
    fn old_revocation_settled(&self) {}
}

/// Finishes a renewal killed after its swap and before the old credential was revoked (it
/// left `CERT.revoke`): the deployed pair is the new one (`deployed`, checked against its key
/// by the caller) and `CERT.bak` the old one, so the hook runs again (it may not have run),
/// then the old credential is revoked. A note that does not match the files is stale and only
/// removed.
///
/// # Errors
/// Exit 9 when the hook fails (the old credential is then kept live, as after any failed
/// hook); API errors (the note is kept for the next run).
pub(super) async fn finish_revocation(
    o: &RenewOptions<'_>,
    client: &Client,
    deployed: &Old,
    cert: &Beside,
    key: &Path,
    out: &Output,
) -> CliResult<()> {
    let Some(previous) = noted_previous(cert, deployed) else {
        return clear_note_file(cert);
    };
    let clear = || clear_note_file(cert);
    let old_id = previous.id;
    let okms_id = deployed.okms_id;
    let live = match client.get_credential(okms_id, old_id).await {
        Ok(c) => is_live(&c),
        Err(e) if e.is_not_found() => false,
        Err(e) => return Err(api_failure(e, format!("cannot read credential {old_id}"))),
    };
    if live {
        let d = Deployment {
            key: key.display().to_string(),
            backup_cert: Some(cert.backup.display().to_string()),
            backup_key: Some(Beside::of(key).backup.display().to_string()),
        };
        if let Err(e) = run_hook(o, &previous, deployed.id, &d) {
            clear()?;
            return Err(e);
        }
        client
            .delete_credential(okms_id, old_id)
            .await
            .map_err(|e| api_failure(e, format!("cannot revoke credential {old_id}")))?;
        out.warn(&format!(
            "an interrupted renewal deployed credential {} but did not revoke {old_id}: revoked it",
            deployed.id
        ));
    }
    clear()
}

/// The previous credential the note `CERT.revoke` names, when the files bear it out: the
/// note names a credential other than the deployed one, and `CERT.bak` is its certificate.
/// `None` when there is no note, or a stale one (which the caller removes).
pub(super) fn noted_previous(cert: &Beside, deployed: &Old) -> Option<Old> {
    let note = files::pending_revocation(cert);
    let old_id = input::read_text(&note, "the note of an interrupted renewal")
        .ok()
        .and_then(|t| t.trim().parse::<Uuid>().ok())?;
    let backup = input::certificate_if_any(&cert.backup)?;
    let backup_id = okms_lifecycle::credential_id(&backup);
    if old_id == deployed.id || backup_id != Some(old_id) {
        return None;
    }
    Some(Old {
        okms_id: deployed.okms_id,
        id: old_id,
        cert: backup,
    })
}

/// Removes the note `CERT.revoke`: settled, or stale.
pub(super) fn clear_note_file(cert: &Beside) -> CliResult<()> {
    files::clear_pending_revocation(cert).map_err(|e| {
        CliError::new(
            Exit::Error,
            format!(
                "cannot remove {}: {e}",
                files::pending_revocation(cert).display()
            ),
        )
    })
}

/// Resolves a leftover `key.new` (and `cert.new`): the credential that certifies it is revoked,
/// then both files are removed. Does nothing when there is no leftover.
///
/// # Errors
/// Exit 5 when the leftover cannot be read as a key or a credential's certificate cannot be
/// obtained (it may be a live credential's only key, so it is kept); API errors.
pub(super) async fn resolve(
    client: &Client,
    renewed: &Old,
    key: &Beside,
    cert: &Beside,
    passphrase: Option<&Passphrase>,
    wait: &WaitPolicy,
    out: &Output,
) -> CliResult<()> {
    if !input::exists(&key.new) {
        return Ok(());
    }
    let shown = key.new.display().to_string();
    let public = input::read_private(&key.new, "the leftover new key")
        .ok()
        .and_then(|bytes| PrivateKey::import(&bytes, passphrase).ok())
        .map(|k| k.public_key())
        .ok_or_else(|| {
            kept(
                renewed,
                &shown,
                "it cannot be read as a private key".to_owned(),
            )
        })?;
    revoke_holder(client, renewed, &public, &shown, wait, out).await?;
    files::remove_undeployed(&[key, cert]).map_err(|e| {
        CliError::new(Exit::Error, format!("cannot remove {shown}: {e}"))
            .hint(format!("remove {shown} by hand, then renew again"))
    })
}

/// Revokes the live credential of the renewed one's name that certifies `public` (the key an
/// interrupted renewal left, shown as `shown`), if there is one; the caller then removes the
/// key.
///
/// # Errors
/// Exit 5 when a candidate's certificate cannot be obtained; API errors.
pub(super) async fn revoke_holder(
    client: &Client,
    renewed: &Old,
    public: &PublicKey,
    shown: &str,
    wait: &WaitPolicy,
    out: &Output,
) -> CliResult<()> {
    let (okms_id, old_id) = (renewed.okms_id, renewed.id);
    let old = client
        .get_credential(okms_id, old_id)
        .await
        .map_err(|e| api_failure(e, format!("cannot read credential {old_id}")))?;
    let siblings = client
        .list_credentials(okms_id)
        .await
        .map_err(|e| api_failure(e, "cannot list the domain's credentials"))?
        .into_iter()
        .filter(|c| c.name == old.name && c.id != old_id && is_live(c));
    let mut holder = None;
    for c in siblings {
        let c = match c.certificate_pem {
            Some(_) => c,
            None => client
                .wait_until_ready(okms_id, c.id, wait)
                .await
                .map_err(|_| {
                    kept(
                        renewed,
                        shown,
                        format!("credential {} has no certificate yet", c.id),
                    )
                })?,
        };
        if certifies(&c, public) {
            holder = Some(c.id);
            break;
        }
    }
    if let Some(id) = holder {
        client
            .delete_credential(okms_id, id)
            .await
            .map_err(|e| api_failure(e, format!("cannot revoke credential {id}")))?;
        out.warn(&format!(
            "an interrupted renewal left {shown}, the key of credential {id}, never deployed: revoked it and starting over"
        ));
    } else {
        out.warn(&format!(
            "an interrupted renewal left {shown}, which no live credential certifies: removing it"
        ));
    }
    Ok(())
}

/// The leftover `shown` could not be resolved because of `why`.
fn kept(renewed: &Old, shown: &str, why: String) -> CliError {
    let okms_id = renewed.okms_id;
    CliError::new(
        Exit::RefusedOverwrite,
        format!(
            "{shown} is left by an interrupted renewal, and {why}; it was kept, nothing was created"
        ),
    )
    .hint(format!(
        "see `okms-cli credential list --okms-id {okms_id}` for a credential of the same name it may belong to, delete that credential or deploy the key, then remove {shown}"
    ))
}

fn is_live(c: &Credential) -> bool {
    matches!(
        c.status,
        CredentialStatus::Creating | CredentialStatus::Ready
    )
}

fn certifies(c: &Credential, public: &PublicKey) -> bool {
    let holds_key = okms_lifecycle::holds_key(public.clone());
    c.certificate_pem.as_deref().and_then(holds_key) == Some(true)
}
