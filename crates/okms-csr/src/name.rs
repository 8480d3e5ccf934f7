//! Distinguished names: RFC 4514 strings in and out, with checks that name the bad attribute.
// Parses untrusted input: no index or arithmetic that can panic (the lints RustCrypto uses).
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use crate::error::{Error, Result, quote_value};
use der::{
    Decode, Encode, Tag, Tagged,
    asn1::{Any, ObjectIdentifier},
};
use std::{fmt, str::FromStr};
use x509_cert::{
    attr::AttributeTypeAndValue,
    name::{Name, RdnSequence, RelativeDistinguishedName},
};

/// How an attribute's value is encoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    Printable,
    Ia5,
    Country,
}

struct AttrType {
    name: &'static str,
    aliases: &'static [&'static str],
    oid: ObjectIdentifier,
    kind: Kind,
    /// Upper bound from RFC 5280 Appendix A (in characters).
    max_len: usize,
}

const fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

const COMMON_NAME: AttrType = AttrType {
    name: "CN",
    aliases: &["commonName"],
    oid: oid("2.5.4.3"),
    kind: Kind::Utf8,
    max_len: 64,
};

const ATTRS: &[AttrType] = &[
    COMMON_NAME,
    AttrType {
        name: "SN",
        aliases: &["surname"],
        oid: oid("2.5.4.4"),
        kind: Kind::Utf8,
        max_len: 40,
    },
    AttrType {
        name: "serialNumber",
        aliases: &[],
        oid: oid("2.5.4.5"),
        kind: Kind::Printable,
        max_len: 64,
    },
    AttrType {
        name: "C",
        aliases: &["countryName"],
        oid: oid("2.5.4.6"),
        kind: Kind::Country,
        max_len: 2,
    },
    AttrType {
        name: "L",
        aliases: &["localityName"],
        oid: oid("2.5.4.7"),
        kind: Kind::Utf8,
        max_len: 128,
    },
    AttrType {
        name: "ST",
        aliases: &["stateOrProvinceName", "S"],
        oid: oid("2.5.4.8"),
        kind: Kind::Utf8,
        max_len: 128,
    },
    AttrType {
        name: "STREET",
        aliases: &["streetAddress"],
        oid: oid("2.5.4.9"),
        kind: Kind::Utf8,
        max_len: 128,
    },
    AttrType {
        name: "O",
        aliases: &["organizationName"],
        oid: oid("2.5.4.10"),
        kind: Kind::Utf8,
        max_len: 64,
    },
    AttrType {
        name: "OU",
        aliases: &["organizationalUnitName"],
        oid: oid("2.5.4.11"),
        kind: Kind::Utf8,
        max_len: 64,
    },
    AttrType {
        name: "title",
        aliases: &[],
        oid: oid("2.5.4.12"),
        kind: Kind::Utf8,
        max_len: 64,
    },
    AttrType {
        name: "postalCode",
        aliases: &[],
        oid: oid("2.5.4.17"),
        kind: Kind::Utf8,
        max_len: 40,
    },
    AttrType {
        name: "GN",
        aliases: &["givenName"],
        oid: oid("2.5.4.42"),
        kind: Kind::Utf8,
        max_len: 64,
    },
    AttrType {
        name: "initials",
        aliases: &[],
        oid: oid("2.5.4.43"),
        kind: Kind::Utf8,
        max_len: 64,
    },
    AttrType {
        name: "generationQualifier",
        aliases: &[],
        oid: oid("2.5.4.44"),
        kind: Kind::Utf8,
        max_len: 64,
    },
    AttrType {
        name: "dnQualifier",
        aliases: &[],
        oid: oid("2.5.4.46"),
        kind: Kind::Printable,
        max_len: 64,
    },
    AttrType {
        name: "pseudonym",
        aliases: &[],
        oid: oid("2.5.4.65"),
        kind: Kind::Utf8,
        max_len: 128,
    },
    AttrType {
        name: "UID",
        aliases: &["userId"],
        oid: oid("0.9.2342.19200300.100.1.1"),
        kind: Kind::Utf8,
        max_len: 256,
    },
    AttrType {
        name: "DC",
        aliases: &["domainComponent"],
        oid: oid("0.9.2342.19200300.100.1.25"),
        kind: Kind::Ia5,
        max_len: 63,
    },
    AttrType {
        name: "emailAddress",
        aliases: &["E", "email"],
        oid: oid("1.2.840.113549.1.9.1"),
        kind: Kind::Ia5,
        max_len: 255,
    },
];

