//! RFC 7512 PKCS#11 URIs: `pkcs11:token=...;object=...;id=%01%02?pin-source=...`.

use crate::error::{Error, Result};
use crate::pin::Pin;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The PKCS#11 object class a URI asks for (`type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectType {
    /// `type=private`: a private key.
    Private,
    /// `type=public`: a public key.
    Public,
    /// `type=cert`: a certificate.
    Cert,
    /// `type=secret-key`: a secret (symmetric) key.
    SecretKey,
    /// `type=data`: a data object.
    Data,
}

impl ObjectType {
    /// The RFC 7512 name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ObjectType::Private => "private",
            ObjectType::Public => "public",
            ObjectType::Cert => "cert",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Data => "data",
        }
    }
}

/// A parsed PKCS#11 URI (RFC 7512).
///
/// Path attributes select the library, slot, token and object; query attributes say where
/// the module and PIN come from. Unknown path attributes and unknown non-vendor (`x-`)
/// query attributes are rejected with an error naming them, so a typo such as
/// `objet=` cannot silently match every key.
///
/// `Display` writes the URI back in a normalized form **without** `pin-value`, so a key URI
/// can be printed or logged; `Debug` redacts the PIN too.
#[derive(Clone, Debug, Default)]
pub struct Pkcs11Uri {
    /// `token=`: token label.
    pub token: Option<String>,
    /// `manufacturer=`: token manufacturer.
    pub manufacturer: Option<String>,
    /// `model=`: token model.
    pub model: Option<String>,
    /// `serial=`: token serial number.
    pub serial: Option<String>,
    /// `object=`: object label (CKA_LABEL).
    pub object: Option<String>,
    /// `id=`: object id (CKA_ID), raw bytes.
    pub id: Option<Vec<u8>>,
    /// `type=`: object class.
    pub object_type: Option<ObjectType>,
    /// `slot-id=`: slot number.
    pub slot_id: Option<u64>,
    /// `slot-description=`.
    pub slot_description: Option<String>,
    /// `slot-manufacturer=`.
    pub slot_manufacturer: Option<String>,
    /// `library-manufacturer=`.
    pub library_manufacturer: Option<String>,
    /// `library-description=`.
    pub library_description: Option<String>,
    /// `library-version=`: `MAJOR` or `MAJOR.MINOR`.
    pub library_version: Option<(u8, Option<u8>)>,
    /// `?pin-value=`: the PIN itself (never printed back).
    pub pin_value: Option<Pin>,
    /// `?pin-source=`: a file holding the PIN (`file:` URI or path).
    pub pin_source: Option<String>,
    /// `?module-name=`: a module name (recorded, not resolved by this crate).
    pub module_name: Option<String>,
    /// `?module-path=`: the PKCS#11 shared library.
    pub module_path: Option<PathBuf>,
}

// By hand because the PIN is a secret string, which has no `PartialEq`: it compares by its
// text here (not in constant time: URIs are compared in tests and to deduplicate, never to
// authenticate anyone; the token does that).
impl PartialEq for Pkcs11Uri {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        let same_pin = match (&self.pin_value, &other.pin_value) {
            (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
            (None, None) => true,
            _ => false,
        };
        same_pin
            && self.token == other.token
            && self.manufacturer == other.manufacturer
            && self.model == other.model
            && self.serial == other.serial
            && self.object == other.object
            && self.id == other.id
            && self.object_type == other.object_type
            && self.slot_id == other.slot_id
            && self.slot_description == other.slot_description
            && self.slot_manufacturer == other.slot_manufacturer
            && self.library_manufacturer == other.library_manufacturer
            && self.library_description == other.library_description
            && self.library_version == other.library_version
            && self.pin_source == other.pin_source
            && self.module_name == other.module_name
            && self.module_path == other.module_path
    }
}

impl Eq for Pkcs11Uri {}

const SCHEME: &str = "pkcs11:";

impl Pkcs11Uri {
    /// Parses a PKCS#11 URI.
    pub fn parse(input: &str) -> Result<Self> {
        let input = input.trim();
        let rest = match input.get(..SCHEME.len()) {
            Some(s) if s.eq_ignore_ascii_case(SCHEME) => &input[SCHEME.len()..],
            _ => {
                return Err(Error::uri(
                    "scheme",
                    "a PKCS#11 URI starts with \"pkcs11:\" (e.g. pkcs11:token=mytoken;object=mykey)",
                ));
            }
        };
        if rest.contains('#') {
            return Err(Error::uri(
                "syntax",
                "a PKCS#11 URI has no fragment; write '#' as %23 inside values",
            ));
        }
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri::default();
        for component in path.split(';').filter(|c| !c.is_empty()) {
            let (name, raw) = split_attr(component)?;
            uri.set_path_attr(name, raw)?;
        }
        for component in query.into_iter().flat_map(|q| q.split('&')) {
            if component.is_empty() {
                continue;
            }
            let (name, raw) = split_attr(component)?;
            uri.set_query_attr(name, raw)?;
        }
        if uri.pin_value.is_some() && uri.pin_source.is_some() {
            return Err(Error::uri(
                "pin-source",
                "give either pin-value or pin-source, not both",
            ));
        }
        Ok(uri)
    }

