//! Reading input files (or stdin for `-`), with a size cap so a wrong path cannot exhaust memory.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};
use crate::exit::Exit;

/// Largest input we read: far above any key, CSR, certificate or request file.
pub const MAX_INPUT: u64 = 1024 * 1024;

/// Whether `path` means standard input.
#[must_use]
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Reads a whole input file, or stdin for `-`. `what` names it in errors ("the CSR").
///
/// # Errors
/// Exit 3 (invalid input) when the file is missing, unreadable or too large.
pub fn read(path: &Path, what: &str) -> CliResult<Vec<u8>> {
    let name = if is_stdin(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    let fail = |e: io::Error| {
        let hint = match e.kind() {
            io::ErrorKind::NotFound => Some("check the path"),
            io::ErrorKind::PermissionDenied => Some("check the file's permissions"),
            _ => None,
        };
        let err = CliError {
            exit: Exit::InvalidInput,
            error: anyhow::Error::new(e).context(format!("cannot read {what} from {name}")),
            hint: None,
        };
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    };
    let mut buf = Vec::new();
    if is_stdin(path) {
        io::stdin()
            .lock()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut buf)
            .map_err(fail)?;
    } else {
        let f = File::open(path).map_err(fail)?;
        let meta = f.metadata().map_err(fail)?;
        // Sized up front so that a secret is not left behind in buffers freed while growing.
        buf.reserve_exact(usize::try_from(meta.len().min(MAX_INPUT) + 1).unwrap_or(0));
        if meta.is_dir() {
            return Err(CliError::new(
                Exit::InvalidInput,
                format!("cannot read {what} from {name}: it is a directory"),
            ));
        }
        f.take(MAX_INPUT + 1).read_to_end(&mut buf).map_err(fail)?;
    }
    if buf.len() as u64 > MAX_INPUT {
        return Err(CliError::new(
            Exit::InvalidInput,
            format!("{what} in {name} is larger than {MAX_INPUT} bytes"),
        ));
    }
    Ok(buf)
}

/// Reads a file holding a private key or a passphrase (wiped on drop) and warns on stderr
/// when other users can read it.
///
/// A warning, not a refusal (OpenSSH refuses such keys): these files are often written by
/// provisioning tools, mounted secrets or `umask 022` shells, and a refusal would break
/// pipelines that work today; the key has already leaked to whoever could read it by the time
/// we look, so refusing protects nothing, while the warning says exactly how to fix it.
///
/// # Errors
/// As [`read`].
pub fn read_private(path: &Path, what: &str) -> CliResult<Zeroizing<Vec<u8>>> {
    let bytes = read_secret(path, what)?;
    if let Some(text) = exposure_warning(path, what) {
        crate::output::Output::fallback().warn(&text);
    }
    Ok(bytes)
}

/// The warning for a secret file that users other than its owner can read, if it is one.
#[must_use]
pub fn exposure_warning(path: &Path, what: &str) -> Option<String> {
    if is_stdin(path) {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o044 != 0 {
            let name = path.display();
            return Some(format!(
                "{what} file {name} can be read by other users (mode {:04o}); restrict it with: chmod 600 {name}",
                mode & 0o7777
            ));
        }
    }
    None
}

/// Reads a file that may hold a secret; the buffer is wiped when dropped.
///
/// # Errors
/// As [`read`].
pub fn read_secret(path: &Path, what: &str) -> CliResult<Zeroizing<Vec<u8>>> {
    read(path, what).map(Zeroizing::new)
}
