//! Object identifiers used across the crate, in one place.

use const_oid::ObjectIdentifier as Oid;

pub(crate) const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
pub(crate) const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
pub(crate) const SECP521R1: Oid = Oid::new_unwrap("1.3.132.0.35");
pub(crate) const SECP256K1: Oid = Oid::new_unwrap("1.3.132.0.10");
pub(crate) const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
pub(crate) const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
pub(crate) const ED448: Oid = Oid::new_unwrap("1.3.101.113");
pub(crate) const X25519: Oid = Oid::new_unwrap("1.3.101.110");
pub(crate) const X448: Oid = Oid::new_unwrap("1.3.101.111");
pub(crate) const DSA: Oid = Oid::new_unwrap("1.2.840.10040.4.1");

pub(crate) const ECDSA_WITH_SHA224: Oid = Oid::new_unwrap("1.2.840.10045.4.3.1");
pub(crate) const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
pub(crate) const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
pub(crate) const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
pub(crate) const ECDSA_WITH_SHA1: Oid = Oid::new_unwrap("1.2.840.10045.4.1");
pub(crate) const MD5_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.4");
pub(crate) const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
pub(crate) const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
pub(crate) const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
pub(crate) const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
pub(crate) const SHA224_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.14");

pub(crate) const EXTENSION_REQUEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.14");
pub(crate) const SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
pub(crate) const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
pub(crate) const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
pub(crate) const MS_UPN: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.20.2.3");

pub(crate) const PBES1_OIDS: [(&str, Oid); 6] = [
    (
        "pbeWithMD2AndDES-CBC",
        Oid::new_unwrap("1.2.840.113549.1.5.1"),
    ),
    (
        "pbeWithMD2AndRC2-CBC",
        Oid::new_unwrap("1.2.840.113549.1.5.4"),
    ),
    (
        "pbeWithMD5AndDES-CBC",
        Oid::new_unwrap("1.2.840.113549.1.5.3"),
    ),
    (
        "pbeWithMD5AndRC2-CBC",
        Oid::new_unwrap("1.2.840.113549.1.5.6"),
    ),
    (
        "pbeWithSHA1AndDES-CBC",
        Oid::new_unwrap("1.2.840.113549.1.5.10"),
    ),
    (
        "pbeWithSHA1AndRC2-CBC",
        Oid::new_unwrap("1.2.840.113549.1.5.11"),
    ),
];

/// A readable name for a key algorithm OID we do not support, for error messages.
pub(crate) fn key_algorithm_name(oid: &Oid) -> String {
    let name = match *oid {
        ED25519 => "Ed25519",
        ED448 => "Ed448",
        X25519 => "X25519",
        X448 => "X448",
        DSA => "DSA",
        RSASSA_PSS => "RSASSA-PSS",
        _ => return format!("key algorithm {oid}"),
    };
    name.to_string()
}

/// A readable name for an elliptic curve OID, for error messages.
pub(crate) fn curve_name(oid: &Oid) -> String {
    match *oid {
        SECP256R1 => "P-256".to_string(),
        SECP384R1 => "P-384".to_string(),
        SECP521R1 => "P-521".to_string(),
        SECP256K1 => "secp256k1".to_string(),
        _ => format!("curve {oid}"),
    }
}
