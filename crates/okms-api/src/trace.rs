//! A hook for watching HTTP exchanges (a caller's trace or debug log), with every secret
//! redacted by construction: an observer sees the method, the path, the status and the time,
//! and the bodies only through [`HttpExchange::request_body_redacted`] and
//! [`HttpExchange::response_body_redacted`]. Headers (signatures, tokens) are never shown.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Told of every HTTP exchange a transport makes, once the answer (or the failure) is known.
pub trait HttpObserver: Send + Sync {
    /// One request and its outcome.
    fn exchanged(&self, exchange: &HttpExchange<'_>);
}

/// An observer shared by a transport and its clones.
#[derive(Clone)]
pub(crate) struct SharedObserver(pub(crate) Arc<dyn HttpObserver>);

impl fmt::Debug for SharedObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HttpObserver")
    }
}

/// One request and its outcome, as an [`HttpObserver`] sees it.
#[derive(Debug)]
pub struct HttpExchange<'a> {
    method: &'a str,
    path: &'a str,
    status: Option<u16>,
    elapsed: Duration,
    request_body: &'a [u8],
    response_body: Option<&'a [u8]>,
}

impl<'a> HttpExchange<'a> {
    pub(crate) fn new(
        method: &'a str,
        path: &'a str,
        status: Option<u16>,
        elapsed: Duration,
        request_body: &'a [u8],
        response_body: Option<&'a [u8]>,
    ) -> Self {
        Self {
            method,
            path,
            status,
            elapsed,
            request_body,
            response_body,
        }
    }

    /// The HTTP method.
    #[must_use]
    pub fn method(&self) -> &str {
        self.method
    }

    /// The path, without the query string (which may carry identifiers a log need not keep).
    #[must_use]
    pub fn path(&self) -> &str {
        self.path
    }

    /// The answer's status, or `None` when no answer came (the transport failed).
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// From sending the request to the end of the answer (or the failure).
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The request body with every secret replaced by `[redacted]`.
    #[must_use]
    pub fn request_body_redacted(&self) -> String {
        redact(self.request_body)
    }

    /// The answer's body with every secret replaced by `[redacted]` (empty without an answer).
    #[must_use]
    pub fn response_body_redacted(&self) -> String {
        self.response_body.map(redact).unwrap_or_default()
    }
}

const REDACTED: &str = "[redacted]";

/// Whether a JSON key or form field names a secret: private keys, application secrets,
/// consumer keys, client secrets, tokens, passwords and passphrases.
fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["key", "secret", "token", "password", "passphrase", "pin"]
        .iter()
        .any(|word| lower.contains(word))
}

/// A body as a trace may show it: JSON with secret-named values and any PEM private key
/// replaced, a form with secret-named fields replaced, anything else only by its size.
fn redact(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) {
        redact_json(&mut value);
        return value.to_string();
    }
    match std::str::from_utf8(body) {
        Ok(text) if looks_like_form(text) => text
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret_name(name) => format!("{name}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&"),
        _ => format!("[{} bytes, not JSON: not shown]", body.len()),
    }
}

fn looks_like_form(text: &str) -> bool {
    text.contains('=')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=&%+-._~*".contains(&b))
}

fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (name, v) in map.iter_mut() {
                if is_secret_name(name) && !matches!(v, Value::Null) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(s) if s.contains("PRIVATE KEY") => *s = REDACTED.to_owned(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_a_trace() {
        let json = br#"{"name":"app1","privateKey":"-----BEGIN PRIVATE KEY-----\nMIG\n","access_token":"tok123","nested":[{"client_secret":"s3cr3t","note":"-----BEGIN EC PRIVATE KEY-----x"}],"certificatePEM":"-----BEGIN CERTIFICATE-----"}"#;
        let shown = redact(json);
        for secret in ["MIG", "tok123", "s3cr3t", "EC PRIVATE KEY"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("app1") && shown.contains("BEGIN CERTIFICATE"),
            "{shown}"
        );
        let form =
            redact(b"grant_type=client_credentials&client_id=EU.a&client_secret=zz9&scope=all");
        assert_eq!(
            form,
            "grant_type=client_credentials&client_id=EU.a&client_secret=[redacted]&scope=all"
        );
        assert_eq!(redact(b"\x00\x01binary"), "[8 bytes, not JSON: not shown]");
    }
}
