//! A deployed pair the broker revoked before this host confirmed it: its grace period ended
//! while the host was off, or while the broker was down (a restarted broker revokes every
//! unconfirmed successor older than the grace at once). The previous pair, in `.bak`, is still
//! live: the broker revokes it only once a successor is confirmed. So it is put back and the
//! renewal starts over from it, with no human step: a fleet on timers heals itself.
//!
//! The revoked pair is moved aside as `.revoked`, not deleted: nothing on disk is lost.
//! Nothing is put back unless the broker serves the backup pair; otherwise the refusal stands
//! with its hint.

use okms_csr::{Passphrase, PrivateKey, same_public_key};

use super::Old;
use super::RenewOptions;
use super::broker::{self, Broker, Presented};
use super::leftover::clear_note_file;
use crate::error::{CliError, CliResult};
use crate::files::{self, Beside};
use crate::input;
use crate::output::Output;

/// The suffix the revoked pair is kept under.
const REVOKED_SUFFIX: &str = ".revoked";

/// The files of a pair in a file home: the key, its certificate and the `--p12-out` copy.
pub(super) struct FilePair<'a> {
    pub key: &'a Beside,
    pub cert: &'a Beside,
    pub p12: Option<Beside>,
    /// The key files' passphrase (the backup key was written with the deployed key's).
    pub passphrase: Option<&'a Passphrase>,
}

/// Puts `previous` (`CERT.bak`, `KEY.bak`) back in place when the broker still serves it;
/// `refused` is the error returned otherwise. The note `CERT.revoke` goes: the previous
/// credential is the deployed one again, not one to revoke.
///
/// # Errors
/// `refused` (with why nothing was put back) when the backup pair is unreadable, does not
/// match, or is not live; a file error when the swap failed (everything is then in place as
/// before).
pub(super) async fn put_previous_back(
    o: &RenewOptions<'_>,
    broker: &Broker,
    pair: &FilePair<'_>,
    previous: Old,
    refused: CliError,
    out: &Output,
) -> CliResult<()> {
    let key_bak = pair.key.backup.display().to_string();
    let key = match input::read_private(&pair.key.backup, "the backup key")
        .ok()
        .and_then(|bytes| PrivateKey::import(&bytes, pair.passphrase).ok())
    {
        Some(key) if same_public_key(&previous.cert.public_key(), &key.public_key()) => key,
        _ => {
            return Err(refused.context(format!(
                "{key_bak} is missing, unreadable or not the key of {}, so the previous pair was not put back",
                pair.cert.backup.display()
            )));
        }
    };
    let presented = Presented::of_key(&previous.cert, &key)?;
    let previous_id = previous.id;
    if !broker::backup_live(o, broker, &previous, presented).await? {
        return Err(refused.context(format!(
            "the broker does not serve the previous pair (credential {previous_id}) either, so it was not put back"
        )));
    }
    let mut files = vec![pair.key, pair.cert];
    files.extend(pair.p12.as_ref().filter(|p| input::exists(&p.backup)));
    files::put_backups_back(&files, REVOKED_SUFFIX).map_err(|e| {
        CliError::from(e).context(format!(
            "cannot put the previous pair (credential {previous_id}) back in place"
        ))
    })?;
    clear_note_file(pair.cert)?;
    out.warn(&format!(
        "the broker revoked the deployed credential before this host confirmed it (its grace period passed): the previous pair, credential {previous_id}, is in place again (the revoked one is kept as {}{REVOKED_SUFFIX}); renewing from it",
        pair.cert.target.display()
    ));
    Ok(())
}
