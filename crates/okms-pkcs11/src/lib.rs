#![doc = include_str!("../README.md")]
// docs.rs: each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod description;
mod encoding;
mod error;
mod module;
mod pin;
mod signer;
#[cfg(feature = "rustls")]
mod tls;
mod token;
mod uri;

pub use description::TokenDescription;
pub use error::{Error, Result};
pub use module::{MODULE_ENV, Module, SOFTHSM2_HINT_PATHS, resolve_module_path};
pub use pin::{Pin, read_pin_file};
pub use signer::{HashAlg, SignatureKind, TokenSigner};
#[cfg(feature = "rustls")]
pub use tls::TlsSigningKey;
pub use token::{KeyInfo, KeyListing, SkippedKey, Token};
pub use uri::{ObjectType, Pkcs11Uri};
