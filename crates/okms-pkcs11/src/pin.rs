//! The token PIN as a secret value.

use crate::error::{Error, Result};
use secrecy::SecretString;
use std::path::Path;
use zeroize::Zeroizing;

/// A token user PIN: the workspace's one secret string type (`secrecy::SecretString`, which
/// is also cryptoki's `AuthPin`, so the PIN reaches `C_Login` without a copy). The text is
/// wiped from memory on drop, `Debug` shows `SecretBox<str>([REDACTED])`, and there is no
/// `Display`. Build one with `Pin::from("1234")`; read it with `expose_secret()`.
///
/// This crate never prompts: the caller supplies the PIN (from a prompt, a PIN file read with
/// [`read_pin_file`], or the URI's `pin-value` / `pin-source`, see [`crate::Pkcs11Uri::pin`]).
pub type Pin = SecretString;

/// Reads a PIN file: its whole content, without one trailing newline (`\n` or `\r\n`),
/// which is how `echo 1234 > pin.txt` writes it.
pub fn read_pin_file(path: &Path) -> Result<Pin> {
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
    Ok(Pin::from(text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn debug_is_redacted() {
        let pin = Pin::from("123456");
        assert_eq!(format!("{pin:?}"), "SecretBox<str>([REDACTED])");
        assert!(!format!("{pin:?}").contains("123456"));
    }

    #[test]
    fn file_strips_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pin");
        std::fs::write(&p, "1234\r\n").unwrap();
        assert_eq!(read_pin_file(&p).unwrap().expose_secret(), "1234");
        std::fs::write(&p, "12 34\n\n").unwrap();
        assert_eq!(read_pin_file(&p).unwrap().expose_secret(), "12 34\n");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(read_pin_file(&p).unwrap().expose_secret(), "abc");
    }

    #[test]
    fn missing_file_names_path() {
        let err = read_pin_file(Path::new("/nonexistent/pin.txt")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/pin.txt"), "{err}");
    }
}