    fn set_path_attr(&mut self, name: &str, raw: &str) -> Result<()> {
        match name {
            "token" => set_once(&mut self.token, name, text(name, raw)?),
            "manufacturer" => set_once(&mut self.manufacturer, name, text(name, raw)?),
            "model" => set_once(&mut self.model, name, text(name, raw)?),
            "serial" => set_once(&mut self.serial, name, text(name, raw)?),
            "object" => set_once(&mut self.object, name, text(name, raw)?),
            "id" => set_once(&mut self.id, name, percent_decode(name, raw)?),
            "type" => {
                let t = match text(name, raw)?.as_str() {
                    "private" => ObjectType::Private,
                    "public" => ObjectType::Public,
                    "cert" => ObjectType::Cert,
                    "secret-key" => ObjectType::SecretKey,
                    "data" => ObjectType::Data,
                    other => {
                        return Err(Error::uri(
                            name,
                            format!(
                                "unknown object type {other:?}; use private, public, cert, secret-key or data"
                            ),
                        ));
                    }
                };
                set_once(&mut self.object_type, name, t)
            }
            "slot-id" => {
                let v = text(name, raw)?;
                let n = v
                    .parse::<u64>()
                    .ok()
                    .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        Error::uri(name, format!("{v:?} is not a decimal slot number"))
                    })?;
                set_once(&mut self.slot_id, name, n)
            }
            "slot-description" => set_once(&mut self.slot_description, name, text(name, raw)?),
            "slot-manufacturer" => set_once(&mut self.slot_manufacturer, name, text(name, raw)?),
            "library-manufacturer" => {
                set_once(&mut self.library_manufacturer, name, text(name, raw)?)
            }
            "library-description" => {
                set_once(&mut self.library_description, name, text(name, raw)?)
            }
            "library-version" => {
                let v = text(name, raw)?;
                let version = parse_version(&v).ok_or_else(|| {
                    Error::uri(
                        name,
                        format!("{v:?} is not MAJOR or MAJOR.MINOR (e.g. 2.6)"),
                    )
                })?;
                set_once(&mut self.library_version, name, version)
            }
            other => Err(Error::uri(
                other,
                "unknown path attribute; known: token, manufacturer, model, serial, object, id, type, slot-id, slot-description, slot-manufacturer, library-manufacturer, library-description, library-version (module and PIN attributes go after '?')",
            )),
        }
    }

    fn set_query_attr(&mut self, name: &str, raw: &str) -> Result<()> {
        match name {
            "pin-value" => {
                let pin = Pin::from(text(name, raw)?);
                set_once(&mut self.pin_value, name, pin)
            }
            "pin-source" => {
                let v = text(name, raw)?;
                pin_source_path(&v)?;
                set_once(&mut self.pin_source, name, v)
            }
            "module-name" => set_once(&mut self.module_name, name, text(name, raw)?),
            "module-path" => {
                let v = text(name, raw)?;
                if v.is_empty() {
                    return Err(Error::uri(name, "empty module path"));
                }
                set_once(&mut self.module_path, name, PathBuf::from(v))
            }
            // RFC 7512 reserves the x- prefix for vendor attributes, which we do not use.
            vendor if vendor.starts_with("x-") => Ok(()),
            "token" | "object" | "id" | "type" | "serial" | "model" | "manufacturer" => {
                Err(Error::uri(
                    name,
                    "this is a path attribute: put it before '?', separated by ';'",
                ))
            }
            other => Err(Error::uri(
                other,
                "unknown query attribute; known: pin-value, pin-source, module-name, module-path",
            )),
        }
    }

    /// The PIN the URI carries: `pin-value`, or the content of the `pin-source` file
    /// (without one trailing newline). `None` when the URI has neither; the caller then asks
    /// the user.
    pub fn pin(&self) -> Result<Option<Pin>> {
        if let Some(pin) = &self.pin_value {
            return Ok(Some(pin.clone()));
        }
        match &self.pin_source {
            Some(source) => Ok(Some(crate::pin::read_pin_file(&pin_source_path(source)?)?)),
            None => Ok(None),
        }
    }

    /// A copy without the query attributes that carry secrets or local paths to secrets
    /// (`pin-value`, `pin-source`).
    pub fn without_pin(&self) -> Self {
        Pkcs11Uri {
            pin_value: None,
            pin_source: None,
            ..self.clone()
        }
    }

    /// The object class to search for when a private key is wanted: `type=` absent or
    /// `private`; anything else is an error naming `type`.
    pub(crate) fn require_private(&self) -> Result<()> {
        match self.object_type {
            None | Some(ObjectType::Private) => Ok(()),
            Some(other) => Err(Error::uri(
                "type",
                format!(
                    "type={} cannot sign; point the URI at the private key (type=private or no type)",
                    other.as_str()
                ),
            )),
        }
    }
}

