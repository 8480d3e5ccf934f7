//! The command line, as clap derive definitions and nothing else.
//!
//! Behaviour lives in `commands/`; this module only says which flags exist, so that the hidden
//! `okms-cli generate-docs` command (`crate::generate`, which `cargo xtask dist` runs) can
//! render man pages and shell completions from [`Cli::command`] (via `clap::CommandFactory`)
//! without reaching any command's code paths.

// Parsed once per process; boxing variants would only add noise to the definitions.
#![allow(clippy::large_enum_variant)]
// Start-up: every subcommand enum is `defer`red, so clap builds only the arguments of the
// subcommand that runs (a tenth of a millisecond per `csr new`). Under `defer`, a doc comment on
// a subcommand's `Args` struct would replace the about text of its enum variant, so those
// structs carry plain `//` comments, and this module cannot require docs on them. The unit test
// `subcommand_about_texts_survive_deferral` catches a doc comment that slips back in.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;

mod cert;
mod credential;
mod csr;
mod iam;
mod key;
mod online;
mod request;

pub use cert::*;
pub use credential::*;
pub use csr::*;
pub use iam::*;
pub use key::*;
pub use online::*;
pub use request::*;

/// What `--version` prints after the name: the release, then the git commit and the target the
/// binary was built for (both recorded by `build.rs`), e.g.
/// `0.1.0 (commit 1a2b3c4d5e6f, x86_64-unknown-linux-musl)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("OKMS_BUILD_COMMIT"),
    ", ",
    env!("OKMS_BUILD_TARGET"),
    ")"
);

/// Keys, CSRs and access certificates for OVHcloud KMS (OKMS), offline and online.
#[derive(Debug, Parser)]
#[command(
    name = "okms-cli",
    version = VERSION,
    about = "Keys, CSRs and access certificates for OVHcloud KMS (OKMS)",
    long_about = "Keys, CSRs and access certificates for OVHcloud KMS (OKMS).\n\n\
        Offline commands (key, csr, cert, pem, request) never touch the network and are meant for an \
        air-gapped host. Online commands (whoami, domain, credential) call the OVHcloud API.",
    after_long_help = EXIT_CODES_HELP,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

// Options accepted by every command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// OVHcloud API endpoint: a name (ovh-eu, ovh-ca, ovh-us, ...) or a URL [env: OVH_ENDPOINT]
    #[arg(long, global = true, value_name = "NAME|URL")]
    pub endpoint: Option<String>,
    /// An ovh.conf file read after /etc/ovh.conf, ~/.ovh.conf and ./ovh.conf: its values win,
    /// and when it holds credentials, the other files' credentials of another method are ignored.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print results as JSON on stdout (a stable, documented format); diagnostics stay on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to colour output: auto (a terminal and NO_COLOR unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// `--color` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Private keys: generate, inspect, extract the public key (offline).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Certificate signing requests: create, inspect, verify (offline).
    #[command(subcommand)]
    Csr(CsrCommand),
    /// Certificates: inspect, check against a key (offline).
    #[command(subcommand)]
    Cert(CertCommand),
    /// Convert PEM to and from the one-line JSON string form the API uses (offline).
    #[command(subcommand)]
    Pem(PemCommand),
    /// Credential-create request files carried from an air-gapped host (offline).
    #[command(subcommand)]
    Request(RequestCommand),
    /// Commands that call the OVHcloud API.
    #[command(flatten)]
    Online(OnlineCommand),
}

// ---------------------------------------------------------------------------------------------
// Shared argument groups
// ---------------------------------------------------------------------------------------------

// Where a passphrase comes from. Never from the command line itself: argv is visible to every
// user of the machine. Without either flag, a terminal prompt is used.
#[derive(Debug, Args, Clone, Default)]
pub struct PassphraseArgs {
    /// Read the passphrase from the first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_env")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the passphrase from the environment variable with this name.
    #[arg(long, value_name = "NAME")]
    pub passphrase_env: Option<String>,
}

impl PassphraseArgs {
    /// Whether a passphrase source was named.
    #[must_use]
    pub fn is_given(&self) -> bool {
        self.passphrase_file.is_some() || self.passphrase_env.is_some()
    }
}

// How to reach a PKCS#11 token (for keys given as `pkcs11:` URIs). The PIN is never a flag:
// it comes from --pin-file, the URI's pin-source/pin-value, or a prompt.
#[derive(Debug, Args, Clone, Default)]
pub struct Pkcs11Args {
    /// PKCS#11 module (shared library) of the token, e.g. /usr/lib/softhsm/libsofthsm2.so
    /// [default: the URI's module-path, else env OKMS_PKCS11_MODULE]
    #[arg(long, value_name = "PATH")]
    pub pkcs11_module: Option<PathBuf>,
    /// Read the token's user PIN from this file (without its trailing newline).
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
}

