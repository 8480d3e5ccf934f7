//! TTLV, KMIP's binary encoding: a 3-byte tag, a 1-byte type, a 4-byte big-endian length and
//! the value padded to a multiple of 8 bytes. Decoding is bounded in size and depth because
//! its input comes from the network, before anything else is checked.

use crate::error::{Error, Result};

/// The largest message accepted or produced, header included. KMIP answers for the operations
/// this crate knows fit in a few kilobytes; the bound stops a peer from making us buffer more.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// The deepest nesting of structures accepted. KMIP 1.x messages nest about six levels.
pub const MAX_DEPTH: usize = 16;

/// The length of a TTLV item header (tag, type, length).
pub const HEADER_LEN: usize = 8;

/// One TTLV item: a tag and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The 24-bit tag (KMIP's are `0x42xxxx`).
    pub tag: u32,
    /// The typed value.
    pub value: Value,
}

/// A TTLV value, one variant per TTLV type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Type 0x01: nested items.
    Structure(Vec<Item>),
    /// Type 0x02.
    Integer(i32),
    /// Type 0x03.
    LongInteger(i64),
    /// Type 0x04: big-endian two's complement, a multiple of 8 bytes.
    BigInteger(Vec<u8>),
    /// Type 0x05.
    Enumeration(u32),
    /// Type 0x06.
    Boolean(bool),
    /// Type 0x07: UTF-8.
    TextString(String),
    /// Type 0x08.
    ByteString(Vec<u8>),
    /// Type 0x09: seconds since the Unix epoch.
    DateTime(i64),
    /// Type 0x0A: seconds.
    Interval(u32),
}

impl Item {
    /// An item.
    pub fn new(tag: u32, value: Value) -> Self {
        Self { tag, value }
    }

    /// A structure item.
    pub fn structure(tag: u32, children: Vec<Item>) -> Self {
        Self::new(tag, Value::Structure(children))
    }

    /// The children of a structure (none for any other type).
    pub fn children(&self) -> &[Item] {
        match &self.value {
            Value::Structure(c) => c,
            _ => &[],
        }
    }

    /// The first child with this tag.
    pub fn child(&self, tag: u32) -> Option<&Item> {
        self.children().iter().find(|c| c.tag == tag)
    }

    /// Every child with this tag, in order.
    pub fn children_tagged(&self, tag: u32) -> impl Iterator<Item = &Item> {
        self.children().iter().filter(move |c| c.tag == tag)
    }

    /// The value of the first child with this tag, if it is an enumeration.
    pub fn enumeration(&self, tag: u32) -> Option<u32> {
        match self.child(tag)?.value {
            Value::Enumeration(v) => Some(v),
            _ => None,
        }
    }

    /// The value of the first child with this tag, if it is an integer.
    pub fn integer(&self, tag: u32) -> Option<i32> {
        match self.child(tag)?.value {
            Value::Integer(v) => Some(v),
            _ => None,
        }
    }

    /// The value of the first child with this tag, if it is a text string.
    pub fn text(&self, tag: u32) -> Option<&str> {
        match &self.child(tag)?.value {
            Value::TextString(v) => Some(v),
            _ => None,
        }
    }

    /// The value of the first child with this tag, if it is a byte string.
    pub fn bytes(&self, tag: u32) -> Option<&[u8]> {
        match &self.child(tag)?.value {
            Value::ByteString(v) => Some(v),
            _ => None,
        }
    }
}

fn padded(len: usize) -> usize {
    len.div_ceil(8) * 8
}

/// Encodes one item (and its children). Fails only when the result would exceed
/// [`MAX_MESSAGE_LEN`], so that we never send what we would refuse to read.
pub fn encode(item: &Item) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(item, &mut out)?;
    if out.len() > MAX_MESSAGE_LEN {
        return Err(Error::TooLarge {
            len: out.len(),
            max: MAX_MESSAGE_LEN,
        });
    }
    Ok(out)
}

