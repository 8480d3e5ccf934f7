//! The few encodings between PKCS#11 attribute values and what okms-csr expects:
//! named-curve parameters, EC points, SubjectPublicKeyInfo, ECDSA signature values.

use crate::error::{Error, Result};
use der::{
    Any, Decode, Encode,
    asn1::{BitString, Null, ObjectIdentifier, OctetString, UintRef},
};
use okms_csr::{KeyAlgorithm, PublicKey};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// The named curve OID of an ECDSA algorithm.
fn curve_oid(alg: KeyAlgorithm) -> Option<ObjectIdentifier> {
    match alg {
        KeyAlgorithm::EcdsaP256 => Some(SECP256R1),
        KeyAlgorithm::EcdsaP384 => Some(SECP384R1),
        KeyAlgorithm::EcdsaP521 => Some(SECP521R1),
        _ => None,
    }
}

/// Size in bytes of a field element (and of r and s) on the curve of `alg`.
pub(crate) fn field_bytes(alg: KeyAlgorithm) -> usize {
    match alg {
        KeyAlgorithm::EcdsaP384 => 48,
        KeyAlgorithm::EcdsaP521 => 66,
        _ => 32,
    }
}

/// CKA_EC_PARAMS for generating a key on the curve of `alg`: the DER of the curve OID.
pub(crate) fn ec_params(alg: KeyAlgorithm) -> Result<Vec<u8>> {
    let oid = curve_oid(alg)
        .ok_or_else(|| Error::UnsupportedKey(format!("{alg} is not an ECDSA algorithm")))?;
    oid.to_der().map_err(|e| Error::MalformedAttribute {
        attribute: "CKA_EC_PARAMS",
        reason: e.to_string(),
    })
}

/// Which supported curve CKA_EC_PARAMS names.
pub(crate) fn curve_from_params(params: &[u8]) -> Result<KeyAlgorithm> {
    let oid = ObjectIdentifier::from_der(params).map_err(|e| {
        Error::UnsupportedKey(format!(
            "EC key whose CKA_EC_PARAMS is not a named curve OID ({e}); only P-256, P-384 and P-521 are supported"
        ))
    })?;
    match oid {
        SECP256R1 => Ok(KeyAlgorithm::EcdsaP256),
        SECP384R1 => Ok(KeyAlgorithm::EcdsaP384),
        SECP521R1 => Ok(KeyAlgorithm::EcdsaP521),
        other => Err(Error::UnsupportedKey(format!(
            "EC key on curve {other}; only P-256, P-384 and P-521 are supported"
        ))),
    }
}

/// The RSA algorithm for a modulus (big-endian, possibly with leading zeros).
pub(crate) fn rsa_algorithm(modulus: &[u8]) -> Result<KeyAlgorithm> {
    let bits = significant_bits(modulus);
    match bits {
        2048 => Ok(KeyAlgorithm::Rsa2048),
        3072 => Ok(KeyAlgorithm::Rsa3072),
        4096 => Ok(KeyAlgorithm::Rsa4096),
        other => Err(Error::UnsupportedKey(format!(
            "RSA key of {other} bits; only 2048, 3072 and 4096 are supported"
        ))),
    }
}

fn significant_bits(n: &[u8]) -> usize {
    let n = strip_zeros(n);
    match n.first() {
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

fn strip_zeros(n: &[u8]) -> &[u8] {
    let start = n.iter().position(|b| *b != 0).unwrap_or(n.len());
    &n[start..]
}

/// The uncompressed point from CKA_EC_POINT. The standard wraps it in a DER OCTET STRING;
/// some tokens return it raw. The expected length tells the two apart, since both start
/// with 0x04.
pub(crate) fn ec_point(alg: KeyAlgorithm, value: &[u8]) -> Result<Vec<u8>> {
    let raw_len = 1 + 2 * field_bytes(alg);
    let bad = |reason: String| Error::MalformedAttribute {
        attribute: "CKA_EC_POINT",
        reason,
    };
    let point = if value.len() == raw_len && value.first() == Some(&0x04) {
        value.to_vec()
    } else {
        OctetString::from_der(value)
            .map_err(|e| bad(format!("neither a raw point nor a DER OCTET STRING: {e}")))?
            .as_bytes()
            .to_vec()
    };
    if point.len() != raw_len || point.first() != Some(&0x04) {
        return Err(bad(format!(
            "expected an uncompressed {alg} point of {raw_len} bytes, got {} bytes",
            point.len()
        )));
    }
    Ok(point)
}

fn spki_error(e: der::Error) -> Error {
    Error::MalformedAttribute {
        attribute: "public key",
        reason: format!("cannot encode SubjectPublicKeyInfo: {e}"),
    }
}

/// SubjectPublicKeyInfo for an EC point on the curve of `alg`.
pub(crate) fn ec_spki(alg: KeyAlgorithm, point: &[u8]) -> Result<PublicKey> {
    let curve = curve_oid(alg)
        .ok_or_else(|| Error::UnsupportedKey(format!("{alg} is not an ECDSA algorithm")))?;
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: EC_PUBLIC_KEY,
            parameters: Some(Any::from(curve)),
        },
        subject_public_key: BitString::from_bytes(point).map_err(spki_error)?,
    };
    checked(alg, &spki.to_der().map_err(spki_error)?)
}

/// SubjectPublicKeyInfo for an RSA modulus and public exponent (big-endian).
pub(crate) fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<PublicKey> {
    let alg = rsa_algorithm(modulus)?;
    let key = pkcs1::RsaPublicKey {
        modulus: UintRef::new(strip_zeros(modulus)).map_err(spki_error)?,
        public_exponent: UintRef::new(strip_zeros(exponent)).map_err(spki_error)?,
    };
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::encode_from(&Null).map_err(spki_error)?),
        },
        subject_public_key: BitString::from_bytes(&key.to_der().map_err(spki_error)?)
            .map_err(spki_error)?,
    };
    checked(alg, &spki.to_der().map_err(spki_error)?)
}

