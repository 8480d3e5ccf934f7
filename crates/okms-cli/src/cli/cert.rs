//! The `cert` family's arguments beyond `cert show` (defined with the offline commands).

use std::path::PathBuf;

use clap::Args;

use super::PassphraseArgs;

// `okms-cli cert export`
#[derive(Debug, Args)]
pub struct CertExportArgs {
    /// Write the PKCS#12 file here (mode 0600; never over an existing file).
    #[arg(long, value_name = "OUT")]
    pub p12: PathBuf,
    /// The certificate (PEM or DER).
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// Its private key (a key file or a .p12); a key on a PKCS#11 token cannot be exported.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The domain's CA chain to include (PEM, one or more certificates). Without it, the
    /// domain's CA from the API when okms-cli has API access (the certificate names its
    /// domain); with neither, the file holds no chain, and the output says so.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Encrypt with 3DES and a SHA-1 MAC, for Windows Server 2016 and older (weak: only when
    /// the importer refuses the default PBES2/AES-256).
    #[arg(long)]
    pub legacy: bool,
    /// Write the file without a passphrase (anyone who gets the file gets the key).
    #[arg(long, conflicts_with_all = ["passphrase_file", "passphrase_env"])]
    pub no_passphrase: bool,
    /// Where the .p12's passphrase comes from (asked twice on a terminal otherwise); an
    /// encrypted --key is opened with the same source.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

// `--p12-out` and its companions on `credential create` and `credential renew`.
#[derive(Debug, Args, Default)]
pub struct P12OutArgs {
    /// Also write the key, the certificate and the domain's CA chain (from --ca, else from the
    /// API) to this PKCS#12 file (mode 0600), for Windows, Veeam or vSphere. Its passphrase
    /// comes from --passphrase-file or --passphrase-env, else a prompt (asked twice).
    #[arg(long, value_name = "FILE")]
    pub p12_out: Option<PathBuf>,
    /// With --p12-out: write it without a passphrase (anyone who gets the file gets the key).
    #[arg(long, requires = "p12_out")]
    pub no_passphrase: bool,
    /// With --p12-out: 3DES and a SHA-1 MAC, for Windows Server 2016 and older (weak).
    #[arg(long, requires = "p12_out")]
    pub legacy: bool,
}