fn encode_into(item: &Item, out: &mut Vec<u8>) -> Result<()> {
    let tag = item.tag.to_be_bytes();
    out.extend_from_slice(&tag[1..]);
    let start = out.len();
    out.extend_from_slice(&[0; 5]);
    let (item_type, len) = match &item.value {
        Value::Structure(children) => {
            for c in children {
                encode_into(c, out)?;
                if out.len() > MAX_MESSAGE_LEN {
                    return Err(Error::TooLarge {
                        len: out.len(),
                        max: MAX_MESSAGE_LEN,
                    });
                }
            }
            (0x01, out.len() - start - 5)
        }
        Value::Integer(v) => {
            out.extend_from_slice(&v.to_be_bytes());
            (0x02, 4)
        }
        Value::LongInteger(v) => {
            out.extend_from_slice(&v.to_be_bytes());
            (0x03, 8)
        }
        Value::BigInteger(v) => {
            out.extend_from_slice(v);
            (0x04, v.len())
        }
        Value::Enumeration(v) => {
            out.extend_from_slice(&v.to_be_bytes());
            (0x05, 4)
        }
        Value::Boolean(v) => {
            out.extend_from_slice(&u64::from(*v).to_be_bytes());
            (0x06, 8)
        }
        Value::TextString(v) => {
            out.extend_from_slice(v.as_bytes());
            (0x07, v.len())
        }
        Value::ByteString(v) => {
            out.extend_from_slice(v);
            (0x08, v.len())
        }
        Value::DateTime(v) => {
            out.extend_from_slice(&v.to_be_bytes());
            (0x09, 8)
        }
        Value::Interval(v) => {
            out.extend_from_slice(&v.to_be_bytes());
            (0x0A, 4)
        }
    };
    let len32 = u32::try_from(len).map_err(|_| Error::TooLarge {
        len,
        max: MAX_MESSAGE_LEN,
    })?;
    out[start] = item_type;
    out[start + 1..start + 5].copy_from_slice(&len32.to_be_bytes());
    let pad = padded(len) - len;
    out.resize(out.len() + pad, 0);
    Ok(())
}

/// The total length of the message whose first [`HEADER_LEN`] bytes are given, for reading
/// exactly one message from a stream. Refuses what is not a structure or is too large before
/// anything more is read.
pub fn message_len(header: &[u8; HEADER_LEN]) -> Result<usize> {
    let tag = u32::from_be_bytes([0, header[0], header[1], header[2]]);
    if header[3] != 0x01 {
        return Err(Error::Malformed {
            tag,
            reason: "a KMIP message is a structure",
        });
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let total = HEADER_LEN.saturating_add(len);
    if total > MAX_MESSAGE_LEN {
        return Err(Error::TooLarge {
            len: total,
            max: MAX_MESSAGE_LEN,
        });
    }
    if !len.is_multiple_of(8) {
        return Err(Error::Malformed {
            tag,
            reason: "a structure's length is a multiple of 8",
        });
    }
    Ok(total)
}

/// Decodes exactly one item filling `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Item> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(Error::TooLarge {
            len: bytes.len(),
            max: MAX_MESSAGE_LEN,
        });
    }
    let (item, used) = decode_item(bytes, 0)?;
    if used != bytes.len() {
        return Err(Error::TrailingBytes {
            extra: bytes.len() - used,
        });
    }
    Ok(item)
}

fn fixed<const N: usize>(tag: u32, value: &[u8], len: usize) -> Result<[u8; N]> {
    if len != N {
        return Err(Error::Malformed {
            tag,
            reason: "wrong length for its type",
        });
    }
    value
        .get(..N)
        .and_then(|v| v.try_into().ok())
        .ok_or(Error::Truncated { needed: N })
}

