//! PEM <-> the JSON string form the OKMS API uses (`\n` for every line break).
//!
//! `unescape` accepts what users paste: literal two-character `\n`, real newlines, CRLF, a
//! quoted JSON string, or a whole JSON response with a field name. Both directions produce
//! the same normalized PEM (LF endings, 64-column base64, trailing newline), so
//! `unescape(&escape(x)?, None)?.as_str() == x` for every normalized PEM `x`.
// Parses untrusted input: no index or arithmetic that can panic (the lints RustCrypto uses).
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use crate::{
    error::{Error, Result},
    pem,
};
use std::fmt;
use zeroize::Zeroizing;

/// The PEM labels `unescape` accepts.
pub const KNOWN_LABELS: [&str; 7] = [
    "CERTIFICATE",
    "CERTIFICATE REQUEST",
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "EC PRIVATE KEY",
    "RSA PRIVATE KEY",
    "PUBLIC KEY",
];

const PRIVATE_LABELS: [&str; 4] = [
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "EC PRIVATE KEY",
    "RSA PRIVATE KEY",
];

/// Normalized PEM text: one or more blocks (e.g. a certificate chain) with known labels,
/// LF line endings and a trailing newline. Zeroized on drop since it may hold a private key;
/// `Debug` prints only the label.
#[derive(Clone)]
pub struct Pem {
    label: String,
    text: Zeroizing<String>,
}

impl Pem {
    /// The label of the (first) block, e.g. `CERTIFICATE`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The normalized PEM text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the PEM holds a private key (plain or encrypted).
    pub fn is_private_key(&self) -> bool {
        PRIVATE_LABELS.contains(&self.label.as_str())
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pem")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// PEM text -> the content of the JSON string the API wants (no surrounding quotes; newlines
/// as `\n`). The input is first normalized and checked like [`unescape`] does, so escaping
/// already-escaped text gives the same result.
pub fn escape(pem: &str) -> Result<String> {
    let pem = unescape(pem, None)?;
    Ok(pem.as_str().replace('\n', "\\n"))
}

/// Anything a user pastes -> normalized PEM (LF line endings, trailing newline).
/// Accepts literal `\n`, real newlines, CRLF, a quoted JSON string, or a whole JSON object
/// when `field` is given (or when the object has exactly one PEM-looking field).
pub fn unescape(input: &str, field: Option<&str>) -> Result<Pem> {
    let trimmed = input.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(Error::Escape(
            "the input is empty; expected PEM text or a JSON string/object holding one".into(),
        ));
    }
    if trimmed.starts_with('{') {
        let text = from_json_object(trimmed, field)?;
        return normalize(&text);
    }
    if trimmed.starts_with('"') {
        let text: Zeroizing<String> =
            Zeroizing::new(serde_json::from_str::<String>(trimmed).map_err(|e| {
                Error::Escape(format!(
                    "the input starts with '\"' but is not a valid JSON string: {e}"
                ))
            })?);
        return normalize(&text);
    }
    if trimmed.starts_with('[') {
        return Err(Error::Escape(
            "the input is a JSON array; pass the JSON object that holds the PEM field instead"
                .into(),
        ));
    }
    normalize(trimmed)
}

fn from_json_object(text: &str, field: Option<&str>) -> Result<Zeroizing<String>> {
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Error::Escape(format!(
            "the input starts with '{{' but is not valid JSON: {e}"
        ))
    })?;
    let result = pem_field(&value, field);
    // The response may hold a private key in any field; wipe every string before dropping.
    scrub(&mut value);
    result
}

fn scrub(value: &mut serde_json::Value) {
    use zeroize::Zeroize;
    match value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
        serde_json::Value::Object(map) => map.values_mut().for_each(scrub),
        _ => {}
    }
}

fn pem_field(value: &serde_json::Value, field: Option<&str>) -> Result<Zeroizing<String>> {
    let Some(object) = value.as_object() else {
        return Err(Error::Escape("the input is not a JSON object".into()));
    };
    let fields = || object.keys().cloned().collect::<Vec<_>>().join(", ");
    match field {
        Some(name) => match object.get(name) {
            Some(serde_json::Value::String(s)) => Ok(Zeroizing::new(s.clone())),
            Some(serde_json::Value::Null) => Err(Error::Escape(format!(
                "field {name} is null (OKMS returns privateKeyPEM only in the creation response, and certificatePEM once the credential is READY)"
            ))),
            Some(_) => Err(Error::Escape(format!("field {name} is not a string"))),
            None => Err(Error::Escape(format!(
                "field {name} not found; fields present: {}",
                if object.is_empty() {
                    "none".to_string()
                } else {
                    fields()
                }
            ))),
        },
        None => {
            let pem_fields: Vec<(&String, &str)> = object
                .iter()
                .filter_map(|(k, v)| {
                    v.as_str()
                        .filter(|s| s.contains("-----BEGIN"))
                        .map(|s| (k, s))
                })
                .collect();
            match pem_fields.as_slice() {
                [(_, s)] => Ok(Zeroizing::new((*s).to_string())),
                [] => Err(Error::Escape(format!(
                    "no field of the JSON object holds PEM text; fields present: {}",
                    if object.is_empty() {
                        "none".to_string()
                    } else {
                        fields()
                    }
                ))),
                many => Err(Error::Escape(format!(
                    "several fields hold PEM text ({}); name the one you want",
                    many.iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
    }
}

/// Turns JSON-style escapes left in pasted text (`\n`, `\r`, and `\/` from encoders that
/// escape slashes) and bare CRs into LFs. A CRLF becomes two LFs; the empty lines this makes
/// are dropped by the PEM parser. One pass, into a buffer that never reallocates, so no
/// unzeroized copy of a key is left behind.
fn unescape_text(text: &str) -> Result<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n' | 'r') => out.push('\n'),
                Some('/') => out.push('/'),
                other => {
                    let shown = other
                        .map(|o| format!("\\{o}"))
                        .unwrap_or_else(|| "a trailing \\".into());
                    return Err(Error::Escape(format!(
                        "the input contains the backslash escape {shown}; only \\n, \\r and \\/ are understood (if it is a JSON string, include its surrounding quotes)"
                    )));
                }
            },
            '\r' => out.push('\n'),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn normalize(text: &str) -> Result<Pem> {
    let text = unescape_text(text)?;
    let blocks = pem::parse_blocks(&text).map_err(|e| Error::Escape(e.to_string()))?;
    let Some(first) = blocks.first() else {
        return Err(Error::Escape(
            "no PEM block found (expected a line like -----BEGIN CERTIFICATE-----)".into(),
        ));
    };
    let label = first.label.clone();
    let mut out = Zeroizing::new(String::new());
    for block in &blocks {
        if !KNOWN_LABELS.contains(&block.label.as_str()) {
            return Err(Error::Escape(format!(
                "unexpected PEM label \"{}\"; expected one of: {}",
                block.label,
                KNOWN_LABELS.join(", ")
            )));
        }
        if !block.headers.is_empty() {
            return Err(Error::Escape(format!(
                "the {} block has header lines ({}); legacy encrypted PEM is not supported",
                block.label,
                block
                    .headers
                    .first()
                    .map(|h| h.split(':').next().unwrap_or_default())
                    .unwrap_or_default()
            )));
        }
        if block.der.is_empty() {
            return Err(Error::Escape(format!("the {} block is empty", block.label)));
        }
        out.push_str(&pem::encode(&block.label, &block.der));
    }
    Ok(Pem { label, text: out })
}
