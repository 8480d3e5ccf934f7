//! PKCS#12 (`.p12`, `.pfx`): a private key, its certificate and the issuing chain in one
//! passphrase-protected file, the form Windows, Veeam and browsers import.
//!
//! Written as OpenSSL 3 writes it by default (PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC for
//! keys and certificates, an HMAC-SHA-256 MAC), or for old Windows with
//! [`Pkcs12Encryption::Legacy`] (pbeWithSHAAnd3-KeyTripleDES-CBC, HMAC-SHA-1). The encoding
//! itself is the `p12-keystore` crate's; this module decides the algorithms, checks that the
//! key matches the certificate, and turns its errors into ours.
// Parses untrusted input: no index or arithmetic that can panic (the lints RustCrypto uses).
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use crate::{
    certificate::Certificate,
    error::{Error, Result},
    key::PrivateKey,
    public_key::same_public_key,
    secret::{ExposeSecret, Passphrase},
};
use p12_keystore::{EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// What a PKCS#12 file is called in errors.
const WHAT: &str = "PKCS#12 file";

/// How a PKCS#12 file is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pkcs12Encryption {
    /// OpenSSL 3's default: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), HMAC-SHA-256 MAC.
    #[default]
    Pbes2Aes256,
    /// For Windows Server 2016 and older, old Android and macOS: pbeWithSHAAnd3-KeyTripleDES-CBC
    /// and an HMAC-SHA-1 MAC. Weak; offer it only on request.
    Legacy,
}

/// A private key with its certificate and the certificates that issued it, as a PKCS#12 file
/// holds them. The key always matches the certificate: both constructors check it.
#[derive(Debug)]
pub struct Pkcs12Bundle {
    key: PrivateKey,
    certificate: Certificate,
    chain: Vec<Certificate>,
}

impl Pkcs12Bundle {
    /// Puts a key, its certificate and the issuing chain (issuer first; may be empty)
    /// together.
    ///
    /// # Errors
    /// [`Error::KeyCertificateMismatch`] when the certificate is not the key's.
    pub fn new(key: PrivateKey, certificate: Certificate, chain: Vec<Certificate>) -> Result<Self> {
        if !same_public_key(&key.public_key(), &certificate.public_key()) {
            return Err(Error::KeyCertificateMismatch {
                key_sha256: key.public_key().fingerprint_sha256(),
                certificate_sha256: certificate.public_key().fingerprint_sha256(),
            });
        }
        Ok(Pkcs12Bundle {
            key,
            certificate,
            chain,
        })
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The key's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The issuing certificates, issuer first (empty when the file holds none).
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The private key, dropping the certificates.
    pub fn into_key(self) -> PrivateKey {
        self.key
    }

    /// The PKCS#12 file (DER). `passphrase` `None` writes a file without a passphrase (still
    /// in the same structure, with the empty password, which Windows and OpenSSL accept); an
    /// empty `Some` is refused so that "no passphrase" is always a deliberate choice.
    ///
    /// # Errors
    /// [`Error::Export`] for an empty passphrase or when encoding fails.
    pub fn to_der(
        &self,
        passphrase: Option<&Passphrase>,
        encryption: Pkcs12Encryption,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let password = match passphrase {
            Some(p) if p.expose_secret().is_empty() => {
                return Err(Error::Export(
                    "the passphrase is empty; choose a non-empty passphrase".into(),
                ));
            }
            Some(p) => p.expose_secret(),
            None => "",
        };
        let key_der = self.key.to_pkcs8_der()?;
        let key = p12_keystore::PrivateKey::from_der(key_der.as_bytes()).map_err(export_error)?;
        let mut certs = Vec::with_capacity(self.chain.len().saturating_add(1));
        for cert in std::iter::once(&self.certificate).chain(&self.chain) {
            certs.push(p12_keystore::Certificate::from_der(cert.to_der()).map_err(export_error)?);
        }
        // The localKeyId pairs the key bag with its certificate bag; any stable value works,
        // the certificate's hash is the usual one.
        let local_key_id = Sha256::digest(self.certificate.to_der()).to_vec();
        let mut store = KeyStore::new();
        store.add_entry(
            &self.friendly_name(),
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, certs)),
        );
        let (encryption, mac) = match encryption {
            Pkcs12Encryption::Pbes2Aes256 => (
                EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
                MacAlgorithm::HmacSha256,
            ),
            Pkcs12Encryption::Legacy => (
                EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
                MacAlgorithm::HmacSha1,
            ),
        };
        let der = store
            .writer(password)
            .encryption_algorithm(encryption)
            .mac_algorithm(mac)
            .write()
            .map_err(export_error)?;
        Ok(Zeroizing::new(der))
    }

    /// The name Windows' certificate store shows: the credential id when the certificate is an
    /// OKMS one, else its subject.
    fn friendly_name(&self) -> String {
        self.certificate
            .credential_id()
            .map(|id| format!("okms {id}"))
            .unwrap_or_else(|| self.certificate.subject())
    }

    /// Reads a PKCS#12 file (DER). `passphrase` `None` tries the empty password.
    ///
    /// # Errors
    /// [`Error::NotPkcs12`] when the bytes are not a PKCS#12 file at all;
    /// [`Error::Malformed`] when one is truncated or damaged, or holds no private key or no
    /// certificate for it; [`Error::PassphraseRequired`] / [`Error::WrongPassphrase`] when the
    /// passphrase is missing or wrong; the key import errors for a key this crate does not
    /// support; [`Error::KeyCertificateMismatch`] when the certificate is not the key's.
    pub fn from_der(bytes: &[u8], passphrase: Option<&Passphrase>) -> Result<Self> {
        match sniff(bytes) {
            Sniff::NotPkcs12 => {
                return Err(Error::NotPkcs12(
                    "it does not start with a PKCS#12 PFX structure (SEQUENCE, version 3)".into(),
                ));
            }
            Sniff::Pkcs12 { declared_len } if declared_len > bytes.len() => {
                return Err(Error::malformed(
                    WHAT,
                    format!(
                        "truncated: it declares {declared_len} bytes but has {}",
                        bytes.len()
                    ),
                ));
            }
            Sniff::Pkcs12 { .. } => {}
        }
        let password = passphrase.map_or("", |p| p.expose_secret());
        let store =
            KeyStore::from_pkcs12(bytes, password, p12_keystore::Pkcs12ImportPolicy::Relaxed)
                .map_err(|e| import_error(e, passphrase.is_some()))?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| Error::malformed(WHAT, "it holds no private key"))?;
        let key = PrivateKey::import(chain.key().as_der(), None)?;
        let mut certs = chain
            .certs()
            .iter()
            .map(|c| Certificate::from_der(c.as_der()));
        let certificate = certs.next().ok_or_else(|| {
            Error::malformed(WHAT, "it holds no certificate for its private key")
        })??;
        let chain = certs.collect::<Result<Vec<_>>>()?;
        Self::new(key, certificate, chain)
    }
}

