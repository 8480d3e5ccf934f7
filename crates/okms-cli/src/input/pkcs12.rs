//! A `.p12`/`.pfx` given where a key file is expected: its key (and certificates), opened
//! with the passphrase from the usual sources.

use okms_csr::{Pkcs12Bundle, looks_like_pkcs12};

use super::passphrase::{self, Purpose};
use crate::cli::PassphraseArgs;
use crate::error::{CliResult, csr_error};

/// Whether the key input `name` / `bytes` is meant as PKCS#12: by its content, or by its
/// extension (so that a `.p12` that is not one is reported as such, not as a bad PEM key).
pub(crate) fn is_pkcs12(bytes: &[u8], name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    looks_like_pkcs12(bytes) || lower.ends_with(".p12") || lower.ends_with(".pfx")
}

/// Opens a PKCS#12 file. Without a passphrase source the empty password is tried first (a
/// file written with `--no-passphrase`), and only then is the passphrase asked for.
///
/// # Errors
/// Exit 3 for a file that is not PKCS#12, truncated or damaged, or a wrong passphrase; exit 4
/// when its key and certificate do not match.
pub(crate) fn import(bytes: &[u8], name: &str, pass: &PassphraseArgs) -> CliResult<Pkcs12Bundle> {
    let given = if pass.is_given() {
        Some(passphrase::obtain(pass, Purpose::Decrypt, name)?)
    } else {
        None
    };
    let opened = match Pkcs12Bundle::from_der(bytes, given.as_ref()) {
        Err(okms_csr::Error::PassphraseRequired) if given.is_none() => {
            let asked = passphrase::obtain(pass, Purpose::Decrypt, name)?;
            Pkcs12Bundle::from_der(bytes, Some(&asked))
        }
        other => other,
    };
    opened.map_err(|e| csr_error(e, format!("cannot open the PKCS#12 file {name}")))
}
