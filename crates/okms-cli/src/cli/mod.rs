//! The command line, as clap derive definitions and nothing else.
//!
//! Behaviour lives in `commands/`; this module only says which flags exist, so that `xtask`
//! can build man pages and shell completions from [`Cli::command`] (via `clap::CommandFactory`)
//! without linking any command's code paths.

// Parsed once per process; boxing variants would only add noise to the definitions.
#![allow(clippy::large_enum_variant)]
// Start-up: every subcommand enum is `defer`red, so clap builds only the arguments of the
// subcommand that runs (a tenth of a millisecond per `csr new`). Under `defer`, a doc comment on
// a subcommand's `Args` struct would replace the about text of its enum variant, so those
// structs carry plain `//` comments, and this module cannot require docs on them. The unit test
// `subcommand_about_texts_survive_deferral` catches a doc comment that slips back in.
#![allow(missing_docs)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;

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

/// `okms-cli request ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum RequestCommand {
    /// Write the exact JSON body of the credential-create call, to carry to a connected host.
    New(RequestNewArgs),
    /// Check a request file and show what it asks for.
    Show(RequestShowArgs),
}

// `okms-cli request new`
#[derive(Debug, Args)]
pub struct RequestNewArgs {
    /// The CSR to submit (PEM or DER); its signature is checked first.
    #[arg(long, value_name = "PATH")]
    pub csr: PathBuf,
    /// Credential name: 1-50 printable ASCII characters.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Who may use the credential.
    #[command(flatten)]
    pub identities: IdentityArgs,
    /// Account ID (NIC handle, usually like xx1111-ovh), to build URNs from
    /// --root/--user/--group/--service-account.
    #[arg(long, value_name = "NIC")]
    pub nic: Option<String>,
    /// Region plate for built URNs: eu, ca or us.
    #[arg(long, value_name = "PLATE")]
    pub region: Option<String>,
    /// Credential description: up to 200 printable ASCII characters; "" sends an empty one
    /// (left out of the request when not given).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Certificate validity in days, 1-365 (the API's default is 365).
    #[arg(long, value_name = "DAYS")]
    pub validity: Option<u32>,
    /// Where to write the request (JSON); `-` writes it to stdout.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

// `okms-cli request show`
#[derive(Debug, Args)]
pub struct RequestShowArgs {
    /// The request file written by `request new` (`-` for stdin).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

// The identities (IAM URNs) allowed to use a credential. At least one is required; up to 25.
#[derive(Debug, Args, Clone, Default)]
#[command(group(clap::ArgGroup::new("identity_source").required(true).multiple(true)
    .args(["identity", "root", "user", "group", "service_account"])))]
pub struct IdentityArgs {
    /// A full identity URN, urn:v1:{eu|ca|us|labeu}:identity:{account|user|group|credential}:{account}[/{name}],
    /// e.g. urn:v1:eu:identity:user:xx1111-ovh/john.smith (repeatable).
    #[arg(long, value_name = "URN")]
    pub identity: Vec<String>,
    /// The account's root identity (urn:v1:{region}:identity:account:{nic}).
    #[arg(long)]
    pub root: bool,
    /// A local user of the account, by login (repeatable).
    #[arg(long, value_name = "LOGIN")]
    pub user: Vec<String>,
    /// A user group of the account, by name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub group: Vec<String>,
    /// A service account (OAuth2 client), by client id; its URN name is oauth2-{client id}
    /// (repeatable).
    #[arg(long, value_name = "CLIENT_ID")]
    pub service_account: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Online commands (behaviour in commands::online)
// ---------------------------------------------------------------------------------------------

/// Commands that call the OVHcloud API.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum OnlineCommand {
    /// Show who the API credentials authenticate as (account, method, identities).
    Whoami,
    /// OKMS domains of the account.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Access certificates (credentials) of an OKMS domain.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// IAM policies that let users, groups and service accounts use an OKMS domain.
    #[command(subcommand)]
    Iam(IamCommand),
}

