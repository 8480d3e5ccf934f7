//! Why a file could not be written, and what that means to the user (exit code, hint).

use std::io;
use std::path::{Path, PathBuf};

use crate::error::CliError;
use crate::exit::Exit;

/// The step of a failed write that found no directory to write in.
pub(super) const STEP_FIND_DIR: &str = "finding the directory";

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

/// The constructor of [`WriteError::Io`] for `path`, one step at a time.
pub(super) fn io_error_at(
    path: &Path,
) -> impl Fn(&'static str) -> Box<dyn FnOnce(io::Error) -> WriteError> + use<> {
    let path = path.to_path_buf();
    move |step| {
        let path = path.clone();
        Box::new(move |source| WriteError::Io { path, step, source })
    }
}
