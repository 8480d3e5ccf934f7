//! Signing on the token: [`TokenSigner`], okms-csr's [`CsrSigner`] over `C_Sign`, and the
//! TLS signature kinds it can make.

use std::fmt;

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::session::UserType;
use cryptoki::types::Ulong;
use okms_csr::{CsrSigner, KeyAlgorithm, PublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::encoding;
use crate::error::{Error, Result};
use crate::token::{KeyInfo, Token, login};
use crate::uri::Pkcs11Uri;

/// Signs with a private key that stays on the token; implements okms-csr's [`CsrSigner`].
///
/// ECDSA: the message is hashed here (SHA-256/384/512 for P-256/384/521) and the token signs
/// the digest with `CKM_ECDSA`; its raw `r || s` is turned into DER. RSA: `CKM_SHA256_RSA_PKCS`
/// when the token offers it, else `CKM_RSA_PKCS` over the SHA-256 DigestInfo.
pub struct TokenSigner {
    token: Token,
    key: KeyInfo,
    raw_rsa: bool,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("token", &self.token.token.label)
            .field("key", &self.key.uri.to_string())
            .field("algorithm", &self.key.algorithm)
            .finish()
    }
}

// Here rather than in `token`: a token knows nothing of signers, so signing depends on the
// session and not the other way round.
impl Token {
    /// A signer for the key the URI selects; it keeps this session.
    ///
    /// # Errors
    /// As [`Token::find_key`].
    pub fn into_signer(self, uri: &Pkcs11Uri) -> Result<TokenSigner> {
        let key = self.find_key(uri)?;
        Ok(TokenSigner::new(self, key))
    }
}

impl TokenSigner {
    pub(crate) fn new(token: Token, key: KeyInfo) -> Self {
        TokenSigner {
            token,
            key,
            raw_rsa: false,
        }
    }

    /// The key this signer uses.
    pub fn key(&self) -> &KeyInfo {
        &self.key
    }

    /// Signs RSA with `CKM_RSA_PKCS` over the DigestInfo even when the token offers
    /// `CKM_SHA256_RSA_PKCS`, as on tokens without the latter. For tests of that path.
    #[doc(hidden)]
    pub fn force_raw_rsa_pkcs(&mut self) {
        self.raw_rsa = true;
    }

    /// Signs `message` as [`CsrSigner::sign`] describes, with this crate's error type.
    ///
    /// # Errors
    /// [`Error::Pkcs11`] when the token refuses, [`Error::MalformedAttribute`] for a
    /// signature of the wrong size.
    pub fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
        let alg = self.key.algorithm;
        let kind = if alg.is_rsa() {
            SignatureKind::RsaPkcs1(HashAlg::Sha256)
        } else {
            SignatureKind::Ecdsa(curve_hash(alg))
        };
        self.sign_with(kind, message)
    }

    /// Whether this key and token can make signatures of `kind`: ECDSA only with the hash
    /// of the key's curve (SHA-256 for P-256, SHA-384 for P-384, SHA-512 for P-521, as TLS 1.3
    /// pairs them); RSA PKCS#1 v1.5 when the token has `CKM_SHAx_RSA_PKCS` or `CKM_RSA_PKCS`;
    /// RSA-PSS when it has `CKM_SHAx_RSA_PKCS_PSS` or `CKM_RSA_PKCS_PSS`.
    #[must_use]
    pub fn supports(&self, kind: SignatureKind) -> bool {
        let alg = self.key.algorithm;
        let has = |m: MechanismType| self.token.mechanisms.contains(&m);
        match kind {
            SignatureKind::Ecdsa(h) => !alg.is_rsa() && curve_hash(alg) == h,
            SignatureKind::RsaPkcs1(h) => {
                alg.is_rsa() && (has(MechanismType::RSA_PKCS) || has(h.rsa_pkcs_mechanism()))
            }
            SignatureKind::RsaPss(h) => {
                alg.is_rsa() && (has(MechanismType::RSA_PKCS_PSS) || has(h.rsa_pss_mechanism()))
            }
        }
    }

    /// Signs `message` (not pre-hashed) on the token as `kind` says: ECDSA as DER
    /// `Ecdsa-Sig-Value`, RSA PKCS#1 v1.5 or RSA-PSS (MGF1 with the same hash, salt as long as
    /// the hash, as TLS requires). The hashing is done by the token when it offers the
    /// combined mechanism, else here.
    ///
    /// # Errors
    /// [`Error::UnsupportedKey`] when `kind` does not fit the key ([`TokenSigner::supports`]),
    /// [`Error::Pkcs11`] when the token refuses, [`Error::MalformedAttribute`] for a
    /// signature of the wrong size.
    pub fn sign_with(&self, kind: SignatureKind, message: &[u8]) -> Result<Vec<u8>> {
        let alg = self.key.algorithm;
        let fits = match kind {
            SignatureKind::Ecdsa(h) => !alg.is_rsa() && curve_hash(alg) == h,
            SignatureKind::RsaPkcs1(_) | SignatureKind::RsaPss(_) => alg.is_rsa(),
        };
        if !fits {
            return Err(Error::UnsupportedKey(format!(
                "a {} key cannot make {kind:?} signatures",
                alg.as_str()
            )));
        }
        if self.key.always_authenticate {
            login(
                &self.token.session,
                UserType::ContextSpecific,
                self.token.pin.as_ref(),
                &self.token.token.label,
            )?;
        }
        let session = &self.token.session;
        let handle = self.key.handle;
        let has = |m: MechanismType| !self.raw_rsa && self.token.mechanisms.contains(&m);
        match kind {
            SignatureKind::Ecdsa(h) => {
                let raw = session
                    .sign(&Mechanism::Ecdsa, handle, &h.digest(message))
                    .map_err(Error::pkcs11("C_Sign (CKM_ECDSA)"))?;
                encoding::ecdsa_der(alg, &raw)
            }
            SignatureKind::RsaPkcs1(h) => {
                if has(h.rsa_pkcs_mechanism()) {
                    let mechanism = match h {
                        HashAlg::Sha256 => Mechanism::Sha256RsaPkcs,
                        HashAlg::Sha384 => Mechanism::Sha384RsaPkcs,
                        HashAlg::Sha512 => Mechanism::Sha512RsaPkcs,
                    };
                    return session
                        .sign(&mechanism, handle, message)
                        .map_err(Error::pkcs11("C_Sign (CKM_SHAx_RSA_PKCS)"));
                }
                let mut info = h.digest_info_prefix().to_vec();
                info.extend_from_slice(&h.digest(message));
                session
                    .sign(&Mechanism::RsaPkcs, handle, &info)
                    .map_err(Error::pkcs11("C_Sign (CKM_RSA_PKCS)"))
            }
            SignatureKind::RsaPss(h) => {
                let params = PkcsPssParams {
                    hash_alg: h.mechanism(),
                    mgf: h.mgf1(),
                    s_len: Ulong::try_from(h.len())
                        .map_err(Error::pkcs11("CK_RSA_PKCS_PSS_PARAMS.sLen"))?,
                };
                if has(h.rsa_pss_mechanism()) {
                    let mechanism = match h {
                        HashAlg::Sha256 => Mechanism::Sha256RsaPkcsPss(params),
                        HashAlg::Sha384 => Mechanism::Sha384RsaPkcsPss(params),
                        HashAlg::Sha512 => Mechanism::Sha512RsaPkcsPss(params),
                    };
                    return session
                        .sign(&mechanism, handle, message)
                        .map_err(Error::pkcs11("C_Sign (CKM_SHAx_RSA_PKCS_PSS)"));
                }
                session
                    .sign(&Mechanism::RsaPkcsPss(params), handle, &h.digest(message))
                    .map_err(Error::pkcs11("C_Sign (CKM_RSA_PKCS_PSS)"))
            }
        }
    }
}