impl Pkcs11Args {
    /// Whether any token flag was given.
    #[must_use]
    pub fn is_given(&self) -> bool {
        self.pkcs11_module.is_some() || self.pin_file.is_some()
    }
}

/// Key algorithms, as `--algorithm` spells them. The curve names openssl uses (`prime256v1`,
/// `secp384r1`, ...) and the short forms (`p256`, `rsa2048`) are accepted too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum)]
pub enum AlgorithmArg {
    /// ECDSA on NIST P-256 with SHA-256 (what OKMS itself issues).
    #[default]
    #[value(name = "ecdsa-p256", aliases = ["p256", "p-256", "prime256v1", "secp256r1"])]
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    #[value(name = "ecdsa-p384", aliases = ["p384", "p-384", "secp384r1"])]
    EcdsaP384,
    /// ECDSA on NIST P-521 with SHA-512.
    #[value(name = "ecdsa-p521", aliases = ["p521", "p-521", "secp521r1"])]
    EcdsaP521,
    /// RSA 2048 bits, PKCS#1 v1.5 with SHA-256.
    #[value(name = "rsa-2048", alias = "rsa2048")]
    Rsa2048,
    /// RSA 3072 bits, PKCS#1 v1.5 with SHA-256.
    #[value(name = "rsa-3072", alias = "rsa3072")]
    Rsa3072,
    /// RSA 4096 bits, PKCS#1 v1.5 with SHA-256.
    #[value(name = "rsa-4096", alias = "rsa4096")]
    Rsa4096,
}

/// Private key file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum)]
pub enum KeyFormatArg {
    /// PKCS#8 `PRIVATE KEY` (or `ENCRYPTED PRIVATE KEY` with --encrypt).
    #[default]
    Pkcs8,
    /// SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY` (cannot be combined with --encrypt).
    Traditional,
}

/// The library's algorithm for the clap value.
impl From<AlgorithmArg> for okms_csr::KeyAlgorithm {
    fn from(a: AlgorithmArg) -> Self {
        match a {
            AlgorithmArg::EcdsaP256 => Self::EcdsaP256,
            AlgorithmArg::EcdsaP384 => Self::EcdsaP384,
            AlgorithmArg::EcdsaP521 => Self::EcdsaP521,
            AlgorithmArg::Rsa2048 => Self::Rsa2048,
            AlgorithmArg::Rsa3072 => Self::Rsa3072,
            AlgorithmArg::Rsa4096 => Self::Rsa4096,
        }
    }
}

/// The library's key format for the clap value.
impl From<KeyFormatArg> for okms_csr::KeyFormat {
    fn from(f: KeyFormatArg) -> Self {
        match f {
            KeyFormatArg::Pkcs8 => Self::Pkcs8,
            KeyFormatArg::Traditional => Self::Traditional,
        }
    }
}

// Options for writing a new private key.
#[derive(Debug, Args, Clone)]
pub struct NewKeyArgs {
    /// Encrypt the key with a passphrase (PKCS#8, PBES2 scrypt + AES-256-CBC).
    #[arg(long)]
    pub encrypt: bool,
    /// File format of the private key [default: pkcs8].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<KeyFormatArg>,
}

// ---------------------------------------------------------------------------------------------
// Offline commands
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Online commands (behaviour in commands::online)
// ---------------------------------------------------------------------------------------------

/// Parses `90`, `90s`, `5m`, `1h`, `500ms` into a duration.
///
/// # Errors
/// A message naming the accepted forms when the text is none of them.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let bad =
        || format!("invalid duration `{s}`: use a number followed by ms, s, m or h (e.g. 90s, 5m)");
    let n: u64 = num.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
        "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    Ok(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    fn about_texts(cmd: &clap::Command, path: &str, into: &mut Vec<(String, String)>) {
        for sub in cmd.get_subcommands() {
            let here = format!("{path} {}", sub.get_name());
            let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
            into.push((here.clone(), about));
            about_texts(sub, &here, into);
        }
    }

    #[test]
    fn subcommand_about_texts_survive_deferral() {
        let mut listed = Vec::new();
        about_texts(&Cli::command(), "okms-cli", &mut listed);
        let mut built = Cli::command();
        built.build();
        let mut shown = Vec::new();
        about_texts(&built, "okms-cli", &mut shown);
        // Building adds `help` subcommands; the others must keep their text.
        shown.retain(|(path, _)| listed.iter().any(|(p, _)| p == path));
        assert_eq!(
            listed, shown,
            "an Args struct has a doc comment: make it a `//` comment"
        );
        assert!(
            listed.iter().all(|(_, about)| !about.is_empty()),
            "{listed:?}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5 days").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }
}
