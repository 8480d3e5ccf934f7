//! PKCS#10 certificate signing requests: building, parsing, verifying, inspecting.
// Parses untrusted input: no index or arithmetic that can panic (the lints RustCrypto uses).
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use crate::{
    error::{Error, Result},
    name::{DistinguishedName, format_name},
    oids, pem,
    public_key::PublicKey,
    san::{SubjectAltName, describe_general_name},
    signer::CsrSigner,
    verify::{signature_algorithm_name, verify},
};
use der::{
    Decode, Encode,
    asn1::{Any, BitString, OctetString, SetOfVec},
};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::{
    attr::Attribute,
    ext::{Extension, pkix::name::GeneralName},
    request::{CertReq, CertReqInfo, Version},
};

/// Builds a CSR: a subject, optional subject alternative names, and a signer.
///
/// Without SANs the CSR carries no attributes at all (no empty extensionRequest, which some
/// verifiers reject).
#[derive(Clone, Debug)]
pub struct CsrBuilder {
    subject: DistinguishedName,
    sans: Vec<SubjectAltName>,
}

impl CsrBuilder {
    /// Starts a CSR for `subject`.
    pub fn new(subject: DistinguishedName) -> Self {
        CsrBuilder {
            subject,
            sans: Vec::new(),
        }
    }

    /// Adds one subject alternative name.
    pub fn san(mut self, san: SubjectAltName) -> Self {
        self.sans.push(san);
        self
    }

    /// Adds several subject alternative names.
    pub fn sans(mut self, sans: impl IntoIterator<Item = SubjectAltName>) -> Self {
        self.sans.extend(sans);
        self
    }

    /// Encodes the request and has `signer` sign it. Unless the signer is one whose
    /// signatures are right by construction (a software ECDSA key, see
    /// [`CsrSigner::signatures_need_checking`]), the result is verified, so a signer whose key
    /// does not match its public key is caught here, not by the CA.
    pub fn build(&self, signer: &dyn CsrSigner) -> Result<Csr> {
        let alg = signer.algorithm();
        let public = signer.public_key()?;
        match public.algorithm() {
            Ok(pk_alg) if pk_alg == alg => {}
            Ok(pk_alg) => {
                return Err(Error::Signing(format!(
                    "the signer says its key is {alg} but its public key is {pk_alg}"
                )));
            }
            Err(e) => return Err(e),
        }
        let public_key = SubjectPublicKeyInfoOwned::from_der(public.spki_der())
            .map_err(Error::der("signer public key"))?;

        let mut attributes = SetOfVec::new();
        if !self.sans.is_empty() {
            let names = self
                .sans
                .iter()
                .map(SubjectAltName::to_general_name)
                .collect::<Result<Vec<GeneralName>>>()?;
            let san_der = names
                .to_der()
                .map_err(Error::der("subjectAltName extension"))?;
            let ext = Extension {
                extn_id: oids::SUBJECT_ALT_NAME,
                critical: false,
                extn_value: OctetString::new(san_der)
                    .map_err(Error::der("subjectAltName extension"))?,
            };
            let mut values = SetOfVec::new();
            values
                .insert(
                    Any::encode_from(&vec![ext])
                        .map_err(Error::der("extensionRequest attribute"))?,
                )
                .map_err(Error::der("extensionRequest attribute"))?;
            attributes
                .insert(Attribute {
                    oid: oids::EXTENSION_REQUEST,
                    values,
                })
                .map_err(Error::der("CSR attributes"))?;
        }

        let info = CertReqInfo {
            version: Version::V1,
            subject: self.subject.as_name().clone(),
            public_key,
            attributes,
        };
        let message = info
            .to_der()
            .map_err(Error::der("CertificationRequestInfo"))?;
        let signature = signer.sign(&message)?;
        let algorithm = AlgorithmIdentifierOwned {
            oid: alg.signature_oid(),
            // RFC 4055: the RSA PKCS#1 v1.5 identifiers carry NULL parameters, ECDSA none.
            parameters: alg.is_rsa().then(Any::null),
        };
        let req = CertReq {
            info,
            algorithm,
            signature: BitString::from_bytes(&signature).map_err(Error::der("CSR signature"))?,
        };
        let der = req.to_der().map_err(Error::der("CSR"))?;
        let mut csr = Csr::from_der(&der)?;
        if signer.signatures_need_checking() {
            csr.verify().map_err(|e| {
                Error::Signing(format!(
                    "the signer produced a signature that does not verify: {e}"
                ))
            })?;
            csr.verified = true;
        }
        Ok(csr)
    }
}

/// A parsed PKCS#10 certificate signing request.
#[derive(Clone, Debug)]
pub struct Csr {
    der: Vec<u8>,
    req: CertReq,
    public_key: PublicKey,
    /// Set when [`CsrBuilder::build`] has just verified the signature: verifying costs two
    /// scalar multiplications, a noticeable share of a one-shot `csr new`.
    verified: bool,
}

