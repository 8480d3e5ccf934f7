//! A small, bounded, sans-IO codec for KMIP's binary TTLV encoding and the few KMIP 1.x
//! messages okms-rs speaks: Discover Versions and Query (the KMIP check of an access
//! certificate) and Create/Get/Locate/Destroy of AES keys (the emulator's KMIP endpoint).
//!
//! No I/O: a caller reads [`HEADER_LEN`] bytes, asks [`message_len`] how many to read in all
//! (refused beyond [`MAX_MESSAGE_LEN`]), then decodes them. Decoding never panics and refuses
//! structures nested deeper than [`MAX_DEPTH`].
//!
//! ```
//! use okms_kmip::{Operation, ProtocolVersion, Request, payload};
//!
//! let request = Request::single(
//!     ProtocolVersion::new(1, 4),
//!     Operation::DiscoverVersions,
//!     payload::versions_payload(&[ProtocolVersion::new(1, 4)]),
//! );
//! let bytes = request.encode()?;
//! let header: [u8; okms_kmip::HEADER_LEN] = bytes[..8].try_into().expect("8 bytes");
//! assert_eq!(okms_kmip::message_len(&header)?, bytes.len());
//! assert_eq!(Request::decode(&bytes)?, request);
//! assert!(Request::decode(b"GET / HTTP/1.1\r\n").is_err());
//! # Ok::<(), okms_kmip::Error>(())
//! ```
#![forbid(unsafe_code)]

mod error;
mod message;
pub mod payload;
pub mod tag;
mod ttlv;

pub use error::{Error, Result};
pub use message::{
    ObjectType, Operation, Outcome, ProtocolVersion, Request, RequestItem, Response, ResponseItem,
    ResultReason,
};
pub use ttlv::{HEADER_LEN, Item, MAX_DEPTH, MAX_MESSAGE_LEN, Value, decode, encode, message_len};
