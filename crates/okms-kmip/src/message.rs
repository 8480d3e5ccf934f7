//! The KMIP request and response envelopes: header (protocol version, batch count) and batch
//! items (operation, result, payload).

use crate::{
    error::{Error, Result},
    tag,
    ttlv::{self, Item, Value},
};

/// A KMIP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProtocolVersion {
    /// Major.
    pub major: i32,
    /// Minor.
    pub minor: i32,
}

impl ProtocolVersion {
    /// A version.
    pub const fn new(major: i32, minor: i32) -> Self {
        Self { major, minor }
    }

    pub(crate) fn to_item(self) -> Item {
        Item::structure(
            tag::PROTOCOL_VERSION,
            vec![
                Item::new(tag::PROTOCOL_VERSION_MAJOR, Value::Integer(self.major)),
                Item::new(tag::PROTOCOL_VERSION_MINOR, Value::Integer(self.minor)),
            ],
        )
    }

    pub(crate) fn from_item(item: &Item) -> Result<Self> {
        match (
            item.integer(tag::PROTOCOL_VERSION_MAJOR),
            item.integer(tag::PROTOCOL_VERSION_MINOR),
        ) {
            (Some(major), Some(minor)) => Ok(Self { major, minor }),
            _ => Err(Error::Unexpected(
                "a protocol version without its major and minor numbers".into(),
            )),
        }
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

macro_rules! kmip_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $code:literal => $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vm])* $variant,)*
            /// A value this crate has no name for.
            Other(u32),
        }

        impl $name {
            /// The enumeration's code on the wire.
            pub fn code(self) -> u32 {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Other(c) => c,
                }
            }

            /// The value of a wire code.
            pub fn from_code(code: u32) -> Self {
                match code {
                    $($code => Self::$variant,)*
                    c => Self::Other(c),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $(Self::$variant => f.write_str($text),)*
                    Self::Other(c) => write!(f, "0x{c:08x}"),
                }
            }
        }
    };
}

kmip_enum!(
    /// A KMIP operation (those named are the ones okms-rs sends or the emulator answers, and
    /// the usual ones a server lists).
    Operation {
        /// Create.
        Create = 0x01 => "Create",
        /// Register.
        Register = 0x03 => "Register",
        /// Locate.
        Locate = 0x08 => "Locate",
        /// Get.
        Get = 0x0A => "Get",
        /// Get Attributes.
        GetAttributes = 0x0B => "Get Attributes",
        /// Activate.
        Activate = 0x12 => "Activate",
        /// Revoke.
        Revoke = 0x13 => "Revoke",
        /// Destroy.
        Destroy = 0x14 => "Destroy",
        /// Query.
        Query = 0x18 => "Query",
        /// Discover Versions.
        DiscoverVersions = 0x1E => "Discover Versions",
    }
);

kmip_enum!(
    /// Result Reason of a failed batch item.
    ResultReason {
        /// Item Not Found.
        ItemNotFound = 0x01 => "Item Not Found",
        /// Response Too Large.
        ResponseTooLarge = 0x02 => "Response Too Large",
        /// Authentication Not Successful.
        AuthenticationNotSuccessful = 0x03 => "Authentication Not Successful",
        /// Invalid Message.
        InvalidMessage = 0x04 => "Invalid Message",
        /// Operation Not Supported.
        OperationNotSupported = 0x05 => "Operation Not Supported",
        /// Missing Data.
        MissingData = 0x06 => "Missing Data",
        /// Invalid Field.
        InvalidField = 0x07 => "Invalid Field",
        /// Feature Not Supported.
        FeatureNotSupported = 0x08 => "Feature Not Supported",
        /// Permission Denied.
        PermissionDenied = 0x0C => "Permission Denied",
        /// General Failure.
        GeneralFailure = 0x100 => "General Failure",
    }
);

kmip_enum!(
    /// Object Type.
    ObjectType {
        /// Certificate.
        Certificate = 0x01 => "Certificate",
        /// Symmetric Key.
        SymmetricKey = 0x02 => "Symmetric Key",
        /// Public Key.
        PublicKey = 0x03 => "Public Key",
        /// Private Key.
        PrivateKey = 0x04 => "Private Key",
        /// Secret Data.
        SecretData = 0x07 => "Secret Data",
    }
);

