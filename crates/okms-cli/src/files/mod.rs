//! The one place that writes files.
//!
//! Every output goes through [`write_secret_file`] or [`write_public_file`]: the data is written
//! to a temporary file created in the destination's directory (mode fixed at open time, so a
//! private key is never readable by others even for an instant), synced, then moved into
//! place. Without `force` the move itself refuses to replace an existing file (a hard link,
//! which fails atomically if the name exists), so two processes cannot both "win". On any
//! error the temporary file is removed: a failed command leaves nothing behind.

use std::fs;
use std::io;
use std::path::Path;

mod platform;
mod staging;
mod swap;
mod write_error;

use staging::stage;
pub use staging::{Staged, commit_staged, stage_public_file, stage_secret_file};
pub use swap::{Swap, swap_with_backup};
use write_error::STEP_FIND_DIR;
pub use write_error::WriteError;

mod deploy;
pub use deploy::{
    Beside, check_take_over, clear_pending_revocation, note_pending_revocation, pending_revocation,
    put_backups_back, remove_undeployed, swap_in, write_new_cert, write_new_key,
};
pub(crate) use platform::is_runnable;

/// Mode of files that hold secrets (private keys).
pub const SECRET_MODE: u32 = 0o600;
/// Mode of files anyone may read (CSRs, certificates, public keys, request files).
pub const PUBLIC_MODE: u32 = 0o644;

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
            if ft.is_dir() || platform::is_special(&ft) {
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

/// Whether two paths name the same existing file, however spelled (on Unix the same device
/// and inode; on Windows the same resolved path).
///
/// Used to refuse outputs that would replace one of the command's own inputs, such as a CSR
/// written over the private key it was made from.
#[must_use]
pub fn same_file(a: &Path, b: &Path) -> bool {
    platform::same_existing_file(a, b)
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

/// Creates `dir` and its missing parents, readable by the owner only (0700; on Windows, its
/// parent's ACL): the Go okms tool's configuration directory, which points at private keys.
///
/// # Errors
/// Exit 1 naming the directory.
pub(crate) fn create_private_dirs(dir: &Path) -> crate::error::CliResult<()> {
    platform::create_private_dirs(dir).map_err(|e| {
        crate::error::CliError::new(
            crate::exit::Exit::Error,
            format!("cannot create {}: {e}", dir.display()),
        )
    })
}

/// Refuses an output path that names one of the command's inputs (e.g. `--out` = `--key`):
/// with `--force` it would silently destroy that input.
///
/// # Errors
/// Exit 2 naming both flags.
pub(crate) fn refuse_output_over_input(
    out: &Path,
    out_flag: &str,
    input: &Path,
    input_flag: &str,
) -> crate::error::CliResult<()> {
    if !crate::input::is_stdin(out) && !crate::input::is_stdin(input) && same_file(out, input) {
        return Err(crate::error::usage(format!(
            "{out_flag} {} is the same file as {input_flag} {}; writing it would destroy the input",
            out.display(),
            input.display()
        ))
        .hint(format!("choose another path for {out_flag}")));
    }
    Ok(())
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
