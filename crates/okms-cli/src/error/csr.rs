//! okms-csr's errors as exit codes and hints.

use super::CliError;
use crate::exit::Exit;

/// Wraps an `okms_csr` error with the exit code and hint its kind calls for.
pub(crate) fn csr_error(
    e: okms_csr::Error,
    context: impl std::fmt::Display + Send + Sync + 'static,
) -> CliError {
    use okms_csr::Error as E;
    let (exit, hint) = match &e {
        E::WrongPassphrase => (
            Exit::InvalidInput,
            Some("check the passphrase source (--passphrase-file or --passphrase-env)"),
        ),
        E::PassphraseRequired => (
            Exit::InvalidInput,
            Some("give the passphrase with --passphrase-file or --passphrase-env"),
        ),
        E::BadSignature(_) => (Exit::VerificationFailed, None),
        E::KeyCertificateMismatch { .. } => (
            Exit::VerificationFailed,
            Some("the certificate was issued for another key: give the key that made its CSR"),
        ),
        E::NotPkcs12(_) => (
            Exit::InvalidInput,
            Some(
                "a .p12 or .pfx file is binary PKCS#12; PEM keys and certificates are read as they are",
            ),
        ),
        E::UnsupportedKey { .. } => (
            Exit::InvalidInput,
            Some("supported keys: ECDSA P-256, P-384, P-521 and RSA 2048-4096 bits"),
        ),
        E::InvalidSubject { .. } => (
            Exit::InvalidInput,
            Some("write the subject as RFC 4514, e.g. CN=app1,O=Example,C=FR"),
        ),
        E::InvalidSan(_) => (
            Exit::InvalidInput,
            Some("write SANs as dns:NAME, ip:ADDR, email:ADDR or uri:URI"),
        ),
        E::KeyGeneration(_) | E::Export(_) | E::Signing(_) => (Exit::Error, None),
        _ => (Exit::InvalidInput, None),
    };
    CliError {
        exit,
        error: anyhow::Error::new(e).context(context),
        hint: hint.map(Into::into),
    }
}

/// A CSR whose signature does not verify: exit 4 whatever the library calls the failure, with
/// the fix, since OKMS refuses such a CSR.
pub(crate) fn csr_signature_error(
    e: okms_csr::Error,
    context: impl std::fmt::Display + Send + Sync + 'static,
) -> CliError {
    CliError {
        exit: Exit::VerificationFailed,
        ..csr_error(e, context)
    }
    .hint("the CSR was altered or is corrupt; OKMS rejects it: create it again with `okms-cli csr new`")
}
