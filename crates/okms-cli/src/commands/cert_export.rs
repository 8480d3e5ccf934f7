//! `okms-cli cert export --p12`: a key, its certificate and the domain's CA chain in one
//! PKCS#12 file, for Windows, Veeam, vSphere and browsers; also what `--p12-out` on
//! `credential create` and `credential renew` uses ([`P12Target`]): everything that can fail
//! before a credential exists (the target, the passphrase, the `--ca` file) is checked by
//! [`P12Target::prepare`], and the file is made once the pair is there.

use std::path::{Path, PathBuf};

use okms_api::{Client, Domain, KmsEndpoint, Uuid};
use okms_csr::{Certificate, Passphrase, Pkcs12Bundle, Pkcs12Encryption, PrivateKey};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::{CertExportArgs, GlobalArgs, P12OutArgs, PassphraseArgs};
use crate::commands::online::session::{block_on, client, parse_uuid};
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

impl<'a> P12Options<'a> {
    /// `--p12-out`'s companions on `credential create` and `renew`.
    pub(crate) fn of_output(
        p12: &P12OutArgs,
        ca: Option<&'a Path>,
        passphrase: &'a PassphraseArgs,
    ) -> Self {
        P12Options {
            ca,
            legacy: p12.legacy,
            no_passphrase: p12.no_passphrase,
            passphrase,
        }
    }
}

/// Where the file's CA chain came from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChainSource {
    /// The `--ca` file.
    CaFile,
    /// The domain's CA, from the API.
    Api,
    /// No chain: neither `--ca` nor API access.
    None,
}

/// What a PKCS#12 file holds, for the `--json` reports (docs/json/cert-export.schema.json, and
/// the `p12` field of credential-create and credential-renew).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct P12Report {
    pub path: String,
    pub certificate_subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// How many CA certificates the file holds (0: no chain).
    pub chain_certificates: usize,
    pub chain_source: ChainSource,
    pub encryption: &'static str,
    pub passphrase: bool,
}

/// A PKCS#12 output, checked before anything is made: the target may be written, the
/// passphrase is in hand, the `--ca` chain is read.
pub(crate) struct P12Target {
    path: PathBuf,
    name: String,
    passphrase: Option<Passphrase>,
    encryption: Pkcs12Encryption,
    ca_chain: Option<Vec<Certificate>>,
}

