#![doc = include_str!("../README.md")]
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
