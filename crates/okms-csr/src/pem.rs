//! Internal PEM reading and writing (RFC 7468), lenient about what surrounds the blocks and
//! strict about the base64 inside them.
// Parses untrusted input: no index or arithmetic that can panic (the lints RustCrypto uses).
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use crate::error::{Error, Result};
use base64ct::{Base64, Encoding};
use zeroize::Zeroizing;

/// One `-----BEGIN X-----` ... `-----END X-----` block.
pub(crate) struct Block {
    pub(crate) label: String,
    /// `Name: value` header lines (only legacy encrypted keys carry them).
    pub(crate) headers: Vec<String>,
    /// The decoded bytes; zeroized because a block may hold a private key.
    pub(crate) der: Zeroizing<Vec<u8>>,
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// Whether `bytes` look like PEM text rather than DER.
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(BEGIN.len()).any(|w| w == BEGIN.as_bytes())
}

/// Reads `bytes` as PEM text when they hold a `-----BEGIN` line, else as DER: the one place
/// that decides, so certificates, CSRs and public keys accept the same inputs.
pub(crate) fn pem_or_der<T>(
    bytes: &[u8],
    from_pem: impl FnOnce(&str) -> Result<T>,
    from_der: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<T> {
    if looks_like_pem(bytes) {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::pem("the PEM text is not valid UTF-8"))?;
        from_pem(text)
    } else {
        from_der(bytes)
    }
}

fn boundary<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix(DASHES)
}

/// Parses every PEM block in `text`; text outside blocks is ignored (RFC 7468 allows
/// explanatory text).
pub(crate) fn parse_blocks(text: &str) -> Result<Vec<Block>> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(|l| l.trim());
    while let Some(line) = lines.next() {
        let Some(label) = boundary(line, BEGIN) else {
            continue;
        };
        let label = label.to_string();
        let mut headers = Vec::new();
        let mut body = Zeroizing::new(String::new());
        let mut ended = false;
        for line in lines.by_ref() {
            if let Some(end_label) = boundary(line, END) {
                if end_label != label {
                    return Err(Error::pem(format!(
                        "block starts with BEGIN {label} but ends with END {end_label}"
                    )));
                }
                ended = true;
                break;
            }
            if line.starts_with(BEGIN) {
                return Err(Error::pem(format!(
                    "block {label} has no END line before the next BEGIN line"
                )));
            }
            if line.contains(':') {
                headers.push(line.to_string());
            } else {
                body.push_str(line);
            }
        }
        if !ended {
            return Err(Error::pem(format!(
                "block {label} has no \"-----END {label}-----\" line"
            )));
        }
        // Header blocks only matter for legacy encrypted keys, which are rejected later with a
        // precise message, so the body is not decoded for them.
        let der = if headers.is_empty() {
            Zeroizing::new(Base64::decode_vec(&body).map_err(|e| {
                Error::pem(format!("block {label} has invalid base64 content: {e}"))
            })?)
        } else {
            Zeroizing::new(Vec::new())
        };
        blocks.push(Block {
            label,
            headers,
            der,
        });
    }
    Ok(blocks)
}

/// Encodes `der` as a PEM block with LF line endings and a trailing newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(Base64::encode_string(der));
    // Sized up front so the buffer never reallocates (a reallocation would leave an
    // unzeroized copy of a private key behind).
    // Saturating: a length near `usize::MAX` cannot be allocated anyway, and must not wrap to a
    // small capacity.
    let capacity = b64
        .len()
        .saturating_add(b64.len() / 64)
        .saturating_add(label.len().saturating_mul(2))
        .saturating_add(48);
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    out.push_str(BEGIN);
    out.push_str(label);
    out.push_str("-----\n");
    // base64 output is ASCII, so splitting at any byte index is a char boundary.
    let mut rest: &str = &b64;
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(END);
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The single block with one of `labels`, from PEM text; errors name what was found instead.
pub(crate) fn decode_one(text: &str, labels: &[&str], what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let blocks = parse_blocks(text)?;
    let expected = || labels.iter().map(|l| (*l).to_owned()).collect();
    if blocks.is_empty() {
        return Err(Error::InvalidPem {
            expected: expected(),
            found: Vec::new(),
            reason: format!(
                "no PEM block found; expected -----BEGIN {}-----",
                labels.first().copied().unwrap_or_default()
            ),
        });
    }
    let found: Vec<String> = blocks.iter().map(|b| b.label.clone()).collect();
    let mut matching = blocks
        .into_iter()
        .filter(|b| labels.contains(&b.label.as_str()));
    match matching.next() {
        Some(block) => Ok(block.der),
        None => Err(Error::InvalidPem {
            expected: expected(),
            reason: format!(
                "expected a {what} (-----BEGIN {}-----) but found: {}",
                labels.first().copied().unwrap_or_default(),
                found.join(", ")
            ),
            found,
        }),
    }
}
