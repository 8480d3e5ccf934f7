//! Verifying X.509 signatures (CSR self-signatures) with the supported key types.

use crate::{
    algorithm::KeyAlgorithm,
    error::{Error, Result},
    oids,
    public_key::PublicKey,
};
use der::{Decode, asn1::ObjectIdentifier};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use signature::{Verifier, hazmat::PrehashVerifier};
use spki::SubjectPublicKeyInfoRef;

#[derive(Clone, Copy)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, msg: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha224 => Sha224::digest(msg).to_vec(),
            Hash::Sha256 => Sha256::digest(msg).to_vec(),
            Hash::Sha384 => Sha384::digest(msg).to_vec(),
            Hash::Sha512 => Sha512::digest(msg).to_vec(),
        }
    }
}

/// A readable name for a signature algorithm OID.
pub(crate) fn signature_algorithm_name(oid: &ObjectIdentifier) -> String {
    let name = match *oid {
        oids::ECDSA_WITH_SHA224 => "ecdsa-with-SHA224",
        oids::ECDSA_WITH_SHA256 => "ecdsa-with-SHA256",
        oids::ECDSA_WITH_SHA384 => "ecdsa-with-SHA384",
        oids::ECDSA_WITH_SHA512 => "ecdsa-with-SHA512",
        oids::ECDSA_WITH_SHA1 => "ecdsa-with-SHA1",
        oids::MD5_WITH_RSA => "md5WithRSAEncryption",
        oids::SHA1_WITH_RSA => "sha1WithRSAEncryption",
        oids::SHA224_WITH_RSA => "sha224WithRSAEncryption",
        oids::SHA256_WITH_RSA => "sha256WithRSAEncryption",
        oids::SHA384_WITH_RSA => "sha384WithRSAEncryption",
        oids::SHA512_WITH_RSA => "sha512WithRSAEncryption",
        oids::RSASSA_PSS => "rsassaPss",
        oids::ED25519 => "Ed25519",
        oids::ED448 => "Ed448",
        _ => return oid.to_string(),
    };
    name.to_string()
}

/// Verifies `sig` over `msg` with `key` under the signature algorithm `alg`.
pub(crate) fn verify(
    key: &PublicKey,
    alg: &ObjectIdentifier,
    msg: &[u8],
    sig: &[u8],
) -> Result<()> {
    let (is_ecdsa, hash) = match *alg {
        oids::ECDSA_WITH_SHA224 => (true, Hash::Sha224),
        oids::ECDSA_WITH_SHA256 => (true, Hash::Sha256),
        oids::ECDSA_WITH_SHA384 => (true, Hash::Sha384),
        oids::ECDSA_WITH_SHA512 => (true, Hash::Sha512),
        oids::SHA224_WITH_RSA => (false, Hash::Sha224),
        oids::SHA256_WITH_RSA => (false, Hash::Sha256),
        oids::SHA384_WITH_RSA => (false, Hash::Sha384),
        oids::SHA512_WITH_RSA => (false, Hash::Sha512),
        oids::SHA1_WITH_RSA | oids::MD5_WITH_RSA | oids::ECDSA_WITH_SHA1 => {
            return Err(Error::UnsupportedSignatureAlgorithm(format!(
                "{} is insecure and not supported; sign with SHA-256 or stronger",
                signature_algorithm_name(alg)
            )));
        }
        _ => {
            return Err(Error::UnsupportedSignatureAlgorithm(format!(
                "{} is not supported (supported: ECDSA and RSA PKCS#1 v1.5 with SHA-2)",
                signature_algorithm_name(alg)
            )));
        }
    };
    let key_alg = key.algorithm()?;
    if is_ecdsa == key_alg.is_rsa() {
        return Err(Error::BadSignature(format!(
            "signature algorithm {} does not match the {} key",
            signature_algorithm_name(alg),
            key_alg
        )));
    }
    let spki =
        SubjectPublicKeyInfoRef::from_der(key.spki_der()).map_err(Error::der("public key"))?;
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::malformed("public key", "BIT STRING has unused bits"))?;
    let bad_key = |e: &dyn std::fmt::Display| Error::malformed("public key", e.to_string());
    let bad_sig =
        || Error::BadSignature("the signature does not match the content and public key".into());
    match key_alg {
        KeyAlgorithm::EcdsaP256 => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| bad_key(&e))?;
            let sig = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad_sig())?;
            vk.verify_prehash(&hash.digest(msg), &sig)
                .map_err(|_| bad_sig())
        }
        KeyAlgorithm::EcdsaP384 => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| bad_key(&e))?;
            let sig = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad_sig())?;
            vk.verify_prehash(&hash.digest(msg), &sig)
                .map_err(|_| bad_sig())
        }
        KeyAlgorithm::EcdsaP521 => {
            let vk = p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| bad_key(&e))?;
            let sig = p521::ecdsa::Signature::from_der(sig).map_err(|_| bad_sig())?;
            vk.verify_prehash(&hash.digest(msg), &sig)
                .map_err(|_| bad_sig())
        }
        _ => {
            let pk = rsa::PublicKey::try_from(spki).map_err(|e| bad_key(&e))?;
            let sig = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| bad_sig())?;
            let ok = match hash {
                Hash::Sha224 => rsa::pkcs1v15::VerifyingKey::<Sha224>::new(pk).verify(msg, &sig),
                Hash::Sha256 => rsa::pkcs1v15::VerifyingKey::<Sha256>::new(pk).verify(msg, &sig),
                Hash::Sha384 => rsa::pkcs1v15::VerifyingKey::<Sha384>::new(pk).verify(msg, &sig),
                Hash::Sha512 => rsa::pkcs1v15::VerifyingKey::<Sha512>::new(pk).verify(msg, &sig),
            };
            ok.map_err(|_| bad_sig())
        }
    }
}
