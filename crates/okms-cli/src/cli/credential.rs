//! `okms-cli credential ...`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::{
    AlgorithmArg, IDENTITY_FLAGS, IdentityArgs, OkmsIdArg, P12OutArgs, PassphraseArgs, Pkcs11Args,
    parse_duration,
};

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
    pub identities: IdentityArgs,
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
    /// Submit this request file, written offline by `okms-cli request new` (it names the
    /// identities).
    #[arg(long, value_name = "PATH", conflicts_with_all = IDENTITY_FLAGS)]
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
    /// Refuse to let OVHcloud make the key (no --csr or --request) on a PCI-DSS enabled
    /// domain, where such a key is not PCI-DSS covered (without it: a warning).
    #[arg(long)]
    pub require_csr: bool,
    /// CA certificate(s) the Go tool should trust for the domain, written in the profile.
    /// Without it, the domain's CA from the API is written next to --cert-out (as
    /// NAME.ca.pem) and the profile points at it.
    #[arg(long, value_name = "PATH", requires = "okms_profile")]
    pub okms_profile_ca: Option<PathBuf>,
    /// Replace output files that exist.
    #[arg(long)]
    pub force: bool,
    /// A PKCS#12 copy of the pair, made once the certificate is written.
    #[command(flatten)]
    pub p12: P12OutArgs,
    /// With --csr or --request and --p12-out: the CSR's private key on this host, for the
    /// PKCS#12 file (checked against the CSR before anything is sent).
    #[arg(
        long,
        value_name = "PATH",
        requires = "p12_out",
        conflicts_with = "key_out"
    )]
    pub key: Option<PathBuf>,
    /// With --p12-out: the CA chain to put in the file instead of the domain's CA from the API.
    #[arg(long, value_name = "PATH", requires = "p12_out")]
    pub ca: Option<PathBuf>,
    /// Where the passphrase of the .p12 (and of an encrypted --key) comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
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
    #[arg(long, value_name = "URL", conflicts_with = "kmip")]
    pub kms_url: Option<String>,
    /// Check the domain's KMIP endpoint instead of its REST one: mutual TLS, then KMIP
    /// Discover Versions and Query (the first calls of vSphere, Veeam or the etcd KMS plugin).
    #[arg(long)]
    pub kmip: bool,
    /// With --kmip: the KMIP endpoint (host:port); defaults to the domain's kmipEndpoint, or
    /// its kmipRsaEndpoint for an RSA certificate where the domain has one.
    #[arg(long, value_name = "HOST:PORT", requires = "kmip")]
    pub kmip_endpoint: Option<String>,
    /// After a refused handshake or a 401, retry for up to this long (1 s doubling to 8 s)
    /// before concluding: a certificate just made READY may not have reached every KMS node
    /// yet. Only for a certificate issued in the last 15 minutes (an older one that is refused
    /// is refused for good). 0 makes one attempt.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub propagation_wait: Duration,
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
    /// A deadline for the whole run (every API call and wait, the proof included; the jitter
    /// pause not counted): past it, what was made and not deployed is undone, and the run
    /// exits 8.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub timeout: Duration,
    /// After a refused handshake or a 401, retry for up to this long (1 s doubling to 8 s)
    /// before concluding: a certificate just made READY may not have reached every KMS node
    /// yet. 0 makes one attempt.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub propagation_wait: Duration,
    /// The domain's REST endpoint for the proof; defaults to the one the API reports (with
    /// --broker: the one the broker's answer names).
    #[arg(long, value_name = "URL")]
    pub kms_url: Option<String>,
    /// CA certificate(s) to trust for the KMS endpoint besides the system roots.
    #[arg(long, env = "OKMS_CA_FILE", value_name = "PATH")]
    pub ca: Option<PathBuf>,
    /// Renew through this renewal broker (an https:// URL) instead of OVHcloud's API: the
    /// deployed certificate and key are the only credential. No API credential is read (no
    /// ovh.conf; OVH_* variables that are set are ignored). The broker gives the new
    /// credential its name, identities and validity; the new key is made here as without it,
    /// and the broker revokes the old credential once this run confirms the new pair (after
    /// the swap and the hook).
    #[arg(long, value_name = "URL", conflicts_with_all = ["id", "keep_old", "validity"])]
    pub broker: Option<String>,
    /// With --broker: the CA certificate(s) that signed the broker's TLS certificate
    /// [default: the system roots].
    #[arg(long, value_name = "PATH", requires = "broker")]
    pub broker_ca: Option<PathBuf>,
    /// After the swap, run this program with these arguments (no shell; put it last). It gets
    /// OKMS_RENEW_CERT, OKMS_RENEW_KEY, OKMS_RENEW_BACKUP_CERT, OKMS_RENEW_BACKUP_KEY,
    /// OKMS_RENEW_OLD_ID, OKMS_RENEW_NEW_ID and OKMS_ID. If it fails, the old credential is
    /// kept live.
    #[arg(long, value_name = "CMD", num_args = 1.., allow_hyphen_values = true)]
    pub exec: Vec<OsString>,
    /// How to reach the token (with --key pkcs11:...).
    #[command(flatten)]
    pub token: Pkcs11Args,
    /// Where the passphrase of an encrypted --key comes from; the new key is encrypted with it,
    /// and so is the --p12-out file.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// A PKCS#12 copy of the new pair, replacing the previous one (kept as FILE.bak) when the
    /// pair is swapped in; its chain is --ca, else the domain's CA from the API.
    #[command(flatten)]
    pub p12: P12OutArgs,
}