const KNOWN: &str = "CN, O, OU, C, L, ST, STREET, DC, UID, emailAddress, serialNumber, title, GN, SN or a dotted OID";

/// An X.509 distinguished name, written and read as an RFC 4514 string such as
/// `CN=app1,O=Example,C=FR` (most specific attribute first, as OpenSSL's `-nameopt RFC2253`).
///
/// Parsing checks each attribute and names the bad one: known types (CN, O, OU, C, L, ST,
/// STREET, DC, UID, emailAddress, serialNumber, title, GN, SN, ...) or dotted OIDs; no empty
/// values; RFC 5280 length limits; `C` a two-letter upper-case code. A name is never empty:
/// OKMS and most CAs expect at least a CN, so an empty subject is an error even when SANs are
/// requested.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinguishedName(pub(crate) Name);

impl DistinguishedName {
    /// A name with only a common name, e.g. `CN=app1`.
    pub fn common_name(cn: &str) -> Result<Self> {
        let value = parse_value("CN", cn.as_bytes())?;
        let atv = make_atv("CN", &COMMON_NAME, value)?;
        from_rdns(vec![vec![atv]])
    }

    pub(crate) fn as_name(&self) -> &Name {
        &self.0
    }
}

impl FromStr for DistinguishedName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if s.trim().is_empty() {
            return Err(Error::subject(
                "the subject is empty; give at least a common name, e.g. CN=app1",
            ));
        }
        let mut rdns = Vec::new();
        for rdn in split_unescaped(s.as_bytes(), b',') {
            let mut atvs = Vec::new();
            for atv in split_unescaped(rdn, b'+') {
                atvs.push(parse_atv(atv)?);
            }
            rdns.push(atvs);
        }
        // RFC 4514 writes the most specific RDN first; DER stores it last.
        rdns.reverse();
        from_rdns(rdns)
    }
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_name(&self.0))
    }
}

fn from_rdns(rdns: Vec<Vec<AttributeTypeAndValue>>) -> Result<DistinguishedName> {
    let mut seq = RdnSequence::default();
    for atvs in rdns {
        let mut rdn = RelativeDistinguishedName::default();
        for atv in atvs {
            rdn.insert(atv).map_err(|e| {
                Error::subject(format!("an attribute appears twice in one RDN: {e}"))
            })?;
        }
        seq.push(rdn);
    }
    // Name has no public constructor from an RdnSequence; both share one DER encoding.
    let der = seq
        .to_der()
        .map_err(|e| Error::subject(format!("cannot encode the subject: {e}")))?;
    let name = Name::from_der(&der)
        .map_err(|e| Error::subject(format!("cannot encode the subject: {e}")))?;
    Ok(DistinguishedName(name))
}

/// Splits on `sep` where it is not escaped by a backslash.
fn split_unescaped(s: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut escaped = false;
    s.split(|&b| {
        let split = !escaped && b == sep;
        escaped = !escaped && b == b'\\';
        split
    })
    .collect()
}

fn lookup(key: &str) -> Option<&'static AttrType> {
    ATTRS.iter().find(|a| {
        a.name.eq_ignore_ascii_case(key) || a.aliases.iter().any(|x| x.eq_ignore_ascii_case(key))
    })
}

