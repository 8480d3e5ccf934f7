#![doc = include_str!("../README.md")]
// docs.rs: each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
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
#[cfg(feature = "pkcs12")]
mod pkcs12;
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
#[cfg(feature = "pkcs12")]
pub use pkcs12::{Pkcs12Bundle, Pkcs12Encryption, certificate_chain, looks_like_pkcs12};
pub use public_key::{PublicKey, same_public_key};
pub use san::SubjectAltName;
pub use secret::{ExposeSecret, Passphrase, SecretString};
pub use signer::CsrSigner;
