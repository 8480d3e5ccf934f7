//! The OVHcloud `$1$` request signature (AK/AS/CK mode).
//!
//! The string hashed is `AS+CK+METHOD+URL+BODY+TIMESTAMP` joined with `+`, exactly as go-ovh and
//! python-ovh build it (spec §4.1). The URL is the full URL the client sent, query included.

use sha1::{Digest, Sha1};

/// Computes `"$1$" + hex(SHA1(secret+consumer_key+METHOD+url+body+timestamp))`.
///
/// `method` is upper-cased here because the clients upper-case it before signing.
pub fn compute(
    application_secret: &str,
    consumer_key: &str,
    method: &str,
    url: &str,
    body: &[u8],
    timestamp: &str,
) -> String {
    let mut hasher = Sha1::new();
    hasher.update(application_secret.as_bytes());
    hasher.update(b"+");
    hasher.update(consumer_key.as_bytes());
    hasher.update(b"+");
    hasher.update(method.to_ascii_uppercase().as_bytes());
    hasher.update(b"+");
    hasher.update(url.as_bytes());
    hasher.update(b"+");
    hasher.update(body);
    hasher.update(b"+");
    hasher.update(timestamp.as_bytes());
    format!("$1${}", hex::encode(hasher.finalize()))
}

/// Compares a received signature with the expected one without an early exit on the first
/// differing byte, so response timing does not leak how much of a guess was right.
pub fn matches(expected: &str, received: &str) -> bool {
    let (a, b) = (expected.as_bytes(), received.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `$1$` parts of one received request: the four `X-Ovh-*` header values (`None` when
/// a header is absent) and what the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `X-Ovh-Application`.
    pub application: Option<&'a str>,
    /// `X-Ovh-Consumer`.
    pub consumer: Option<&'a str>,
    /// `X-Ovh-Timestamp`, as sent (the signature covers this text).
    pub timestamp: Option<&'a str>,
    /// `X-Ovh-Signature`.
    pub signature: Option<&'a str>,
    /// The HTTP method.
    pub method: &'a str,
    /// The full URL as the client addressed it.
    pub url: &'a str,
    /// The exact body bytes.
    pub body: &'a [u8],
}

/// Why a signed request is refused, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No `X-Ovh-Application`.
    MissingApplication,
    /// Not the emulator's application key.
    UnknownApplication,
    /// No `X-Ovh-Consumer`.
    MissingConsumer,
    /// Not the emulator's consumer key.
    UnknownConsumer,
    /// No `X-Ovh-Timestamp`.
    MissingTimestamp,
    /// `X-Ovh-Timestamp` is not decimal unix seconds.
    BadTimestamp,
    /// The timestamp is `drift` seconds from the server clock, more than `max`.
    ClockSkew {
        /// Client timestamp minus server time (saturating).
        drift: i64,
        /// The largest drift allowed.
        max: i64,
    },
    /// No `X-Ovh-Signature`.
    MissingSignature,
    /// The signature does not match.
    BadSignature,
}

/// Checks a `$1$`-signed request against `creds`, the server clock `server_now` (unix
/// seconds) and the largest clock skew allowed, as OVHcloud's authentication layer does.
/// Pure: the emulator's middleware maps the rejection to its answer, and the fuzz target
/// `emulator_signature_check` calls it directly.
pub fn verify(
    creds: &crate::ApiCredentials,
    req: &SignedRequest<'_>,
    server_now: i64,
    max_skew_secs: i64,
) -> Result<(), Rejection> {
    let ak = req.application.ok_or(Rejection::MissingApplication)?;
    if !matches(&creds.application_key, ak) {
        return Err(Rejection::UnknownApplication);
    }
    let ck = req.consumer.ok_or(Rejection::MissingConsumer)?;
    if !matches(&creds.consumer_key, ck) {
        return Err(Rejection::UnknownConsumer);
    }
    let ts_text = req.timestamp.ok_or(Rejection::MissingTimestamp)?;
    let ts = ts_text
        .parse::<i64>()
        .map_err(|_| Rejection::BadTimestamp)?;
    let drift = ts.saturating_sub(server_now);
    if drift.saturating_abs() > max_skew_secs {
        return Err(Rejection::ClockSkew {
            drift,
            max: max_skew_secs,
        });
    }
    let sig = req.signature.ok_or(Rejection::MissingSignature)?;
    let expected = compute(
        &creds.application_secret,
        &creds.consumer_key,
        req.method,
        req.url,
        req.body,
        ts_text,
    );
    if !matches(&expected, sig) {
        return Err(Rejection::BadSignature);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors from go-ovh `ovh_test.go` and python-ovh `tests/test_client.py` (spec §4.1).
    const AS: &str = "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk";
    const CK: &str = "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY";
    const TS: &str = "1457018875";
    const BODY: &[u8] = br#"{"a":"b","c":"d"}"#;

    fn sig(method: &str, url: &str, body: &[u8]) -> String {
        compute(AS, CK, method, url, body, TS)
    }

    /// The four spec vectors of one URL: GET and DELETE without a body, POST and PUT with
    /// [`BODY`].
    fn assert_vectors(url: &str, [get, post, put, delete]: [&str; 4]) {
        assert_eq!(sig("GET", url, b""), get);
        assert_eq!(sig("POST", url, BODY), post);
        assert_eq!(sig("PUT", url, BODY), put);
        assert_eq!(sig("DELETE", url, b""), delete);
    }

    #[test]
    fn spec_vectors_auth() {
        assert_vectors(
            "https://eu.api.ovh.com/1.0/auth",
            [
                "$1$e9556054b6309771395efa467c22e627407461ad",
                "$1$ec2fb5c7a81f64723c77d2e5b609ae6f58a84fc1",
                "$1$8a75a9e7c8e7296c9dbeda6a2a735eb6bd58ec4b",
                "$1$a1eecd00b3b02b6cf5708b84b9ff42059a950d85",
            ],
        );
    }

    #[test]
    fn spec_vectors_auth_to() {
        assert_vectors(
            "https://eu.api.ovh.com/1.0/authTO",
            [
                "$1$1f0958be70f095ddaba525778a9ac1dcffac89f3",
                "$1$b592effcb3bc2d37860eceb06a1b17670fbe49c6",
                "$1$6b27c2a693a0eb4980217046b2fe10d74ba796f0",
                "$1$bd59b15361548c388058009e00c508081e991e8b",
            ],
        );
    }

    #[test]
    fn spec_vectors_versions() {
        assert_eq!(
            sig("GET", "https://eu.api.ovh.com/1.0/call", b""),
            "$1$7f2db49253edfc41891023fcd1a54cf61db05fbb"
        );
        assert_eq!(
            sig("GET", "https://eu.api.ovh.com/v1/call", b""),
            "$1$e6e7906d385eb28adcbfbe6b66c1528a42d741ad"
        );
        assert_eq!(
            sig("GET", "https://eu.api.ovh.com/v2/call", b""),
            "$1$bb63b132a6f84ad5433d0c534d48d3f7c3804285"
        );
    }

    #[test]
    fn lower_case_method_signs_like_upper_case() {
        let url = "https://eu.api.ovh.com/1.0/auth";
        assert_eq!(sig("get", url, b""), sig("GET", url, b""));
    }

    #[test]
    fn matches_is_exact() {
        let good = sig("GET", "https://eu.api.ovh.com/1.0/auth", b"");
        assert!(matches(&good, &good));
        assert!(!matches(&good, &good.to_uppercase()));
        assert!(!matches(&good, &good[..good.len() - 1]));
        assert!(!matches(&good, ""));
    }
}