/// The hash TLS 1.3 pairs with an ECDSA curve (and that CSRs use).
fn curve_hash(alg: KeyAlgorithm) -> HashAlg {
    match alg {
        KeyAlgorithm::EcdsaP384 => HashAlg::Sha384,
        KeyAlgorithm::EcdsaP521 => HashAlg::Sha512,
        _ => HashAlg::Sha256,
    }
}

/// A hash function for [`TokenSigner::sign_with`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => Sha256::digest(message).to_vec(),
            HashAlg::Sha384 => Sha384::digest(message).to_vec(),
            HashAlg::Sha512 => Sha512::digest(message).to_vec(),
        }
    }

    /// Digest length in bytes.
    fn len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    fn mechanism(self) -> MechanismType {
        match self {
            HashAlg::Sha256 => MechanismType::SHA256,
            HashAlg::Sha384 => MechanismType::SHA384,
            HashAlg::Sha512 => MechanismType::SHA512,
        }
    }

    fn mgf1(self) -> PkcsMgfType {
        match self {
            HashAlg::Sha256 => PkcsMgfType::MGF1_SHA256,
            HashAlg::Sha384 => PkcsMgfType::MGF1_SHA384,
            HashAlg::Sha512 => PkcsMgfType::MGF1_SHA512,
        }
    }

    fn rsa_pkcs_mechanism(self) -> MechanismType {
        match self {
            HashAlg::Sha256 => MechanismType::SHA256_RSA_PKCS,
            HashAlg::Sha384 => MechanismType::SHA384_RSA_PKCS,
            HashAlg::Sha512 => MechanismType::SHA512_RSA_PKCS,
        }
    }

    fn rsa_pss_mechanism(self) -> MechanismType {
        match self {
            HashAlg::Sha256 => MechanismType::SHA256_RSA_PKCS_PSS,
            HashAlg::Sha384 => MechanismType::SHA384_RSA_PKCS_PSS,
            HashAlg::Sha512 => MechanismType::SHA512_RSA_PKCS_PSS,
        }
    }

    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            HashAlg::Sha256 => &encoding::SHA256_DIGEST_INFO_PREFIX,
            HashAlg::Sha384 => &encoding::SHA384_DIGEST_INFO_PREFIX,
            HashAlg::Sha512 => &encoding::SHA512_DIGEST_INFO_PREFIX,
        }
    }
}

/// A kind of signature for [`TokenSigner::sign_with`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureKind {
    /// ECDSA over the hash of the message, DER-encoded.
    Ecdsa(HashAlg),
    /// RSA PKCS#1 v1.5 over the hash of the message.
    RsaPkcs1(HashAlg),
    /// RSA-PSS over the hash of the message, MGF1 with the same hash, salt of the hash's length.
    RsaPss(HashAlg),
}

impl CsrSigner for TokenSigner {
    fn algorithm(&self) -> KeyAlgorithm {
        self.key.algorithm
    }

    fn public_key(&self) -> okms_csr::Result<PublicKey> {
        Ok(self.key.public_key.clone())
    }

    fn sign(&self, message: &[u8]) -> okms_csr::Result<Vec<u8>> {
        self.sign_message(message)
            .map_err(|e| okms_csr::Error::Signing(format!("on the PKCS#11 token: {e}")))
    }
}
