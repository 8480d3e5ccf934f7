//! Reading private keys in every format OpenSSL writes for the supported algorithms.
// Parses untrusted input: no index or arithmetic that can panic (the lints RustCrypto uses).
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use crate::{
    algorithm::KeyAlgorithm,
    error::{Error, Result, UnsupportedKeyKind},
    export::{KeyEncoding, KeyFormat, KeyLayout, KeyProtection},
    key::{Inner, PrivateKey},
    oids, pem,
    public_key::uint_bits,
    secret::{ExposeSecret, Passphrase},
};
use der::{Decode, Reader, SliceReader, Tag, asn1::ObjectIdentifier};
use pkcs8::{
    EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef,
    pkcs5::{self, pbes2},
};
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

/// PEM labels of private keys we import.
const KEY_LABELS: [&str; 4] = [
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "EC PRIVATE KEY",
    "RSA PRIVATE KEY",
];

/// Upper bounds on password-hashing cost in an imported key, so that a hostile file cannot
/// make us allocate gigabytes or spin for hours (OpenSSL's own defaults are far below).
const MAX_SCRYPT_MEMORY: u64 = 1 << 28;
const MAX_SCRYPT_WORK: u64 = 1 << 24;
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// The DER shape of a private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Pkcs8,
    EncryptedPkcs8,
    Sec1,
    Pkcs1,
}

impl PrivateKey {
    /// Reads a private key, PEM or DER, detecting the format: PKCS#8, encrypted PKCS#8
    /// (PBES2 with PBKDF2 or scrypt, AES-CBC or 3DES), SEC1 `EC PRIVATE KEY` (a leading
    /// `EC PARAMETERS` block is skipped) or PKCS#1 `RSA PRIVATE KEY`.
    pub fn import(bytes: &[u8], passphrase: Option<&Passphrase>) -> Result<Self> {
        let (der, hint) = key_der(bytes)?;
        let kind = match hint {
            Some(kind) => kind,
            None => detect(&der)?,
        };
        match kind {
            Kind::Pkcs8 => from_pkcs8(&der),
            Kind::EncryptedPkcs8 => {
                let passphrase = passphrase.ok_or(Error::PassphraseRequired)?;
                let plain = decrypt(&der, passphrase)?;
                // A wrong passphrase passes the CBC padding check about once in 256 tries;
                // the garbage then fails to decode, which is the same user error.
                match PrivateKeyInfoRef::from_der(&plain) {
                    Ok(_) => from_pkcs8(&plain),
                    Err(_) => Err(Error::WrongPassphrase),
                }
            }
            Kind::Sec1 => from_sec1(&der),
            Kind::Pkcs1 => from_pkcs1(&der),
        }
    }

    /// How the key in `bytes` is stored, so that a replacement can be written the same way
    /// ([`PrivateKey::to_layout`]): a renewal must not turn a SEC1 or encrypted key into a
    /// plain PKCS#8 one behind its owner's back.
    pub fn layout_of(bytes: &[u8]) -> Result<KeyLayout> {
        let encoding = if pem::looks_like_pem(bytes) {
            KeyEncoding::Pem
        } else {
            KeyEncoding::Der
        };
        let (der, hint) = key_der(bytes)?;
        let protection = match hint.map_or_else(|| detect(&der), Ok)? {
            Kind::Pkcs8 => KeyProtection::Plain(KeyFormat::Pkcs8),
            Kind::Sec1 | Kind::Pkcs1 => KeyProtection::Plain(KeyFormat::Traditional),
            Kind::EncryptedPkcs8 => KeyProtection::EncryptedPkcs8,
        };
        Ok(KeyLayout {
            protection,
            encoding,
        })
    }

    /// Whether `bytes` hold an encrypted PKCS#8 key (PEM `ENCRYPTED PRIVATE KEY` or DER), so
    /// that a caller knows to ask for a passphrase. Legacy `Proc-Type: 4,ENCRYPTED` PEM is not
    /// counted: [`PrivateKey::import`] rejects it with a conversion hint.
    pub fn is_encrypted(bytes: &[u8]) -> bool {
        match key_der(bytes) {
            Ok((_, Some(kind))) => kind == Kind::EncryptedPkcs8,
            Ok((der, None)) => matches!(detect(&der), Ok(Kind::EncryptedPkcs8)),
            Err(_) => false,
        }
    }
}

