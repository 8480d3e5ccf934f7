//! The KMIP operations the emulator answers, on an in-memory store of AES keys per domain:
//! Discover Versions, Query, Create, Get, Locate, Destroy. Key material never leaves the
//! store except in a Get answer to a holder of the same domain.

use std::collections::{BTreeMap, HashMap};

use okms_kmip::{
    Item, ObjectType, Operation, Outcome, ProtocolVersion, RequestItem, ResultReason,
    payload::{self, KeyAttributes, QueryAnswer},
    tag,
};
use uuid::Uuid;
use zeroize::Zeroizing;

/// The versions answered, preferred first: the messages used here are the same in all 1.x.
pub(super) const VERSIONS: [ProtocolVersion; 5] = [
    ProtocolVersion::new(1, 4),
    ProtocolVersion::new(1, 3),
    ProtocolVersion::new(1, 2),
    ProtocolVersion::new(1, 1),
    ProtocolVersion::new(1, 0),
];

const OPERATIONS: [Operation; 6] = [
    Operation::DiscoverVersions,
    Operation::Query,
    Operation::Create,
    Operation::Get,
    Operation::Locate,
    Operation::Destroy,
];

/// Keys held per domain; a domain's store is bounded so a client loop cannot eat memory.
const MAX_KEYS_PER_DOMAIN: usize = 10_000;

struct StoredKey {
    material: Zeroizing<Vec<u8>>,
    usage_mask: Option<i32>,
    name: Option<String>,
}

impl StoredKey {
    fn matches(&self, wanted: &KeyAttributes) -> bool {
        let bits = i32::try_from(self.material.len() * 8).ok();
        wanted.unknown.is_empty()
            && wanted
                .object_type
                .is_none_or(|t| t == ObjectType::SymmetricKey)
            && wanted.algorithm.is_none_or(|a| a == payload::AES)
            && wanted.length.is_none_or(|l| Some(l) == bits)
            && wanted.usage_mask.is_none_or(|m| Some(m) == self.usage_mask)
            && wanted
                .name
                .as_ref()
                .is_none_or(|n| Some(n) == self.name.as_ref())
    }
}

/// The keys of every domain, by Unique Identifier (ordered, so Locate answers are stable).
#[derive(Default)]
pub(super) struct KeyStore {
    domains: HashMap<Uuid, BTreeMap<String, StoredKey>>,
}

type Answer = std::result::Result<Vec<Item>, (ResultReason, String)>;

fn failure(reason: ResultReason, message: impl Into<String>) -> (ResultReason, String) {
    (reason, message.into())
}

fn uid_of(payload: &Item) -> std::result::Result<&str, (ResultReason, String)> {
    payload::unique_identifier_of(payload).ok_or_else(|| {
        failure(
            ResultReason::MissingData,
            "the Unique Identifier is required",
        )
    })
}

impl KeyStore {
    /// Answers one batch item for a holder of `domain`'s certificate.
    pub(super) fn answer(&mut self, domain: Uuid, item: &RequestItem) -> Outcome {
        let answer = match item.operation {
            Operation::DiscoverVersions => Ok(discover_versions(&item.payload)),
            Operation::Query => Ok(query(&item.payload)),
            Operation::Create => self.create(domain, &item.payload),
            Operation::Get => self.get(domain, &item.payload),
            Operation::Locate => self.locate(domain, &item.payload),
            Operation::Destroy => self.destroy(domain, &item.payload),
            other => Err(failure(
                ResultReason::OperationNotSupported,
                format!("the emulator does not implement {other}"),
            )),
        };
        match answer {
            Ok(items) => Outcome::Success(Item::structure(tag::RESPONSE_PAYLOAD, items)),
            Err((reason, message)) => Outcome::Failure { reason, message },
        }
    }

