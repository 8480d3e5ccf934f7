//! Secret text: one type for every secret string in the workspace.
//!
//! [`SecretString`] is `secrecy::SecretString`, the type okms-api (application secrets,
//! tokens, keys it receives), okms-pkcs11 (PINs: cryptoki's `AuthPin` is the same type) and
//! the CLI use too, so a secret crosses crates without being copied into a plain `String`.
//! It is zeroized on drop, its `Debug` prints `SecretBox<str>([REDACTED])`, it has no
//! `Display` (it cannot land in a `format!` by accident), and reading it takes an explicit
//! [`ExposeSecret::expose_secret`]. secrecy is a pure crate (only `zeroize`), so okms-csr
//! stays free of I/O; the type lives outside our crates because okms-api must not depend on
//! okms-csr.

use zeroize::Zeroizing;

pub use secrecy::{ExposeSecret, SecretString};

/// A passphrase protecting a private key: a [`SecretString`], named for its role in
/// signatures. Build one with `Passphrase::from("...")` (or from a `String`).
pub type Passphrase = SecretString;

/// Moves text built in a zeroizing buffer into a [`SecretString`]. The copy goes into an
/// allocation of the exact size (`SecretString::from(String)` would shrink the buffer in
/// place and could leave an unwiped copy behind); the buffer is wiped when it drops.
pub(crate) fn from_zeroizing(text: Zeroizing<String>) -> SecretString {
    SecretString::from(text.as_str())
}