/// Decodes one item at the start of `bytes`; returns it and the bytes it used (padding
/// included).
fn decode_item(bytes: &[u8], depth: usize) -> Result<(Item, usize)> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep { max: MAX_DEPTH });
    }
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(Error::Truncated {
            needed: HEADER_LEN - bytes.len(),
        });
    };
    let tag = u32::from_be_bytes([0, header[0], header[1], header[2]]);
    let item_type = header[3];
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let rest = &bytes[HEADER_LEN..];
    let span = padded(len);
    if span > rest.len() {
        return Err(Error::Truncated {
            needed: span - rest.len(),
        });
    }
    let value_bytes = &rest[..len];
    if rest[len..span].iter().any(|b| *b != 0) {
        return Err(Error::Malformed {
            tag,
            reason: "padding is not zero",
        });
    }
    let value = match item_type {
        0x01 => {
            if !len.is_multiple_of(8) {
                return Err(Error::Malformed {
                    tag,
                    reason: "a structure's length is a multiple of 8",
                });
            }
            let mut children = Vec::new();
            let mut at = 0;
            while at < len {
                let (child, used) = decode_item(&value_bytes[at..], depth + 1)?;
                children.push(child);
                at += used;
            }
            if at != len {
                return Err(Error::Malformed {
                    tag,
                    reason: "children overrun the structure",
                });
            }
            Value::Structure(children)
        }
        0x02 => Value::Integer(i32::from_be_bytes(fixed(tag, value_bytes, len)?)),
        0x03 => Value::LongInteger(i64::from_be_bytes(fixed(tag, value_bytes, len)?)),
        0x04 => {
            if !len.is_multiple_of(8) {
                return Err(Error::Malformed {
                    tag,
                    reason: "a big integer's length is a multiple of 8",
                });
            }
            Value::BigInteger(value_bytes.to_vec())
        }
        0x05 => Value::Enumeration(u32::from_be_bytes(fixed(tag, value_bytes, len)?)),
        0x06 => match u64::from_be_bytes(fixed(tag, value_bytes, len)?) {
            0 => Value::Boolean(false),
            1 => Value::Boolean(true),
            _ => {
                return Err(Error::Malformed {
                    tag,
                    reason: "a boolean is 0 or 1",
                });
            }
        },
        0x07 => Value::TextString(String::from_utf8(value_bytes.to_vec()).map_err(|_| {
            Error::Malformed {
                tag,
                reason: "a text string is UTF-8",
            }
        })?),
        0x08 => Value::ByteString(value_bytes.to_vec()),
        0x09 => Value::DateTime(i64::from_be_bytes(fixed(tag, value_bytes, len)?)),
        0x0A => Value::Interval(u32::from_be_bytes(fixed(tag, value_bytes, len)?)),
        other => {
            return Err(Error::UnknownType {
                tag,
                item_type: other,
            });
        }
    };
    Ok((Item { tag, value }, HEADER_LEN + span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_matches_the_spec_example() -> Result<()> {
        // KMIP 1.0 spec, 9.1.2 "Integer containing the decimal value 8".
        let item = Item::new(0x42_0020, Value::Integer(8));
        let bytes = encode(&item)?;
        assert_eq!(
            bytes,
            [0x42, 0x00, 0x20, 0x02, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 0]
        );
        assert_eq!(decode(&bytes)?, item);
        Ok(())
    }

    #[test]
    fn text_string_is_padded() -> Result<()> {
        let item = Item::new(0x42_0020, Value::TextString("Hello World".into()));
        let bytes = encode(&item)?;
        assert_eq!(bytes.len(), 8 + 16);
        assert_eq!(decode(&bytes)?, item);
        Ok(())
    }

    #[test]
    fn every_type_round_trips() -> Result<()> {
        let item = Item::structure(
            0x42_0001,
            vec![
                Item::new(0x42_0002, Value::Integer(-3)),
                Item::new(0x42_0003, Value::LongInteger(1 << 40)),
                Item::new(0x42_0004, Value::BigInteger(vec![1; 16])),
                Item::new(0x42_0005, Value::Enumeration(0xFF)),
                Item::new(0x42_0006, Value::Boolean(true)),
                Item::new(0x42_0007, Value::TextString("é".into())),
                Item::new(0x42_0008, Value::ByteString(vec![9; 3])),
                Item::new(0x42_0009, Value::DateTime(1_700_000_000)),
                Item::new(0x42_000A, Value::Interval(86_400)),
                Item::structure(0x42_000B, vec![]),
            ],
        );
        let bytes = encode(&item)?;
        assert_eq!(decode(&bytes)?, item);
        let header: [u8; 8] = bytes[..8]
            .try_into()
            .map_err(|_| Error::Truncated { needed: 8 })?;
        assert_eq!(message_len(&header)?, bytes.len());
        Ok(())
    }

    #[test]
    fn non_ttlv_is_refused() {
        assert!(decode(b"HTTP/1.1 400 Bad Request\r\n\r\n").is_err());
        assert!(matches!(
            decode(b"\x42\x00\x01\x0f\0\0\0\0"),
            Err(Error::UnknownType {
                item_type: 0x0f,
                ..
            })
        ));
    }

    #[test]
    fn oversized_length_is_refused_before_reading() {
        let header = [0x42, 0x00, 0x7B, 0x01, 0x7F, 0xFF, 0xFF, 0xF8];
        assert!(matches!(message_len(&header), Err(Error::TooLarge { .. })));
        assert!(matches!(decode(&header), Err(Error::Truncated { .. })));
    }

    #[test]
    fn deep_nesting_is_refused() -> Result<()> {
        let mut item = Item::structure(0x42_0001, vec![]);
        for _ in 0..MAX_DEPTH + 1 {
            item = Item::structure(0x42_0001, vec![item]);
        }
        let bytes = encode(&item)?;
        assert_eq!(decode(&bytes), Err(Error::TooDeep { max: MAX_DEPTH }));
        Ok(())
    }

    #[test]
    fn trailing_bytes_and_bad_padding_are_refused() -> Result<()> {
        let mut bytes = encode(&Item::new(0x42_0020, Value::Integer(8)))?;
        bytes.extend_from_slice(&[0; 8]);
        assert_eq!(decode(&bytes), Err(Error::TrailingBytes { extra: 8 }));
        bytes.truncate(16);
        bytes[15] = 1;
        assert!(matches!(decode(&bytes), Err(Error::Malformed { .. })));
        Ok(())
    }
}
