//! OVHcloud API endpoints: names, custom URLs, the v1/v2 path rule, the URN plate.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::{Error, Field, quote_value};

/// The named endpoints of OVHcloud's API libraries (go-ovh `Endpoints`, python-ovh `ENDPOINTS`).
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("ovh-eu", "https://eu.api.ovh.com/1.0"),
    ("ovh-ca", "https://ca.api.ovh.com/1.0"),
    ("ovh-us", "https://api.us.ovhcloud.com/1.0"),
    ("kimsufi-eu", "https://eu.api.kimsufi.com/1.0"),
    ("kimsufi-ca", "https://ca.api.kimsufi.com/1.0"),
    ("soyoustart-eu", "https://eu.api.soyoustart.com/1.0"),
    ("soyoustart-ca", "https://ca.api.soyoustart.com/1.0"),
];

/// OVHcloud's newer API hosts (go-ovh PR #96, python-ovh PR #148), known by URL only, with
/// their URN plate and OAuth2 token URL. The defaults stay the named endpoints until
/// OVHcloud's libraries switch theirs.
const NEW_API_HOSTS: &[(&str, Plate, &str)] = &[
    (
        "api.eu.ovhcloud.com",
        Plate::Eu,
        "https://auth.eu.ovhcloud.com/oauth2/token",
    ),
    (
        "api.ca.ovhcloud.com",
        Plate::Ca,
        "https://auth.ca.ovhcloud.com/oauth2/token",
    ),
];

/// The endpoint used when none is configured.
pub const DEFAULT_ENDPOINT: &str = "ovh-eu";

/// The region "plate" of IAM URNs (`urn:v1:{plate}:…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plate {
    /// Europe (`ovh-eu`, `kimsufi-eu`, `soyoustart-eu`).
    Eu,
    /// Canada (`ovh-ca`, `kimsufi-ca`, `soyoustart-ca`).
    Ca,
    /// United States (`ovh-us`).
    Us,
}

impl Plate {
    /// The plate as it appears in URNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Plate::Eu => "eu",
            Plate::Ca => "ca",
            Plate::Us => "us",
        }
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Plate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "eu" => Ok(Plate::Eu),
            "ca" => Ok(Plate::Ca),
            "us" => Ok(Plate::Us),
            _ => Err(Error::invalid(
                Field::Plate,
                format!("{} is not one of eu, ca, us", quote_value(s)),
            )),
        }
    }
}

/// An OVHcloud API endpoint: a known name or a custom base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    name: Option<&'static str>,
    /// Base URL without trailing slash, e.g. `https://eu.api.ovh.com/1.0`.
    base: String,
    scheme: String,
    /// `host[:port]` as written in the base URL.
    authority: String,
    plate: Option<Plate>,
}

impl Default for Endpoint {
    /// `ovh-eu` (a test checks this equals `Endpoint::from_name("ovh-eu")`).
    fn default() -> Self {
        Endpoint {
            name: Some(DEFAULT_ENDPOINT),
            base: "https://eu.api.ovh.com/1.0".into(),
            scheme: "https".into(),
            authority: "eu.api.ovh.com".into(),
            plate: Some(Plate::Eu),
        }
    }
}

