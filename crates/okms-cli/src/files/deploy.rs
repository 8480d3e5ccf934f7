//! Renewal's writes: the new files staged beside the deployed ones (`.new`), the swap that puts
//! them in place keeping the previous ones (`.bak`), and the removal of `.new` files that will
//! never be deployed.

use std::io;
use std::path::{Path, PathBuf};

use super::{Swap, WriteError, swap_with_backup, write_public_file, write_secret_file};

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
    /// `target`, `target.new` and `target.bak`.
    pub fn of(target: &Path) -> Self {
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
/// only copy of a key a live credential holds.
///
/// # Errors
/// As [`write_secret_file`].
pub fn write_new_key(at: &Beside, pem: &[u8]) -> Result<(), WriteError> {
    write_secret_file(&at.new, pem, false)
}

/// Writes the new certificate at `at.new`, never over an existing file.
///
/// # Errors
/// As [`write_public_file`].
pub fn write_new_cert(at: &Beside, pem: &str) -> Result<(), WriteError> {
    write_public_file(&at.new, pem.as_bytes(), false)
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