impl FromStr for Pkcs11Uri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Pkcs11Uri::parse(s)
    }
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut path: Vec<String> = Vec::new();
        let mut push = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                path.push(format!("{name}={}", encode(v.as_bytes(), false)));
            }
        };
        push("library-manufacturer", &self.library_manufacturer);
        push("library-description", &self.library_description);
        push("slot-manufacturer", &self.slot_manufacturer);
        push("slot-description", &self.slot_description);
        push("model", &self.model);
        push("manufacturer", &self.manufacturer);
        push("serial", &self.serial);
        push("token", &self.token);
        push("object", &self.object);
        if let Some((major, minor)) = self.library_version {
            path.push(match minor {
                Some(minor) => format!("library-version={major}.{minor}"),
                None => format!("library-version={major}"),
            });
        }
        if let Some(slot) = self.slot_id {
            path.push(format!("slot-id={slot}"));
        }
        if let Some(id) = &self.id {
            // Ids are binary: always percent-encode every byte, as p11tool does.
            let hex: String = id.iter().map(|b| format!("%{b:02X}")).collect();
            path.push(format!("id={hex}"));
        }
        if let Some(t) = self.object_type {
            path.push(format!("type={}", t.as_str()));
        }
        write!(f, "{SCHEME}{}", path.join(";"))?;
        let mut query: Vec<String> = Vec::new();
        if let Some(name) = &self.module_name {
            query.push(format!("module-name={}", encode(name.as_bytes(), true)));
        }
        if let Some(p) = &self.module_path {
            query.push(format!(
                "module-path={}",
                encode(p.to_string_lossy().as_bytes(), true)
            ));
        }
        if let Some(s) = &self.pin_source {
            query.push(format!("pin-source={}", encode(s.as_bytes(), true)));
        }
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

fn split_attr(component: &str) -> Result<(&str, &str)> {
    let (name, value) = component.split_once('=').ok_or_else(|| {
        // Never echo what may be a PIN typed without its '='.
        let shown = if component.starts_with("pin-value") {
            "pin-value"
        } else {
            component
        };
        Error::uri(
            shown,
            "expected NAME=VALUE (attributes are separated by ';' before '?' and by '&' after it)",
        )
    })?;
    if name.is_empty() {
        // The value is not shown: it could be a PIN.
        return Err(Error::uri(
            "syntax",
            "an attribute has no name (nothing before '=')",
        ));
    }
    Ok((name, value))
}

fn set_once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<()> {
    if slot.is_some() {
        return Err(Error::uri(name, "given more than once"));
    }
    *slot = Some(value);
    Ok(())
}

fn text(name: &str, raw: &str) -> Result<String> {
    let bytes = percent_decode(name, raw)?;
    String::from_utf8(bytes)
        .map_err(|_| Error::uri(name, "the percent-decoded value is not valid UTF-8"))
}

/// Decodes `%XX` escapes; every other character stands for itself.
pub(crate) fn percent_decode(name: &str, raw: &str) -> Result<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| hex_val(*b));
            let lo = bytes.get(i + 2).and_then(|b| hex_val(*b));
            match (hi, lo) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => {
                    let bad: String = if name == "pin-value" {
                        "(hidden)".to_owned()
                    } else {
                        raw[i..].chars().take(3).collect()
                    };
                    return Err(Error::uri(
                        name,
                        format!(
                            "bad percent escape {bad:?}: '%' must be followed by two hex digits (write '%' itself as %25)"
                        ),
                    ));
                }
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes all but RFC 3986 unreserved characters and the few RFC 7512 allows
/// unescaped in values (`/` only in query values).
fn encode(bytes: &[u8], query: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        let plain = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b':'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
            )
            || (query && b == b'/');
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_version(v: &str) -> Option<(u8, Option<u8>)> {
    let digits = |s: &str| -> Option<u8> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match v.split_once('.') {
        Some((a, b)) => Some((digits(a)?, Some(digits(b)?))),
        None => Some((digits(v)?, None)),
    }
}

/// Where a `pin-source` points: a `file:` URI or a plain path. Running a program
/// (`|command`, which some tools allow) is refused: this crate starts no processes.
fn pin_source_path(source: &str) -> Result<PathBuf> {
    if source.starts_with('|') {
        return Err(Error::uri(
            "pin-source",
            "running a program for the PIN is not supported; point pin-source at a file",
        ));
    }
    if let Some(rest) = source.strip_prefix("file:") {
        let path = match rest.strip_prefix("//") {
            Some(authority_and_path) => {
                let (host, path) = match authority_and_path.find('/') {
                    Some(i) => authority_and_path.split_at(i),
                    None => (authority_and_path, ""),
                };
                if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
                    return Err(Error::uri(
                        "pin-source",
                        format!("file URI names host {host:?}; only local files are supported"),
                    ));
                }
                path
            }
            None => rest,
        };
        if path.is_empty() {
            return Err(Error::uri("pin-source", "the file: URI has no path"));
        }
        // The value was percent-decoded once with the rest of the URI; decoding the inner
        // file: URI again would turn a literal '%' in a file name into an error.
        return Ok(PathBuf::from(path));
    }
    if source.is_empty() {
        return Err(Error::uri("pin-source", "empty PIN source"));
    }
    Ok(PathBuf::from(source))
}
