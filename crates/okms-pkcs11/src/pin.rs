//! The token PIN as a secret value.

use crate::error::{Error, Result};
use std::path::Path;
use zeroize::Zeroizing;

/// A token user PIN. The text is wiped from memory on drop and never shown by `Debug`.
///
/// This crate never prompts: the caller supplies the PIN (from a prompt, a PIN file, or the
/// URI's `pin-value` / `pin-source`, see [`crate::Pkcs11Uri::pin`]).
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Wraps a PIN.
    pub fn new(pin: impl Into<String>) -> Self {
        Pin(Zeroizing::new(pin.into()))
    }

    /// Reads a PIN file: its whole content, without one trailing newline (`\n` or `\r\n`),
    /// which is how `echo 1234 > pin.txt` writes it.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| Error::PinSource {
            path: path.to_path_buf(),
            source,
        })?);
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::PinSource {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the PIN file is not valid UTF-8 text",
            ),
        })?;
        let text = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        Ok(Pin::new(text))
    }

    /// The PIN text, for handing to the token.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the PIN is empty (tokens with a protected authentication path, e.g. a PIN
    /// pad, take an empty PIN and ask the user themselves).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn to_auth_pin(&self) -> cryptoki::types::AuthPin {
        cryptoki::types::AuthPin::from(self.0.as_str())
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl PartialEq for Pin {
    fn eq(&self, other: &Self) -> bool {
        // Not constant-time: PINs are compared only in tests and by callers deduplicating
        // sources, never to authenticate anyone; the token does that.
        self.0.as_bytes() == other.0.as_bytes()
    }
}

impl Eq for Pin {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let pin = Pin::new("123456");
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
        assert!(!format!("{pin:?}").contains("123456"));
    }

    #[test]
    fn file_strips_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pin");
        std::fs::write(&p, "1234\r\n").unwrap();
        assert_eq!(Pin::from_file(&p).unwrap().expose(), "1234");
        std::fs::write(&p, "12 34\n\n").unwrap();
        assert_eq!(Pin::from_file(&p).unwrap().expose(), "12 34\n");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(Pin::from_file(&p).unwrap().expose(), "abc");
    }

    #[test]
    fn missing_file_names_path() {
        let err = Pin::from_file(Path::new("/nonexistent/pin.txt")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/pin.txt"), "{err}");
    }
}
