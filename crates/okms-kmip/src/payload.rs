//! Request and response payloads of the operations okms-rs speaks: Discover Versions and Query
//! (the KMIP check) and Create/Get/Locate/Destroy of AES keys (the emulator).

use crate::{
    error::{Error, Result},
    message::{ObjectType, Operation, ProtocolVersion},
    tag,
    ttlv::{Item, Value},
};

/// Cryptographic Algorithm "AES".
pub const AES: u32 = 0x03;
/// Key Format Type "Raw".
pub const KEY_FORMAT_RAW: u32 = 0x01;
/// Query Function "Query Operations".
pub const QUERY_OPERATIONS: u32 = 0x01;
/// Query Function "Query Objects".
pub const QUERY_OBJECTS: u32 = 0x02;
/// Query Function "Query Server Information".
pub const QUERY_SERVER_INFORMATION: u32 = 0x03;

/// The Discover Versions payload (request: the client's versions, preferred first; response:
/// those the server supports of them, preferred first).
pub fn versions_payload(versions: &[ProtocolVersion]) -> Vec<Item> {
    versions.iter().map(|v| v.to_item()).collect()
}

/// The versions listed in a Discover Versions payload.
pub fn versions_of(payload: &Item) -> Result<Vec<ProtocolVersion>> {
    payload
        .children_tagged(tag::PROTOCOL_VERSION)
        .map(ProtocolVersion::from_item)
        .collect()
}

/// The Query request payload asking for operations, objects and server information.
pub fn query_request() -> Vec<Item> {
    [QUERY_OPERATIONS, QUERY_OBJECTS, QUERY_SERVER_INFORMATION]
        .into_iter()
        .map(|f| Item::new(tag::QUERY_FUNCTION, Value::Enumeration(f)))
        .collect()
}

/// The Query Functions a Query request asks for.
pub fn query_functions(payload: &Item) -> Vec<u32> {
    payload
        .children_tagged(tag::QUERY_FUNCTION)
        .filter_map(|f| match f.value {
            Value::Enumeration(v) => Some(v),
            _ => None,
        })
        .collect()
}

/// What a server says of itself in a Query answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryAnswer {
    /// The operations it supports.
    pub operations: Vec<Operation>,
    /// The object types it supports.
    pub object_types: Vec<ObjectType>,
    /// Its Vendor Identification.
    pub vendor: Option<String>,
}

impl QueryAnswer {
    /// The response payload answering the given Query Functions.
    pub fn to_payload(&self, functions: &[u32]) -> Vec<Item> {
        let mut out = Vec::new();
        if functions.contains(&QUERY_OPERATIONS) {
            out.extend(
                self.operations
                    .iter()
                    .map(|o| Item::new(tag::OPERATION, Value::Enumeration(o.code()))),
            );
        }
        if functions.contains(&QUERY_OBJECTS) {
            out.extend(
                self.object_types
                    .iter()
                    .map(|o| Item::new(tag::OBJECT_TYPE, Value::Enumeration(o.code()))),
            );
        }
        if functions.contains(&QUERY_SERVER_INFORMATION)
            && let Some(v) = &self.vendor
        {
            out.push(Item::new(
                tag::VENDOR_IDENTIFICATION,
                Value::TextString(v.clone()),
            ));
        }
        out
    }