/// `okms-cli iam ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum IamCommand {
    /// List the account's users, groups (ADMIN-role groups marked) and service accounts, with
    /// their identity URNs.
    Identities,
    /// Give identities actions on the domain with an IAM policy (idempotent).
    Grant(IamGrantArgs),
    /// List the IAM policies that name the domain.
    List(IamListArgs),
    /// Delete an IAM policy.
    Revoke(IamRevokeArgs),
}

// The identities a policy names. `--root` is accepted only to be refused with the reason.
#[derive(Debug, Args, Clone, Default)]
pub struct IamIdentityArgs {
    /// A full identity URN, urn:v1:{eu|ca|us}:identity:{user|group|credential}:{account}/{name}
    /// (repeatable).
    #[arg(long, value_name = "URN")]
    pub identity: Vec<String>,
    /// Refused: the account's root identity holds every right and needs no policy.
    #[arg(long)]
    pub root: bool,
    /// A local user of the account, by login (repeatable).
    #[arg(long, value_name = "LOGIN")]
    pub user: Vec<String>,
    /// A user group of the account, by name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub group: Vec<String>,
    /// A service account (OAuth2 client), by client id (repeatable).
    #[arg(long, value_name = "CLIENT_ID")]
    pub service_account: Vec<String>,
}

/// What `iam grant` prints instead of sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GrantFormat {
    /// The request body (POST /v2/iam/policy), nothing sent.
    Json,
    /// An `ovh_iam_policy` resource for the OVH Terraform provider, nothing sent.
    Terraform,
}

// `okms-cli iam grant`. The presets list is built here, in the deferred part, so that other
// commands do not format it at start-up.
#[derive(Debug, Args)]
#[command(after_help = crate::commands::online::iam::presets_help())]
pub struct IamGrantArgs {
    /// The domain the policy is about.
    #[command(flatten)]
    pub okms: OkmsIdArg,
    /// Who receives the actions.
    #[command(flatten)]
    pub identities: IamIdentityArgs,
    /// A preset of actions (repeatable; listed below).
    #[arg(long, value_name = "NAME")]
    pub preset: Vec<String>,
    /// An action to allow, e.g. okms:apikms:serviceKey/get; a trailing * covers every action
    /// with that prefix (repeatable).
    #[arg(long, value_name = "ACTION")]
    pub allow: Vec<String>,
    /// An action taken back out of the allowed ones (repeatable).
    #[arg(long, value_name = "ACTION")]
    pub except: Vec<String>,
    /// An action denied whatever any policy allows (repeatable).
    #[arg(long, value_name = "ACTION")]
    pub deny: Vec<String>,
    /// Policy name; the same name finds the same policy again [default: derived from the
    /// domain, the presets and the identities].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Policy description.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// When the policy stops applying, RFC 3339 (e.g. 2026-12-31T23:59:59Z).
    #[arg(long, value_name = "TIME")]
    pub expires_at: Option<String>,
    /// Print the exact request body and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the policy in this form and send nothing.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<GrantFormat>,
    /// Replace a different policy of the same name (a PUT replaces the whole policy).
    #[arg(long)]
    pub force: bool,
}

// `okms-cli iam list`
#[derive(Debug, Args)]
pub struct IamListArgs {
    /// The domain.
    #[command(flatten)]
    pub okms: OkmsIdArg,
    /// Only the policies naming this identity URN.
    #[arg(long, value_name = "URN")]
    pub identity: Option<String>,
}