impl Endpoint {
    /// An endpoint name (`ovh-eu`, …) or, when the text contains `/`, a base URL (as go-ovh).
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.contains('/') {
            Endpoint::from_url(s)
        } else {
            Endpoint::from_name(s)
        }
    }

    /// One of the names in [`ENDPOINTS`].
    pub fn from_name(name: &str) -> Result<Self, Error> {
        let Some((n, url)) = ENDPOINTS.iter().find(|(n, _)| *n == name) else {
            return Err(Error::UnknownEndpoint {
                name: name.to_string(),
                valid: ENDPOINTS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let mut e = Endpoint::from_url(url)?;
        e.name = Some(n);
        e.plate = Some(plate_of_name(n));
        Ok(e)
    }

    /// A custom base URL such as `https://eu.api.ovh.com/1.0` or `http://127.0.0.1:8080/1.0`.
    ///
    /// `https://` is required except for loopback hosts. A trailing `/` is refused (as go-ovh
    /// does) because paths are appended to the base verbatim.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        let parsed = check_url(url)?;
        if url.ends_with('/') {
            return Err(Error::InvalidUrl {
                url: url.to_string(),
                reason: "endpoint URL must not end with '/'; remove the trailing slash".into(),
            });
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::InvalidUrl {
                url: url.to_string(),
                reason: "endpoint URL must not have a query or fragment".into(),
            });
        }
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        let authority = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let plate = ENDPOINTS
            .iter()
            .find(|(_, u)| u.trim_end_matches("/1.0").ends_with(&format!("//{host}")))
            .map(|(n, _)| plate_of_name(n))
            .or_else(|| new_api_host(parsed.scheme(), &authority).map(|(_, p, _)| *p));
        Ok(Endpoint {
            name: None,
            base: url.to_string(),
            scheme: parsed.scheme().to_string(),
            authority,
            plate,
        })
    }

    /// The endpoint name, for named endpoints.
    pub fn name(&self) -> Option<&str> {
        self.name
    }

    /// The name for named endpoints, else the URL: the `ovh.conf` section holding its keys.
    pub fn config_section(&self) -> &str {
        self.name.unwrap_or(&self.base)
    }

    /// The base URL, without trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The URN plate, known for named endpoints and OVHcloud API hosts; `None` for other URLs.
    pub fn plate(&self) -> Option<Plate> {
        self.plate
    }

    /// Sets the plate (for custom URLs such as a local emulator).
    pub fn with_plate(mut self, plate: Plate) -> Self {
        self.plate = Some(plate);
        self
    }

    /// The full URL for an API path (starting with `/`, query included).
    ///
    /// As go-ovh and python-ovh do: when the base ends in `/1.0` and the path starts with
    /// `/v1/` or `/v2/`, the `/1.0` is dropped.
    pub fn url(&self, path_and_query: &str) -> String {
        let versioned = path_and_query.starts_with("/v1/") || path_and_query.starts_with("/v2/");
        match self.base.strip_suffix("/1.0") {
            Some(root) if versioned => format!("{root}{path_and_query}"),
            _ => format!("{}{path_and_query}", self.base),
        }
    }

    /// The OAuth2 token URL: from the table for `ovh-eu`/`ovh-ca`/`ovh-us` and the newer
    /// `api.{eu,ca}.ovhcloud.com` hosts, refused for kimsufi and soyoustart, and
    /// `{scheme}://{host}/auth/oauth2/token` for other custom URLs.
    pub fn oauth2_token_url(&self) -> Result<String, Error> {
        // As go-ovh, whose token table is keyed by base URL: a URL spelling out a named
        // endpoint gets that endpoint's token URL.
        let name = self.name.or_else(|| {
            ENDPOINTS
                .iter()
                .find(|(_, u)| *u == self.base)
                .map(|(n, _)| *n)
        });
        match name {
            Some("ovh-eu") => Ok("https://www.ovh.com/auth/oauth2/token".into()),
            Some("ovh-ca") => Ok("https://ca.ovh.com/auth/oauth2/token".into()),
            Some("ovh-us") => Ok("https://us.ovhcloud.com/auth/oauth2/token".into()),
            Some(other) => Err(Error::OAuth2NotSupported {
                endpoint: other.to_string(),
            }),
            None => match new_api_host(&self.scheme, &self.authority) {
                Some((_, _, token_url)) => Ok((*token_url).to_owned()),
                None => Ok(format!(
                    "{}://{}/auth/oauth2/token",
                    self.scheme, self.authority
                )),
            },
        }
    }
}

/// The row of [`NEW_API_HOSTS`] for an https URL on that host (default port only).
fn new_api_host(
    scheme: &str,
    authority: &str,
) -> Option<&'static (&'static str, Plate, &'static str)> {
    (scheme == "https")
        .then(|| NEW_API_HOSTS.iter().find(|(host, _, _)| *host == authority))
        .flatten()
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.config_section())
    }
}

impl FromStr for Endpoint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Endpoint::parse(s)
    }
}

fn plate_of_name(name: &str) -> Plate {
    if name == "ovh-us" {
        Plate::Us
    } else if name.ends_with("-ca") {
        Plate::Ca
    } else {
        Plate::Eu
    }
}

/// Parses an absolute URL and enforces "https, or http to loopback only".
pub(crate) fn check_url(url: &str) -> Result<url::Url, Error> {
    let parsed = url::Url::parse(url).map_err(|e| Error::InvalidUrl {
        url: url.to_string(),
        reason: format!("{e}; expected e.g. https://eu.api.ovh.com/1.0"),
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::InvalidUrl {
            url: "<redacted: contains credentials>".into(),
            reason: "URLs must not carry a user name or password".into(),
        });
    }
    let Some(host) = parsed.host() else {
        return Err(Error::InvalidUrl {
            url: url.to_string(),
            reason: "no host".into(),
        });
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&host) => Ok(parsed),
        "http" => Err(Error::InsecureUrl {
            url: url.to_string(),
        }),
        other => Err(Error::InvalidUrl {
            url: url.to_string(),
            reason: format!(
                "scheme {} is not supported; use https://",
                quote_value(other)
            ),
        }),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(a) => IpAddr::V4(*a).is_loopback(),
        url::Host::Ipv6(a) => IpAddr::V6(*a).is_loopback(),
    }
}
