//! The one place that writes files.
//!
//! Every output goes through [`write_secret_file`] or [`write_public_file`]: the data is written
//! to a temporary file created in the destination's directory (mode fixed at open time, so a
//! private key is never readable by others even for an instant), synced, then moved into
//! place. Without `force` the move itself refuses to replace an existing file (a hard link,
//! which fails atomically if the name exists), so two processes cannot both "win". On any
//! error the temporary file is removed: a failed command leaves nothing behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::CliError;
use crate::exit::Exit;

mod deploy;
pub use deploy::{
    Beside, check_take_over, remove_undeployed, swap_in, write_new_cert, write_new_key,
};

/// Mode of files that hold secrets (private keys).
pub const SECRET_MODE: u32 = 0o600;
/// Mode of files anyone may read (CSRs, certificates, public keys, request files).
pub const PUBLIC_MODE: u32 = 0o644;

const STEP_FIND_DIR: &str = "finding the directory";

/// Why a file could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// The destination exists and `force` was not given; nothing was written.
    Exists(PathBuf),
    /// The destination exists but is not a regular file (a directory, a device...).
    NotRegular(PathBuf),
    /// [`swap_with_backup`] failed, and some files it had already swapped could not be put
    /// back: each `(target, backup)` pair left holds the NEW file at `target` and the previous
    /// one at `backup`, so the set of targets may not match.
    SwapIncomplete {
        /// Why the swap stopped.
        failed: Box<WriteError>,
        /// The targets left with their new content, each with the backup of its old content.
        stuck: Vec<(PathBuf, PathBuf)>,
    },
    /// An I/O step failed; the temporary file was removed.
    Io {
        /// The file we were writing.
        path: PathBuf,
        /// What we were doing.
        step: &'static str,
        /// The underlying error.
        source: io::Error,
    },
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exists(p) => write!(f, "{} already exists; nothing was written", p.display()),
            Self::NotRegular(p) => write!(
                f,
                "{} exists and is not a regular file; nothing was written",
                p.display()
            ),
            Self::Io { path, step, .. } => {
                write!(f, "cannot write {}: {step} failed", path.display())
            }
            Self::SwapIncomplete { failed, stuck } => {
                write!(
                    f,
                    "{failed}, and putting back what was already replaced failed too:"
                )?;
                for (target, backup) in stuck {
                    write!(
                        f,
                        " {} holds the new file (the previous one is {})",
                        target.display(),
                        backup.display()
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::SwapIncomplete { failed, .. } => Some(failed.as_ref()),
            _ => None,
        }
    }
}

impl From<WriteError> for CliError {
    fn from(e: WriteError) -> Self {
        let (exit, hint) = match &e {
            WriteError::Exists(_) => (
                Exit::RefusedOverwrite,
                Some("pass --force to replace it, or choose another path"),
            ),
            WriteError::NotRegular(_) => (Exit::Error, Some("choose a path to a regular file")),
            WriteError::SwapIncomplete { .. } => (
                Exit::Error,
                Some("move each backup back over its target by hand, or keep the new files"),
            ),
            WriteError::Io { source, step, .. } => match (source.kind(), *step) {
                (io::ErrorKind::NotFound, STEP_FIND_DIR) => (
                    Exit::Error,
                    Some("create the directory first, or choose another path"),
                ),
                (io::ErrorKind::NotADirectory, _) => (
                    Exit::Error,
                    Some("the parent of the path is a file, not a directory"),
                ),
                (io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded, _) => (
                    Exit::Error,
                    Some("free some space, or choose another filesystem"),
                ),
                _ => (Exit::Error, Some("choose a directory you can write to")),
            },
        };
        let mut err = CliError {
            exit,
            error: anyhow::Error::new(e),
            hint: None,
        };
        if let Some(h) = hint {
            err = err.hint(h);
        }
        err
    }
}

