//! Deploying a new key on a token: relabelled into place, the certificate swapped in, and
//! everything put back when a step fails.

use okms_pkcs11::KeyInfo;

use super::{OnToken, hex_id};
use crate::commands::online::credential::ensure_newline;
use crate::error::CliError;
use crate::error::p11_error;
use crate::files;

pub(super) enum DeployFailure {
    /// Everything this step changed was put back: the old pair is deployed.
    Undone(CliError),
    /// Putting back failed: the error says which label each key has now.
    Stuck(CliError),
}

/// Writes the new certificate beside the target, relabels the keys (`LABEL` to `LABEL.bak`,
/// `LABEL.new` to `LABEL`), then swaps the certificate in. Returns the old and the new key as
/// now labelled.
pub(super) fn deploy_on_token(
    r: &OnToken<'_>,
    new_key: &KeyInfo,
    cert_pem: &str,
) -> Result<(KeyInfo, KeyInfo), DeployFailure> {
    let relabel_error = |e, what: &str| p11_error(e, format!("cannot deploy the new key: {what}"));
    files::write_new_cert(&r.cert, &ensure_newline(cert_pem))
        .map_err(|e| DeployFailure::Undone(e.into()))?;
    if let Some(old_id) = r.note_old {
        files::note_pending_revocation(&r.cert, &old_id.to_string())
            .map_err(|e| DeployFailure::Undone(e.into()))?;
    }
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
    let swapped = files::swap_in(&[&r.cert]);
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
                r.cert.target.display(),
                hex_id(&new_key.id),
                r.labels.live,
                r.labels.new,
                r.relabel_hint(&old_key)
            ))),
        });
    }
    Ok((old_key, new_key))
}