/// Result Status "Success".
const SUCCESS: u32 = 0;
/// Result Status "Operation Failed".
const OPERATION_FAILED: u32 = 1;

/// A request: a protocol version and one or more operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The version the client speaks.
    pub version: ProtocolVersion,
    /// The operations, in order.
    pub batch: Vec<RequestItem>,
}

/// One operation of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestItem {
    /// The operation.
    pub operation: Operation,
    /// The client's id for this item, echoed in the answer.
    pub id: Option<Vec<u8>>,
    /// The Request Payload structure.
    pub payload: Item,
}

/// A response: the server's version, its time and one result per operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The version the server answers in.
    pub version: ProtocolVersion,
    /// Seconds since the Unix epoch.
    pub time_stamp: i64,
    /// The results, in request order.
    pub batch: Vec<ResponseItem>,
}

/// The result of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseItem {
    /// The operation (a server may omit it in an error answer).
    pub operation: Option<Operation>,
    /// The client's id for this item, echoed.
    pub id: Option<Vec<u8>>,
    /// What came of it.
    pub outcome: Outcome,
}

/// What came of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; the Response Payload structure (empty when the server sent none).
    Success(Item),
    /// Refused or failed, with the server's reason and message.
    Failure {
        /// Result Reason.
        reason: ResultReason,
        /// Result Message (empty when the server sent none).
        message: String,
    },
}

fn batch_count(n: usize) -> Result<Item> {
    let n = i32::try_from(n).map_err(|_| Error::Unexpected("too many batch items".into()))?;
    Ok(Item::new(tag::BATCH_COUNT, Value::Integer(n)))
}

fn operation_of(item: &Item) -> Option<Operation> {
    item.enumeration(tag::OPERATION).map(Operation::from_code)
}

fn header_version(message: &Item, header_tag: u32) -> Result<ProtocolVersion> {
    let header = message
        .child(header_tag)
        .ok_or_else(|| Error::Unexpected("a KMIP message without its header".into()))?;
    let version = header
        .child(tag::PROTOCOL_VERSION)
        .ok_or_else(|| Error::Unexpected("a KMIP header without a protocol version".into()))?;
    ProtocolVersion::from_item(version)
}

fn expect_tag(item: &Item, want: u32, what: &str) -> Result<()> {
    if item.tag == want && matches!(item.value, Value::Structure(_)) {
        Ok(())
    } else {
        Err(Error::Unexpected(format!(
            "expected a {what}, found tag 0x{:06x}",
            item.tag
        )))
    }
}

impl Request {
    /// A request of one operation.
    pub fn single(version: ProtocolVersion, operation: Operation, payload: Vec<Item>) -> Self {
        Self {
            version,
            batch: vec![RequestItem {
                operation,
                id: None,
                payload: Item::structure(tag::REQUEST_PAYLOAD, payload),
            }],
        }
    }

