//! Subject alternative names requested in a CSR.
// Parses untrusted input: no index or arithmetic that can panic (the lints RustCrypto uses).
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use crate::error::{Error, Result, quote_value};
use der::asn1::{Ia5String, OctetString};
use std::{fmt, net::IpAddr, str::FromStr};
use x509_cert::ext::pkix::name::GeneralName;

/// One subject alternative name, written `dns:NAME`, `ip:ADDR`, `email:ADDR` or `uri:URI`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectAltName {
    /// A DNS host name (`dns:app1.example.com`).
    Dns(String),
    /// An IPv4 or IPv6 address (`ip:192.0.2.1`).
    Ip(IpAddr),
    /// An e-mail address (`email:ops@example.com`).
    Email(String),
    /// A URI (`uri:https://example.com/app1`).
    Uri(String),
}

impl FromStr for SubjectAltName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let (kind, value) = s.split_once(':').ok_or_else(|| {
            Error::InvalidSan(format!(
                "{} has no type prefix; write dns:NAME, ip:ADDR, email:ADDR or uri:URI",
                quote_value(s)
            ))
        })?;
        let value = value.trim();
        if value.is_empty() {
            return Err(Error::InvalidSan(format!(
                "{} has an empty value",
                quote_value(s)
            )));
        }
        let san = match kind.trim().to_ascii_lowercase().as_str() {
            "dns" => SubjectAltName::Dns(value.to_string()),
            "ip" => SubjectAltName::Ip(value.parse().map_err(|_| {
                Error::InvalidSan(format!(
                    "ip:{} is not an IPv4 or IPv6 address",
                    quote_value(value)
                ))
            })?),
            "email" => SubjectAltName::Email(value.to_string()),
            "uri" => SubjectAltName::Uri(value.to_string()),
            other => {
                return Err(Error::InvalidSan(format!(
                    "unknown type {} in {}; use dns:, ip:, email: or uri:",
                    quote_value(other),
                    quote_value(s)
                )));
            }
        };
        san.validate()?;
        Ok(san)
    }
}

impl fmt::Display for SubjectAltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectAltName::Dns(v) => write!(f, "dns:{v}"),
            SubjectAltName::Ip(v) => write!(f, "ip:{v}"),
            SubjectAltName::Email(v) => write!(f, "email:{v}"),
            SubjectAltName::Uri(v) => write!(f, "uri:{v}"),
        }
    }
}

fn dns_ok(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl SubjectAltName {
    /// Checks the value is well-formed for its type (variants built directly skip `FromStr`).
    pub(crate) fn validate(&self) -> Result<()> {
        match self {
            SubjectAltName::Dns(v) if !dns_ok(v) => Err(Error::InvalidSan(format!(
                "dns:{} is not a valid DNS name (ASCII letters, digits, '-' in dot-separated labels; use punycode for IDNs)",
                quote_value(v)
            ))),
            SubjectAltName::Email(v) => {
                let ok = v.is_ascii()
                    && !v.chars().any(|c| c.is_whitespace() || c.is_control())
                    && v.split_once('@')
                        .is_some_and(|(l, d)| !l.is_empty() && dns_ok(d));
                if ok {
                    Ok(())
                } else {
                    Err(Error::InvalidSan(format!(
                        "email:{} is not a valid e-mail address (local@domain, ASCII)",
                        quote_value(v)
                    )))
                }
            }
            SubjectAltName::Uri(v) => {
                let scheme_ok = v.split_once(':').is_some_and(|(scheme, rest)| {
                    !rest.is_empty()
                        && scheme
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_alphabetic())
                        && scheme
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                });
                if scheme_ok
                    && v.is_ascii()
                    && !v.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    Ok(())
                } else {
                    Err(Error::InvalidSan(format!(
                        "uri:{} is not an absolute ASCII URI (scheme:rest)",
                        quote_value(v)
                    )))
                }
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn to_general_name(&self) -> Result<GeneralName> {
        self.validate()?;
        let ia5 =
            |v: &str| Ia5String::new(v).map_err(|e| Error::InvalidSan(format!("{self}: {e}")));
        Ok(match self {
            SubjectAltName::Dns(v) => GeneralName::DnsName(ia5(v)?),
            SubjectAltName::Email(v) => GeneralName::Rfc822Name(ia5(v)?),
            SubjectAltName::Uri(v) => GeneralName::UniformResourceIdentifier(ia5(v)?),
            SubjectAltName::Ip(ip) => {
                let bytes = match ip {
                    IpAddr::V4(a) => a.octets().to_vec(),
                    IpAddr::V6(a) => a.octets().to_vec(),
                };
                GeneralName::IpAddress(
                    OctetString::new(bytes)
                        .map_err(|e| Error::InvalidSan(format!("{self}: {e}")))?,
                )
            }
        })
    }

    /// The SAN for a general name, or `None` for types this crate does not model and for
    /// values it would refuse from the user (a CSR or certificate may carry anything, e.g.
    /// control characters): what `sans()` returns prints and parses back to itself.
    pub(crate) fn from_general_name(gn: &GeneralName) -> Option<Self> {
        let san = Self::from_general_name_unchecked(gn)?;
        san.validate().is_ok().then_some(san)
    }

    fn from_general_name_unchecked(gn: &GeneralName) -> Option<Self> {
        match gn {
            GeneralName::DnsName(v) => Some(SubjectAltName::Dns(v.to_string())),
            GeneralName::Rfc822Name(v) => Some(SubjectAltName::Email(v.to_string())),
            GeneralName::UniformResourceIdentifier(v) => Some(SubjectAltName::Uri(v.to_string())),
            GeneralName::IpAddress(v) => {
                let b = v.as_bytes();
                if let Ok(a) = <[u8; 4]>::try_from(b) {
                    Some(SubjectAltName::Ip(IpAddr::from(a)))
                } else if let Ok(a) = <[u8; 16]>::try_from(b) {
                    Some(SubjectAltName::Ip(IpAddr::from(a)))
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

/// Display text for any general name, including types we do not model.
pub(crate) fn describe_general_name(gn: &GeneralName) -> String {
    if let Some(san) = SubjectAltName::from_general_name(gn) {
        return san.to_string();
    }
    if let Some(san) = SubjectAltName::from_general_name_unchecked(gn) {
        // Refused by validate(): shown quoted and escaped, never raw.
        let (kind, value) = san.to_string().split_once(':').map_or_else(
            || (String::new(), String::new()),
            |(k, v)| (k.to_string(), v.to_string()),
        );
        return format!("{kind}:{value:?} (invalid)");
    }
    match gn {
        GeneralName::OtherName(o) => {
            let text = o
                .value
                .decode_as::<der::asn1::Utf8StringRef<'_>>()
                .map(|s| s.as_str().escape_default().to_string())
                .unwrap_or_else(|_| "<non-UTF8 value>".to_string());
            format!("othername:{};{}", o.type_id, text)
        }
        GeneralName::DirectoryName(n) => format!("dirname:{}", crate::name::format_name(n)),
        GeneralName::RegisteredId(oid) => format!("rid:{oid}"),
        GeneralName::IpAddress(_) => "ip:<malformed>".to_string(),
        _ => "unsupported general name".to_string(),
    }
}