fn parse_atv(s: &[u8]) -> Result<AttributeTypeAndValue> {
    let text = String::from_utf8_lossy(s);
    let mut halves = s.splitn(2, |b| *b == b'=');
    let (Some(key), Some(raw)) = (halves.next(), halves.next()) else {
        return Err(Error::subject(format!(
            "{} is not of the form TYPE=value (e.g. CN=app1)",
            quote_value(text.trim())
        )));
    };
    let key = std::str::from_utf8(key)
        .map_err(|_| Error::subject("an attribute type is not valid UTF-8"))?
        .trim();
    if key.is_empty() {
        return Err(Error::subject(format!(
            "{} has no attribute type before '='",
            quote_value(text.trim())
        )));
    }
    // A dotted OID of a known type (2.5.4.6 is C) gets that type's checks and string kind, so
    // it cannot bypass them and the name prints back (as C=...) to the same DER.
    let known = lookup(key).or_else(|| {
        let oid = ObjectIdentifier::new(key).ok()?;
        ATTRS.iter().find(|a| a.oid == oid)
    });
    if let Some(attr) = known {
        let trimmed = trim_unescaped(raw);
        if trimmed.first() == Some(&b'#') {
            return Err(Error::subject_attribute(
                key,
                format!(
                    "attribute {key}: hex-encoded (#...) values are only accepted for dotted OID types; escape a leading '#' as \\#"
                ),
            ));
        }
        let value = parse_value(key, raw)?;
        return make_atv(key, attr, value);
    }
    let oid = ObjectIdentifier::new(key).map_err(|_| {
        Error::subject(format!(
            "unknown attribute type {}; use {KNOWN}",
            quote_value(key)
        ))
    })?;
    let trimmed = trim_unescaped(raw);
    if let Some(hex) = trimmed.strip_prefix(b"#") {
        let bytes = decode_hex(hex).ok_or_else(|| {
            Error::subject_attribute(
                key,
                format!("attribute {key}: the value after '#' is not valid hex"),
            )
        })?;
        let value = Any::from_der(&bytes).map_err(|e| {
            Error::subject_attribute(
                key,
                format!("attribute {key}: the #hex value is not DER: {e}"),
            )
        })?;
        return Ok(AttributeTypeAndValue { oid, value });
    }
    let value = parse_value(key, raw)?;
    let generic = AttrType {
        name: "",
        aliases: &[],
        oid,
        kind: Kind::Utf8,
        max_len: usize::MAX,
    };
    make_atv(key, &generic, value)
}

/// Removes unescaped leading and trailing spaces (users write `CN=a, O=b`).
fn trim_unescaped(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| *b != b' ').unwrap_or(s.len());
    let mut rest = s.get(start..).unwrap_or_default();
    while let Some((&b' ', before)) = rest.split_last() {
        // A space preceded by an odd number of backslashes is escaped and stays.
        let backslashes = before.iter().rev().take_while(|b| **b == b'\\').count();
        if !backslashes.is_multiple_of(2) {
            break;
        }
        rest = before;
    }
    rest
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The byte two hex digits spell, high digit first.
fn hex_pair(high: u8, low: u8) -> Option<u8> {
    hex_digit(high)?
        .checked_mul(16)?
        .checked_add(hex_digit(low)?)
}

fn decode_hex(s: &[u8]) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => hex_pair(*high, *low),
            _ => None,
        })
        .collect()
}

