//! The labels a token renewal takes: `LABEL.new` must be free, `LABEL.bak` free or the key of
//! a provably revoked credential (asked of the API, or of the broker with --broker).

use okms_api::Uuid;
use okms_csr::same_public_key;
use okms_pkcs11::{KeyInfo, KeyListing, TlsSigningKey};

use super::super::broker::{self, Broker, Presented};
use super::super::{Old, RenewOptions};
use super::{OnToken, hex_id, key_signer};
use crate::cli::GlobalArgs;
use crate::commands::online::session::{block_on, client};
use crate::error::api_failure;
use crate::error::p11_error;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::input;
use crate::output::Output;

/// `LABEL.new` is never reused: it may be the key of a live credential from an interrupted
/// run. `LABEL.bak`, the key of the previous renewal's old credential, is destroyed when that
/// credential is provably revoked (see [`revoked_backup`]), as the file path replaces
/// `KEY.bak`; otherwise only --force goes on, and it keeps the key.
pub(super) fn refuse_taken_labels(
    o: &RenewOptions<'_>,
    r: &OnToken<'_>,
    old: &Old,
    broker: Option<&Broker>,
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
        && let Some((key, credential_id)) = block_on(revoked_backup(
            o,
            r,
            old.okms_id,
            &listing,
            broker,
            global,
            out,
        ))?
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
        if !o.keep_second_backup {
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
    o: &RenewOptions<'_>,
    r: &OnToken<'_>,
    okms_id: Uuid,
    listing: &KeyListing,
    broker: Option<&Broker>,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<Option<(KeyInfo, Uuid)>> {
    let Some(key) = listing.usable.iter().find(|k| k.label == r.labels.backup) else {
        return Ok(None);
    };
    let Some(cert) = input::certificate_if_any(&r.cert.backup) else {
        return Ok(None);
    };
    let same_domain = okms_lifecycle::okms_domain(&cert) == Some(okms_id);
    let Some(id) = okms_lifecycle::credential_id(&cert) else {
        return Ok(None);
    };
    if !same_domain || !same_public_key(&cert.public_key(), &key.public_key) {
        return Ok(None);
    }
    if let Some(broker) = broker {
        let label = &r.labels.backup;
        let signer = key_signer(&r.uri, r.token_args, r.pin.as_ref(), label, key, out)?;
        let presented = Presented {
            cert_pem: cert.to_pem(),
            key: TlsSigningKey::new(signer).into_arc().into(),
        };
        let backup = Old { okms_id, id, cert };
        let live = broker::backup_live(o, broker, &backup, presented).await?;
        return Ok((!live).then(|| (key.clone(), id)));
    }
    let client = client(global, out)?;
    let revoked = match client.get_credential(okms_id, id).await {
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
pub(super) fn leftover_new_key(r: &OnToken<'_>, found: &str) -> CliError {
    CliError::new(
        Exit::RefusedOverwrite,
        format!(
            "token {:?} already holds {found}, left by an interrupted renewal; nothing was created",
            r.token_name(),
        ),
    )
    .hint(format!(
        "see `okms-cli credential list --okms-id {}` for a credential of the same name it may belong to; delete that credential, then {}",
        r.old_cert.okms_domain().unwrap_or_default(),
        r.removal_hint(&r.labels.new)
    ))
}
