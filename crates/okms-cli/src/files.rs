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
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
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

fn write_atomic(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<(), WriteError> {
    check_writable(path, force)?;
    let io_err = |step: &'static str| {
        let path = path.to_path_buf();
        move |source: io::Error| WriteError::Io { path, step, source }
    };
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
    let guard = TempGuard(Some(tmp_path.clone()));

    file.write_all(bytes).map_err(io_err("writing"))?;
    file.sync_all().map_err(io_err("syncing to disk"))?;
    drop(file);

    if force {
        fs::rename(&tmp_path, path).map_err(io_err("moving the file into place"))?;
    } else {
        match fs::hard_link(&tmp_path, path) {
            Ok(()) => {
                fs::remove_file(&tmp_path).map_err(io_err("removing the temporary name"))?;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(WriteError::Exists(path.to_path_buf()));
            }
            // Some filesystems have no hard links; fall back to a rename after a fresh check,
            // accepting the tiny race that remains there.
            Err(_) => {
                check_writable(path, false)?;
                fs::rename(&tmp_path, path).map_err(io_err("moving the file into place"))?;
            }
        }
    }
    guard.disarm();

    // The rename is only durable once the directory entry is; some filesystems cannot sync a
    // directory (EINVAL), which is not a reason to call the write failed.
    if let Ok(d) = File::open(&dir)
        && let Err(e) = d.sync_all()
        && !matches!(
            e.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
        )
    {
        return Err(io_err("syncing the directory")(e));
    }
    Ok(())
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
    #![allow(clippy::unwrap_used, clippy::expect_used)]
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
}
