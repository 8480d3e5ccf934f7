//! Software private keys: generation and the handful of operations every format needs.

use crate::rng_guard::GuardedRng;
use crate::{
    algorithm::KeyAlgorithm,
    error::{Error, Result},
    public_key::PublicKey,
};
use pkcs8::EncodePublicKey;
use rand_core::{CryptoRng, TryCryptoRng};
use rsa::Generate;
use std::fmt;

/// The key material, one variant per curve; RSA keeps its size in the algorithm.
pub(crate) enum Inner {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>, KeyAlgorithm),
}

/// A private key held in memory: ECDSA P-256/P-384/P-521 or RSA 2048/3072/4096.
///
/// Only these six are accepted, on import too: an RSA key of another size (even a larger
/// one such as 2560 or 8192 bits) is rejected with [`Error::UnsupportedKey`] naming its size,
/// so that [`KeyAlgorithm`] always describes a key exactly.
///
/// The key material is zeroized on drop by the underlying RustCrypto types, and `Debug`
/// shows only the algorithm and the public key fingerprint.
pub struct PrivateKey {
    pub(crate) inner: Inner,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm())
            .field("public_key_sha256", &self.public.fingerprint_sha256())
            .finish_non_exhaustive()
    }
}

fn rsa_bits(alg: KeyAlgorithm) -> Result<usize> {
    if alg.is_rsa() {
        Ok(alg.key_bits())
    } else {
        Err(Error::KeyGeneration(format!(
            "{alg} is not an RSA algorithm"
        )))
    }
}

impl PrivateKey {
    pub(crate) fn from_inner(inner: Inner) -> Result<Self> {
        let der = match &inner {
            Inner::P256(k) => k.verifying_key().to_public_key_der(),
            Inner::P384(k) => k.verifying_key().to_public_key_der(),
            Inner::P521(k) => k.verifying_key().to_public_key_der(),
            Inner::Rsa(k, _) => k.as_ref().as_ref().as_public_key().to_public_key_der(),
        }
        .map_err(|e| Error::Export(format!("cannot encode the public key: {e}")))?;
        let public = PublicKey::from_spki_der(der.as_bytes())?;
        Ok(PrivateKey { inner, public })
    }

    /// Generates a key with the operating system's CSPRNG (`getrandom::SysRng`, used as a
    /// fallible RNG rather than through `rand_core::UnwrapErr`, so that an RNG failure is an
    /// error, not a panic).
    pub fn generate(alg: KeyAlgorithm) -> Result<Self> {
        Self::generate_guarded(alg, &mut getrandom::SysRng)
    }

    /// Generates a key with the given RNG (tests use a seeded one for reproducible keys).
    ///
    /// A generator that is plainly broken (it returns one byte value over and over, or the same
    /// block twice) gives [`Error::KeyGeneration`] rather than a predictable key or a hang.
    pub fn generate_with_rng<R: CryptoRng + ?Sized>(
        alg: KeyAlgorithm,
        rng: &mut R,
    ) -> Result<Self> {
        Self::generate_guarded(alg, rng)
    }

    fn generate_guarded<R>(alg: KeyAlgorithm, source: &mut R) -> Result<Self>
    where
        R: TryCryptoRng + ?Sized,
        R::Error: fmt::Display,
    {
        let mut rng = GuardedRng::new(source);
        let generated = match alg {
            KeyAlgorithm::EcdsaP256 => p256::ecdsa::SigningKey::try_generate_from_rng(&mut rng)
                .map(Inner::P256)
                .map_err(|e| e.to_string()),
            KeyAlgorithm::EcdsaP384 => p384::ecdsa::SigningKey::try_generate_from_rng(&mut rng)
                .map(Inner::P384)
                .map_err(|e| e.to_string()),
            KeyAlgorithm::EcdsaP521 => p521::ecdsa::SigningKey::try_generate_from_rng(&mut rng)
                .map(Inner::P521)
                .map_err(|e| e.to_string()),
            _ => rsa::PrivateKey::new(&mut rng, rsa_bits(alg)?)
                .map(|key| Inner::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(key)), alg))
                .map_err(|e| format!("RSA: {e}")),
        };
        // The RNG's own failure says more than what a crate made of it.
        let inner = match (generated, rng.failure) {
            (_, Some(failure)) => return Err(Error::KeyGeneration(failure.to_string())),
            (Err(e), None) => return Err(Error::KeyGeneration(e)),
            (Ok(inner), None) => inner,
        };
        Self::from_inner(inner)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match &self.inner {
            Inner::P256(_) => KeyAlgorithm::EcdsaP256,
            Inner::P384(_) => KeyAlgorithm::EcdsaP384,
            Inner::P521(_) => KeyAlgorithm::EcdsaP521,
            Inner::Rsa(_, alg) => *alg,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }
}