    /// Encodes the request.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut children = vec![Item::structure(
            tag::REQUEST_HEADER,
            vec![self.version.to_item(), batch_count(self.batch.len())?],
        )];
        for b in &self.batch {
            let mut item = vec![Item::new(
                tag::OPERATION,
                Value::Enumeration(b.operation.code()),
            )];
            if let Some(id) = &b.id {
                item.push(Item::new(
                    tag::UNIQUE_BATCH_ITEM_ID,
                    Value::ByteString(id.clone()),
                ));
            }
            item.push(b.payload.clone());
            children.push(Item::structure(tag::BATCH_ITEM, item));
        }
        ttlv::encode(&Item::structure(tag::REQUEST_MESSAGE, children))
    }

    /// Decodes a request (what a server reads).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let message = ttlv::decode(bytes)?;
        expect_tag(&message, tag::REQUEST_MESSAGE, "KMIP request")?;
        let version = header_version(&message, tag::REQUEST_HEADER)?;
        let batch = message
            .children_tagged(tag::BATCH_ITEM)
            .map(|b| {
                Ok(RequestItem {
                    operation: operation_of(b).ok_or_else(|| {
                        Error::Unexpected("a batch item without an operation".into())
                    })?,
                    id: b.bytes(tag::UNIQUE_BATCH_ITEM_ID).map(<[u8]>::to_vec),
                    payload: b
                        .child(tag::REQUEST_PAYLOAD)
                        .cloned()
                        .unwrap_or_else(|| Item::structure(tag::REQUEST_PAYLOAD, vec![])),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if batch.is_empty() {
            return Err(Error::Unexpected(
                "a KMIP request without any operation".into(),
            ));
        }
        Ok(Self { version, batch })
    }
}

impl Response {
    /// Encodes the response.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut children = vec![Item::structure(
            tag::RESPONSE_HEADER,
            vec![
                self.version.to_item(),
                Item::new(tag::TIME_STAMP, Value::DateTime(self.time_stamp)),
                batch_count(self.batch.len())?,
            ],
        )];
        for b in &self.batch {
            let mut item = Vec::new();
            if let Some(op) = b.operation {
                item.push(Item::new(tag::OPERATION, Value::Enumeration(op.code())));
            }
            if let Some(id) = &b.id {
                item.push(Item::new(
                    tag::UNIQUE_BATCH_ITEM_ID,
                    Value::ByteString(id.clone()),
                ));
            }
            match &b.outcome {
                Outcome::Success(payload) => {
                    item.push(Item::new(tag::RESULT_STATUS, Value::Enumeration(SUCCESS)));
                    item.push(Item::new(tag::RESPONSE_PAYLOAD, payload.value.clone()));
                }
                Outcome::Failure { reason, message } => {
                    item.push(Item::new(
                        tag::RESULT_STATUS,
                        Value::Enumeration(OPERATION_FAILED),
                    ));
                    item.push(Item::new(
                        tag::RESULT_REASON,
                        Value::Enumeration(reason.code()),
                    ));
                    item.push(Item::new(
                        tag::RESULT_MESSAGE,
                        Value::TextString(message.clone()),
                    ));
                }
            }
            children.push(Item::structure(tag::BATCH_ITEM, item));
        }
        ttlv::encode(&Item::structure(tag::RESPONSE_MESSAGE, children))
    }

    /// Decodes a response (what a client reads).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let message = ttlv::decode(bytes)?;
        expect_tag(&message, tag::RESPONSE_MESSAGE, "KMIP response")?;
        let version = header_version(&message, tag::RESPONSE_HEADER)?;
        let time_stamp = match message
            .child(tag::RESPONSE_HEADER)
            .and_then(|h| h.child(tag::TIME_STAMP))
            .map(|t| &t.value)
        {
            Some(Value::DateTime(t)) => *t,
            _ => 0,
        };
        let batch = message
            .children_tagged(tag::BATCH_ITEM)
            .map(|b| {
                let outcome = match b.enumeration(tag::RESULT_STATUS) {
                    Some(SUCCESS) => Outcome::Success(
                        b.child(tag::RESPONSE_PAYLOAD)
                            .cloned()
                            .unwrap_or_else(|| Item::structure(tag::RESPONSE_PAYLOAD, vec![])),
                    ),
                    Some(_) => Outcome::Failure {
                        reason: ResultReason::from_code(
                            b.enumeration(tag::RESULT_REASON)
                                .unwrap_or(ResultReason::GeneralFailure.code()),
                        ),
                        message: b.text(tag::RESULT_MESSAGE).unwrap_or_default().to_owned(),
                    },
                    None => {
                        return Err(Error::Unexpected(
                            "a response batch item without a result status".into(),
                        ));
                    }
                };
                Ok(ResponseItem {
                    operation: operation_of(b),
                    id: b.bytes(tag::UNIQUE_BATCH_ITEM_ID).map(<[u8]>::to_vec),
                    outcome,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            version,
            time_stamp,
            batch,
        })
    }

    /// The payload of the first operation, or its failure as an error message.
    pub fn first_payload(&self) -> std::result::Result<&Item, (ResultReason, &str)> {
        match self.batch.first().map(|b| &b.outcome) {
            Some(Outcome::Success(p)) => Ok(p),
            Some(Outcome::Failure { reason, message }) => Err((*reason, message)),
            None => Err((
                ResultReason::GeneralFailure,
                "the answer holds no operation",
            )),
        }
    }
}
