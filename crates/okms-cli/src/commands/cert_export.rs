//! `okms-cli cert export --p12`: a key, its certificate and the domain's CA chain in one
//! PKCS#12 file, for Windows, Veeam, vSphere and browsers; also what `--p12-out` on
//! `credential create` and `credential renew` calls once the pair is in place.

use std::path::Path;

use okms_csr::{Certificate, Passphrase, Pkcs12Bundle, Pkcs12Encryption, PrivateKey};
use serde::Serialize;

use crate::cli::{CertExportArgs, PassphraseArgs};
use crate::commands::pkcs11;
use crate::error::{CliError, CliResult, csr_error};
use crate::exit::Exit;
use crate::files;
use crate::input::{self, display_path, passphrase};
use crate::output::Output;

/// What goes into a PKCS#12 file besides the key and certificate, and how it is protected.
pub(crate) struct P12Options<'a> {
    /// The CA chain file (`--ca`), if any.
    pub ca: Option<&'a Path>,
    /// 3DES/SHA-1 instead of PBES2/AES-256.
    pub legacy: bool,
    /// Write it with no passphrase (`--no-passphrase`).
    pub no_passphrase: bool,
    /// Where the passphrase comes from (also an encrypted key's).
    pub passphrase: &'a PassphraseArgs,
}

/// The `--json` result (docs/json/cert-export.schema.json).
#[derive(Debug, Serialize)]
struct ExportReport<'a> {
    path: String,
    certificate_subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential_id: Option<String>,
    /// How many CA certificates the file holds (0: no chain).
    chain_certificates: usize,
    encryption: &'a str,
    passphrase: bool,
}

/// Runs `cert export`.
///
/// # Errors
/// Exit 3 for an unreadable input, a key on a token or a bad passphrase; exit 4 when the key
/// is not the certificate's; exit 5 when the output exists.
pub fn run(a: &CertExportArgs, out: &Output) -> CliResult<()> {
    let options = P12Options {
        ca: a.ca.as_deref(),
        legacy: a.legacy,
        no_passphrase: a.no_passphrase,
        passphrase: &a.passphrase,
    };
    write_p12(&a.p12, &a.key, &a.cert, &options, out)
}

/// Reads `key` and `cert` (and the chain), checks they belong together, and writes the
/// PKCS#12 file `p12` (mode 0600, never over an existing file).
///
/// # Errors
/// As [`run`].
pub(crate) fn write_p12(
    p12: &Path,
    key: &Path,
    cert: &Path,
    options: &P12Options<'_>,
    out: &Output,
) -> CliResult<()> {
    if pkcs11::is_uri(key) {
        return Err(CliError::new(
            Exit::InvalidInput,
            "the key is on a PKCS#11 token: it is not extractable, so it cannot go into a PKCS#12 file",
        )
        .hint("give the certificate to the application with the token, or make a software key with `okms-cli key new`"));
    }
    // Fail before any prompt when the output cannot be written.
    files::check_writable(p12, false)?;
    let private_key: PrivateKey = input::load_private_key(key, options.passphrase)?;
    let certificate: Certificate = input::load_certificate(cert)?;
    let chain = match options.ca {
        Some(ca) => input::load_certificate_chain(ca)?,
        None => Vec::new(),
    };
    let bundle = Pkcs12Bundle::new(private_key, certificate, chain).map_err(|e| {
        csr_error(
            e,
            format!(
                "{} is not the certificate of {}",
                display_path(cert),
                display_path(key)
            ),
        )
    })?;
    let name = display_path(p12);
    let pass: Option<Passphrase> = if options.no_passphrase {
        out.warn(&format!(
            "{name} has no passphrase: anyone who can read it has the private key"
        ));
        None
    } else {
        Some(passphrase::obtain(
            options.passphrase,
            passphrase::Purpose::Encrypt,
            &name,
        )?)
    };
    let encryption = if options.legacy {
        out.warn("--legacy: 3DES and a SHA-1 MAC are weak; use this file only where the importer refuses AES-256 (Windows Server 2016 and older)");
        Pkcs12Encryption::Legacy
    } else {
        Pkcs12Encryption::Pbes2Aes256
    };
    let der = bundle
        .to_der(pass.as_ref(), encryption)
        .map_err(|e| csr_error(e, format!("cannot make the PKCS#12 file {name}")))?;
    files::write_secret_file(p12, &der, false)?;
    let algorithms = match encryption {
        Pkcs12Encryption::Pbes2Aes256 => "PBES2 AES-256-CBC, SHA-256 MAC",
        Pkcs12Encryption::Legacy => "3DES, SHA-1 MAC (legacy)",
    };
    out.info(&format!("wrote {name} (PKCS#12, {algorithms}, mode 0600)"));
    if bundle.chain().is_empty() {
        out.warn(&format!(
            "{name} holds no CA chain: give the domain's CA with --ca FILE to include it"
        ));
    }
    let report = ExportReport {
        path: name,
        certificate_subject: bundle.certificate().subject(),
        credential_id: bundle.certificate().credential_id(),
        chain_certificates: bundle.chain().len(),
        encryption: match encryption {
            Pkcs12Encryption::Pbes2Aes256 => "pbes2-aes256-cbc",
            Pkcs12Encryption::Legacy => "legacy-3des",
        },
        passphrase: pass.is_some(),
    };
    if out.is_json() {
        return out.json(&report);
    }
    let chain_note = match report.chain_certificates {
        0 => "none: the file holds no CA chain (give the domain's CA with --ca FILE)".to_owned(),
        n => format!("{n} certificate(s)"),
    };
    out.field("PKCS#12 file", &report.path)?;
    out.field("Certificate", &report.certificate_subject)?;
    out.field("CA chain", &chain_note)?;
    out.field("Encryption", algorithms)
}
