//! Public keys as SubjectPublicKeyInfo, and comparing them.
// Parses untrusted input: no index or arithmetic that can panic (the lints RustCrypto uses).
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use crate::{
    algorithm::KeyAlgorithm,
    error::{Error, Result, UnsupportedKeyKind},
    oids,
};
use der::{Decode, asn1::ObjectIdentifier};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoRef;

/// A public key, held as its DER-encoded SubjectPublicKeyInfo. It may hold an algorithm this
/// crate does not support (a CSR with an Ed25519 key can still be inspected);
/// [`PublicKey::algorithm`] says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    der: Vec<u8>,
}

impl PublicKey {
    /// Reads a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        SubjectPublicKeyInfoRef::from_der(der)
            .map_err(Error::der("public key (SubjectPublicKeyInfo)"))?;
        Ok(PublicKey { der: der.to_vec() })
    }

    /// Reads a PEM `PUBLIC KEY` (what `openssl pkey -pubout` writes).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let der = crate::pem::decode_one(pem, &["PUBLIC KEY"], "public key")?;
        Self::from_spki_der(&der)
    }

    /// Reads a public key, PEM `PUBLIC KEY` or DER SubjectPublicKeyInfo.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        crate::pem::pem_or_der(bytes, Self::from_pem, Self::from_spki_der)
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.der
    }

    /// PEM with the label `PUBLIC KEY` (what `openssl pkey -pubout` writes).
    pub fn to_pem(&self) -> String {
        crate::pem::encode("PUBLIC KEY", &self.der).to_string()
    }

    /// The supported algorithm of this key, or [`Error::UnsupportedKey`] naming what it is.
    pub fn algorithm(&self) -> Result<KeyAlgorithm> {
        let spki = self.spki()?;
        match spki.algorithm.oid {
            oids::EC_PUBLIC_KEY => {
                let curve = ec_curve(&spki)?;
                match curve {
                    oids::SECP256R1 => Ok(KeyAlgorithm::EcdsaP256),
                    oids::SECP384R1 => Ok(KeyAlgorithm::EcdsaP384),
                    oids::SECP521R1 => Ok(KeyAlgorithm::EcdsaP521),
                    other => Err(Error::unsupported_curve(&other)),
                }
            }
            oids::RSA_ENCRYPTION => KeyAlgorithm::rsa_from_bits(self.rsa_bits()?),
            other => Err(Error::unsupported_algorithm(&other)),
        }
    }

    /// Lowercase hex SHA-256 of the SPKI DER, without separators.
    pub fn fingerprint_sha256(&self) -> String {
        hex_lower(&Sha256::digest(&self.der))
    }

    fn spki(&self) -> Result<SubjectPublicKeyInfoRef<'_>> {
        SubjectPublicKeyInfoRef::from_der(&self.der)
            .map_err(Error::der("public key (SubjectPublicKeyInfo)"))
    }

    /// Modulus size of an RSA key.
    pub(crate) fn rsa_bits(&self) -> Result<usize> {
        let spki = self.spki()?;
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::malformed("RSA public key", "BIT STRING has unused bits"))?;
        let key = pkcs1::RsaPublicKeyRef::from_der(bytes).map_err(Error::der("RSA public key"))?;
        Ok(uint_bits(key.modulus.as_bytes()))
    }

    /// A short description for display, also for unsupported keys: `(name, bits)`.
    pub(crate) fn describe(&self) -> (String, usize) {
        match self.algorithm() {
            Ok(alg) => (alg.as_str().to_string(), alg.key_bits()),
            Err(_) => {
                let Ok(spki) = self.spki() else {
                    return ("malformed (unsupported)".to_string(), 0);
                };
                match spki.algorithm.oid {
                    oids::EC_PUBLIC_KEY => {
                        let name = ec_curve(&spki)
                            .map(|c| oids::curve_name(&c))
                            .unwrap_or_else(|_| "unknown curve".to_string());
                        let bits = if name == "secp256k1" { 256 } else { 0 };
                        (format!("ecdsa-{} (unsupported)", name.to_lowercase()), bits)
                    }
                    oids::RSA_ENCRYPTION => {
                        let bits = self.rsa_bits().unwrap_or(0);
                        (format!("rsa-{bits} (unsupported)"), bits)
                    }
                    oids::ED25519 => ("ed25519 (unsupported)".to_string(), 256),
                    oids::ED448 => ("ed448 (unsupported)".to_string(), 456),
                    other => (
                        format!(
                            "{} (unsupported)",
                            oids::key_algorithm_name(&other).to_lowercase()
                        ),
                        0,
                    ),
                }
            }
        }
    }

    /// A canonical form for comparison: EC points decompressed, RSA as (n, e) without
    /// leading zeros, anything else as its DER.
    fn canonical(&self) -> Vec<u8> {
        self.try_canonical().unwrap_or_else(|| self.der.clone())
    }

    fn try_canonical(&self) -> Option<Vec<u8>> {
        let alg = self.algorithm().ok()?;
        let spki = self.spki().ok()?;
        let bits = spki.subject_public_key.as_bytes()?;
        let mut out = alg.as_str().as_bytes().to_vec();
        out.push(0);
        match alg {
            KeyAlgorithm::EcdsaP256 => {
                out.extend_from_slice(
                    &p256::PublicKey::from_sec1_bytes(bits).ok()?.to_sec1_bytes(),
                );
            }
            KeyAlgorithm::EcdsaP384 => {
                out.extend_from_slice(
                    &p384::PublicKey::from_sec1_bytes(bits).ok()?.to_sec1_bytes(),
                );
            }
            KeyAlgorithm::EcdsaP521 => {
                out.extend_from_slice(
                    &p521::PublicKey::from_sec1_bytes(bits).ok()?.to_sec1_bytes(),
                );
            }
            _ => {
                let key = pkcs1::RsaPublicKeyRef::from_der(bits).ok()?;
                out.extend_from_slice(strip_zeros(key.modulus.as_bytes()));
                out.push(0);
                out.extend_from_slice(strip_zeros(key.public_exponent.as_bytes()));
            }
        }
        Some(out)
    }
}

/// Whether two public keys are the same key, even if encoded differently (compressed EC
/// point, RSA parameters present or absent).
pub fn same_public_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.der == b.der || a.canonical() == b.canonical()
}

fn ec_curve(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<ObjectIdentifier> {
    spki.algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| Error::malformed("EC public key", "no curve parameters"))?
        .decode_as::<ObjectIdentifier>()
        .map_err(|_| {
            Error::unsupported_key(
                UnsupportedKeyKind::EcExplicitParameters,
                "EC key with explicit curve parameters; use a named curve (P-256, P-384, P-521)",
            )
        })
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Bit length of a big-endian unsigned integer.
pub(crate) fn uint_bits(bytes: &[u8]) -> usize {
    let bytes = strip_zeros(bytes);
    match bytes.first() {
        None => 0,
        // `first` is not zero, so its leading zeros are at most 7: the subtraction stays
        // positive. Saturating: an integer of more than `usize::MAX / 8` bytes cannot exist.
        Some(first) => bytes
            .len()
            .saturating_mul(8)
            .saturating_sub(first.leading_zeros() as usize),
    }
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        s.push(hex_digit(b >> 4));
        s.push(hex_digit(b & 0x0f));
    }
    s
}

/// The lowercase hex digit of a nibble (`n < 16`).
fn hex_digit(n: u8) -> char {
    char::from_digit(u32::from(n), 16).unwrap_or('?')
}
