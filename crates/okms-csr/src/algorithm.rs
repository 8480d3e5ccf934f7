//! The key algorithms this crate generates, imports and signs with.

use crate::error::{Error, UnsupportedKeyKind};
use std::{fmt, str::FromStr};

/// A supported key algorithm. ECDSA P-256 is the default because it is what OKMS itself
/// issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256, signing with SHA-256.
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384, signing with SHA-384.
    EcdsaP384,
    /// ECDSA on NIST P-521, signing with SHA-512.
    EcdsaP521,
    /// RSA with a 2048-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    Rsa2048,
    /// RSA with a 3072-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    Rsa3072,
    /// RSA with a 4096-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    Rsa4096,
}

impl KeyAlgorithm {
    /// Every supported algorithm, default first.
    pub const ALL: [KeyAlgorithm; 6] = [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::EcdsaP521,
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
    ];

    /// The stable name used on command lines and in JSON, e.g. `"ecdsa-p256"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
            KeyAlgorithm::EcdsaP521 => "ecdsa-p521",
            KeyAlgorithm::Rsa2048 => "rsa-2048",
            KeyAlgorithm::Rsa3072 => "rsa-3072",
            KeyAlgorithm::Rsa4096 => "rsa-4096",
        }
    }

    /// Whether this is an RSA algorithm.
    pub fn is_rsa(&self) -> bool {
        matches!(
            self,
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
        )
    }

    /// The key size in bits (curve size for ECDSA, modulus size for RSA).
    pub fn key_bits(&self) -> usize {
        match self {
            KeyAlgorithm::EcdsaP256 => 256,
            KeyAlgorithm::EcdsaP384 => 384,
            KeyAlgorithm::EcdsaP521 => 521,
            KeyAlgorithm::Rsa2048 => 2048,
            KeyAlgorithm::Rsa3072 => 3072,
            KeyAlgorithm::Rsa4096 => 4096,
        }
    }

    /// The RSA algorithm for a modulus size, if it is one we support.
    pub(crate) fn rsa_from_bits(bits: usize) -> Result<KeyAlgorithm, Error> {
        match bits {
            2048 => Ok(KeyAlgorithm::Rsa2048),
            3072 => Ok(KeyAlgorithm::Rsa3072),
            4096 => Ok(KeyAlgorithm::Rsa4096),
            b if b < 2048 => Err(Error::unsupported_key(
                UnsupportedKeyKind::RsaSize { bits: b },
                format!(
                    "RSA key of {b} bits is too small; at least 2048 bits are required (supported: 2048, 3072, 4096)"
                ),
            )),
            b => Err(Error::unsupported_key(
                UnsupportedKeyKind::RsaSize { bits: b },
                format!("RSA key of {b} bits; supported sizes are 2048, 3072 and 4096"),
            )),
        }
    }

    /// The X.509 signature algorithm this crate uses with keys of this algorithm.
    pub(crate) fn signature_oid(&self) -> const_oid::ObjectIdentifier {
        use crate::oids;
        match self {
            KeyAlgorithm::EcdsaP256 => oids::ECDSA_WITH_SHA256,
            KeyAlgorithm::EcdsaP384 => oids::ECDSA_WITH_SHA384,
            KeyAlgorithm::EcdsaP521 => oids::ECDSA_WITH_SHA512,
            _ => oids::SHA256_WITH_RSA,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let wanted = s.trim().to_ascii_lowercase();
        KeyAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == wanted)
            .ok_or_else(|| Error::UnknownAlgorithm {
                name: s.to_string(),
            })
    }
}
