//! Command behaviour, one module per command group. Arguments come from [`crate::cli`].

pub mod cert;
pub mod csr;
pub mod key;
pub mod online;
pub mod pem;
pub mod pkcs11;
pub mod request;

use std::path::Path;

use okms_csr::{KeyAlgorithm, PrivateKey};

use crate::cli::{AlgorithmArg, Command, KeyFormatArg, PassphraseArgs};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::output::Output;
use crate::passphrase::{self, Purpose};
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
        E::UnsupportedKey(_) => (
            Exit::InvalidInput,
            Some("supported keys: ECDSA P-256, P-384, P-521 and RSA 2048-4096 bits"),
        ),
        E::InvalidSubject(_) => (
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
    let err = CliError {
        exit,
        error: anyhow::Error::new(e).context(context),
        hint: None,
    };
    match hint {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// Display name of an input path (`-` is standard input).
#[must_use]
pub fn display_path(path: &Path) -> String {
    if input::is_stdin(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Reads and imports a private key, asking for the passphrase only if the file is encrypted.
///
/// # Errors
/// Exit 3 for unreadable, malformed or unsupported keys and wrong passphrases.
pub fn load_private_key(path: &Path, pass: &PassphraseArgs) -> CliResult<PrivateKey> {
    let bytes = input::read_private(path, "the private key")?;
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
    let passphrase = if PrivateKey::is_encrypted(bytes) {
        Some(passphrase::obtain(pass, Purpose::Decrypt, name)?)
    } else {
        None
    };
    PrivateKey::import(bytes, passphrase.as_ref())
        .map_err(|e| csr_error(e, format!("cannot load the private key {name}")))
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
