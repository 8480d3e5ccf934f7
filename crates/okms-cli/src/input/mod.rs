//! Reading input files (or stdin for `-`), with a size cap so a wrong path cannot exhaust
//! memory, and loading the typed inputs of the commands (private keys, CSRs, certificates,
//! request files) with the errors and hints every command shares.

pub(crate) mod passphrase;
mod pkcs12;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use okms_api::CredentialRequest;
use okms_csr::{Certificate, Csr, PrivateKey};
use zeroize::Zeroizing;

use self::passphrase::Purpose;
use crate::cli::PassphraseArgs;
use crate::error::{CliError, CliResult, csr_error, csr_signature_error, invalid_request};
use crate::exit::Exit;

/// Largest input we read: far above any key, CSR, certificate or request file.
pub const MAX_INPUT: u64 = 1024 * 1024;

/// Whether `path` means standard input.
#[must_use]
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Display name of an input path (`-` is standard input); a path too long for one line of
/// error is quoted cut, with its length.
#[must_use]
pub fn display_path(path: &Path) -> String {
    if is_stdin(path) {
        return "standard input".to_owned();
    }
    let shown = path.display().to_string();
    if shown.chars().count() > 64 {
        crate::error::quoted(&shown)
    } else {
        shown
    }
}

/// Reads a whole input file, or stdin for `-`. `what` names it in errors ("the CSR").
///
/// # Errors
/// Exit 3 (invalid input) when the file is missing, unreadable or too large.
pub fn read(path: &Path, what: &str) -> CliResult<Vec<u8>> {
    let name = display_path(path);
    let fail = |e: io::Error| {
        let hint = match e.kind() {
            io::ErrorKind::NotFound => Some("check the path"),
            io::ErrorKind::PermissionDenied => Some("check the file's permissions"),
            _ => None,
        };
        CliError {
            exit: Exit::InvalidInput,
            error: anyhow::Error::new(e).context(format!("cannot read {what} from {name}")),
            hint: hint.map(Into::into),
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

/// The warning for a secret file that users other than its owner can read, if it is one. On
/// Unix only: reading a Windows ACL needs the Win32 security API (unsafe code, forbidden here).
#[must_use]
#[cfg_attr(not(unix), allow(unused_variables))]
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

/// Reads a text file (PEM, escaped PEM) into a buffer wiped on drop, since it may hold a
/// private key. `what` names it in errors.
///
/// # Errors
/// As [`read`]; exit 3 when it is not UTF-8.
pub fn read_text(path: &Path, what: &str) -> CliResult<Zeroizing<String>> {
    let bytes = read_secret(path, what)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        CliError::new(
            Exit::InvalidInput,
            format!("{what} in {} is not UTF-8 text", display_path(path)),
        )
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Reads and imports a private key, asking for the passphrase only if the file is encrypted.
///
/// # Errors
/// Exit 3 for unreadable, malformed or unsupported keys and wrong passphrases.
pub fn load_private_key(path: &Path, pass: &PassphraseArgs) -> CliResult<PrivateKey> {
    let bytes = read_private(path, "the private key")?;
    import_private_key(&bytes, &display_path(path), pass)
}

/// Imports key bytes already read, asking for the passphrase only if they are encrypted.
///
/// # Errors
/// As [`load_private_key`].
pub fn import_private_key(
    bytes: &[u8],
    name: &str,
    pass: &PassphraseArgs,
) -> CliResult<PrivateKey> {
    if pkcs12::is_pkcs12(bytes, name) {
        return pkcs12::import(bytes, name, pass).map(okms_csr::Pkcs12Bundle::into_key);
    }
    let passphrase = if PrivateKey::is_encrypted(bytes) {
        Some(passphrase::obtain(pass, Purpose::Decrypt, name)?)
    } else {
        None
    };
    PrivateKey::import(bytes, passphrase.as_ref())
        .map_err(|e| csr_error(e, format!("cannot load the private key {name}")))
}

/// Reads a CSR, PEM or DER, without checking its signature (`csr show` and `csr verify`
/// report a bad one themselves).
///
/// # Errors
/// As [`read`]; exit 3 when it is not a CSR.
pub fn load_csr(path: &Path) -> CliResult<Csr> {
    let bytes = read(path, "the CSR")?;
    Csr::parse(&bytes).map_err(|e| {
        csr_error(e, format!("{} is not a valid CSR", display_path(path)))
            .hint("a CSR is PEM `-----BEGIN CERTIFICATE REQUEST-----` or its DER form; for a JSON-escaped CSR run `okms-cli pem unescape` first")
    })
}

/// Reads a CSR that is about to be sent: its signature must verify, since OKMS refuses it
/// otherwise.
///
/// # Errors
/// As [`load_csr`]; exit 4 when the signature does not verify.
pub fn load_verified_csr(path: &Path) -> CliResult<Csr> {
    let csr = load_csr(path)?;
    csr.verify().map_err(|e| {
        csr_signature_error(
            e,
            format!("the signature of {} does not verify", display_path(path)),
        )
    })?;
    Ok(csr)
}

/// Reads a certificate, PEM or DER.
///
/// # Errors
/// As [`read`]; exit 3 when it is not a certificate.
pub fn load_certificate(path: &Path) -> CliResult<Certificate> {
    let bytes = read(path, "the certificate")?;
    Certificate::parse(&bytes).map_err(|e| {
        csr_error(e, format!("{} is not a valid certificate", display_path(path)))
            .hint("for a JSON-escaped certificate run `okms-cli pem unescape --field certificatePEM` first")
    })
}

/// Reads a CA chain file: PEM with one or more certificates, or one DER certificate.
///
/// # Errors
/// As [`read`]; exit 3 when it holds anything else.
pub fn load_certificate_chain(path: &Path) -> CliResult<Vec<Certificate>> {
    let bytes = read(path, "the CA chain")?;
    okms_csr::certificate_chain(&bytes).map_err(|e| {
        csr_error(e, format!("{} is not a CA chain", display_path(path)))
            .hint("give the domain's CA as PEM CERTIFICATE blocks")
    })
}

/// Reads a request file (`okms-cli request new` writes them): the body, checked as okms-api
/// reads it, and the CSR it carries, verified (`None`: the request lets OVHcloud make the key).
///
/// # Errors
/// As [`read`]; exit 3 for a file that is not a valid request or CSR, 4 for a CSR whose
/// signature does not verify.
pub fn load_request(path: &Path) -> CliResult<(CredentialRequest, Option<Csr>)> {
    let name = display_path(path);
    let bytes = read(path, "the request")?;
    let body = CredentialRequest::from_json(&bytes).map_err(|e| match e {
        okms_api::Error::InvalidField { .. } => {
            invalid_request(e, "").context(format!("{name} holds an invalid request"))
        }
        _ => CliError {
            exit: Exit::InvalidInput,
            error: anyhow::Error::new(e).context(format!("{name} is not a credential request")),
            hint: Some("a request file is written by `okms-cli request new`".to_owned()),
        },
    })?;
    let Some(pem) = &body.csr else {
        return Ok((body, None));
    };
    let csr =
        Csr::from_pem(pem).map_err(|e| csr_error(e, format!("{name}: csr: not a valid CSR")))?;
    csr.verify().map_err(|e| {
        csr_signature_error(e, format!("{name}: csr: the signature does not verify"))
    })?;
    Ok((body, Some(csr)))
}

/// Whether anything (a file, a link, a directory) is at `path`: renewal refuses to write over
/// one, or looks at what an earlier run left there.
#[must_use]
pub fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// The certificate at `path` when there is a readable one; `None` otherwise, for a caller that
/// only looks at what an earlier run may have left (a `.bak` or `.new` certificate).
#[must_use]
pub fn certificate_if_any(path: &Path) -> Option<Certificate> {
    if is_stdin(path) {
        return None;
    }
    let bytes = read(path, "the certificate").ok()?;
    Certificate::parse(&bytes).ok()
}

/// Reads a text file that may not exist yet (the okms.yaml a profile is added to): `None`
/// when it is absent.
///
/// # Errors
/// Exit 1 when it exists but cannot be read.
pub fn read_existing_text(path: &Path) -> CliResult<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::new(
            Exit::Error,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}
