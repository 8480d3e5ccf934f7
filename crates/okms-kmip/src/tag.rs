//! The KMIP tags this crate reads or writes (KMIP 1.4 specification, section 9.1.3.1).
#![allow(missing_docs)] // Each name is the specification's, word for word.

pub const ATTRIBUTE: u32 = 0x42_0008;
pub const ATTRIBUTE_NAME: u32 = 0x42_000A;
pub const ATTRIBUTE_VALUE: u32 = 0x42_000B;
pub const BATCH_COUNT: u32 = 0x42_000D;
pub const BATCH_ITEM: u32 = 0x42_000F;
pub const CRYPTOGRAPHIC_ALGORITHM: u32 = 0x42_0028;
pub const CRYPTOGRAPHIC_LENGTH: u32 = 0x42_002A;
pub const CRYPTOGRAPHIC_USAGE_MASK: u32 = 0x42_002C;
pub const KEY_BLOCK: u32 = 0x42_0040;
pub const KEY_FORMAT_TYPE: u32 = 0x42_0042;
pub const KEY_MATERIAL: u32 = 0x42_0043;
pub const KEY_VALUE: u32 = 0x42_0045;
pub const MAXIMUM_ITEMS: u32 = 0x42_004F;
pub const NAME: u32 = 0x42_0053;
pub const NAME_TYPE: u32 = 0x42_0054;
pub const NAME_VALUE: u32 = 0x42_0055;
pub const OBJECT_TYPE: u32 = 0x42_0057;
pub const OPERATION: u32 = 0x42_005C;
pub const PROTOCOL_VERSION: u32 = 0x42_0069;
pub const PROTOCOL_VERSION_MAJOR: u32 = 0x42_006A;
pub const PROTOCOL_VERSION_MINOR: u32 = 0x42_006B;
pub const QUERY_FUNCTION: u32 = 0x42_0074;
pub const REQUEST_HEADER: u32 = 0x42_0077;
pub const REQUEST_MESSAGE: u32 = 0x42_0078;
pub const REQUEST_PAYLOAD: u32 = 0x42_0079;
pub const RESPONSE_HEADER: u32 = 0x42_007A;
pub const RESPONSE_MESSAGE: u32 = 0x42_007B;
pub const RESPONSE_PAYLOAD: u32 = 0x42_007C;
pub const RESULT_MESSAGE: u32 = 0x42_007D;
pub const RESULT_REASON: u32 = 0x42_007E;
pub const RESULT_STATUS: u32 = 0x42_007F;
pub const SERVER_INFORMATION: u32 = 0x42_0088;
pub const SYMMETRIC_KEY: u32 = 0x42_008F;
pub const TEMPLATE_ATTRIBUTE: u32 = 0x42_0091;
pub const TIME_STAMP: u32 = 0x42_0092;
pub const UNIQUE_BATCH_ITEM_ID: u32 = 0x42_0093;
pub const UNIQUE_IDENTIFIER: u32 = 0x42_0094;
pub const VENDOR_IDENTIFICATION: u32 = 0x42_009D;
/// KMIP 2.0's flat attribute list (replaces Template-Attribute).
pub const ATTRIBUTES: u32 = 0x42_0125;