/// Undoes RFC 4514 escaping: `\,` and friends, and `\XX` hex pairs.
fn parse_value(key: &str, raw: &[u8]) -> Result<String> {
    let s = trim_unescaped(raw);
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    while let Some((&b, tail)) = rest.split_first() {
        if b != b'\\' {
            out.push(b);
            rest = tail;
            continue;
        }
        let Some(&next) = tail.first() else {
            return Err(Error::subject_attribute(
                key,
                format!("attribute {key}: the value ends with a lone backslash"),
            ));
        };
        if let Some(byte) = tail.get(1).and_then(|&low| hex_pair(next, low)) {
            out.push(byte);
            rest = tail.get(2..).unwrap_or_default();
        } else if b" \"#+,;<=>\\".contains(&next) {
            out.push(next);
            rest = tail.get(1..).unwrap_or_default();
        } else {
            return Err(Error::subject_attribute(
                key,
                format!("attribute {key}: invalid escape \"\\{}\"", char::from(next)),
            ));
        }
    }
    let value = String::from_utf8(out).map_err(|_| {
        Error::subject_attribute(
            key,
            format!("attribute {key}: the value is not valid UTF-8"),
        )
    })?;
    if value.is_empty() {
        return Err(Error::subject_attribute(
            key,
            format!("attribute {key} has an empty value"),
        ));
    }
    Ok(value)
}

fn printable_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c)
}

fn make_atv(key: &str, attr: &AttrType, value: String) -> Result<AttributeTypeAndValue> {
    let chars = value.chars().count();
    if chars > attr.max_len && attr.kind != Kind::Country {
        return Err(Error::subject_attribute(
            key,
            format!(
                "attribute {key} is {chars} characters long; the limit is {}",
                attr.max_len
            ),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(Error::subject_attribute(
            key,
            format!("attribute {key} contains a control character"),
        ));
    }
    let tag = match attr.kind {
        Kind::Utf8 => Tag::Utf8String,
        Kind::Country => {
            if !(value.len() == 2 && value.chars().all(|c| c.is_ascii_uppercase())) {
                return Err(Error::subject_attribute(
                    key,
                    format!(
                        "attribute {key}=\"{value}\" must be a two-letter upper-case ISO 3166 country code, e.g. C=FR"
                    ),
                ));
            }
            Tag::PrintableString
        }
        Kind::Printable => {
            if let Some(c) = value.chars().find(|c| !printable_ok(*c)) {
                return Err(Error::subject_attribute(
                    key,
                    format!("attribute {key} contains {c:?}, which a PrintableString cannot hold"),
                ));
            }
            Tag::PrintableString
        }
        Kind::Ia5 => {
            if !value.is_ascii() {
                return Err(Error::subject_attribute(
                    key,
                    format!("attribute {key} must be ASCII"),
                ));
            }
            Tag::Ia5String
        }
    };
    let value = Any::new(tag, value.into_bytes())
        .map_err(|e| Error::subject_attribute(key, format!("attribute {key}: {e}")))?;
    Ok(AttributeTypeAndValue {
        oid: attr.oid,
        value,
    })
}

/// RFC 4514 text for any name, including ones we did not write: unknown types as dotted
/// OIDs, undecodable values as `#hex` DER.
pub(crate) fn format_name(name: &Name) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| rdn.iter().map(format_atv).collect::<Vec<_>>().join("+"))
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn string_value(value: &Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            std::str::from_utf8(value.value()).ok().map(str::to_string)
        }
        // T.61 in practice carries Latin-1.
        Tag::TeletexString => Some(value.value().iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = value
                .value()
                .chunks(2)
                .map(|c| {
                    let byte = |i| c.get(i).copied().unwrap_or(0);
                    u16::from_be_bytes([byte(0), byte(1)])
                })
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn format_atv(atv: &AttributeTypeAndValue) -> String {
    let known = ATTRS.iter().find(|a| a.oid == atv.oid);
    match (known, string_value(&atv.value)) {
        (Some(attr), Some(v)) => format!("{}={}", attr.name, escape_value(&v)),
        // RFC 4514 2.4: a type written as a dotted OID takes its value as #hex DER.
        _ => {
            let der = atv.value.to_der().unwrap_or_default();
            format!("{}=#{}", atv.oid, crate::public_key::hex_lower(&der))
        }
    }
}

fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}
