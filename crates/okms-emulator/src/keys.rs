//! The emulator's use of okms-csr: reading the key out of a submitted CSR and generating a key
//! when none is submitted.

use okms_csr::ExposeSecret as _;
use okms_csr::{Csr, KeyAlgorithm, KeyFormat, PrivateKey};
use zeroize::Zeroizing;

use crate::wire::CertificateType;

/// Why a CSR was refused. All are reported as `CredentialCSRInvalidCharacter` (the only
/// schema class about CSR content); the message says which check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrRejection {
    /// Characters other than printable ASCII and `\n` (a CR, a tab, non-ASCII).
    Characters(String),
    /// Not a PEM `CERTIFICATE REQUEST` or not valid PKCS#10.
    Unparsable(String),
    /// The self-signature does not verify.
    BadSignature(String),
    /// A key type OKMS is not known to accept.
    UnsupportedKey(String),
}

impl CsrRejection {
    /// The message for the API error.
    pub fn message(&self) -> String {
        match self {
            Self::Characters(m) => format!("csr contains invalid characters: {m}"),
            Self::Unparsable(m) => format!("csr is not a valid PEM certificate request: {m}"),
            Self::BadSignature(m) => format!("csr signature is invalid: {m}"),
            Self::UnsupportedKey(m) => format!("csr public key is not supported: {m}"),
        }
    }
}

/// The public key taken from a CSR.
#[derive(Debug, Clone)]
pub struct CsrKey {
    /// SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
    /// `ECDSA` for EC keys, `RSA` for RSA keys.
    pub certificate_type: CertificateType,
}

/// Checks a CSR the way OKMS plausibly does and returns its public key.
pub fn key_from_csr(pem: &str) -> Result<CsrKey, CsrRejection> {
    if let Some((i, c)) = pem
        .char_indices()
        .find(|&(_, c)| c != '\n' && !(' '..='~').contains(&c))
    {
        return Err(CsrRejection::Characters(format!(
            "{c:?} at offset {i}; send the PEM with LF line breaks escaped as \\n in JSON"
        )));
    }
    if !pem.contains("-----BEGIN CERTIFICATE REQUEST-----") {
        return Err(CsrRejection::Unparsable(
            "missing the -----BEGIN CERTIFICATE REQUEST----- line".to_owned(),
        ));
    }
    let csr = Csr::from_pem(pem).map_err(|e| CsrRejection::Unparsable(e.to_string()))?;
    csr.verify()
        .map_err(|e| CsrRejection::BadSignature(e.to_string()))?;
    let public_key = csr.public_key();
    let alg = public_key
        .algorithm()
        .map_err(|e| CsrRejection::UnsupportedKey(e.to_string()))?;
    Ok(CsrKey {
        spki_der: public_key.spki_der().to_vec(),
        certificate_type: if alg.is_rsa() {
            CertificateType::Rsa
        } else {
            CertificateType::Ecdsa
        },
    })
}

/// A key generated for a credential created without a CSR.
pub struct GeneratedKey {
    /// `EC PRIVATE KEY` (SEC1) or `RSA PRIVATE KEY` (PKCS#1), as OKMS returns it.
    pub private_key_pem: Zeroizing<String>,
    /// SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
}

/// Generates an ECDSA P-256 or RSA-2048 key (the RSA size OKMS uses is UNCONFIRMED).
pub fn generate(certificate_type: CertificateType) -> Result<GeneratedKey, okms_csr::Error> {
    let alg = match certificate_type {
        CertificateType::Ecdsa => KeyAlgorithm::EcdsaP256,
        CertificateType::Rsa => KeyAlgorithm::Rsa2048,
    };
    let key = PrivateKey::generate(alg)?;
    let pem = key.to_pem(KeyFormat::Traditional)?;
    Ok(GeneratedKey {
        private_key_pem: Zeroizing::new(pem.expose_secret().to_owned()),
        spki_der: key.public_key().spki_der().to_vec(),
    })
}