// `okms-cli iam revoke`
#[derive(Debug, Args)]
pub struct IamRevokeArgs {
    /// The policy id (a UUID, as `iam list` shows it).
    #[arg(value_name = "POLICY")]
    pub policy: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `okms-cli domain ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum DomainCommand {
    /// List the account's OKMS domains.
    List,
    /// Show one OKMS domain.
    Show(DomainShowArgs),
}

// `okms-cli domain show`
#[derive(Debug, Args)]
pub struct DomainShowArgs {
    /// The OKMS domain id (a UUID).
    #[arg(value_name = "ID")]
    pub id: String,
}

// The OKMS domain a credential command works on.
#[derive(Debug, Args, Clone)]
pub struct OkmsIdArg {
    /// The OKMS domain id (a UUID).
    #[arg(long, env = "OKMS_ID", value_name = "ID")]
    pub okms_id: String,
}

/// Certificate types OVHcloud can generate a key for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum)]
pub enum CertificateTypeArg {
    /// ECDSA (the API's default).
    #[default]
    Ecdsa,
    /// RSA.
    Rsa,
}

/// `okms-cli credential ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum CredentialCommand {
    /// Create an access certificate from a CSR, a request file, or a key OVHcloud generates.
    Create(CredentialCreateArgs),
    /// Show one credential, and write its certificate with --cert-out.
    Get(CredentialGetArgs),
    /// List the credentials of a domain.
    List(CredentialListArgs),
    /// Revoke and delete a credential.
    Delete(CredentialDeleteArgs),
    /// Wait until a credential is READY, then optionally write its certificate.
    Wait(CredentialWaitArgs),
    /// Check a certificate and key offline, then make one mutual-TLS call to the domain.
    Check(CredentialCheckArgs),
    /// How close to expiry the domain's credentials (or certificate files) are: a table, JSON,
    /// a Nagios check or a Prometheus textfile.
    Report(CredentialReportArgs),
    /// Renew a deployed certificate and key when due: a new key and credential, proved, swapped
    /// in with a backup, a hook, then the old credential revoked.
    Renew(CredentialRenewArgs),
}

// `okms-cli credential create`
#[derive(Debug, Args)]
// At most one source; with none, OVHcloud generates the key and it goes to `domain.key`.
#[command(group(clap::ArgGroup::new("create_source").args(["csr", "request", "key_out"])))]
pub struct CredentialCreateArgs {
    /// The domain.
    #[command(flatten)]
    pub okms: OkmsIdArg,
    /// Credential name: 1-50 printable ASCII characters (not with --request).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "request",
        conflicts_with = "request"
    )]
    pub name: Option<String>,
    /// Who may use the credential (not with --request).
    #[command(flatten)]
    pub identities: CreateIdentityArgs,
    /// Credential description: up to 200 printable ASCII characters; "" sends an empty one
    /// (left out of the request when not given).
    #[arg(long, value_name = "TEXT", conflicts_with = "request")]
    pub description: Option<String>,
    /// Certificate validity in days, 1-365.
    #[arg(long, value_name = "DAYS", conflicts_with = "request")]
    pub validity: Option<u32>,
    /// Submit this CSR (PEM or DER).
    #[arg(long, value_name = "PATH")]
    pub csr: Option<PathBuf>,
    /// Submit this request file, written offline by `okms-cli request new`.
    #[arg(long, value_name = "PATH")]
    pub request: Option<PathBuf>,
    /// Let OVHcloud generate the key, of this type.
    #[arg(long, value_enum, value_name = "TYPE", conflicts_with_all = ["csr", "request"])]
    pub certificate_type: Option<CertificateTypeArg>,
    /// Let OVHcloud generate the key and write it here (mode 0600, as soon as the API answers)
    /// [default without --csr or --request: domain.key].
    #[arg(long, value_name = "PATH")]
    pub key_out: Option<PathBuf>,
    /// Where to write the certificate once READY.
    #[arg(long, value_name = "PATH", default_value = "client.cert")]
    pub cert_out: PathBuf,
    /// Do not wait for READY; print the credential id and return.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for READY (e.g. 90s, 5m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub timeout: Duration,
    /// Write or update this profile in the Go `okms` tool's okms.yaml (./okms.yaml if it
    /// exists, else ~/.ovh-kms/okms.yaml), pointing at --cert-out and the key.
    #[arg(long, value_name = "NAME", conflicts_with = "no_wait")]
    pub okms_profile: Option<String>,
    /// The okms.yaml to update instead of the Go tool's default one.
    #[arg(long, value_name = "PATH", requires = "okms_profile")]
    pub okms_config: Option<PathBuf>,
    /// With --csr or --request: the CSR's private key on this host, for the profile (checked
    /// against the CSR; it must not be encrypted, as the Go tool cannot open it).
    #[arg(long, value_name = "PATH", requires = "okms_profile")]
    pub okms_profile_key: Option<PathBuf>,
    /// CA certificate(s) the Go tool should trust for the domain, written in the profile.
    #[arg(long, value_name = "PATH", requires = "okms_profile")]
    pub okms_profile_ca: Option<PathBuf>,
    /// Replace output files that exist.
    #[arg(long)]
    pub force: bool,
}