    /// Reads a Query response payload.
    pub fn from_payload(payload: &Item) -> Self {
        let enums = |t| {
            payload
                .children_tagged(t)
                .filter_map(|i| match i.value {
                    Value::Enumeration(v) => Some(v),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        Self {
            operations: enums(tag::OPERATION)
                .into_iter()
                .map(Operation::from_code)
                .collect(),
            object_types: enums(tag::OBJECT_TYPE)
                .into_iter()
                .map(ObjectType::from_code)
                .collect(),
            vendor: payload.text(tag::VENDOR_IDENTIFICATION).map(str::to_owned),
        }
    }
}

/// The attributes of a key that okms-rs reads or matches on (KMIP 1.x Template-Attribute or
/// Attribute list, or KMIP 2.0 Attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyAttributes {
    /// Object Type (Locate filters on it).
    pub object_type: Option<ObjectType>,
    /// Cryptographic Algorithm.
    pub algorithm: Option<u32>,
    /// Cryptographic Length in bits.
    pub length: Option<i32>,
    /// Cryptographic Usage Mask.
    pub usage_mask: Option<i32>,
    /// Name.
    pub name: Option<String>,
    /// Names of attributes given that okms-rs does not keep: a Locate on them matches nothing.
    pub unknown: Vec<String>,
}

impl KeyAttributes {
    fn set_named(&mut self, name: &str, value: &Item) {
        match (name, &value.value) {
            ("Object Type", Value::Enumeration(v)) => {
                self.object_type = Some(ObjectType::from_code(*v));
            }
            ("Cryptographic Algorithm", Value::Enumeration(v)) => self.algorithm = Some(*v),
            ("Cryptographic Length", Value::Integer(v)) => self.length = Some(*v),
            ("Cryptographic Usage Mask", Value::Integer(v)) => self.usage_mask = Some(*v),
            ("Name", Value::Structure(_)) => {
                self.name = value.text(tag::NAME_VALUE).map(str::to_owned);
            }
            _ => self.unknown.push(name.to_owned()),
        }
    }

    fn set_tagged(&mut self, item: &Item) {
        match (item.tag, &item.value) {
            (tag::OBJECT_TYPE, Value::Enumeration(v)) => {
                self.object_type = Some(ObjectType::from_code(*v));
            }
            (tag::CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(v)) => self.algorithm = Some(*v),
            (tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(v)) => self.length = Some(*v),
            (tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(v)) => self.usage_mask = Some(*v),
            (tag::NAME, Value::Structure(_)) => {
                self.name = item.text(tag::NAME_VALUE).map(str::to_owned);
            }
            (t, _) => self.unknown.push(format!("tag 0x{t:06x}")),
        }
    }

    /// Reads the attributes of a Create or Locate request payload, in any of the three shapes.
    pub fn from_payload(payload: &Item) -> Result<Self> {
        let mut out = Self {
            object_type: payload
                .enumeration(tag::OBJECT_TYPE)
                .map(ObjectType::from_code),
            ..Self::default()
        };
        let holders = payload
            .children_tagged(tag::TEMPLATE_ATTRIBUTE)
            .flat_map(|t| t.children_tagged(tag::ATTRIBUTE));
        for attribute in payload.children_tagged(tag::ATTRIBUTE).chain(holders) {
            let (Some(name), Some(value)) = (
                attribute.text(tag::ATTRIBUTE_NAME),
                attribute.child(tag::ATTRIBUTE_VALUE),
            ) else {
                return Err(Error::Unexpected(
                    "an attribute without its name or value".into(),
                ));
            };
            out.set_named(name, value);
        }
        for attributes in payload.children_tagged(tag::ATTRIBUTES) {
            for item in attributes.children() {
                out.set_tagged(item);
            }
        }
        Ok(out)
    }

    /// The KMIP 1.x Template-Attribute holding these attributes (for a Create request).
    pub fn to_template(&self) -> Item {
        let attribute = |name: &str, value: Value| {
            Item::structure(
                tag::ATTRIBUTE,
                vec![
                    Item::new(tag::ATTRIBUTE_NAME, Value::TextString(name.to_owned())),
                    Item::new(tag::ATTRIBUTE_VALUE, value),
                ],
            )
        };
        let mut list = Vec::new();
        if let Some(a) = self.algorithm {
            list.push(attribute("Cryptographic Algorithm", Value::Enumeration(a)));
        }
        if let Some(l) = self.length {
            list.push(attribute("Cryptographic Length", Value::Integer(l)));
        }
        if let Some(m) = self.usage_mask {
            list.push(attribute("Cryptographic Usage Mask", Value::Integer(m)));
        }
        Item::structure(tag::TEMPLATE_ATTRIBUTE, list)
    }
}

/// A payload holding one Unique Identifier (Create, Destroy and Get requests and answers).
pub fn unique_identifier_payload(uid: &str) -> Vec<Item> {
    vec![Item::new(
        tag::UNIQUE_IDENTIFIER,
        Value::TextString(uid.to_owned()),
    )]
}

/// The Unique Identifier of a payload.
pub fn unique_identifier_of(payload: &Item) -> Option<&str> {
    payload.text(tag::UNIQUE_IDENTIFIER)
}

/// The Create response payload.
pub fn create_response(uid: &str) -> Vec<Item> {
    let mut out = vec![Item::new(
        tag::OBJECT_TYPE,
        Value::Enumeration(ObjectType::SymmetricKey.code()),
    )];
    out.extend(unique_identifier_payload(uid));
    out
}

/// The Locate response payload.
pub fn locate_response(uids: &[String]) -> Vec<Item> {
    uids.iter()
        .map(|u| Item::new(tag::UNIQUE_IDENTIFIER, Value::TextString(u.clone())))
        .collect()
}

/// The Get response payload of an AES key, its material in Raw format.
pub fn get_aes_response(uid: &str, material: &[u8]) -> Result<Vec<Item>> {
    let bits = i32::try_from(material.len() * 8)
        .map_err(|_| Error::Unexpected("key material too long".into()))?;
    let key_block = Item::structure(
        tag::KEY_BLOCK,
        vec![
            Item::new(tag::KEY_FORMAT_TYPE, Value::Enumeration(KEY_FORMAT_RAW)),
            Item::structure(
                tag::KEY_VALUE,
                vec![Item::new(
                    tag::KEY_MATERIAL,
                    Value::ByteString(material.to_vec()),
                )],
            ),
            Item::new(tag::CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(AES)),
            Item::new(tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(bits)),
        ],
    );
    Ok(vec![
        Item::new(
            tag::OBJECT_TYPE,
            Value::Enumeration(ObjectType::SymmetricKey.code()),
        ),
        Item::new(tag::UNIQUE_IDENTIFIER, Value::TextString(uid.to_owned())),
        Item::structure(tag::SYMMETRIC_KEY, vec![key_block]),
    ])
}

/// The raw key material of a Get response payload.
pub fn key_material_of(payload: &Item) -> Option<&[u8]> {
    payload
        .child(tag::SYMMETRIC_KEY)?
        .child(tag::KEY_BLOCK)?
        .child(tag::KEY_VALUE)?
        .bytes(tag::KEY_MATERIAL)
}