/// Writes a secret (a private key): mode 0600 from creation, atomic, no overwrite unless `force`.
///
/// # Errors
/// [`WriteError::Exists`] if `path` exists and `force` is false; other variants on I/O failure.
/// In every error case nothing is left at `path` that was not there before.
pub fn write_secret_file(path: &Path, bytes: &[u8], force: bool) -> Result<(), WriteError> {
    write_atomic(path, bytes, SECRET_MODE, force)
}

/// Writes a public file (CSR, certificate, request): mode 0644 (less the umask), atomic, no
/// overwrite unless `force`.
///
/// # Errors
/// As [`write_secret_file`].
pub fn write_public_file(path: &Path, bytes: &[u8], force: bool) -> Result<(), WriteError> {
    write_atomic(path, bytes, PUBLIC_MODE, force)
}

/// Fails early, before any work, if `path` could not be written without `--force`.
///
/// Used by commands that produce several files, so that a later refusal does not strand an
/// earlier output (e.g. `csr new --key-out` checks the CSR path before writing the key).
///
/// # Errors
/// [`WriteError::Exists`] or [`WriteError::NotRegular`].
pub fn check_writable(path: &Path, force: bool) -> Result<(), WriteError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let not_dir = || {
            io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", parent.display()),
            )
        };
        match fs::metadata(parent) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(WriteError::Io {
                    path: path.to_path_buf(),
                    step: STEP_FIND_DIR,
                    source: not_dir(),
                });
            }
            Err(source) => {
                return Err(WriteError::Io {
                    path: path.to_path_buf(),
                    step: STEP_FIND_DIR,
                    source,
                });
            }
        }
    }
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let ft = meta.file_type();
            if ft.is_dir()
                || ft.is_block_device()
                || ft.is_char_device()
                || ft.is_fifo()
                || ft.is_socket()
            {
                Err(WriteError::NotRegular(path.to_path_buf()))
            } else if force {
                Ok(())
            } else {
                Err(WriteError::Exists(path.to_path_buf()))
            }
        }
        Err(_) => Ok(()),
    }
}

