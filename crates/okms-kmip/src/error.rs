//! The crate's single error type.

/// Everything that can go wrong decoding or encoding KMIP. Messages say what in the bytes is
/// wrong, so that a caller can explain "the server did not answer KMIP".
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes end before the item they announce.
    #[error("truncated TTLV: {needed} more bytes were announced than were given")]
    Truncated {
        /// How many bytes were missing.
        needed: usize,
    },
    /// A message longer than [`crate::MAX_MESSAGE_LEN`] (announced or built).
    #[error("KMIP message of {len} bytes is larger than the {max} bytes accepted")]
    TooLarge {
        /// The length announced or built.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Structures nested deeper than [`crate::MAX_DEPTH`].
    #[error("TTLV structures nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A type byte that TTLV does not define.
    #[error("not TTLV: unknown item type 0x{item_type:02x} (tag 0x{tag:06x})")]
    UnknownType {
        /// The tag of the item.
        tag: u32,
        /// The type byte found.
        item_type: u8,
    },
    /// A fixed-size type with the wrong length, or a padding that is not zero.
    #[error("not TTLV: item 0x{tag:06x} is malformed ({reason})")]
    Malformed {
        /// The tag of the item.
        tag: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// Bytes left after the one top-level item.
    #[error("{extra} bytes follow the KMIP message")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// Well-formed TTLV that is not the KMIP message expected.
    #[error("unexpected KMIP content: {0}")]
    Unexpected(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
