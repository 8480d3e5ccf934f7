//! The signing abstraction: a software [`PrivateKey`] here, a key on a PKCS#11 token through
//! okms-pkcs11's `TokenSigner`, or any other signer an embedder brings.

use crate::rng_guard::GuardedRng;
use crate::{
    algorithm::KeyAlgorithm,
    error::{Error, Result},
    key::{Inner, PrivateKey},
    public_key::PublicKey,
};
use signature::{RandomizedSigner, SignatureEncoding, Signer};

/// Anything that can sign a CSR: a software key, a PKCS#11 token key (okms-pkcs11), or an
/// embedder's own.
///
/// The CSR builder encodes the CertificationRequestInfo itself and only asks the signer for
/// signature bytes, so an implementation needs no ASN.1 beyond the ECDSA signature value.
pub trait CsrSigner {
    /// The algorithm of the signing key; it decides the signature algorithm of the CSR.
    fn algorithm(&self) -> KeyAlgorithm;

    /// The public key matching the signing key.
    fn public_key(&self) -> Result<PublicKey>;

    /// Signs `message` (the DER of the CertificationRequestInfo) and returns the signature
    /// bytes as they go in the BIT STRING: DER ECDSA-Sig-Value for ECDSA, raw PKCS#1 v1.5 for RSA.
    ///
    /// The hash is the one matched to the key: SHA-256 for P-256 and RSA, SHA-384 for P-384,
    /// SHA-512 for P-521.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;

    /// Whether [`CsrBuilder::build`](crate::CsrBuilder::build) must verify the signature before
    /// it returns the CSR. Yes by default: a token, an agent or any other signer outside this
    /// process may hold another key than the one it reports, hash differently, or be faulty,
    /// and the CA would be the first to notice.
    fn signatures_need_checking(&self) -> bool {
        true
    }
}

fn sign_err(e: signature::Error) -> Error {
    Error::Signing(e.to_string())
}

impl CsrSigner for PrivateKey {
    fn algorithm(&self) -> KeyAlgorithm {
        PrivateKey::algorithm(self)
    }

    fn public_key(&self) -> Result<PublicKey> {
        Ok(PrivateKey::public_key(self))
    }

    /// Software ECDSA signatures are not verified again. The known way a faulty ECDSA
    /// signature gives a key away needs the same nonce twice: one good and one faulty
    /// signature of the same message under deterministic RFC 6979 nonces (`csr new --key` with
    /// the same subject signs the same bytes). Our signatures are hedged (RFC 6979 §3.6 with
    /// fresh random input), so no two share a nonce, and the check would cost as much as key
    /// generation and signing together. RSA keeps the check: one faulty RSA-CRT signature
    /// gives the key away to whoever sees it (the CA), and verifying with the public exponent
    /// is cheap.
    fn signatures_need_checking(&self) -> bool {
        matches!(self.inner, Inner::Rsa(..))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        // ECDSA: hedged RFC 6979 nonces (the key and message, plus fresh random input).
        let mut source = getrandom::SysRng;
        let mut rng = GuardedRng::new(&mut source);
        let signed = match &self.inner {
            Inner::P256(k) => k
                .try_sign_with_rng(&mut rng, message)
                .map(|sig: p256::ecdsa::DerSignature| sig.to_vec()),
            Inner::P384(k) => k
                .try_sign_with_rng(&mut rng, message)
                .map(|sig: p384::ecdsa::DerSignature| sig.to_vec()),
            Inner::P521(k) => k
                .try_sign_with_rng(&mut rng, message)
                .map(|sig: p521::ecdsa::DerSignature| sig.to_vec()),
            Inner::Rsa(k, _) => k
                .try_sign(message)
                .map(|sig: rsa::pkcs1v15::Signature| sig.to_vec()),
        };
        match (signed, rng.failure) {
            (_, Some(failure)) => Err(Error::Signing(failure.to_string())),
            (Err(e), None) => Err(sign_err(e)),
            (Ok(sig), None) => Ok(sig),
        }
    }
}