/// Whether two paths name the same existing file (same device and inode), however spelled.
///
/// Used to refuse outputs that would replace one of the command's own inputs, such as a CSR
/// written over the private key it was made from.
#[must_use]
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Whether two output paths would land on the same file, whether or not it exists yet
/// (`k.pem`, `./k.pem` and `dir/../k.pem` do; a symlink to it does too when it exists).
pub fn same_target(a: &Path, b: &Path) -> bool {
    if same_file(a, b) {
        return true;
    }
    let resolve = |p: &Path| {
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some((fs::canonicalize(parent).ok()?, p.file_name()?.to_owned()))
    };
    match (resolve(a), resolve(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<(), WriteError> {
    commit_staged(vec![stage(path, bytes, mode, force)?]).map_err(|e| e.error)
}

/// A file written under a temporary name, not yet durable nor visible at its path; dropping it
/// removes the temporary file. Staging several files and committing them together lets their
/// fsyncs overlap and their directory be synced once (`csr new --key-out` writes two files).
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    dir: PathBuf,
    file: File,
    force: bool,
    guard: TempGuard,
}

/// Why [`commit_staged`] stopped: the first `committed` files are in place (and durable).
#[derive(Debug)]
pub struct CommitError {
    /// How many of the staged files were committed before the failure.
    pub committed: usize,
    /// The failure.
    pub error: WriteError,
}

/// Stages a secret file (mode 0600 from creation); see [`Staged`].
///
/// # Errors
/// As [`write_secret_file`]; nothing is left behind.
pub fn stage_secret_file(path: &Path, bytes: &[u8], force: bool) -> Result<Staged, WriteError> {
    stage(path, bytes, SECRET_MODE, force)
}

/// Stages a public file; see [`Staged`].
///
/// # Errors
/// As [`write_public_file`]; nothing is left behind.
pub fn stage_public_file(path: &Path, bytes: &[u8], force: bool) -> Result<Staged, WriteError> {
    stage(path, bytes, PUBLIC_MODE, force)
}

fn stage(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<Staged, WriteError> {
    check_writable(path, force)?;
    let io_err = io_error_at(path);
    let file_name = path.file_name().ok_or_else(|| {
        io_err("naming the file")(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tmp_path, mut file) =
        create_temp(&dir, file_name, mode).map_err(io_err("creating a temporary file"))?;
    let guard = TempGuard(Some(tmp_path));
    file.write_all(bytes).map_err(io_err("writing"))?;
    Ok(Staged {
        path: path.to_path_buf(),
        dir,
        file,
        force,
        guard,
    })
}

fn io_error_at(
    path: &Path,
) -> impl Fn(&'static str) -> Box<dyn FnOnce(io::Error) -> WriteError> + use<> {
    let path = path.to_path_buf();
    move |step| {
        let path = path.clone();
        Box::new(move |source| WriteError::Io { path, step, source })
    }
}

/// Makes staged files durable, then puts them in place in order (never over an existing file
/// unless staged with `force`), then syncs each directory once.
///
/// # Errors
/// The first failure, with how many files were committed before it; those stay in place.
pub fn commit_staged(staged: Vec<Staged>) -> Result<(), CommitError> {
    let fail = |committed: usize, error: WriteError| CommitError { committed, error };
    // The data first, all files at once: concurrent fsyncs share the journal commits. The
    // first file syncs on this thread, which would otherwise only wait.
    let synced: Vec<io::Result<()>> = match staged.split_first() {
        None => Vec::new(),
        Some((first, [])) => vec![first.file.sync_all()],
        Some((first, rest)) => std::thread::scope(|scope| {
            let handles: Vec<_> = rest
                .iter()
                .map(|s| scope.spawn(|| s.file.sync_all()))
                .collect();
            let mut synced = vec![first.file.sync_all()];
            synced.extend(handles.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("the sync thread panicked")))
            }));
            synced
        }),
    };
    if let Some((i, Err(e))) = synced.into_iter().enumerate().find(|(_, r)| r.is_err()) {
        return Err(fail(0, io_error_at(&staged[i].path)("syncing to disk")(e)));
    }

    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut committed = 0;
    let mut first_error = None;
    for s in staged {
        if let Err(e) = put_in_place(s, &mut dirs) {
            first_error = Some(e);
            break;
        }
        committed += 1;
    }
    // The renames are only durable once the directory entries are; some filesystems cannot
    // sync a directory (EINVAL), which is not a reason to call the write failed.
    for dir in &dirs {
        if let Ok(d) = File::open(dir)
            && let Err(e) = d.sync_all()
            && !matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            )
            && first_error.is_none()
        {
            first_error = Some(io_error_at(dir)("syncing the directory")(e));
        }
    }
    match first_error {
        Some(error) => Err(fail(committed, error)),
        None => Ok(()),
    }
}

fn put_in_place(s: Staged, dirs: &mut Vec<PathBuf>) -> Result<(), WriteError> {
    let Staged {
        path,
        dir,
        file,
        force,
        guard,
    } = s;
    drop(file);
    let io_err = io_error_at(&path);
    let Some(tmp_path) = guard.0.clone() else {
        return Err(io_err("moving the file into place")(io::Error::other(
            "the temporary file is gone",
        )));
    };
    if force {
        fs::rename(&tmp_path, &path).map_err(io_err("moving the file into place"))?;
    } else {
        match fs::hard_link(&tmp_path, &path) {
            Ok(()) => {
                fs::remove_file(&tmp_path).map_err(io_err("removing the temporary name"))?;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(WriteError::Exists(path));
            }
            // Some filesystems have no hard links; fall back to a rename after a fresh check,
            // accepting the tiny race that remains there.
            Err(_) => {
                check_writable(&path, false)?;
                fs::rename(&tmp_path, &path).map_err(io_err("moving the file into place"))?;
            }
        }
    }
    guard.disarm();
    if !dirs.contains(&dir) {
        dirs.push(dir);
    }
    Ok(())
}

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
    for dir in &dirs {
        if let Ok(d) = File::open(dir)
            && let Err(e) = d.sync_all()
            && !matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            )
        {
            return Err(io_error_at(dir)("syncing the directory")(e));
        }
    }
    Ok(())
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
    if fs::hard_link(&sw.target, &sw.backup).is_err() {
        fs::copy(&sw.target, &sw.backup).map_err(io_err("copying the live file to the backup"))?;
        File::open(&sw.backup)
            .and_then(|f| f.sync_all())
            .map_err(io_err("syncing the backup"))?;
    }
    fs::rename(&sw.new, &sw.target)
        .map_err(io_error_at(&sw.target)("moving the new file into place"))?;
    Ok(Replaced::LiveFile)
}

