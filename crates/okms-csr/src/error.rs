//! The crate's single error type.

/// Everything that can go wrong in `okms-csr`. Messages name the problem and, where we know
/// it, what to do about it.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key algorithm name was not one of the supported names.
    #[error(
        "unknown key algorithm {}; use one of: ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072, rsa-4096",
        quote_value(name)
    )]
    UnknownAlgorithm {
        /// The name that was given.
        name: String,
    },

    /// The key is of a type or size this crate does not handle.
    #[error("unsupported key: {reason}")]
    UnsupportedKey {
        /// What was found, for a caller that reacts to it (e.g. offers to make a bigger key).
        found: UnsupportedKeyKind,
        /// What is wrong and what to do, in words.
        reason: String,
    },

    /// The key file is encrypted and no passphrase was given.
    #[error("the private key is encrypted; a passphrase is required")]
    PassphraseRequired,

    /// The passphrase did not decrypt the key.
    #[error("wrong passphrase (or corrupted encrypted key): decryption failed")]
    WrongPassphrase,

    /// The key uses a legacy OpenSSL `Proc-Type: 4,ENCRYPTED` PEM encryption.
    #[error(
        "legacy OpenSSL-encrypted PEM key (Proc-Type: 4,ENCRYPTED) is not supported; convert it to encrypted PKCS#8 with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out new.key"
    )]
    LegacyEncryptedPem,

    /// The key is encrypted with a scheme this crate does not implement.
    #[error("unsupported private key encryption: {0}")]
    UnsupportedEncryption(String),

    /// Input that should be a key, CSR or certificate could not be decoded.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded (e.g. "PKCS#8 private key").
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A DER structure could not be decoded or encoded.
    #[error("{what}: {source}")]
    Der {
        /// What was being decoded or encoded.
        what: &'static str,
        /// The underlying DER error.
        #[source]
        source: der::Error,
    },

    /// PEM text is not valid, or carries an unexpected label.
    #[error("invalid PEM: {reason}")]
    InvalidPem {
        /// The block labels that would have been accepted; empty when the text itself is
        /// broken (bad base64, a block without its END line, not UTF-8).
        expected: Vec<String>,
        /// The labels of the blocks found, in order; empty when there were none or the text
        /// is broken.
        found: Vec<String>,
        /// What is wrong, in words.
        reason: String,
    },

    /// Key generation failed (including an OS random number generator failure).
    #[error("key generation failed: {0}")]
    KeyGeneration(String),

    /// Encoding or encrypting a key for export failed.
    #[error("key export failed: {0}")]
    Export(String),

    /// A signer failed to produce a signature.
    #[error("signing failed: {0}")]
    Signing(String),

    /// A signature did not verify.
    #[error("bad signature: {0}")]
    BadSignature(String),

    /// A signature algorithm that this crate does not verify (or considers insecure).
    #[error("unsupported signature algorithm: {0}")]
    UnsupportedSignatureAlgorithm(String),

    /// An RFC 4514 subject string is invalid; the message names the attribute.
    #[error("invalid subject: {reason}")]
    InvalidSubject {
        /// The attribute type as written (e.g. `CN`, `C`, `2.5.4.3`) when one attribute is at
        /// fault; `None` when the subject as a whole is (empty, not `TYPE=value`, unknown type).
        attribute: Option<String>,
        /// What is wrong and what to do, in words (it names the attribute too).
        reason: String,
    },

    /// A subject alternative name is invalid.
    #[error("invalid subject alternative name: {0}")]
    InvalidSan(String),

    /// Bytes given as a PKCS#12 file are not one (a PEM key, a certificate, other data).
    #[error("not a PKCS#12 file: {0}")]
    NotPkcs12(String),

    /// A private key and a certificate that were meant to go together do not: the certificate
    /// was issued for another key.
    #[error(
        "the private key does not match the certificate (key's public key SHA-256 {key_sha256}, certificate's {certificate_sha256})"
    )]
    KeyCertificateMismatch {
        /// The SHA-256 fingerprint of the key's public key.
        key_sha256: String,
        /// The SHA-256 fingerprint of the certificate's public key.
        certificate_sha256: String,
    },

    /// Escaping or unescaping PEM for JSON failed; the message says what is wrong.
    #[error("{0}")]
    Escape(String),
}

/// How a message quotes a value the caller gave: in double quotes, escaped, and cut after 64
/// characters with its length, e.g. `"aaaa…" (100000 characters)`, so that a pasted file
/// makes a one-line error.
pub(crate) fn quote_value(value: &str) -> String {
    const QUOTED_CHARS: usize = 64;
    let count = value.chars().count();
    let head: String = value.chars().take(QUOTED_CHARS).collect();
    if count <= QUOTED_CHARS {
        return format!("\"{}\"", head.escape_debug());
    }
    format!("\"{}…\" ({count} characters)", head.escape_debug())
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn der(what: &'static str) -> impl FnOnce(der::Error) -> Error {
        move |source| Error::Der { what, source }
    }

    pub(crate) fn unsupported_key(found: UnsupportedKeyKind, reason: impl Into<String>) -> Error {
        Error::UnsupportedKey {
            found,
            reason: reason.into(),
        }
    }

    /// An EC key on a curve other than P-256, P-384 and P-521.
    pub(crate) fn unsupported_curve(curve: &const_oid::ObjectIdentifier) -> Error {
        let curve = crate::oids::curve_name(curve);
        Error::unsupported_key(
            UnsupportedKeyKind::EcCurve {
                curve: curve.clone(),
            },
            format!("EC key on {curve}; supported curves are P-256, P-384 and P-521"),
        )
    }

    /// A key that is neither ECDSA nor RSA.
    pub(crate) fn unsupported_algorithm(algorithm: &const_oid::ObjectIdentifier) -> Error {
        let name = crate::oids::key_algorithm_name(algorithm);
        Error::unsupported_key(
            UnsupportedKeyKind::Algorithm { name: name.clone() },
            format!(
                "{name} keys are not supported; use ECDSA (P-256, P-384, P-521) or RSA (2048, 3072, 4096)"
            ),
        )
    }

    /// PEM text that cannot be read at all (no label question).
    pub(crate) fn pem(reason: impl Into<String>) -> Error {
        Error::InvalidPem {
            expected: Vec::new(),
            found: Vec::new(),
            reason: reason.into(),
        }
    }

    pub(crate) fn subject(reason: impl Into<String>) -> Error {
        Error::InvalidSubject {
            attribute: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn subject_attribute(attribute: &str, reason: impl Into<String>) -> Error {
        Error::InvalidSubject {
            attribute: Some(attribute.to_owned()),
            reason: reason.into(),
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Error {
        Error::Malformed {
            what,
            reason: reason.into(),
        }
    }
}

/// What kind of key an [`Error::UnsupportedKey`] found.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsupportedKeyKind {
    /// An RSA key of a size other than 2048, 3072 or 4096 bits.
    RsaSize {
        /// The modulus size in bits.
        bits: usize,
    },
    /// An EC key on a named curve other than P-256, P-384 and P-521.
    EcCurve {
        /// The curve's name (or dotted OID when it has no known name).
        curve: String,
    },
    /// An EC key with explicit curve parameters instead of a named curve.
    EcExplicitParameters,
    /// A key of another algorithm (Ed25519, DSA, ...).
    Algorithm {
        /// The algorithm's name (or dotted OID when it has no known name).
        name: String,
    },
    /// A private key in OpenSSH's own format.
    OpenSshFormat,
}