impl P12Target {
    /// Checks `path` (never over an existing file unless `force`), reads the `--ca` chain and
    /// obtains the passphrase (a prompt asks twice), warning for `--no-passphrase` and
    /// `--legacy`.
    ///
    /// # Errors
    /// Exit 5 when the target exists; exit 3 for an unreadable chain or passphrase source.
    pub(crate) fn prepare(
        path: &Path,
        force: bool,
        options: &P12Options<'_>,
        out: &Output,
    ) -> CliResult<Self> {
        files::check_writable(path, force)?;
        let ca_chain = match options.ca {
            Some(ca) => Some(input::load_certificate_chain(ca)?),
            None => None,
        };
        let name = display_path(path);
        let passphrase = if options.no_passphrase {
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
        Ok(P12Target {
            path: path.to_path_buf(),
            name,
            passphrase,
            encryption,
            ca_chain,
        })
    }

    /// Where the file goes.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the chain is to come from the API (no `--ca` was given).
    pub(crate) fn wants_api_chain(&self) -> bool {
        self.ca_chain.is_none()
    }

    /// The file's bytes for `key` and `cert`, with the `--ca` chain, else `api_chain`.
    ///
    /// # Errors
    /// Exit 4 when the key is not the certificate's; exit 3 when encoding fails.
    pub(crate) fn encode(
        &self,
        key: PrivateKey,
        cert: Certificate,
        api_chain: Option<Vec<Certificate>>,
        mismatch: impl FnOnce() -> String,
    ) -> CliResult<(Zeroizing<Vec<u8>>, P12Report)> {
        let (chain, chain_source) = match (&self.ca_chain, api_chain) {
            (Some(ca), _) => (ca.clone(), ChainSource::CaFile),
            (None, Some(api)) => (api, ChainSource::Api),
            (None, None) => (Vec::new(), ChainSource::None),
        };
        let bundle = Pkcs12Bundle::new(key, cert, chain).map_err(|e| csr_error(e, mismatch()))?;
        let der = bundle
            .to_der(self.passphrase.as_ref(), self.encryption)
            .map_err(|e| csr_error(e, format!("cannot make the PKCS#12 file {}", self.name)))?;
        let report = P12Report {
            path: self.name.clone(),
            certificate_subject: bundle.certificate().subject(),
            credential_id: bundle.certificate().credential_id(),
            chain_certificates: bundle.chain().len(),
            chain_source,
            encryption: match self.encryption {
                Pkcs12Encryption::Pbes2Aes256 => "pbes2-aes256-cbc",
                Pkcs12Encryption::Legacy => "legacy-3des",
            },
            passphrase: self.passphrase.is_some(),
        };
        Ok((der, report))
    }

    /// What is said once the file is written.
    pub(crate) fn tell_written(&self, report: &P12Report, out: &Output) {
        out.info(&format!(
            "wrote {} (PKCS#12, {}, mode 0600)",
            report.path,
            self.algorithms()
        ));
        if report.chain_certificates == 0 {
            out.warn(&format!(
                "{} holds no CA chain: {NO_CHAIN_HINT}",
                report.path
            ));
        }
    }

    fn algorithms(&self) -> &'static str {
        match self.encryption {
            Pkcs12Encryption::Pbes2Aes256 => "PBES2 AES-256-CBC, SHA-256 MAC",
            Pkcs12Encryption::Legacy => "3DES, SHA-1 MAC (legacy)",
        }
    }
}

/// What to do about a file without a chain.
const NO_CHAIN_HINT: &str = "no chain: pass --ca FILE or configure API access";

/// The domain's CA chain for a certificate of `domain` (read with `publicCA=true`): the RSA
/// endpoint's CA for an RSA certificate where the domain has one, else its `publicCA`.
///
/// # Errors
/// The API's answer is not PEM certificates (the reason, for a warning).
pub(crate) fn chain_of(domain: Domain, rsa: bool) -> Result<Vec<Certificate>, String> {
    let endpoint = if rsa && domain.public_rsa_ca.is_some() {
        KmsEndpoint::KmipRsa
    } else {
        KmsEndpoint::Rest
    };
    let ca = okms_api::DomainCa::from_domain(domain, endpoint).map_err(|e| e.to_string())?;
    okms_csr::certificate_chain(ca.pem.as_bytes()).map_err(|e| e.to_string())
}

/// Runs `cert export`.
///
/// # Errors
/// Exit 3 for an unreadable input, a key on a token or a bad passphrase; exit 4 when the key
/// is not the certificate's; exit 5 when the output exists.
pub fn run(a: &CertExportArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let options = P12Options {
        ca: a.ca.as_deref(),
        legacy: a.legacy,
        no_passphrase: a.no_passphrase,
        passphrase: &a.passphrase,
    };
    refuse_token_key(&a.key)?;
    // Fail before any prompt when the output cannot be written.
    files::check_writable(&a.p12, false)?;
    let private_key: PrivateKey = input::load_private_key(&a.key, &a.passphrase)?;
    let certificate: Certificate = input::load_certificate(&a.cert)?;
    let mismatch = || {
        format!(
            "{} is not the certificate of {}",
            display_path(&a.cert),
            display_path(&a.key)
        )
    };
    // A wrong pair is refused before the passphrase is asked for.
    let checked = Pkcs12Bundle::new(private_key, certificate, Vec::new())
        .map_err(|e| csr_error(e, mismatch()))?;
    let certificate = checked.certificate().clone();
    let private_key = checked.into_key();
    let target = P12Target::prepare(&a.p12, false, &options, out)?;
    let api_chain = if target.wants_api_chain() {
        chain_from_api(&certificate, global, out)
    } else {
        None
    };
    let (der, report) = target.encode(private_key, certificate, api_chain, mismatch)?;
    files::write_secret_file(&a.p12, &der, false)?;
    target.tell_written(&report, out);
    if out.is_json() {
        return out.json(&report);
    }
    let chain_note = match (report.chain_certificates, report.chain_source) {
        (0, _) => format!("none: the file holds no CA chain ({NO_CHAIN_HINT})"),
        (n, ChainSource::Api) => format!("{n} certificate(s), the domain's CA from the API"),
        (n, _) => format!("{n} certificate(s)"),
    };
    out.field("PKCS#12 file", &report.path)?;
    out.field("Certificate", &report.certificate_subject)?;
    out.field("CA chain", &chain_note)?;
    out.field("Encryption", target.algorithms())
}

