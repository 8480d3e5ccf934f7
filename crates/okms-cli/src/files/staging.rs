//! Writing files under a temporary name and putting them in place: durable before visible,
//! never over an existing file unless forced, nothing left behind on failure.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::platform;
use super::write_error::io_error_at;
use super::{PUBLIC_MODE, SECRET_MODE, WriteError, check_writable};

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

pub(super) fn stage(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    force: bool,
) -> Result<Staged, WriteError> {
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
    if let Err(e) = sync_dirs(&dirs)
        && first_error.is_none()
    {
        first_error = Some(e);
    }
    match first_error {
        Some(error) => Err(fail(committed, error)),
        None => Ok(()),
    }
}

/// Makes the entries of `dirs` durable (a rename is only durable once its directory is). Some
/// filesystems cannot sync a directory (EINVAL), which is not a reason to call a write failed.
///
/// # Errors
/// The first directory that fails to sync; the others are synced all the same.
pub(super) fn sync_dirs(dirs: &[PathBuf]) -> Result<(), WriteError> {
    let mut first_error = None;
    for dir in dirs {
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
    first_error.map_or(Ok(()), Err)
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
            Err(e) if !cannot_hard_link_here(&e) => {
                return Err(io_err("moving the file into place")(e));
            }
            // A filesystem without hard links: a rename after a fresh check, accepting the tiny
            // race that remains there. Any other failure is an error, not a reason to rename.
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

/// Whether a failed `hard_link` means "this filesystem (or this pair of paths) cannot
/// hard-link", the one case where a rename or a copy stands in for the link:
/// EXDEV (the paths are on two filesystems), EPERM (FAT and other filesystems without links
/// say so on Linux), EOPNOTSUPP/ENOTSUP and ENOSYS (no link operation at all), EMLINK (the
/// file has the most links the filesystem allows). Anything else (no space, no permission on
/// the directory, an I/O error) would fail the rename or copy too, or hide a real problem.
pub(super) fn cannot_hard_link_here(e: &io::Error) -> bool {
    // EPERM is 1 on every Unix; std maps it to PermissionDenied together with EACCES, which
    // is a real refusal, so the number decides.
    const EPERM: i32 = 1;
    matches!(
        e.kind(),
        io::ErrorKind::CrossesDevices | io::ErrorKind::Unsupported | io::ErrorKind::TooManyLinks
    ) || e.raw_os_error() == Some(EPERM)
}

pub(super) fn create_temp(
    dir: &Path,
    file_name: &std::ffi::OsStr,
    mode: u32,
) -> io::Result<(PathBuf, File)> {
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
        match platform::create_new(&tmp, mode) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// Removes the temporary file unless the write completed.
#[derive(Debug)]
pub(super) struct TempGuard(pub(super) Option<PathBuf>);

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
    use super::cannot_hard_link_here;
    use std::io;

    #[test]
    #[cfg(target_os = "linux")]
    fn only_a_filesystem_without_links_falls_back() {
        // Linux numbers: EPERM 1, EACCES 13, ENOSPC 28, EXDEV 18, EMLINK 31, EOPNOTSUPP 95.
        for no_links in [1, 18, 31, 95] {
            assert!(
                cannot_hard_link_here(&io::Error::from_raw_os_error(no_links)),
                "{no_links}"
            );
        }
        for real_error in [13, 28] {
            assert!(
                !cannot_hard_link_here(&io::Error::from_raw_os_error(real_error)),
                "{real_error}"
            );
        }
    }
}
