//! Replacing live files with new ones while keeping the old ones as backups (renewal).

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;

use super::WriteError;
use super::staging::{cannot_hard_link_here, sync_dirs};
use super::write_error::io_error_at;

/// One file of [`swap_with_backup`]: the new file (written next to the target by
/// `write_secret_file`/`write_public_file`), the live file it replaces, and where the live
/// file's content is kept.
#[derive(Debug, Clone)]
pub struct Swap {
    /// The new file, already durable.
    pub new: PathBuf,
    /// The live file.
    pub target: PathBuf,
    /// The backup of the live file (an older backup there is replaced).
    pub backup: PathBuf,
}

/// Replaces live files with new ones, keeping each live file as a backup: the backup is a
/// hard link to the live file (a copy with the same mode where links are not possible), then
/// the new file is renamed over the target, so a reader sees the old file or the new one and
/// never a partial one. A target that does not exist yet just receives its new file (no
/// backup). Directories are synced at the end.
///
/// The files are swapped in order; when one fails, those already swapped are put back from
/// their backups, so the targets end as they started, and each new file is back at its `new`
/// path (nothing new is lost: it may be the only copy of a new key).
///
/// # Errors
/// The failing step, with the targets unchanged; or [`WriteError::SwapIncomplete`] when
/// putting one back failed too, naming each target that still holds its new file.
pub fn swap_with_backup(swaps: &[Swap]) -> Result<(), WriteError> {
    let mut done: Vec<(&Swap, Replaced)> = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for sw in swaps {
        let replaced = match swap_one(sw) {
            Ok(replaced) => replaced,
            Err(e) => {
                let stuck: Vec<(PathBuf, PathBuf)> = done
                    .iter()
                    .rev()
                    .filter(|(back, replaced)| !put_back(back, *replaced))
                    .map(|(back, _)| (back.target.clone(), back.backup.clone()))
                    .collect();
                if stuck.is_empty() {
                    return Err(e);
                }
                return Err(WriteError::SwapIncomplete {
                    failed: Box::new(e),
                    stuck,
                });
            }
        };
        done.push((sw, replaced));
        let dir = match sw.target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    sync_dirs(&dirs)
}

/// Whether a swap replaced a live file (kept as the backup) or placed a file where none was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replaced {
    LiveFile,
    Nothing,
}

/// Undoes one swap: the new file gets its `new` name back (a hard link first, so that it is
/// never only in the target being overwritten), then the backup, which holds exactly the old
/// content, moves back over the target (or the target goes, when there was none). False when
/// the target still holds the new file.
fn put_back(sw: &Swap, replaced: Replaced) -> bool {
    if fs::hard_link(&sw.target, &sw.new).is_err() {
        return false;
    }
    match replaced {
        Replaced::LiveFile => fs::rename(&sw.backup, &sw.target).is_ok(),
        Replaced::Nothing => fs::remove_file(&sw.target).is_ok(),
    }
}

fn swap_one(sw: &Swap) -> Result<Replaced, WriteError> {
    if matches!(fs::symlink_metadata(&sw.target), Err(e) if e.kind() == io::ErrorKind::NotFound) {
        // Nothing to replace or keep: the new file takes the name, never over one that appeared
        // meanwhile (a hard link fails on an existing name; a rename would not).
        fs::hard_link(&sw.new, &sw.target)
            .map_err(io_error_at(&sw.target)("moving the new file into place"))?;
        fs::remove_file(&sw.new).map_err(io_error_at(&sw.new)("removing the new file's name"))?;
        return Ok(Replaced::Nothing);
    }
    let io_err = io_error_at(&sw.backup);
    match fs::remove_file(&sw.backup) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(io_err("removing the previous backup")(e));
        }
        _ => {}
    }
    match fs::hard_link(&sw.target, &sw.backup) {
        Ok(()) => {}
        Err(e) if !cannot_hard_link_here(&e) => {
            return Err(io_err("linking the live file to the backup")(e));
        }
        // A filesystem without hard links: the backup is a copy instead.
        Err(_) => copy_to_backup(sw, &io_err)?,
    }
    fs::rename(&sw.new, &sw.target)
        .map_err(io_error_at(&sw.target)("moving the new file into place"))?;
    Ok(Replaced::LiveFile)
}

fn copy_to_backup(
    sw: &Swap,
    io_err: &impl Fn(&'static str) -> Box<dyn FnOnce(io::Error) -> WriteError>,
) -> Result<(), WriteError> {
    fs::copy(&sw.target, &sw.backup).map_err(io_err("copying the live file to the backup"))?;
    File::open(&sw.backup)
        .and_then(|f| f.sync_all())
        .map_err(io_err("syncing the backup"))?;
    Ok(())
}