// The identity flags of `credential create`, where --request may stand in for them.
#[derive(Debug, Args, Clone, Default)]
pub struct CreateIdentityArgs {
    /// A full identity URN, urn:v1:{eu|ca|us|labeu}:identity:{account|user|group|credential}:{account}[/{name}],
    /// e.g. urn:v1:eu:identity:user:xx1111-ovh/john.smith (repeatable).
    #[arg(long, value_name = "URN", conflicts_with = "request")]
    pub identity: Vec<String>,
    /// The account's root identity.
    #[arg(long, conflicts_with = "request")]
    pub root: bool,
    /// A local user of the account, by login (repeatable).
    #[arg(long, value_name = "LOGIN", conflicts_with = "request")]
    pub user: Vec<String>,
    /// A user group of the account, by name (repeatable).
    #[arg(long, value_name = "NAME", conflicts_with = "request")]
    pub group: Vec<String>,
    /// A service account (OAuth2 client), by client id; its URN name is oauth2-{client id}
    /// (repeatable).
    #[arg(long, value_name = "CLIENT_ID", conflicts_with = "request")]
    pub service_account: Vec<String>,
}

// `okms-cli credential get`
#[derive(Debug, Args)]
pub struct CredentialGetArgs {
    /// The credential id (a UUID).
    #[arg(value_name = "ID")]
    pub id: String,
    /// The domain.
    #[command(flatten)]
    pub okms: OkmsIdArg,
    /// Write the certificate here, if the credential is READY.
    #[arg(long, value_name = "PATH")]
    pub cert_out: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

// `okms-cli credential list`
#[derive(Debug, Args)]
pub struct CredentialListArgs {
    /// The domain.
    #[command(flatten)]
    pub okms: OkmsIdArg,
}

// `okms-cli credential delete`
#[derive(Debug, Args)]
pub struct CredentialDeleteArgs {
    /// The credential id (a UUID).
    #[arg(value_name = "ID")]
    pub id: String,
    /// The domain.
    #[command(flatten)]
    pub okms: OkmsIdArg,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

// `okms-cli credential wait`
#[derive(Debug, Args)]
pub struct CredentialWaitArgs {
    /// The credential id (a UUID).
    #[arg(value_name = "ID")]
    pub id: String,
    /// The domain.
    #[command(flatten)]
    pub okms: OkmsIdArg,
    /// How long to wait for READY (e.g. 90s, 5m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub timeout: Duration,
    /// Write the certificate here once READY.
    #[arg(long, value_name = "PATH")]
    pub cert_out: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

// `okms-cli credential check`
#[derive(Debug, Args)]
pub struct CredentialCheckArgs {
    /// The access certificate (PEM).
    #[arg(long, value_name = "PATH")]
    pub cert: PathBuf,
    /// Its private key: a file, or `pkcs11:URI` for a key on a PKCS#11 token (the TLS
    /// handshake is then signed on the token).
    #[arg(long, value_name = "PATH|URI")]
    pub key: PathBuf,
    /// The domain id; defaults to the one named in the certificate.
    #[arg(long, env = "OKMS_ID", value_name = "ID")]
    pub okms_id: Option<String>,
    /// The domain's REST endpoint; defaults to the one the API reports for the domain.
    #[arg(long, value_name = "URL")]
    pub kms_url: Option<String>,
    /// CA certificate(s) to trust for the KMS endpoint besides the system roots.
    #[arg(long, env = "OKMS_CA_FILE", value_name = "PATH")]
    pub ca: Option<PathBuf>,
    /// Where the passphrase comes from, if --key is encrypted.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// How to reach the token (with --key pkcs11:...).
    #[command(flatten)]
    pub token: Pkcs11Args,
}

// `okms-cli credential report`
#[derive(Debug, Args)]
pub struct CredentialReportArgs {
    /// The domain whose credentials to report (not needed with --cert).
    #[arg(long, env = "OKMS_ID", value_name = "ID")]
    pub okms_id: Option<String>,
    /// Report these certificate files instead of the domain's credentials, with no API call
    /// (repeatable).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub cert: Vec<PathBuf>,
    /// Warn when at most this many days are left.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub warn: u32,
    /// Critical when at most this many days are left (no more than --warn).
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub crit: u32,
    /// Answer as a Nagios plugin: one status line with performance data, and the plugin exit
    /// codes 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    #[arg(long, conflicts_with = "prometheus")]
    pub nagios: bool,
    /// Write a node_exporter textfile here (replaced atomically) instead of printing a table.
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
}

// `okms-cli credential renew`
#[derive(Debug, Args)]
pub struct CredentialRenewArgs {
    /// Renew this credential, by id, instead of the pair at --cert/--key: the new pair is
    /// written to --cert and --key, which must not exist yet (the credential's files live on
    /// another host, or were never written).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// The deployed access certificate (PEM); replaced in place.
    #[arg(long, value_name = "PATH")]
    pub cert: PathBuf,
    /// Its private key: a PEM file, replaced in place by a new key; or `pkcs11:URI` naming a
    /// key on a PKCS#11 token by object=LABEL, where the new key is made on the same token
    /// and takes over LABEL (the old key becomes LABEL.bak).
    #[arg(long, value_name = "PATH|URI")]
    pub key: PathBuf,
    /// The domain; defaults to the one named in the certificate, and must match it.
    #[arg(long, env = "OKMS_ID", value_name = "ID")]
    pub okms_id: Option<String>,
    /// Renew once at most this many days are left [default: once two thirds of the lifetime
    /// have passed]. At or above the certificate's lifetime every run renews (warned): leave it
    /// out on a timer.
    #[arg(long, value_name = "DAYS")]
    pub before: Option<u32>,
    /// Renew now, due or not; with a token key, also when LABEL.bak exists (that older backup
    /// is kept, so two keys then share the label).
    #[arg(long)]
    pub force: bool,
    /// Wait a random time up to this long first (e.g. 30m), so that a fleet started by one
    /// timer does not call the API at once. Only when renewal is due.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub jitter: Option<Duration>,
    /// The new key's algorithm [default: the old key's].
    #[arg(long, value_enum, value_name = "ALG", ignore_case = true)]
    pub algorithm: Option<AlgorithmArg>,
    /// The new certificate's validity in days, 1-365 [default: the old one's].
    #[arg(long, value_name = "DAYS")]
    pub validity: Option<u32>,
    /// Keep the old credential live instead of revoking it at the end.
    #[arg(long)]
    pub keep_old: bool,
    /// With --id: revoke the old credential at the end although its files, on another host,
    /// then stop working (or pass --keep-old).
    #[arg(long, requires = "id", conflicts_with = "keep_old")]
    pub yes: bool,
    /// How long to wait for the new credential to be READY.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub timeout: Duration,
    /// The domain's REST endpoint for the proof; defaults to the one the API reports.
    #[arg(long, value_name = "URL")]
    pub kms_url: Option<String>,
    /// CA certificate(s) to trust for the KMS endpoint besides the system roots.
    #[arg(long, env = "OKMS_CA_FILE", value_name = "PATH")]
    pub ca: Option<PathBuf>,
    /// After the swap, run this program with these arguments (no shell; put it last). It gets
    /// OKMS_RENEW_CERT, OKMS_RENEW_KEY, OKMS_RENEW_BACKUP_CERT, OKMS_RENEW_BACKUP_KEY,
    /// OKMS_RENEW_OLD_ID, OKMS_RENEW_NEW_ID and OKMS_ID. If it fails, the old credential is
    /// kept live.
    #[arg(long, value_name = "CMD", num_args = 1.., allow_hyphen_values = true)]
    pub exec: Vec<OsString>,
    /// How to reach the token (with --key pkcs11:...).
    #[command(flatten)]
    pub token: Pkcs11Args,
    /// Where the passphrase of an encrypted --key comes from; the new key is encrypted with it.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

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
