//! `okms-csr`: the offline core of okms-rs.
//!
//! It generates and imports private keys (ECDSA P-256/P-384/P-521, RSA 2048/3072/4096),
//! writes them as PKCS#8, encrypted PKCS#8 or the traditional SEC1/PKCS#1 forms, builds and
//! verifies PKCS#10 certificate signing requests, inspects the certificate OKMS returns, and
//! converts PEM to and from the `\n`-escaped JSON strings the OKMS API uses.
//!
//! It is pure Rust (no OpenSSL) and has no I/O: no network, no files, no terminal, no
//! processes, no environment. Reading files, prompting for passphrases and talking to OKMS
//! belong to `okms-cli` and `okms-api`.
//!
//! The one thing it takes from the operating system is randomness, and only key generation
//! lets the caller choose the source: [`PrivateKey::generate`] uses the OS CSPRNG,
//! [`PrivateKey::generate_with_rng`] the caller's RNG, both through a continuous health test
//! (a stuck or repeating generator is an error). ECDSA signing (hedged nonces) always draws
//! from the OS CSPRNG through the same test, and [`PrivateKey::to_encrypted_pem`] always takes
//! its salt and IV from the OS CSPRNG; neither takes an RNG. Signing goes through the [`CsrSigner`] trait, so a key held
//! elsewhere signs CSRs too (okms-pkcs11's `TokenSigner`, for a key on a PKCS#11 token).
//!
//! Secrets (private keys, passphrases, PEM holding keys) are zeroized on drop and never
//! shown by `Debug`. No input makes the library panic.
//!
//! # What is supported, and the choices made
//!
//! - Keys: ECDSA P-256 (the default, what OKMS issues), P-384, P-521; RSA with exactly 2048,
//!   3072 or 4096 bits. Other RSA sizes, Ed25519/Ed448, secp256k1 and other curves are refused
//!   on import with a message naming what was found.
//! - Import ([`PrivateKey::import`]), PEM or DER detected automatically: PKCS#8, encrypted
//!   PKCS#8 (PBES2 with PBKDF2-HMAC-SHA1/SHA-2 or scrypt; AES-128/192/256-CBC or 3DES), SEC1
//!   (a leading `EC PARAMETERS` block is skipped), PKCS#1. Legacy `Proc-Type: 4,ENCRYPTED` PEM,
//!   PBES1 and PKCS#12 encryption are refused with the `openssl pkcs8` command that converts
//!   them.
//! - Export ([`PrivateKey::to_pem`], [`PrivateKey::to_encrypted_pem`]): PKCS#8, encrypted
//!   PKCS#8 (scrypt + AES-256-CBC, which `openssl pkey -passin` opens), SEC1 or PKCS#1.
//! - CSRs ([`CsrBuilder`]): signature matched to the key (P-256/SHA-256, P-384/SHA-384,
//!   P-521/SHA-512, RSA PKCS#1 v1.5/SHA-256); ECDSA nonces are hedged (RFC 6979 plus fresh
//!   random input, §3.6), so two CSRs of the same content differ; the subject must not be empty;
//!   SANs go in an extensionRequest attribute, and without SANs there is no attribute at all.
//! - CSR verification ([`Csr::verify`]) also accepts ECDSA and RSA PKCS#1 v1.5 with any SHA-2
//!   hash (OpenSSL signs P-384 CSRs with SHA-256); SHA-1 and MD5 signatures are refused as
//!   insecure.
//! - Certificates ([`Certificate`]): the serial read as the OKMS credential id (a UUID), the
//!   `okms.domain:<id>` otherName SAN, validity, key usages.
//! - Escaping ([`escape`]): PEM to the JSON string form and back, tolerant of what people
//!   paste.
//!
//! ```
//! use okms_csr::{CsrBuilder, DistinguishedName, ExposeSecret, KeyAlgorithm, KeyFormat, PrivateKey};
//!
//! # fn main() -> okms_csr::Result<()> {
//! let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let subject: DistinguishedName = "CN=app1,O=Example,C=FR".parse()?;
//! let csr = CsrBuilder::new(subject)
//!     .san("dns:app1.example.com".parse()?)
//!     .build(&key)?;
//! csr.verify()?;
//!
//! // The one-line form the API wants in its "csr" field.
//! let json_string = okms_csr::escape::escape(&csr.to_pem())?;
//! assert!(json_string.starts_with("-----BEGIN CERTIFICATE REQUEST-----\\n"));
//!
//! // The private key stays here, written where the caller decides.
//! let pem = key.to_pem(KeyFormat::Pkcs8)?;
//! assert!(pem.expose_secret().starts_with("-----BEGIN PRIVATE KEY-----"));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod algorithm;
mod certificate;
mod csr;
mod error;
pub mod escape;
mod export;
mod import;
mod key;
mod name;
mod oids;
mod pem;
mod public_key;
mod rng_guard;
mod san;
mod secret;
mod signer;
mod verify;

pub use algorithm::KeyAlgorithm;
pub use certificate::{Certificate, CertificateInfo};
pub use csr::{Csr, CsrBuilder, CsrInfo};
pub use error::{Error, Result, UnsupportedKeyKind};
pub use export::{KeyEncoding, KeyFormat, KeyLayout, KeyProtection};
pub use key::PrivateKey;
pub use name::DistinguishedName;
pub use public_key::{PublicKey, same_public_key};
pub use san::SubjectAltName;
pub use secret::{ExposeSecret, Passphrase, SecretString};
pub use signer::CsrSigner;
