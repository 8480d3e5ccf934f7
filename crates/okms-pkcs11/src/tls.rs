//! A token key as a rustls [`SigningKey`] (feature `rustls`): mutual TLS where the client's
//! handshake signature is made on the token.
//!
//! rustls hands the `CertificateVerify` message to [`Signer::sign`] unhashed; the token
//! signs it with the scheme chosen from those the server offered:
//!
//! | key | schemes offered, in order of preference |
//! |-----|------------------------------------------|
//! | ECDSA P-256 / P-384 / P-521 | `ecdsa_secp256r1_sha256` / `ecdsa_secp384r1_sha384` / `ecdsa_secp521r1_sha512` (the curve's own hash, as TLS 1.3 requires) |
//! | RSA | `rsa_pss_rsae_sha256/384/512` when the token has `CKM_RSA_PKCS_PSS` (or `CKM_SHAx_RSA_PKCS_PSS`), then `rsa_pkcs1_sha256/384/512` |
//!
//! TLS 1.3 allows only PSS for RSA client certificates: an RSA key on a token without PSS
//! offers no TLS 1.3 scheme, and the caller should limit the connection to TLS 1.2 (okms-api
//! does so by itself when `choose_scheme` over the TLS 1.3 schemes returns `None`).
//!
//! The PKCS#11 session is not `Sync`: the signer sits behind a mutex, so the key can be used
//! from any thread; signatures are made one at a time.

use std::fmt;
use std::sync::{Arc, Mutex};

use okms_csr::KeyAlgorithm;
use rustls::pki_types::SubjectPublicKeyInfoDer;
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};

use crate::signer::{HashAlg, SignatureKind, TokenSigner};

/// A private key on a token as a rustls [`SigningKey`]. Build it with
/// [`TlsSigningKey::new`] from a [`TokenSigner`], then give it to rustls (or to okms-api's
/// `ClientKey::Signer`) as an `Arc<dyn SigningKey>`.
pub struct TlsSigningKey {
    signer: Arc<Mutex<TokenSigner>>,
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
    description: String,
    schemes: Vec<(SignatureScheme, SignatureKind)>,
}

impl fmt::Debug for TlsSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSigningKey")
            .field("key", &self.description)
            .field("algorithm", &self.algorithm)
            .field(
                "schemes",
                &self.schemes.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Every scheme this adapter knows, in order of preference, with the token signature it needs.
const CANDIDATES: &[(SignatureScheme, SignatureKind)] = &[
    (
        SignatureScheme::ECDSA_NISTP256_SHA256,
        SignatureKind::Ecdsa(HashAlg::Sha256),
    ),
    (
        SignatureScheme::ECDSA_NISTP384_SHA384,
        SignatureKind::Ecdsa(HashAlg::Sha384),
    ),
    (
        SignatureScheme::ECDSA_NISTP521_SHA512,
        SignatureKind::Ecdsa(HashAlg::Sha512),
    ),
    (
        SignatureScheme::RSA_PSS_SHA256,
        SignatureKind::RsaPss(HashAlg::Sha256),
    ),
    (
        SignatureScheme::RSA_PSS_SHA384,
        SignatureKind::RsaPss(HashAlg::Sha384),
    ),
    (
        SignatureScheme::RSA_PSS_SHA512,
        SignatureKind::RsaPss(HashAlg::Sha512),
    ),
    (
        SignatureScheme::RSA_PKCS1_SHA256,
        SignatureKind::RsaPkcs1(HashAlg::Sha256),
    ),
    (
        SignatureScheme::RSA_PKCS1_SHA384,
        SignatureKind::RsaPkcs1(HashAlg::Sha384),
    ),
    (
        SignatureScheme::RSA_PKCS1_SHA512,
        SignatureKind::RsaPkcs1(HashAlg::Sha512),
    ),
];

impl TlsSigningKey {
    /// Wraps `signer`; the schemes offered are those its key and token support
    /// ([`TokenSigner::supports`]).
    #[must_use]
    pub fn new(signer: TokenSigner) -> TlsSigningKey {
        let key = signer.key();
        let algorithm = key.algorithm;
        let spki = key.public_key.spki_der().to_vec();
        let description = key.uri.without_pin().to_string();
        let schemes = CANDIDATES
            .iter()
            .copied()
            .filter(|(_, kind)| signer.supports(*kind))
            .collect();
        TlsSigningKey {
            signer: Arc::new(Mutex::new(signer)),
            algorithm,
            spki,
            description,
            schemes,
        }
    }

    /// The schemes this key can sign with, in order of preference.
    #[must_use]
    pub fn schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.iter().map(|(s, _)| *s).collect()
    }

    /// As an `Arc<dyn SigningKey>`, the form rustls and okms-api take.
    #[must_use]
    pub fn into_arc(self) -> Arc<dyn SigningKey> {
        Arc::new(self)
    }
}

impl SigningKey for TlsSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let (scheme, kind) = self
            .schemes
            .iter()
            .find(|(s, _)| offered.contains(s))
            .copied()?;
        Some(Box::new(TlsSigner {
            signer: self.signer.clone(),
            scheme,
            kind,
        }))
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.spki.as_slice()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        if self.algorithm.is_rsa() {
            SignatureAlgorithm::RSA
        } else {
            SignatureAlgorithm::ECDSA
        }
    }
}

/// One scheme chosen for one handshake.
struct TlsSigner {
    signer: Arc<Mutex<TokenSigner>>,
    scheme: SignatureScheme,
    kind: SignatureKind,
}

impl fmt::Debug for TlsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSigner")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl Signer for TlsSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        // A poisoned lock only means another signature panicked half-way; the session
        // itself holds no partial state between C_SignInit and C_Sign, so go on.
        let signer = self
            .signer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        signer.sign_with(self.kind, message).map_err(|e| {
            rustls::Error::General(format!(
                "the PKCS#11 token could not sign the TLS handshake ({:?}): {e}",
                self.scheme
            ))
        })
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