/// The DER of the key in `bytes`, and its kind when a PEM label tells it.
fn key_der(bytes: &[u8]) -> Result<(Zeroizing<Vec<u8>>, Option<Kind>)> {
    if !pem::looks_like_pem(bytes) {
        if bytes.is_empty() {
            return Err(Error::malformed("private key", "the input is empty"));
        }
        if bytes.first() != Some(&0x30) {
            return Err(Error::malformed(
                "private key",
                "neither PEM (no -----BEGIN line) nor DER (does not start with a SEQUENCE)",
            ));
        }
        return Ok((Zeroizing::new(bytes.to_vec()), None));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| Error::pem("the PEM text is not valid UTF-8"))?;
    let blocks = pem::parse_blocks(text)?;
    let labels: Vec<String> = blocks.iter().map(|b| b.label.clone()).collect();
    for block in blocks {
        if block.label == "EC PARAMETERS" {
            continue;
        }
        if block.headers.iter().any(|h| h.starts_with("Proc-Type")) {
            return Err(Error::LegacyEncryptedPem);
        }
        let kind = match block.label.as_str() {
            "PRIVATE KEY" => Kind::Pkcs8,
            "ENCRYPTED PRIVATE KEY" => Kind::EncryptedPkcs8,
            "EC PRIVATE KEY" => Kind::Sec1,
            "RSA PRIVATE KEY" => Kind::Pkcs1,
            "OPENSSH PRIVATE KEY" => {
                return Err(Error::unsupported_key(
                    UnsupportedKeyKind::OpenSshFormat,
                    "OpenSSH private key format; convert it with: ssh-keygen -p -m PKCS8 -f KEY",
                ));
            }
            "DSA PRIVATE KEY" => {
                return Err(Error::unsupported_key(
                    UnsupportedKeyKind::Algorithm { name: "DSA".into() },
                    "DSA keys are not supported",
                ));
            }
            _ => continue,
        };
        return Ok((block.der, Some(kind)));
    }
    Err(Error::InvalidPem {
        expected: KEY_LABELS.iter().map(|l| (*l).to_owned()).collect(),
        reason: format!(
            "no private key found (expected one of: {}); found: {}",
            KEY_LABELS.join(", "),
            if labels.is_empty() {
                "no PEM block".to_string()
            } else {
                labels.join(", ")
            }
        ),
        found: labels,
    })
}

/// Tells the DER key formats apart by their first fields.
fn detect(der: &[u8]) -> Result<Kind> {
    let not_a_key = || {
        Error::malformed(
            "private key",
            "the DER is not a PKCS#8, encrypted PKCS#8, SEC1 or PKCS#1 private key",
        )
    };
    let mut outer = SliceReader::new(der).map_err(|_| not_a_key())?;
    let header = der::Header::decode(&mut outer).map_err(|_| not_a_key())?;
    if header.tag() != Tag::Sequence {
        return Err(not_a_key());
    }
    let first = der::Header::peek(&outer).map_err(|_| not_a_key())?;
    match first.tag() {
        Tag::Sequence => {
            // EncryptedPrivateKeyInfo starts with an AlgorithmIdentifier (an OID first); a
            // certificate, which also starts with a SEQUENCE, does not.
            let alg = der::Any::decode(&mut outer).map_err(|_| not_a_key())?;
            if alg.value().first() == Some(&0x06) {
                Ok(Kind::EncryptedPkcs8)
            } else {
                Err(not_a_key())
            }
        }
        Tag::Integer => {
            // version INTEGER, then: PKCS#8 AlgorithmIdentifier SEQUENCE, SEC1 OCTET STRING,
            // PKCS#1 modulus INTEGER.
            let _version = der::Any::decode(&mut outer).map_err(|_| not_a_key())?;
            let second = der::Header::peek(&outer).map_err(|_| not_a_key())?;
            match second.tag() {
                Tag::Sequence => Ok(Kind::Pkcs8),
                Tag::OctetString => Ok(Kind::Sec1),
                Tag::Integer => Ok(Kind::Pkcs1),
                _ => Err(not_a_key()),
            }
        }
        _ => Err(not_a_key()),
    }
}