    fn create(&mut self, domain: Uuid, request: &Item) -> Answer {
        let attrs = KeyAttributes::from_payload(request)
            .map_err(|e| failure(ResultReason::InvalidMessage, e.to_string()))?;
        if attrs.object_type != Some(ObjectType::SymmetricKey) {
            return Err(failure(
                ResultReason::InvalidField,
                "only Symmetric Key objects can be created here",
            ));
        }
        if attrs.algorithm != Some(payload::AES) {
            return Err(failure(
                ResultReason::InvalidField,
                "the Cryptographic Algorithm must be AES",
            ));
        }
        let bits = match attrs.length {
            Some(bits @ (128 | 192 | 256)) => bits,
            _ => {
                return Err(failure(
                    ResultReason::InvalidField,
                    "the Cryptographic Length must be 128, 192 or 256",
                ));
            }
        };
        let keys = self.domains.entry(domain).or_default();
        if keys.len() >= MAX_KEYS_PER_DOMAIN {
            return Err(failure(
                ResultReason::GeneralFailure,
                format!("this emulated domain holds its maximum of {MAX_KEYS_PER_DOMAIN} keys"),
            ));
        }
        let mut material = Zeroizing::new(vec![0u8; bits.unsigned_abs() as usize / 8]);
        getrandom::fill(&mut material).map_err(|e| {
            failure(
                ResultReason::GeneralFailure,
                format!("the random generator failed: {e}"),
            )
        })?;
        let uid = Uuid::new_v4().to_string();
        keys.insert(
            uid.clone(),
            StoredKey {
                material,
                usage_mask: attrs.usage_mask,
                name: attrs.name,
            },
        );
        Ok(payload::create_response(&uid))
    }

    fn get(&self, domain: Uuid, request: &Item) -> Answer {
        let uid = uid_of(request)?;
        let key = self
            .domains
            .get(&domain)
            .and_then(|keys| keys.get(uid))
            .ok_or_else(|| not_found(uid))?;
        payload::get_aes_response(uid, &key.material)
            .map_err(|e| failure(ResultReason::GeneralFailure, e.to_string()))
    }

    fn locate(&self, domain: Uuid, request: &Item) -> Answer {
        let wanted = KeyAttributes::from_payload(request)
            .map_err(|e| failure(ResultReason::InvalidMessage, e.to_string()))?;
        let max = match request.integer(tag::MAXIMUM_ITEMS) {
            Some(n) if n > 0 => n.unsigned_abs() as usize,
            _ => usize::MAX,
        };
        let found: Vec<String> = self
            .domains
            .get(&domain)
            .into_iter()
            .flatten()
            .filter(|(_, key)| key.matches(&wanted))
            .map(|(uid, _)| uid.clone())
            .take(max)
            .collect();
        Ok(payload::locate_response(&found))
    }

    fn destroy(&mut self, domain: Uuid, request: &Item) -> Answer {
        let uid = uid_of(request)?;
        self.domains
            .get_mut(&domain)
            .and_then(|keys| keys.remove(uid))
            .ok_or_else(|| not_found(uid))?;
        Ok(payload::unique_identifier_payload(uid))
    }
}

fn not_found(uid: &str) -> (ResultReason, String) {
    failure(
        ResultReason::ItemNotFound,
        format!("no object {uid:?} in this domain"),
    )
}

/// The versions asked for that the emulator speaks (all of its own when none are asked).
fn discover_versions(request: &Item) -> Vec<Item> {
    let asked = payload::versions_of(request).unwrap_or_default();
    let answered: Vec<ProtocolVersion> = if asked.is_empty() {
        VERSIONS.to_vec()
    } else {
        asked.into_iter().filter(|v| VERSIONS.contains(v)).collect()
    };
    payload::versions_payload(&answered)
}

fn query(request: &Item) -> Vec<Item> {
    QueryAnswer {
        operations: OPERATIONS.to_vec(),
        object_types: vec![ObjectType::SymmetricKey],
        vendor: Some("okms-emulator".to_owned()),
    }
    .to_payload(&payload::query_functions(request))
}