/// The certificates of a CA chain file: PEM with one or more `CERTIFICATE` blocks (other
/// blocks are refused), or one DER certificate.
///
/// # Errors
/// [`Error::InvalidPem`] for broken PEM, a block of another kind, or no certificate at all;
/// the certificate errors for a block that is not one.
pub fn certificate_chain(bytes: &[u8]) -> Result<Vec<Certificate>> {
    if !crate::pem::looks_like_pem(bytes) {
        return Ok(vec![Certificate::from_der(bytes)?]);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Error::pem("the file is not UTF-8 text"))?;
    let blocks = crate::pem::parse_blocks(text)?;
    if blocks.is_empty() || blocks.iter().any(|b| b.label != "CERTIFICATE") {
        return Err(Error::InvalidPem {
            expected: vec!["CERTIFICATE".into()],
            found: blocks.iter().map(|b| b.label.clone()).collect(),
            reason: "a CA chain holds only CERTIFICATE blocks".into(),
        });
    }
    blocks
        .iter()
        .map(|b| Certificate::from_der(&b.der))
        .collect()
}

/// Whether `bytes` look like a PKCS#12 file (DER `SEQUENCE { INTEGER 3, ... }`), even a
/// truncated one: a key file can then be told from a `.p12` by its content.
pub fn looks_like_pkcs12(bytes: &[u8]) -> bool {
    matches!(sniff(bytes), Sniff::Pkcs12 { .. })
}

enum Sniff {
    NotPkcs12,
    /// `declared_len`: the whole file's length as its outer header says.
    Pkcs12 {
        declared_len: usize,
    },
}

/// Reads the outer DER header and the version by hand: a truncated file must still be
/// recognised (a DER decoder refuses it before saying what it is).
fn sniff(bytes: &[u8]) -> Sniff {
    let mut it = bytes.iter().copied();
    if it.next() != Some(0x30) {
        return Sniff::NotPkcs12;
    }
    let Some(first) = it.next() else {
        return Sniff::NotPkcs12;
    };
    let (content_len, header_len) = if first < 0x80 {
        (usize::from(first), 2usize)
    } else {
        let count = usize::from(first & 0x7f);
        if !(1..=4).contains(&count) {
            return Sniff::NotPkcs12;
        }
        let mut len = 0usize;
        for _ in 0..count {
            let Some(byte) = it.next() else {
                return Sniff::NotPkcs12;
            };
            len = (len << 8) | usize::from(byte);
        }
        (len, count.saturating_add(2))
    };
    let version: Vec<u8> = it.take(3).collect();
    if version != [0x02, 0x01, 0x03] {
        return Sniff::NotPkcs12;
    }
    Sniff::Pkcs12 {
        declared_len: content_len.saturating_add(header_len),
    }
}

fn export_error(e: p12_keystore::error::Error) -> Error {
    Error::Export(format!("cannot write the PKCS#12 file: {e}"))
}

fn import_error(e: p12_keystore::error::Error, had_passphrase: bool) -> Error {
    use p12_keystore::error::Error as P12;
    match e {
        // The MAC is checked first and covers everything, so a mismatch means the passphrase.
        P12::MacError(_) if had_passphrase => Error::WrongPassphrase,
        P12::MacError(_) => Error::PassphraseRequired,
        P12::UnpadError => Error::WrongPassphrase,
        P12::DerError(e) if matches!(e.kind(), der::ErrorKind::Incomplete { .. }) => {
            Error::malformed(WHAT, format!("truncated: {e}"))
        }
        P12::UnsupportedEncryptionScheme | P12::UnsupportedMacAlgorithm => {
            Error::UnsupportedEncryption(format!("{WHAT}: {e}"))
        }
        other => Error::malformed(WHAT, other.to_string()),
    }
}