fn decrypt(der: &[u8], passphrase: &Passphrase) -> Result<Zeroizing<Vec<u8>>> {
    check_scheme(der)?;
    let info = EncryptedPrivateKeyInfoRef::from_der(der)
        .map_err(Error::der("encrypted PKCS#8 private key"))?;
    if let Some(params) = info.encryption_algorithm.pbes2() {
        check_cost(params)?;
    }
    match info.encryption_algorithm.decrypt(
        passphrase.expose_secret().as_bytes(),
        info.encrypted_data.as_bytes(),
    ) {
        Ok(plain) => Ok(Zeroizing::new(plain)),
        Err(pkcs5::Error::DecryptFailed) => Err(Error::WrongPassphrase),
        Err(pkcs5::Error::UnsupportedAlgorithm { oid }) => {
            Err(Error::UnsupportedEncryption(format!(
                "algorithm {oid}; re-encrypt the key with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out new.key"
            )))
        }
        Err(e) => Err(Error::UnsupportedEncryption(e.to_string())),
    }
}

/// Rejects PBES1 and PKCS#12 schemes with a message before the generic decoder does.
fn check_scheme(der: &[u8]) -> Result<()> {
    let mut reader = SliceReader::new(der).map_err(Error::der("encrypted PKCS#8 private key"))?;
    let scheme: Result<ObjectIdentifier> = reader
        .sequence(|r| {
            let alg = AlgorithmIdentifierRef::decode(r)?;
            <&der::asn1::OctetStringRef>::decode(r)?;
            Ok(alg.oid)
        })
        .map_err(Error::der("encrypted PKCS#8 private key"));
    let oid = scheme?;
    if oid == pbes2::PBES2_OID {
        return Ok(());
    }
    let hint = "re-encrypt the key with PBES2: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out new.key";
    if let Some((name, _)) = oids::PBES1_OIDS.iter().find(|(_, o)| *o == oid) {
        return Err(Error::UnsupportedEncryption(format!(
            "PBES1 ({name}) is not supported; {hint}"
        )));
    }
    if oid.to_string().starts_with("1.2.840.113549.1.12.1.") {
        return Err(Error::UnsupportedEncryption(format!(
            "PKCS#12 password-based encryption ({oid}) is not supported; {hint}"
        )));
    }
    Err(Error::UnsupportedEncryption(format!(
        "encryption scheme {oid} is not supported; {hint}"
    )))
}

