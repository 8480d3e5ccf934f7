//! Small wrappers for secret text: zeroized on drop, redacted in `Debug`.

use std::fmt;
use zeroize::Zeroizing;

/// A passphrase protecting a private key. Zeroized on drop; `Debug` prints
/// `Passphrase(<redacted>)`.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase.
    pub fn new(s: impl Into<String>) -> Self {
        Passphrase(Zeroizing::new(s.into()))
    }

    /// The passphrase text, for handing to a key derivation function.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Secret text (a private key in PEM form). Zeroized on drop; `Debug` prints
/// `SecretString(<redacted>)`.
#[derive(Clone)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub(crate) fn new(s: Zeroizing<String>) -> Self {
        SecretString(s)
    }

    /// The secret text. Callers must take care not to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}
