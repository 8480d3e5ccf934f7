//! IAM identity URNs: builders and the grammar check (ovh/manager `decodeIdentities.ts`).

use std::fmt;
use std::str::FromStr;

use crate::endpoint::Plate;
use crate::error::Error;

/// The identity types the Control Panel knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    /// The account root (`…:identity:account:{nic}`).
    Account,
    /// A local user (`…:identity:user:{nic}/{login}`).
    User,
    /// A user group (`…:identity:group:{nic}/{group}`).
    Group,
    /// A service account (`…:identity:credential:{nic}/oauth2-{clientId}`).
    Credential,
}

/// A validated identity URN, e.g. `urn:v1:eu:identity:user:xx1111-ovh/john.smith`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityUrn(String);

impl IdentityUrn {
    /// The account root identity (not restricted by IAM policies).
    pub fn root_account(plate: Plate, nic: &str) -> Result<Self, Error> {
        check_nic(nic)?;
        IdentityUrn::parse(&format!("urn:v1:{plate}:identity:account:{nic}"))
    }

    /// A local user of the account.
    pub fn user(plate: Plate, nic: &str, login: &str) -> Result<Self, Error> {
        check_nic(nic)?;
        check_suffix("user login", login)?;
        IdentityUrn::parse(&format!("urn:v1:{plate}:identity:user:{nic}/{login}"))
    }

    /// A user group of the account.
    pub fn group(plate: Plate, nic: &str, group: &str) -> Result<Self, Error> {
        check_nic(nic)?;
        check_suffix("group name", group)?;
        IdentityUrn::parse(&format!("urn:v1:{plate}:identity:group:{nic}/{group}"))
    }

    /// A service account (OAuth2 client) of the account.
    pub fn service_account(plate: Plate, nic: &str, client_id: &str) -> Result<Self, Error> {
        check_nic(nic)?;
        check_suffix("client ID", client_id)?;
        IdentityUrn::parse(&format!(
            "urn:v1:{plate}:identity:credential:{nic}/oauth2-{client_id}"
        ))
    }

    /// Validates a URN against the grammar
    /// `^urn:v(\d):(eu|ca|us|labeu):([a-z]+):([a-z]+):([a-z]{2}\d{1,6}-ovh)\/?(.+?)?$` (case-insensitive).
    ///
    /// One deliberate tightening: text after the NIC must follow a `/`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        validate_urn(s)?;
        Ok(IdentityUrn(s.to_string()))
    }

    /// The URN text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URN text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The identity type, when it is one of the four known ones.
    pub fn kind(&self) -> Option<IdentityKind> {
        let kind = self.0.split(':').nth(4)?.to_ascii_lowercase();
        match kind.as_str() {
            "account" => Some(IdentityKind::Account),
            "user" => Some(IdentityKind::User),
            "group" => Some(IdentityKind::Group),
            "credential" => Some(IdentityKind::Credential),
            _ => None,
        }
    }
}

impl fmt::Display for IdentityUrn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IdentityUrn {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        IdentityUrn::parse(s)
    }
}

impl AsRef<str> for IdentityUrn {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<IdentityUrn> for String {
    fn from(u: IdentityUrn) -> String {
        u.0
    }
}

/// Checks a URN against the grammar (see [`IdentityUrn::parse`]).
pub fn validate_urn(s: &str) -> Result<(), Error> {
    let bad = |reason: &str| Error::InvalidField {
        field: "identityURNs".into(),
        reason: format!(
            "{s:?} is not an identity URN: {reason}; expected e.g. urn:v1:eu:identity:user:xx1111-ovh/john.smith"
        ),
    };
    if s.contains(['\n', '\r']) {
        return Err(bad("it contains a line break"));
    }
    let mut parts = s.splitn(6, ':');
    let urn = parts.next().unwrap_or_default();
    let version = parts.next().unwrap_or_default();
    let plate = parts.next().unwrap_or_default();
    let domain = parts.next().unwrap_or_default();
    let kind = parts.next().unwrap_or_default();
    let Some(rest) = parts.next() else {
        return Err(bad("it has fewer than six ':'-separated parts"));
    };
    if !urn.eq_ignore_ascii_case("urn") {
        return Err(bad("it must start with \"urn:\""));
    }
    let vb = version.as_bytes();
    if !(vb.len() == 2 && (vb[0] == b'v' || vb[0] == b'V') && vb[1].is_ascii_digit()) {
        return Err(bad("the version must be v and one digit (v1)"));
    }
    if !["eu", "ca", "us", "labeu"]
        .iter()
        .any(|p| p.eq_ignore_ascii_case(plate))
    {
        return Err(bad("the region must be eu, ca, us or labeu"));
    }
    if !is_letters(domain) || !is_letters(kind) {
        return Err(bad(
            "the third and fourth parts must be letters (identity:user)",
        ));
    }
    let (nic, suffix) = match rest.split_once('/') {
        Some((nic, suffix)) => (nic, Some(suffix)),
        None => (rest, None),
    };
    if !is_nic(nic) {
        return Err(bad(
            "the account must be two letters, 1 to 6 digits and -ovh (xx1111-ovh)",
        ));
    }
    if suffix == Some("") {
        return Err(bad("nothing follows the '/'"));
    }
    Ok(())
}

fn is_letters(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// `[a-z]{2}\d{1,6}-ovh`, case-insensitive.
pub(crate) fn is_nic(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(stem) = s
        .len()
        .checked_sub(4)
        .filter(|&n| s.is_char_boundary(n) && s[n..].eq_ignore_ascii_case("-ovh"))
        .map(|n| &b[..n])
    else {
        return false;
    };
    stem.len() >= 3
        && stem.len() <= 8
        && stem[..2].iter().all(u8::is_ascii_alphabetic)
        && stem[2..].iter().all(u8::is_ascii_digit)
}

fn check_nic(nic: &str) -> Result<(), Error> {
    if is_nic(nic) {
        Ok(())
    } else {
        Err(Error::invalid(
            "nic",
            format!(
                "{nic:?} is not an OVHcloud account ID (two letters, 1 to 6 digits, -ovh, e.g. xx1111-ovh)"
            ),
        ))
    }
}

fn check_suffix(what: &str, s: &str) -> Result<(), Error> {
    if s.is_empty() || !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(Error::invalid(
            what,
            format!("{s:?} must be non-empty printable ASCII without spaces"),
        ));
    }
    Ok(())
}
