//! A `KEY.new` left by an interrupted renewal, resolved on the next run without a human.
//!
//! The choice is to revoke and start over, never to finish: the interrupted run's credential
//! was never deployed (`KEY.new` is still beside the target), so nothing uses it, and starting
//! over goes through every check (proof included) in one code path instead of two. The
//! credential that certifies the leftover key is found among the live credentials of the old
//! one's name (a renewal's successor always takes that name); one still creating is waited for
//! first, because only its certificate can show whose key it is. Only when every such
//! credential is proved to certify another key is the leftover removed.

use okms_api::{Client, Credential, CredentialStatus, WaitPolicy};
use okms_csr::{Certificate, Passphrase, PrivateKey, PublicKey, same_public_key};

use super::Old;
use crate::error::api_failure;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::files::{self, Beside};
use crate::input;
use crate::output::Output;

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
    let (okms_id, old_id) = (renewed.okms_id, renewed.id);
    let shown = key.new.display().to_string();
    let kept = |why: String| {
        CliError::new(
            Exit::RefusedOverwrite,
            format!("{shown} is left by an interrupted renewal, and {why}; it was kept, nothing was created"),
        )
        .hint(format!(
            "see `okms-cli credential list --okms-id {okms_id}` for a credential of the same name it may belong to, delete that credential or deploy the key, then remove {shown}"
        ))
    };
    let public = input::read_private(&key.new, "the leftover new key")
        .ok()
        .and_then(|bytes| PrivateKey::import(&bytes, passphrase).ok())
        .map(|k| k.public_key())
        .ok_or_else(|| kept("it cannot be read as a private key".to_owned()))?;
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
                .map_err(|_| kept(format!("credential {} has no certificate yet", c.id)))?,
        };
        if certifies(&c, &public) {
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
    files::remove_undeployed(&[key, cert]).map_err(|e| {
        CliError::new(Exit::Error, format!("cannot remove {shown}: {e}"))
            .hint(format!("remove {shown} by hand, then renew again"))
    })
}

fn is_live(c: &Credential) -> bool {
    matches!(
        c.status,
        CredentialStatus::Creating | CredentialStatus::Ready
    )
}

fn certifies(c: &Credential, public: &PublicKey) -> bool {
    c.certificate_pem
        .as_deref()
        .and_then(|pem| Certificate::from_pem(pem).ok())
        .is_some_and(|cert| same_public_key(&cert.public_key(), public))
}
