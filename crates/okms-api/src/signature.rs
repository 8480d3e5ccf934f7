//! The `$1$` request signature of the OVHcloud API (application key mode).

use sha1::{Digest, Sha1};

/// `"$1$" + hex(SHA1(AS+"+"+CK+"+"+METHOD+"+"+URL+"+"+BODY+"+"+TIMESTAMP))`.
///
/// `url` is the exact full URL sent (query included) and `body` the exact bytes sent (empty
/// for none); `method` is upper-cased here because the server hashes it that way.
pub fn sign(
    application_secret: &str,
    consumer_key: &str,
    method: &str,
    url: &str,
    body: &[u8],
    timestamp: i64,
) -> String {
    let mut h = Sha1::new();
    h.update(application_secret.as_bytes());
    h.update(b"+");
    h.update(consumer_key.as_bytes());
    h.update(b"+");
    h.update(method.to_ascii_uppercase().as_bytes());
    h.update(b"+");
    h.update(url.as_bytes());
    h.update(b"+");
    h.update(body);
    h.update(b"+");
    h.update(timestamp.to_string().as_bytes());
    format!("$1${}", hex::encode(h.finalize()))
}
