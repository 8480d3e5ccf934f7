//! `okms-cli key ...`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{AlgorithmArg, NewKeyArgs, PassphraseArgs, Pkcs11Args};

/// `okms-cli key ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum KeyCommand {
    /// Generate a private key and write it with mode 0600.
    New(KeyNewArgs),
    /// Show a private key's algorithm, size and public-key fingerprint (never the key itself).
    Show(KeyShowArgs),
    /// Write the public key (SubjectPublicKeyInfo PEM) of a private key.
    Pub(KeyPubArgs),
    /// List the usable private keys on a PKCS#11 token (label, id, algorithm, URI).
    List(KeyListArgs),
}

// `okms-cli key new`
#[derive(Debug, Args)]
pub struct KeyNewArgs {
    /// Key algorithm (openssl's names work too: prime256v1, secp384r1, secp521r1; and p256, rsa2048, ...).
    #[arg(long, value_enum, default_value_t = AlgorithmArg::EcdsaP256, value_name = "ALG", ignore_case = true)]
    pub algorithm: AlgorithmArg,
    /// Where to write the private key; `-` writes it to stdout. With --pkcs11: where to write
    /// the public key (optional).
    #[arg(long, value_name = "PATH", required_unless_present = "pkcs11")]
    pub out: Option<PathBuf>,
    /// Generate the key on a PKCS#11 token instead, named by this URI
    /// (e.g. `pkcs11:token=mytoken;object=okms-client`): sensitive, not extractable, never
    /// replacing an existing object.
    #[arg(long, value_name = "URI")]
    pub pkcs11: Option<String>,
    /// How to reach the token (with --pkcs11).
    #[command(flatten)]
    pub token: Pkcs11Args,
    /// How to write the key.
    #[command(flatten)]
    pub key: NewKeyArgs,
    /// Where the passphrase comes from (with --encrypt).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

// `okms-cli key show`
#[derive(Debug, Args)]
pub struct KeyShowArgs {
    /// The private key file (PEM or DER; `-` for stdin), or a `pkcs11:` URI.
    #[arg(value_name = "PATH|URI")]
    pub path: PathBuf,
    /// How to reach the token (for a `pkcs11:` key).
    #[command(flatten)]
    pub token: Pkcs11Args,
    /// Where the passphrase comes from, if the key is encrypted.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

// `okms-cli key pub`
#[derive(Debug, Args)]
pub struct KeyPubArgs {
    /// The private key file (PEM or DER; `-` for stdin), or a `pkcs11:` URI.
    #[arg(value_name = "PATH|URI")]
    pub path: PathBuf,
    /// How to reach the token (for a `pkcs11:` key).
    #[command(flatten)]
    pub token: Pkcs11Args,
    /// Write the public key here instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Where the passphrase comes from, if the key is encrypted.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

// `okms-cli key list`
#[derive(Debug, Args)]
pub struct KeyListArgs {
    /// The token, as a PKCS#11 URI (e.g. `pkcs11:token=mytoken`; object=/id= narrow the list).
    #[arg(long, value_name = "URI")]
    pub pkcs11: String,
    /// How to reach the token.
    #[command(flatten)]
    pub token: Pkcs11Args,
}
