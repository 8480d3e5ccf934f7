//! Command behaviour, one module per command group. Arguments come from [`crate::cli`].

pub mod cert;
pub mod csr;
pub mod key;
pub mod online;
pub(crate) use online::nagios_unknown_text;
pub mod pem;
pub mod pkcs11;
pub mod request;

use std::path::Path;

use okms_csr::KeyAlgorithm;

use crate::cli::{AlgorithmArg, Command, KeyFormatArg};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::output::Output;
use crate::{cli, input};

/// Runs one parsed command.
///
/// # Errors
/// Whatever the command reports, with its exit code.
pub fn dispatch(command: &Command, global: &cli::GlobalArgs, out: &Output) -> CliResult<()> {
    match command {
        Command::Key(c) => key::run(c, out),
        Command::Csr(c) => csr::run(c, out),
        Command::Cert(c) => cert::run(c, out),
        Command::Pem(c) => pem::run(c, out),
        Command::Request(c) => request::run(c, global, out),
        Command::Online(c) => online::run(c, global, out),
    }
}

/// Converts the clap value to the library's algorithm.
#[must_use]
pub fn algorithm(a: AlgorithmArg) -> KeyAlgorithm {
    match a {
        AlgorithmArg::EcdsaP256 => KeyAlgorithm::EcdsaP256,
        AlgorithmArg::EcdsaP384 => KeyAlgorithm::EcdsaP384,
        AlgorithmArg::EcdsaP521 => KeyAlgorithm::EcdsaP521,
        AlgorithmArg::Rsa2048 => KeyAlgorithm::Rsa2048,
        AlgorithmArg::Rsa3072 => KeyAlgorithm::Rsa3072,
        AlgorithmArg::Rsa4096 => KeyAlgorithm::Rsa4096,
    }
}

/// Converts the clap value to the library's key format.
#[must_use]
pub fn key_format(f: KeyFormatArg) -> okms_csr::KeyFormat {
    match f {
        KeyFormatArg::Pkcs8 => okms_csr::KeyFormat::Pkcs8,
        KeyFormatArg::Traditional => okms_csr::KeyFormat::Traditional,
    }
}

/// Wraps an `okms_csr` error with the exit code and hint its kind calls for.
pub fn csr_error(
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
pub fn csr_signature_error(
    e: okms_csr::Error,
    context: impl std::fmt::Display + Send + Sync + 'static,
) -> CliError {
    CliError {
        exit: Exit::VerificationFailed,
        ..csr_error(e, context)
    }
    .hint("the CSR was altered or is corrupt; OKMS rejects it: create it again with `okms-cli csr new`")
}

/// A usage error (exit 2) for flag combinations clap cannot express.
pub fn usage(msg: impl std::fmt::Display) -> CliError {
    CliError::new(Exit::Usage, msg)
}

/// Refuses an output path that names one of the command's inputs (e.g. `--out` = `--key`):
/// with `--force` it would silently destroy that input.
///
/// # Errors
/// Exit 2 naming both flags.
pub fn refuse_output_over_input(
    out: &Path,
    out_flag: &str,
    input: &Path,
    input_flag: &str,
) -> CliResult<()> {
    if !input::is_stdin(out) && !input::is_stdin(input) && crate::files::same_file(out, input) {
        return Err(usage(format!(
            "{out_flag} {} is the same file as {input_flag} {}; writing it would destroy the input",
            out.display(),
            input.display()
        ))
        .hint(format!("choose another path for {out_flag}")));
    }
    Ok(())
}
