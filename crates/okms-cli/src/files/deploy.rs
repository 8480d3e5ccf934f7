//! Renewal's writes: the new files staged beside the deployed ones (`.new`), the swap that puts
//! them in place keeping the previous ones (`.bak`), and the removal of `.new` files that will
//! never be deployed.
//!
//! A renewed file takes over what the one it replaces had: its owner, group and permission bits
//! (a key `app:app 0640` must stay readable by the application after the reload hook, even when
//! root renews it; on Windows the same directory's ACL, see `platform`), and its place behind a
//! symlink (certbot's `live/` layout): the file a link points to is what is replaced, in its
//! own directory, and the link is left as it is.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::platform::Ownership;
use super::staging::{TempGuard, create_temp};
use super::{
    SECRET_MODE, Swap, WriteError, swap_with_backup, write_public_file, write_secret_file,
};

const STEP_TAKE_OVER: &str = "giving it the owner, group and mode of the file it replaces";

/// A deployed file and its two neighbours during a renewal: the new content staged at
/// `TARGET.new`, and the previous content kept at `TARGET.bak` once replaced.
#[derive(Debug, Clone)]
pub struct Beside {
    /// The deployed file.
    pub target: PathBuf,
    /// Where the new content waits until it is swapped in.
    pub new: PathBuf,
    /// Where the replaced content is kept.
    pub backup: PathBuf,
}

impl Beside {
    /// `target`, `target.new` and `target.bak`; for a symlink, the file it points to and the
    /// names beside that file (the link itself is never replaced).
    pub fn of(given: &Path) -> Self {
        let target = match fs::symlink_metadata(given) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(given).unwrap_or_else(|_| given.to_path_buf())
            }
            _ => given.to_path_buf(),
        };
        let target = target.as_path();
        Beside {
            target: target.to_path_buf(),
            new: with_suffix(target, ".new"),
            backup: with_suffix(target, ".bak"),
        }
    }

    fn swap(&self) -> Swap {
        Swap {
            new: self.new.clone(),
            target: self.target.clone(),
            backup: self.backup.clone(),
        }
    }
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes the new key (0600) at `at.new`, never over an existing file: one there may be the
/// only copy of a key a live credential holds. It then takes over the deployed key's owner,
/// group and mode.
///
/// # Errors
/// As [`write_secret_file`]; [`WriteError::Io`] when the take-over fails, `at.new` then removed.
pub fn write_new_key(at: &Beside, bytes: &[u8]) -> Result<(), WriteError> {
    write_secret_file(&at.new, bytes, false)?;
    take_over_or_remove(at)
}

/// Writes the new certificate at `at.new`, never over an existing file, with the deployed
/// certificate's owner, group and mode.
///
/// # Errors
/// As [`write_new_key`].
pub fn write_new_cert(at: &Beside, pem: &str) -> Result<(), WriteError> {
    write_public_file(&at.new, pem.as_bytes(), false)?;
    take_over_or_remove(at)
}

/// Fails when a new file in the deployed file's directory could not be given its owner and
/// group (only root may give a file away), so that a renewal stops before it creates anything.
/// Tried on a probe file, removed at once.
///
/// # Errors
/// [`WriteError::Io`] naming `at.new`, whose source says why (often "Operation not permitted").
pub fn check_take_over(at: &Beside) -> Result<(), WriteError> {
    let failed = |source| WriteError::Io {
        path: at.new.clone(),
        step: STEP_TAKE_OVER,
        source,
    };
    let Some(from) = Ownership::of(&at.target).map_err(failed)? else {
        return Ok(());
    };
    let dir = match at.target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = at.new.file_name().unwrap_or_default();
    let (probe, _file) = create_temp(dir, name, SECRET_MODE).map_err(failed)?;
    let _removed_on_return = TempGuard(Some(probe.clone()));
    from.give_to(&probe).map_err(failed)
}

fn take_over_or_remove(at: &Beside) -> Result<(), WriteError> {
    let taken = Ownership::of(&at.target).and_then(|from| match from {
        Some(from) => from.give_to(&at.new),
        None => Ok(()),
    });
    taken.map_err(|source| {
        // Best effort: the refusal matters more, and the file holds no credential's key yet.
        let _ = fs::remove_file(&at.new);
        WriteError::Io {
            path: at.new.clone(),
            step: STEP_TAKE_OVER,
            source,
        }
    })
}

/// Swaps each `.new` file in, the deployed one kept as `.bak` (see [`swap_with_backup`]).
///
/// # Errors
/// As [`swap_with_backup`]: [`WriteError::SwapIncomplete`] when the targets could not all be
/// put back.
pub fn swap_in(files: &[&Beside]) -> Result<(), WriteError> {
    let swaps: Vec<Swap> = files.iter().map(|f| f.swap()).collect();
    swap_with_backup(&swaps)
}

/// Puts each `.bak` back in place, the deployed file kept beside it as `TARGET.SUFFIX`
/// (never deleted: it may be wanted later), with [`swap_with_backup`]'s guarantees: a reader
/// sees one file or the other, and a failure puts everything back. Used when the deployed
/// pair's credential was revoked while the backup pair's is live.
///
/// # Errors
/// As [`swap_with_backup`].
pub fn put_backups_back(files: &[&Beside], suffix: &str) -> Result<(), WriteError> {
    let swaps: Vec<Swap> = files
        .iter()
        .map(|f| Swap {
            new: f.backup.clone(),
            target: f.target.clone(),
            backup: with_suffix(&f.target, suffix),
        })
        .collect();
    swap_with_backup(&swaps)
}

/// Removes the `.new` files of a renewal that will not deploy them; one already gone is fine.
///
/// # Errors
/// The first removal that failed otherwise (the others are still tried).
pub fn remove_undeployed(files: &[&Beside]) -> io::Result<()> {
    let mut first = Ok(());
    for f in files {
        match std::fs::remove_file(&f.new) {
            Err(e) if e.kind() != io::ErrorKind::NotFound && first.is_ok() => first = Err(e),
            _ => {}
        }
    }
    first
}

/// Where a renewal notes, from just before its swap until the old credential is revoked, that
/// the old credential (its id, the file's content) is to be revoked: `CERT.revoke`. A run
/// killed in between leaves it, and the next run finishes the renewal instead of leaving two
/// credentials live; a run that keeps the old credential on purpose (a failed hook,
/// `--keep-old`) removes it.
pub fn pending_revocation(cert: &Beside) -> PathBuf {
    with_suffix(&cert.target, ".revoke")
}

/// Writes [`pending_revocation`] for the credential `old_id`, replacing any earlier one.
///
/// # Errors
/// As [`write_public_file`].
pub fn note_pending_revocation(cert: &Beside, old_id: &str) -> Result<(), WriteError> {
    let text = format!("{old_id}\n");
    write_public_file(&pending_revocation(cert), text.as_bytes(), true)
}

/// Removes [`pending_revocation`]; one already gone is fine.
///
/// # Errors
/// When it exists and cannot be removed.
pub fn clear_pending_revocation(cert: &Beside) -> io::Result<()> {
    match fs::remove_file(pending_revocation(cert)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
