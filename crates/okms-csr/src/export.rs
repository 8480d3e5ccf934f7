//! Writing private keys: PKCS#8, encrypted PKCS#8 and the traditional SEC1 / PKCS#1 forms.

use crate::{
    error::{Error, Result},
    key::{Inner, PrivateKey},
    oids,
    secret::{self, ExposeSecret, Passphrase, SecretString},
};
use der::{Encode, pem::LineEnding};
use pkcs1::EncodeRsaPrivateKey;
use pkcs8::{EncodePrivateKey, PrivateKeyInfoRef, pkcs5::pbes2};
use zeroize::Zeroizing;

/// How a private key is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyFormat {
    /// PKCS#8 `PRIVATE KEY` (what `openssl genpkey` writes).
    #[default]
    Pkcs8,
    /// SEC1 `EC PRIVATE KEY` for ECDSA, PKCS#1 `RSA PRIVATE KEY` for RSA.
    Traditional,
}

/// Text or binary: the two ways a key file holds its structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyEncoding {
    /// PEM text.
    Pem,
    /// The bare DER.
    Der,
}

/// Whether a stored key is encrypted, and in which structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyProtection {
    /// Unencrypted, in this structure.
    Plain(KeyFormat),
    /// Encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`): writing it needs a passphrase.
    EncryptedPkcs8,
}

/// How a key file is laid out: what [`PrivateKey::layout_of`] finds and
/// [`PrivateKey::to_layout`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyLayout {
    /// Encrypted or not, and the structure.
    pub protection: KeyProtection,
    /// PEM or DER.
    pub encoding: KeyEncoding,
}

/// Where the curve of an `ECPrivateKey` is named: PKCS#8 names it in its AlgorithmIdentifier,
/// the traditional SEC1 form in the key itself (RFC 5915).
enum EcParameters {
    InAlgorithmIdentifier,
    Included,
}

/// A private key split for encoding.
enum KeyParts<'a> {
    Ec(EcKeyParts),
    Rsa(&'a rsa::pkcs1v15::SigningKey<sha2::Sha256>),
}

struct EcKeyParts {
    curve: der::asn1::ObjectIdentifier,
    secret: Zeroizing<Vec<u8>>,
    /// The uncompressed SEC1 point.
    public: Vec<u8>,
}

impl EcKeyParts {
    /// SEC1 `ECPrivateKey` DER.
    fn to_der(&self, parameters: EcParameters) -> Result<Zeroizing<Vec<u8>>> {
        let key = sec1::EcPrivateKey {
            private_key: &self.secret,
            parameters: match parameters {
                EcParameters::InAlgorithmIdentifier => None,
                EcParameters::Included => Some(sec1::EcParameters::NamedCurve(self.curve)),
            },
            public_key: Some(&self.public),
        };
        Ok(Zeroizing::new(key.to_der().map_err(export_err)?))
    }
}

fn export_err(e: impl std::fmt::Display) -> Error {
    Error::Export(e.to_string())
}

impl PrivateKey {
    pub(crate) fn to_pkcs8_der(&self) -> Result<der::SecretDocument> {
        match self.parts() {
            KeyParts::Rsa(k) => k.to_pkcs8_der().map_err(export_err),
            KeyParts::Ec(ec) => {
                let key = ec.to_der(EcParameters::InAlgorithmIdentifier)?;
                let info = PrivateKeyInfoRef::new(
                    pkcs8::AlgorithmIdentifierRef {
                        oid: oids::EC_PUBLIC_KEY,
                        parameters: Some((&ec.curve).into()),
                    },
                    der::asn1::OctetStringRef::new(&key).map_err(export_err)?,
                );
                der::SecretDocument::encode_msg(&info).map_err(export_err)
            }
        }
    }