// Equality is that of the encoding; whether a value was verified already does not matter.
impl PartialEq for Csr {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Csr {}

/// A serializable summary of a CSR (for `csr show --json`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct CsrInfo {
    /// Subject, RFC 4514.
    pub subject: String,
    /// Requested subject alternative names, e.g. `dns:app1.example.com`.
    pub sans: Vec<String>,
    /// Key algorithm name (`ecdsa-p256`, ...) or e.g. `ed25519 (unsupported)`.
    pub key_algorithm: String,
    /// Key size in bits (0 when unknown).
    pub key_bits: usize,
    /// Signature algorithm name, e.g. `ecdsa-with-SHA256`.
    pub signature_algorithm: String,
    /// Lowercase hex SHA-256 of the public key's SPKI DER.
    pub public_key_sha256: String,
    /// Whether the self-signature verifies.
    pub signature_valid: bool,
}

impl Csr {
    /// Reads a PEM `CERTIFICATE REQUEST` (also the older `NEW CERTIFICATE REQUEST` label).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let der = pem::decode_one(
            pem,
            &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
            "certificate signing request",
        )?;
        Self::from_der(&der)
    }

    /// Reads a DER CSR.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let req =
            CertReq::from_der(der).map_err(Error::der("certificate signing request (PKCS#10)"))?;
        let spki = req
            .info
            .public_key
            .to_der()
            .map_err(Error::der("CSR public key"))?;
        let public_key = PublicKey::from_spki_der(&spki)?;
        Ok(Csr {
            der: der.to_vec(),
            req,
            public_key,
            verified: false,
        })
    }

    /// Reads a CSR, PEM or DER.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        pem::pem_or_der(bytes, Self::from_pem, Self::from_der)
    }

    /// PEM, label `CERTIFICATE REQUEST`, LF line endings.
    pub fn to_pem(&self) -> String {
        pem::encode("CERTIFICATE REQUEST", &self.der).to_string()
    }

    /// The DER encoding.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// Checks the self-signature with the CSR's own public key.
    pub fn verify(&self) -> Result<()> {
        let message = self
            .req
            .info
            .to_der()
            .map_err(Error::der("CertificationRequestInfo"))?;
        let signature = self.req.signature.as_bytes().ok_or_else(|| {
            Error::BadSignature("the signature BIT STRING has unused bits".into())
        })?;
        verify(
            &self.public_key,
            &self.req.algorithm.oid,
            &message,
            signature,
        )
    }

    /// The subject, RFC 4514.
    pub fn subject(&self) -> String {
        format_name(&self.req.info.subject)
    }

    fn general_names(&self) -> Vec<GeneralName> {
        let mut out = Vec::new();
        for attr in self
            .req
            .info
            .attributes
            .iter()
            .filter(|a| a.oid == oids::EXTENSION_REQUEST)
        {
            for value in attr.values.iter() {
                let Ok(exts) = value.decode_as::<Vec<Extension>>() else {
                    continue;
                };
                for ext in exts.iter().filter(|e| e.extn_id == oids::SUBJECT_ALT_NAME) {
                    if let Ok(names) = Vec::<GeneralName>::from_der(ext.extn_value.as_bytes()) {
                        out.extend(names);
                    }
                }
            }
        }
        out
    }

    /// The requested subject alternative names of the supported types (DNS, IP, e-mail, URI).
    pub fn sans(&self) -> Vec<SubjectAltName> {
        self.general_names()
            .iter()
            .filter_map(SubjectAltName::from_general_name)
            .collect()
    }

    /// The public key the CSR asks a certificate for.
    pub fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }

    /// Every requested subject alternative name as `csr show` prints it (`DNS:host`, ...),
    /// including types [`Csr::sans`] does not model and values it refuses (marked invalid).
    pub fn san_descriptions(&self) -> Vec<String> {
        self.general_names()
            .iter()
            .map(describe_general_name)
            .collect()
    }

    /// A summary for display. It verifies the signature (unless [`CsrBuilder::build`] just
    /// did); what needs no verification is in [`Csr::subject`], [`Csr::san_descriptions`] and
    /// [`Csr::public_key`].
    pub fn info(&self) -> CsrInfo {
        let (key_algorithm, key_bits) = self.public_key.describe();
        CsrInfo {
            subject: self.subject(),
            sans: self.san_descriptions(),
            key_algorithm,
            key_bits,
            signature_algorithm: signature_algorithm_name(&self.req.algorithm.oid),
            public_key_sha256: self.public_key.fingerprint_sha256(),
            signature_valid: self.verified || self.verify().is_ok(),
        }
    }
}