/// A key on a token never leaves it.
///
/// # Errors
/// Exit 3 for a `pkcs11:` URI.
pub(crate) fn refuse_token_key(key: &Path) -> CliResult<()> {
    if pkcs11::is_uri(key) {
        return Err(CliError::new(
            Exit::InvalidInput,
            "the key is on a PKCS#11 token: it is not extractable, so it cannot go into a PKCS#12 file",
        )
        .hint("give the certificate to the application with the token, or make a software key with `okms-cli key new`"));
    }
    Ok(())
}

/// The domain's CA chain for `cert`, when okms-cli has API access and the certificate names its
/// domain; `None` otherwise (said in verbose mode): no API access is not an error for an
/// offline export.
fn chain_from_api(
    cert: &Certificate,
    global: &GlobalArgs,
    out: &Output,
) -> Option<Vec<Certificate>> {
    let okms_id: Uuid = cert
        .okms_domain()
        .and_then(|d| parse_uuid(&d, "OKMS domain in the certificate").ok())?;
    let client = match client(global, out) {
        Ok(c) => c,
        Err(e) => {
            out.verbose(&format!("no API access for the domain's CA: {}", e.error));
            return None;
        }
    };
    block_on(async { Ok(api_chain(&client, okms_id, cert, out).await) })
        .ok()
        .flatten()
}

/// The CA chain of domain `okms_id` for `cert` from the API; `None`, warned, when the API does
/// not give a usable one (the file is then made without a chain, and says so).
pub(crate) async fn api_chain(
    client: &Client,
    okms_id: Uuid,
    cert: &Certificate,
    out: &Output,
) -> Option<Vec<Certificate>> {
    let rsa = cert.public_key().algorithm().is_ok_and(|k| k.is_rsa());
    let domain = match client.get_domain(okms_id, true).await {
        Ok(d) => d,
        Err(e) => {
            out.warn(&format!(
                "cannot get the CA of domain {okms_id} from the API: {e}"
            ));
            return None;
        }
    };
    match chain_of(domain, rsa) {
        Ok(chain) => {
            out.verbose(&format!(
                "the CA chain of domain {okms_id} comes from the API ({} certificate(s))",
                chain.len()
            ));
            Some(chain)
        }
        Err(reason) => {
            out.warn(&format!(
                "the CA of domain {okms_id} from the API is unusable: {reason}"
            ));
            None
        }
    }
}

/// Writes the prepared PKCS#12 file of `key` and `cert`: `credential create --p12-out`, once
/// the pair is in place.
///
/// # Errors
/// As [`P12Target::encode`]; the write's error.
pub(crate) fn write_prepared(
    target: &P12Target,
    force: bool,
    key: PrivateKey,
    cert: Certificate,
    api_chain: Option<Vec<Certificate>>,
    out: &Output,
) -> CliResult<P12Report> {
    let (der, report) = target.encode(key, cert, api_chain, || {
        "the issued certificate is not the key's".to_owned()
    })?;
    files::write_secret_file(target.path(), &der, force)?;
    target.tell_written(&report, out);
    Ok(report)
}