fn create_temp(dir: &Path, file_name: &std::ffi::OsStr, mode: u32) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut last_err = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{}-{n}-{nanos:x}", std::process::id()));
        let tmp = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// Removes the temporary file unless the write completed.
#[derive(Debug)]
struct TempGuard(Option<PathBuf>);

impl TempGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            // Best effort: the error being reported matters more than a failed cleanup.
            let _ = fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn swaps_in(dir: &Path) -> Vec<Swap> {
        ["k", "c"]
            .iter()
            .map(|n| Swap {
                new: dir.join(format!("{n}.new")),
                target: dir.join(n),
                backup: dir.join(format!("{n}.bak")),
            })
            .collect()
    }

    #[test]
    fn swap_puts_the_new_files_in_place_and_keeps_the_old_ones_as_backups() {
        let d = tempfile::tempdir().unwrap();
        let swaps = swaps_in(d.path());
        write_secret_file(&d.path().join("k"), b"old key", false).unwrap();
        write_public_file(&d.path().join("c"), b"old cert", false).unwrap();
        write_secret_file(&d.path().join("k.bak"), b"older key", false).unwrap();
        write_secret_file(&d.path().join("k.new"), b"new key", false).unwrap();
        write_public_file(&d.path().join("c.new"), b"new cert", false).unwrap();
        swap_with_backup(&swaps).unwrap();
        assert_eq!(fs::read(d.path().join("k")).unwrap(), b"new key");
        assert_eq!(fs::read(d.path().join("c")).unwrap(), b"new cert");
        assert_eq!(fs::read(d.path().join("k.bak")).unwrap(), b"old key");
        assert_eq!(fs::read(d.path().join("c.bak")).unwrap(), b"old cert");
        let mode = fs::metadata(d.path().join("k.bak"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, SECRET_MODE);
        assert_eq!(entries(d.path()), ["c", "c.bak", "k", "k.bak"]);
    }

    #[test]
    fn a_failed_swap_puts_back_what_it_had_already_replaced() {
        let d = tempfile::tempdir().unwrap();
        let swaps = swaps_in(d.path());
        write_secret_file(&d.path().join("k"), b"old key", false).unwrap();
        write_public_file(&d.path().join("c"), b"old cert", false).unwrap();
        write_secret_file(&d.path().join("k.new"), b"new key", false).unwrap();
        // No c.new: the second swap fails after the first one was done.
        let err = swap_with_backup(&swaps).unwrap_err();
        assert!(
            err.to_string().contains("moving the new file into place"),
            "{err}"
        );
        assert_eq!(fs::read(d.path().join("k")).unwrap(), b"old key");
        assert_eq!(fs::read(d.path().join("c")).unwrap(), b"old cert");
        // The new key is not lost: it may be the only copy of a live credential's key.
        assert_eq!(fs::read(d.path().join("k.new")).unwrap(), b"new key");
    }

    #[test]
    fn a_swap_onto_nothing_places_the_new_file_and_an_undo_removes_it() {
        let d = tempfile::tempdir().unwrap();
        let swaps = swaps_in(d.path());
        write_secret_file(&d.path().join("k.new"), b"new key", false).unwrap();
        write_public_file(&d.path().join("c.new"), b"new cert", false).unwrap();
        swap_with_backup(&swaps).unwrap();
        assert_eq!(entries(d.path()), ["c", "k"], "no backup of nothing");
        assert_eq!(fs::read(d.path().join("k")).unwrap(), b"new key");

        // Undone when the second file cannot be placed: the first goes back to its new name.
        let d = tempfile::tempdir().unwrap();
        let swaps = swaps_in(d.path());
        write_secret_file(&d.path().join("k.new"), b"new key", false).unwrap();
        swap_with_backup(&swaps).unwrap_err();
        assert_eq!(entries(d.path()), ["k.new"]);
        assert_eq!(fs::read(d.path().join("k.new")).unwrap(), b"new key");
    }

    #[test]
    fn a_swap_that_cannot_be_put_back_says_which_target_holds_the_new_file() {
        let d = tempfile::tempdir().unwrap();
        let mut swaps = swaps_in(d.path());
        // The second swap's backup takes the first one's `new` name, so undoing the first
        // cannot give the new key its name back, and must not overwrite it.
        swaps[1].backup = d.path().join("k.new");
        write_secret_file(&d.path().join("k"), b"old key", false).unwrap();
        write_public_file(&d.path().join("c"), b"old cert", false).unwrap();
        write_secret_file(&d.path().join("k.new"), b"new key", false).unwrap();
        let err = swap_with_backup(&swaps).unwrap_err();
        let WriteError::SwapIncomplete { stuck, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(stuck, &[(d.path().join("k"), d.path().join("k.bak"))]);
        assert!(err.to_string().contains("holds the new file"), "{err}");
        assert_eq!(fs::read(d.path().join("k")).unwrap(), b"new key");
        assert_eq!(fs::read(d.path().join("k.bak")).unwrap(), b"old key");
    }

    #[test]
    fn secret_is_0600_and_refuses_overwrite() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.pem");
        write_secret_file(&p, b"one", false).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            write_secret_file(&p, b"two", false),
            Err(WriteError::Exists(_))
        ));
        assert_eq!(fs::read(&p).unwrap(), b"one");
        write_secret_file(&p, b"three", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"three");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(entries(d.path()), vec!["k.pem"]);
    }

    #[test]
    fn refuses_directories_and_devices_even_with_force() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            write_public_file(d.path(), b"x", true),
            Err(WriteError::NotRegular(_))
        ));
        assert!(matches!(
            write_public_file(Path::new("/dev/null"), b"x", true),
            Err(WriteError::NotRegular(_))
        ));
    }

    #[test]
    fn missing_directory_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nope").join("k.pem");
        assert!(matches!(
            write_secret_file(&p, b"x", false),
            Err(WriteError::Io { .. })
        ));
        assert_eq!(entries(d.path()), Vec::<String>::new());
    }

    #[test]
    fn staged_files_commit_in_order_and_a_refusal_keeps_the_earlier_ones() {
        let d = tempfile::tempdir().unwrap();
        let key = d.path().join("k.pem");
        let csr = d.path().join("c.csr");
        let first = stage_secret_file(&key, b"key", false).unwrap();
        let second = stage_public_file(&csr, b"csr", false).unwrap();
        // Someone else creates c.csr between staging and committing.
        fs::write(&csr, b"theirs").unwrap();
        let err = commit_staged(vec![first, second]).unwrap_err();
        assert_eq!(err.committed, 1);
        assert!(matches!(err.error, WriteError::Exists(_)));
        assert_eq!(fs::read(&key).unwrap(), b"key");
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read(&csr).unwrap(), b"theirs");
        assert_eq!(
            entries(d.path()),
            vec!["c.csr", "k.pem"],
            "no temporary file left"
        );
    }

    #[test]
    fn dropped_staged_files_leave_nothing() {
        let d = tempfile::tempdir().unwrap();
        drop(stage_secret_file(&d.path().join("k.pem"), b"key", false).unwrap());
        assert_eq!(entries(d.path()), Vec::<String>::new());
    }

    #[test]
    fn same_target_sees_through_spellings_of_files_not_yet_written() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("sub")).unwrap();
        let a = d.path().join("k.pem");
        let b = d.path().join("sub").join("..").join("k.pem");
        assert!(same_target(&a, &b));
        assert!(!same_target(&a, &d.path().join("c.pem")));
    }
}