/// Lets okms-csr read the key back, so a mismatch shows here and not in a rejected CSR.
fn checked(alg: KeyAlgorithm, der: &[u8]) -> Result<PublicKey> {
    let key = PublicKey::from_spki_der(der)?;
    let read = key.algorithm()?;
    if read != alg {
        return Err(Error::MalformedAttribute {
            attribute: "public key",
            reason: format!("built a {alg} key but it reads back as {read}"),
        });
    }
    Ok(key)
}

/// A SubjectPublicKeyInfo the token gave us (CKA_PUBLIC_KEY_INFO), checked for `alg`.
pub(crate) fn spki_from_token(alg: KeyAlgorithm, der: &[u8]) -> Result<PublicKey> {
    checked(alg, der)
}

/// Turns the raw `r || s` that CKM_ECDSA returns into a DER ECDSA-Sig-Value
/// (`SEQUENCE { r INTEGER, s INTEGER }`), which is what goes in an X.509 signature.
pub(crate) fn ecdsa_der(alg: KeyAlgorithm, raw: &[u8]) -> Result<Vec<u8>> {
    let n = field_bytes(alg);
    if raw.len() != 2 * n {
        return Err(Error::MalformedAttribute {
            attribute: "CKM_ECDSA signature",
            reason: format!(
                "expected {} bytes (r || s) for {alg}, got {}",
                2 * n,
                raw.len()
            ),
        });
    }
    let (r, s) = raw.split_at(n);
    let mut body = der_uint(r);
    body.extend(der_uint(s));
    let mut out = vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    Ok(out)
}

/// A non-negative INTEGER: minimal length, with a 0x00 in front when the top bit is set.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut v = strip_zeros(bytes).to_vec();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    let mut out = vec![0x02];
    out.extend(der_len(v.len()));
    out.extend(v);
    out
}

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// The DigestInfo prefix of SHA-256 for PKCS#1 v1.5 (RFC 8017 section 9.2 note 1), used
/// when a token offers only raw CKM_RSA_PKCS.
pub(crate) const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The DigestInfo prefix of SHA-384 (RFC 8017 section 9.2 note 1).
pub(crate) const SHA384_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];

/// The DigestInfo prefix of SHA-512 (RFC 8017 section 9.2 note 1).
pub(crate) const SHA512_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn ec_params_are_the_curve_oids() {
        assert_eq!(
            ec_params(KeyAlgorithm::EcdsaP256).unwrap(),
            [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
        );
        assert_eq!(
            ec_params(KeyAlgorithm::EcdsaP384).unwrap(),
            [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]
        );
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::EcdsaP521,
        ] {
            assert_eq!(curve_from_params(&ec_params(alg).unwrap()).unwrap(), alg);
        }
        assert!(ec_params(KeyAlgorithm::Rsa2048).is_err());
        let k1 = ObjectIdentifier::new_unwrap("1.3.132.0.10")
            .to_der()
            .unwrap();
        assert!(
            curve_from_params(&k1)
                .unwrap_err()
                .to_string()
                .contains("1.3.132.0.10")
        );
        assert!(curve_from_params(b"\x13\x04abcd").is_err());
    }

    #[test]
    fn ec_point_raw_or_wrapped() {
        let mut raw = vec![0x04];
        raw.extend([7u8; 64]);
        assert_eq!(ec_point(KeyAlgorithm::EcdsaP256, &raw).unwrap(), raw);
        let wrapped = OctetString::new(raw.clone()).unwrap().to_der().unwrap();
        assert_eq!(ec_point(KeyAlgorithm::EcdsaP256, &wrapped).unwrap(), raw);
        assert!(ec_point(KeyAlgorithm::EcdsaP384, &wrapped).is_err());
        assert!(ec_point(KeyAlgorithm::EcdsaP256, &raw[..40]).is_err());
    }

    #[test]
    fn ecdsa_der_minimal_integers() {
        // r has its top bit set (needs 0x00), s has leading zeros (must be stripped).
        let mut raw = vec![0x80; 32];
        let mut s = vec![0u8; 31];
        s.push(0x05);
        raw.extend(&s);
        let der = ecdsa_der(KeyAlgorithm::EcdsaP256, &raw).unwrap();
        let mut expected = vec![0x30, 2 + 33 + 3, 0x02, 33, 0x00];
        expected.extend([0x80; 32]);
        expected.extend([0x02, 1, 0x05]);
        assert_eq!(der, expected);
        assert!(ecdsa_der(KeyAlgorithm::EcdsaP256, &raw[..63]).is_err());
    }

    #[test]
    fn ecdsa_der_long_form_for_p521() {
        let raw = vec![0xff; 132];
        let der = ecdsa_der(KeyAlgorithm::EcdsaP521, &raw).unwrap();
        // Each INTEGER: 2 + 67 bytes; the sequence body is 138 bytes, so long-form length.
        assert_eq!(&der[..3], &[0x30, 0x81, 138]);
        assert_eq!(der.len(), 3 + 138);
    }

    #[test]
    fn rsa_sizes() {
        let mut n = vec![0u8];
        n.extend(vec![0xc1; 256]);
        assert_eq!(rsa_algorithm(&n).unwrap(), KeyAlgorithm::Rsa2048);
        assert!(
            rsa_algorithm(&[0x7f; 256])
                .unwrap_err()
                .to_string()
                .contains("2047")
        );
        assert_eq!(rsa_algorithm(&[0x80; 512]).unwrap(), KeyAlgorithm::Rsa4096);
    }
}
