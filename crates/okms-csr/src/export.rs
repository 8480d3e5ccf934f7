//! Writing private keys: PKCS#8, encrypted PKCS#8 and the traditional SEC1 / PKCS#1 forms.

use crate::{
    error::{Error, Result},
    key::{Inner, PrivateKey},
    secret::{Passphrase, SecretString},
};
use der::pem::LineEnding;
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

fn export_err(e: impl std::fmt::Display) -> Error {
    Error::Export(e.to_string())
}

impl PrivateKey {
    pub(crate) fn to_pkcs8_der(&self) -> Result<der::SecretDocument> {
        match &self.inner {
            Inner::P256(k) => k.to_pkcs8_der(),
            Inner::P384(k) => k.to_pkcs8_der(),
            Inner::P521(k) => k.to_pkcs8_der(),
            Inner::Rsa(k, _) => k.to_pkcs8_der(),
        }
        .map_err(export_err)
    }

    /// The key as PEM text in `format`, LF line endings.
    pub fn to_pem(&self, format: KeyFormat) -> Result<SecretString> {
        let pem: Zeroizing<String> = match format {
            KeyFormat::Pkcs8 => crate::pem::encode("PRIVATE KEY", self.to_pkcs8_der()?.as_bytes()),
            KeyFormat::Traditional => match &self.inner {
                Inner::P256(k) => p256::SecretKey::from(k)
                    .to_sec1_pem(LineEnding::LF)
                    .map_err(export_err)?,
                Inner::P384(k) => p384::SecretKey::from(k)
                    .to_sec1_pem(LineEnding::LF)
                    .map_err(export_err)?,
                Inner::P521(k) => p521::SecretKey::from(k)
                    .to_sec1_pem(LineEnding::LF)
                    .map_err(export_err)?,
                Inner::Rsa(k, _) => k
                    .as_ref()
                    .as_ref()
                    .to_pkcs1_pem(LineEnding::LF)
                    .map_err(export_err)?,
            },
        };
        Ok(SecretString::new(pem))
    }

    /// Encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`): PBES2 with scrypt (log2 N = 14, r = 8,
    /// p = 1, what OpenSSL 3 accepts) and AES-256-CBC, salt and IV from the OS CSPRNG.
    /// An empty passphrase is refused.
    pub fn to_encrypted_pem(&self, passphrase: &Passphrase) -> Result<SecretString> {
        if passphrase.expose().is_empty() {
            return Err(Error::Export(
                "the passphrase is empty; choose a non-empty passphrase".into(),
            ));
        }
        let plain = self.to_pkcs8_der()?;
        let info = PrivateKeyInfoRef::try_from(plain.as_bytes()).map_err(export_err)?;
        let params = pbes2::Parameters::generate_scrypt(&mut getrandom::SysRng)
            .map_err(|e| Error::Export(format!("cannot choose encryption parameters: {e}")))?;
        let encrypted = info
            .encrypt_with_params(params, passphrase.expose().as_bytes())
            .map_err(|e| Error::Export(format!("encryption failed: {e}")))?;
        Ok(SecretString::new(crate::pem::encode(
            "ENCRYPTED PRIVATE KEY",
            encrypted.as_bytes(),
        )))
    }
}