    /// What an encoder needs. ECDSA keys come with the public key the signing key already
    /// holds: the curve crates' own encoders derive it again, a scalar multiplication that is
    /// a tenth of `csr new` (`tests/keys.rs` checks both give the same bytes).
    fn parts(&self) -> KeyParts<'_> {
        let (curve, secret, public) = match &self.inner {
            Inner::P256(k) => (
                oids::SECP256R1,
                Zeroizing::new(k.to_bytes()).to_vec(),
                k.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
            ),
            Inner::P384(k) => (
                oids::SECP384R1,
                Zeroizing::new(k.to_bytes()).to_vec(),
                k.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
            ),
            Inner::P521(k) => (
                oids::SECP521R1,
                Zeroizing::new(k.to_bytes()).to_vec(),
                k.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
            ),
            Inner::Rsa(k, _) => return KeyParts::Rsa(k),
        };
        KeyParts::Ec(EcKeyParts {
            curve,
            secret: Zeroizing::new(secret),
            public,
        })
    }

    /// The key as PEM text in `format`, LF line endings.
    pub fn to_pem(&self, format: KeyFormat) -> Result<SecretString> {
        let pem: Zeroizing<String> = match format {
            KeyFormat::Pkcs8 => crate::pem::encode("PRIVATE KEY", self.to_pkcs8_der()?.as_bytes()),
            KeyFormat::Traditional => match self.parts() {
                KeyParts::Ec(ec) => {
                    crate::pem::encode("EC PRIVATE KEY", &ec.to_der(EcParameters::Included)?)
                }
                KeyParts::Rsa(k) => k
                    .as_ref()
                    .to_pkcs1_pem(LineEnding::LF)
                    .map_err(export_err)?,
            },
        };
        Ok(secret::from_zeroizing(pem))
    }

    /// The key as a file laid out as `layout` says (PEM with LF line endings, or DER); an
    /// encrypted layout is encrypted with `passphrase` as [`PrivateKey::to_encrypted_pem`] does.
    ///
    /// # Errors
    /// [`Error::PassphraseRequired`] for an encrypted layout without a passphrase; as
    /// [`PrivateKey::to_encrypted_pem`] otherwise.
    pub fn to_layout(
        &self,
        layout: KeyLayout,
        passphrase: Option<&Passphrase>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (label, der) = match layout.protection {
            KeyProtection::Plain(KeyFormat::Pkcs8) => (
                "PRIVATE KEY",
                Zeroizing::new(self.to_pkcs8_der()?.as_bytes().to_vec()),
            ),
            KeyProtection::Plain(KeyFormat::Traditional) => match self.parts() {
                KeyParts::Ec(ec) => ("EC PRIVATE KEY", ec.to_der(EcParameters::Included)?),
                KeyParts::Rsa(k) => (
                    "RSA PRIVATE KEY",
                    Zeroizing::new(
                        k.as_ref()
                            .to_pkcs1_der()
                            .map_err(export_err)?
                            .as_bytes()
                            .to_vec(),
                    ),
                ),
            },
            KeyProtection::EncryptedPkcs8 => (
                "ENCRYPTED PRIVATE KEY",
                self.encrypted_der(passphrase.ok_or(Error::PassphraseRequired)?)?,
            ),
        };
        Ok(match layout.encoding {
            KeyEncoding::Der => der,
            KeyEncoding::Pem => {
                let pem = crate::pem::encode(label, &der);
                Zeroizing::new(pem.as_bytes().to_vec())
            }
        })
    }

    fn encrypted_der(&self, passphrase: &Passphrase) -> Result<Zeroizing<Vec<u8>>> {
        if passphrase.expose_secret().is_empty() {
            return Err(Error::Export(
                "the passphrase is empty; choose a non-empty passphrase".into(),
            ));
        }
        let plain = self.to_pkcs8_der()?;
        let info = PrivateKeyInfoRef::try_from(plain.as_bytes()).map_err(export_err)?;
        let params = pbes2::Parameters::generate_scrypt(&mut getrandom::SysRng)
            .map_err(|e| Error::Export(format!("cannot choose encryption parameters: {e}")))?;
        let encrypted = info
            .encrypt_with_params(params, passphrase.expose_secret().as_bytes())
            .map_err(|e| Error::Export(format!("encryption failed: {e}")))?;
        Ok(Zeroizing::new(encrypted.as_bytes().to_vec()))
    }

    /// Encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`): PBES2 with scrypt (log2 N = 14, r = 8,
    /// p = 1, what OpenSSL 3 accepts) and AES-256-CBC, salt and IV from the OS CSPRNG.
    /// An empty passphrase is refused.
    pub fn to_encrypted_pem(&self, passphrase: &Passphrase) -> Result<SecretString> {
        Ok(secret::from_zeroizing(crate::pem::encode(
            "ENCRYPTED PRIVATE KEY",
            &self.encrypted_der(passphrase)?,
        )))
    }
}