fn check_cost(params: &pbes2::Parameters) -> Result<()> {
    match &params.kdf {
        pbes2::Kdf::Pbkdf2(p) if p.iteration_count > MAX_PBKDF2_ITERATIONS => {
            Err(Error::UnsupportedEncryption(format!(
                "PBKDF2 iteration count {} is above the limit of {MAX_PBKDF2_ITERATIONS}",
                p.iteration_count
            )))
        }
        pbes2::Kdf::Scrypt(p) => {
            let n = p.cost_parameter;
            let r = u64::from(p.block_size);
            let pp = u64::from(p.parallelization);
            let memory = n.saturating_mul(r).saturating_mul(128);
            let work = n.saturating_mul(r).saturating_mul(pp);
            if memory > MAX_SCRYPT_MEMORY || work > MAX_SCRYPT_WORK {
                Err(Error::UnsupportedEncryption(format!(
                    "scrypt parameters N={n}, r={r}, p={pp} exceed the limits (256 MiB of memory, N*r*p up to 2^24)"
                )))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

fn from_pkcs8(der: &[u8]) -> Result<PrivateKey> {
    let info = PrivateKeyInfoRef::from_der(der).map_err(Error::der("PKCS#8 private key"))?;
    match info.algorithm.oid {
        oids::EC_PUBLIC_KEY => {
            let curve = info
                .algorithm
                .parameters
                .as_ref()
                .ok_or_else(|| Error::malformed("PKCS#8 EC private key", "no curve parameters"))?
                .decode_as::<ObjectIdentifier>()
                .map_err(|_| explicit_params())?;
            let bad = |e: pkcs8::Error| Error::malformed("PKCS#8 EC private key", e.to_string());
            let inner = match curve {
                oids::SECP256R1 => {
                    Inner::P256(p256::ecdsa::SigningKey::try_from(info).map_err(bad)?)
                }
                oids::SECP384R1 => {
                    Inner::P384(p384::ecdsa::SigningKey::try_from(info).map_err(bad)?)
                }
                oids::SECP521R1 => {
                    Inner::P521(p521::ecdsa::SigningKey::try_from(info).map_err(bad)?)
                }
                other => return Err(Error::unsupported_curve(&other)),
            };
            PrivateKey::from_inner(inner)
        }
        oids::RSA_ENCRYPTION => from_pkcs1(info.private_key.as_bytes()),
        other => Err(Error::unsupported_algorithm(&other)),
    }
}

fn from_sec1(der: &[u8]) -> Result<PrivateKey> {
    let key = match sec1::EcPrivateKey::from_der(der) {
        Ok(key) => key,
        Err(_) if has_explicit_params(der) => return Err(explicit_params()),
        Err(e) => return Err(Error::der("SEC1 EC private key")(e)),
    };
    let curve = key
        .parameters
        .and_then(|p| p.named_curve())
        .ok_or_else(explicit_params)?;
    fn bad(e: impl std::fmt::Display) -> Error {
        Error::malformed("SEC1 EC private key", e.to_string())
    }
    let inner = match curve {
        oids::SECP256R1 => Inner::P256(p256::SecretKey::from_sec1_der(der).map_err(bad)?.into()),
        oids::SECP384R1 => Inner::P384(p384::SecretKey::from_sec1_der(der).map_err(bad)?.into()),
        oids::SECP521R1 => Inner::P521(p521::SecretKey::from_sec1_der(der).map_err(bad)?.into()),
        other => return Err(Error::unsupported_curve(&other)),
    };
    PrivateKey::from_inner(inner)
}

fn from_pkcs1(der: &[u8]) -> Result<PrivateKey> {
    let key =
        pkcs1::RsaPrivateKeyRef::from_der(der).map_err(Error::der("PKCS#1 RSA private key"))?;
    // Check the size before the (costly) key validation, so that absurd sizes fail fast.
    let alg: KeyAlgorithm = KeyAlgorithm::rsa_from_bits(uint_bits(key.modulus.as_bytes()))?;
    let key = rsa::PrivateKey::try_from(key)
        .map_err(|e| Error::malformed("RSA private key", e.to_string()))?;
    PrivateKey::from_inner(Inner::Rsa(
        Box::new(rsa::pkcs1v15::SigningKey::new(key)),
        alg,
    ))
}

fn explicit_params() -> Error {
    Error::unsupported_key(
        UnsupportedKeyKind::EcExplicitParameters,
        "EC key with explicit curve parameters instead of a named curve; convert it with: openssl ec -param_enc named_curve -in old.key -out new.key",
    )
}

/// Whether a SEC1 ECPrivateKey carries `[0]` parameters that are a SEQUENCE (explicit
/// curve) rather than a named-curve OID.
fn has_explicit_params(der: &[u8]) -> bool {
    let check = || -> der::Result<bool> {
        let mut reader = SliceReader::new(der)?;
        reader.sequence(|r| {
            let _version = der::Any::decode(r)?;
            let _key = der::Any::decode(r)?;
            let params = der::Any::decode(r)?;
            let explicit = der::Tagged::tag(&params).number() == der::TagNumber(0)
                && params.value().first() == Some(&0x30);
            // Skip whatever follows so the sequence closure is satisfied.
            while !r.is_finished() {
                der::Any::decode(r)?;
            }
            Ok(explicit)
        })
    };
    check().unwrap_or(false)
}
