//! `okms-pkcs11`: keys that never leave a hardware token, as a signer for okms-csr.
//!
//! It is for users who must keep the private key of their OKMS access certificate in an HSM
//! or smart card (PCI-DSS and similar): the key pair is generated **on** the token
//! (sensitive, not extractable, a token object), the CSR is signed **there**, and only the
//! public key and the signature come out. [`TokenSigner`] implements okms-csr's
//! [`CsrSigner`](okms_csr::CsrSigner), so [`okms_csr::CsrBuilder`] builds the CSR as it does
//! for a key file.
//!
//! - Keys: ECDSA P-256/P-384/P-521 (`CKM_ECDSA` over a digest computed here) and RSA
//!   2048/3072/4096 (`CKM_SHA256_RSA_PKCS`, or `CKM_RSA_PKCS` over the SHA-256 DigestInfo).
//! - Keys are named by RFC 7512 PKCS#11 URIs ([`Pkcs11Uri`]):
//!   `pkcs11:token=mytoken;object=okms-client;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so`.
//! - The module is the one the caller names ([`resolve_module_path`]: a flag, the URI's
//!   `module-path`, or `OKMS_PKCS11_MODULE`); nothing is loaded from a guessed location.
//! - The PIN ([`Pin`]) is wiped on drop and never shown by `Debug` or `Display`; this crate
//!   never prompts (the CLI does).
//!
//! - With the `rustls` feature, `TlsSigningKey` makes a token key a rustls `SigningKey`,
//!   so the mutual-TLS handshake (`okms-cli credential check --key pkcs11:...`) is signed on
//!   the token too (ECDSA with the curve's hash; RSA PKCS#1 v1.5, and RSA-PSS when the token
//!   has it).
//!
//! It reads only what the caller names: the module ([`Module::load`]) and PIN files
//! ([`read_pin_file`], a URI's `pin-source`); it reads no environment variable (the caller
//! passes `OKMS_PKCS11_MODULE`'s value to [`resolve_module_path`]) and writes no file. Well-known
//! SoftHSM2 paths are only probed to suggest one in an error.
//!
//! It is **not** a general PKCS#11 toolkit: no token initialization, no key import or
//! export, no deletion (except a key it has just generated that the token did not keep
//! sensitive and non-extractable, and [`Token::destroy_key`], which renewal uses for a new key
//! that was never deployed), no certificates on the token, no encryption. All FFI is inside the
//! `cryptoki` crate; this crate has no `unsafe` code, and it is the only crate of the
//! workspace that talks PKCS#11 (okms-csr stays pure Rust without I/O).
//!
//! ```no_run
//! use okms_csr::{CsrBuilder, DistinguishedName, KeyAlgorithm};
//! use okms_pkcs11::{Module, Pin, Pkcs11Uri, resolve_module_path};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let uri: Pkcs11Uri = "pkcs11:token=mytoken;object=okms-client".parse()?;
//! let path = resolve_module_path(None, Some(&uri), std::env::var_os("OKMS_PKCS11_MODULE").as_deref())?;
//! let module = Module::load(path)?;
//! let token = module.login(&module.select_token(&uri)?, Some(&Pin::from("1234")))?;
//!
//! // Generate the key on the token (refused if the label is taken) ...
//! let key = token.generate_key(KeyAlgorithm::EcdsaP256, "okms-client", None, &uri)?;
//! println!("{} {}", key.uri, key.public_key.fingerprint_sha256());
//!
//! // ... and sign a CSR with it there.
//! let signer = token.into_signer(&key.uri)?;
//! let csr = CsrBuilder::new(DistinguishedName::common_name("app1")?).build(&signer)?;
//! csr.verify()?;
//! print!("{}", csr.to_pem());
//! # Ok(())
//! # }
//! ```
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
