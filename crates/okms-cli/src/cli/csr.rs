//! `okms-cli csr ...`, `cert ...` and `pem ...`: the offline commands on CSRs, certificates
//! and PEM text.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{AlgorithmArg, CertExportArgs, NewKeyArgs, PassphraseArgs, Pkcs11Args};

/// `okms-cli csr ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum CsrCommand {
    /// Create a PKCS#10 CSR from an existing key, or from a new key written first.
    New(CsrNewArgs),
    /// Show a CSR: subject, SANs, key algorithm and size, public-key fingerprint, signature check.
    Show(CsrShowArgs),
    /// Verify a CSR's self-signature and, with --key, that it holds that key's public key.
    Verify(CsrVerifyArgs),
}

// `okms-cli csr new`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("key_source").required(true).args(["key", "key_out"])))]
#[command(group(clap::ArgGroup::new("subject_source").required(true).args(["cn", "subject"])))]
pub struct CsrNewArgs {
    /// Sign with this existing private key (PEM or DER, encrypted or not), or with the key on
    /// a PKCS#11 token this `pkcs11:` URI names (the CSR is signed on the token).
    #[arg(long, value_name = "PATH|URI", conflicts_with_all = ["key_out", "algorithm"])]
    pub key: Option<PathBuf>,
    /// How to reach the token (with --key pkcs11:...).
    #[command(flatten)]
    pub token: Pkcs11Args,
    /// Generate a new key, write it here (mode 0600) before the CSR, and sign with it.
    #[arg(long, value_name = "PATH")]
    pub key_out: Option<PathBuf>,
    /// Algorithm of the new key (with --key-out; default ecdsa-p256; openssl's names such as
    /// prime256v1 or secp384r1 work too).
    #[arg(long, value_enum, value_name = "ALG", ignore_case = true)]
    pub algorithm: Option<AlgorithmArg>,
    /// How to write the new key (with --key-out).
    #[command(flatten)]
    pub new_key: NewKeyArgs,
    /// Subject common name (shorthand for --subject CN=NAME).
    #[arg(long, value_name = "NAME")]
    pub cn: Option<String>,
    /// Subject distinguished name, RFC 4514 (e.g. `CN=app1,O=Example,C=FR`).
    #[arg(long, value_name = "DN")]
    pub subject: Option<String>,
    /// Subject alternative name to request: dns:NAME, ip:ADDR, email:ADDR or uri:URI (repeatable).
    #[arg(long, value_name = "TYPE:VALUE")]
    pub san: Vec<String>,
    /// Where to write the CSR (PEM); `-` writes it to stdout.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Where the passphrase comes from (to read an encrypted --key, or for --encrypt).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Replace output files that exist.
    #[arg(long)]
    pub force: bool,
}

// `okms-cli csr show`
#[derive(Debug, Args)]
pub struct CsrShowArgs {
    /// The CSR file (PEM or DER; `-` for stdin).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

// `okms-cli csr verify`
#[derive(Debug, Args)]
pub struct CsrVerifyArgs {
    /// The CSR file (PEM or DER; `-` for stdin).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Also check that the CSR holds this private key's public key (a file or a `pkcs11:` URI).
    #[arg(long, value_name = "PATH|URI")]
    pub key: Option<PathBuf>,
    /// Where the passphrase comes from, if --key is encrypted.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// How to reach the token (with --key pkcs11:...).
    #[command(flatten)]
    pub token: Pkcs11Args,
}

/// `okms-cli cert ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum CertCommand {
    /// Show a certificate: credential id, subject, OKMS domain, validity, key usages.
    Show(CertShowArgs),
    /// Write a PKCS#12 (.p12) file with the key, certificate and CA chain, for Windows and
    /// appliances.
    Export(CertExportArgs),
}

// `okms-cli cert show`
#[derive(Debug, Args)]
pub struct CertShowArgs {
    /// The certificate file (PEM or DER; `-` for stdin).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Also check that the certificate holds this private key's public key (exit 4 if not).
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// Where the passphrase comes from, if --key is encrypted.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `okms-cli pem ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum PemCommand {
    /// PEM to the content of a JSON string (line breaks as `\n`), as the API's `csr` field wants.
    Escape(PemEscapeArgs),
    /// What you pasted from the API (escaped string, quoted string or whole JSON) back to PEM.
    Unescape(PemUnescapeArgs),
}

// `okms-cli pem escape`
#[derive(Debug, Args)]
pub struct PemEscapeArgs {
    /// The PEM file; `-` or nothing reads stdin.
    #[arg(value_name = "PATH|-")]
    pub path: Option<PathBuf>,
    /// Print a complete JSON string literal, with the surrounding double quotes.
    #[arg(long)]
    pub quoted: bool,
    /// Write the result here (mode 0600 for a private key). A private key's escaped form is only
    /// printed with `--out -`.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

// `okms-cli pem unescape`
#[derive(Debug, Args)]
pub struct PemUnescapeArgs {
    /// The input; `-` or nothing reads stdin.
    #[arg(value_name = "PATH|-")]
    pub path: Option<PathBuf>,
    /// Take the PEM from this field of a JSON object (e.g. privateKeyPEM, certificatePEM).
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
    /// Write the PEM here (private keys with mode 0600). Private keys are only printed with `--out -`.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}
