//! IAM identity URNs: builders and the structure check.
//!
//! Only the structure is checked: `urn:v1:{plate}:identity:{type}:{account}[/{name}]`
//! (case-insensitive, as the Control Panel's `decodeIdentities.ts` reads it). The account part
//! is not held to the usual NIC form `xx1111-ovh`: the API accepts others (OVHcloud's Terraform
//! acceptance test creates a credential for `urn:v1:eu:identity:user:badnic-ovh/user1` and
//! expects it READY), so refusing them here would lock such accounts out.

use std::fmt;
use std::str::FromStr;

use crate::endpoint::Plate;
use crate::error::{Error, Field, quote_value, quote_with};

/// The identity types an identity URN may name.
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

impl IdentityKind {
    fn from_urn_part(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "account" => Some(IdentityKind::Account),
            "user" => Some(IdentityKind::User),
            "group" => Some(IdentityKind::Group),
            "credential" => Some(IdentityKind::Credential),
            _ => None,
        }
    }

    /// What follows the account in a URN of this type, as the user should write it.
    fn name_placeholder(self) -> &'static str {
        match self {
            IdentityKind::Account => "",
            IdentityKind::User => "/{login}",
            IdentityKind::Group => "/{group}",
            IdentityKind::Credential => "/oauth2-{clientId}",
        }
    }
}

/// The plates the API uses in identity URNs (`labeu` is the Control Panel's lab plate).
const PLATES: [&str; 4] = ["eu", "ca", "us", "labeu"];
/// A service account's name in its URN is its OAuth2 client ID behind this prefix.
const SERVICE_ACCOUNT_PREFIX: &str = "oauth2-";
/// Longest identity URN the API takes, in characters (longer ones are refused with
/// `CredentialIdentityURNsInvalidSize`).
pub const MAX_URN_LEN: usize = 256;
const SHAPE: &str = "urn:v1:{region}:identity:{account|user|group|credential}:{account}[/{name}]";

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
        IdentityUrn::check_user_login(login)?;
        built(
            Field::UserLogin,
            format!("urn:v1:{plate}:identity:user:{nic}/{login}"),
        )
    }

    /// A user group of the account.
    pub fn group(plate: Plate, nic: &str, group: &str) -> Result<Self, Error> {
        check_nic(nic)?;
        IdentityUrn::check_group_name(group)?;
        built(
            Field::GroupName,
            format!("urn:v1:{plate}:identity:group:{nic}/{group}"),
        )
    }

    /// A service account (OAuth2 client) of the account.
    pub fn service_account(plate: Plate, nic: &str, client_id: &str) -> Result<Self, Error> {
        check_nic(nic)?;
        IdentityUrn::check_client_id(client_id)?;
        built(
            Field::ClientId,
            format!("urn:v1:{plate}:identity:credential:{nic}/{SERVICE_ACCOUNT_PREFIX}{client_id}"),
        )
    }

    /// Checks a user login as [`IdentityUrn::user`] takes it, before the account is known.
    pub fn check_user_login(login: &str) -> Result<(), Error> {
        check_builder_name(Field::UserLogin, login)
    }

    /// Checks a group name as [`IdentityUrn::group`] takes it, before the account is known.
    pub fn check_group_name(group: &str) -> Result<(), Error> {
        check_builder_name(Field::GroupName, group)
    }

    /// Checks an OAuth2 client ID as [`IdentityUrn::service_account`] takes it, before the
    /// account is known.
    pub fn check_client_id(client_id: &str) -> Result<(), Error> {
        check_builder_name(Field::ClientId, client_id)
    }

    /// Validates a URN against `urn:v1:{plate}:identity:{type}:{account}[/{name}]`
    /// (case-insensitive): plate `eu`, `ca`, `us` or `labeu`; type `account` (no name),
    /// `user`, `group` or `credential` (a name, `oauth2-{clientId}` for a service account);
    /// account and name non-empty printable ASCII without spaces (a URN has no spaces), the
    /// account without `:`, the name without `/`, `%` or `..` (the API puts names in paths:
    /// `/v1/me/identity/user/{login}`), the whole at most [`MAX_URN_LEN`] characters.
    ///
    /// The error names the part that is wrong.
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

    /// The identity type (always `Some` for a parsed URN).
    pub fn kind(&self) -> Option<IdentityKind> {
        IdentityKind::from_urn_part(self.0.split(':').nth(4)?)
    }

    /// The account part (`xx1111-ovh` in `…:user:xx1111-ovh/john.smith`).
    pub fn account(&self) -> &str {
        let rest = self.0.splitn(6, ':').nth(5).unwrap_or_default();
        rest.split_once('/').map_or(rest, |(account, _)| account)
    }

    /// The name after the account (`john.smith` in `…:user:xx1111-ovh/john.smith`), if any.
    pub fn name(&self) -> Option<&str> {
        let rest = self.0.splitn(6, ':').nth(5)?;
        rest.split_once('/').map(|(_, name)| name)
    }

    /// Whether the account part has the usual NIC form `[a-z]{2}\d{1,6}-ovh`.
    ///
    /// Other forms are valid (the API accepts them); a caller may mention it, as a typo in a
    /// NIC yields a URN that names nobody.
    pub fn has_usual_account(&self) -> bool {
        is_nic(self.account())
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

/// Checks a URN's structure (see [`IdentityUrn::parse`]); the error names the wrong part.
pub fn validate_urn(s: &str) -> Result<(), Error> {
    structure_problem(s).map_or(Ok(()), |problem| {
        Err(Error::InvalidField {
            field: Field::IdentityUrns,
            reason: format!(
                "{} is not an identity URN: {problem}; expected {SHAPE}, e.g. urn:v1:eu:identity:user:xx1111-ovh/john.smith",
                quote_value(s)
            ),
        })
    })
}

/// What is wrong with `s` as an identity URN, part by part, or `None`.
fn structure_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("it is empty".into());
    }
    let length = s.chars().count();
    if length > MAX_URN_LEN {
        return Some(format!(
            "it is {length} characters long; the API takes at most {MAX_URN_LEN}"
        ));
    }
    let mut parts = s.splitn(6, ':');
    let mut next = |what: &str| {
        parts
            .next()
            .ok_or_else(|| format!("the {what} is missing (too few ':'-separated parts)"))
    };
    let prefix = match next("prefix") {
        Ok(p) => p,
        Err(e) => return Some(e),
    };
    if !prefix.eq_ignore_ascii_case("urn") {
        return Some(format!("the prefix {} must be urn", quoted(prefix)));
    }
    let version = match next("version") {
        Ok(v) => v,
        Err(e) => return Some(e),
    };
    if !version.eq_ignore_ascii_case("v1") {
        return Some(format!("the version {} must be v1", quoted(version)));
    }
    let plate = match next("region") {
        Ok(p) => p,
        Err(e) => return Some(e),
    };
    if !PLATES.iter().any(|p| p.eq_ignore_ascii_case(plate)) {
        return Some(format!(
            "the region {} must be eu, ca, us or labeu",
            quoted(plate)
        ));
    }
    let namespace = match next("namespace (identity)") {
        Ok(n) => n,
        Err(e) => return Some(e),
    };
    if !namespace.eq_ignore_ascii_case("identity") {
        return Some(format!(
            "the namespace {} must be identity",
            quoted(namespace)
        ));
    }
    let kind_text = match next("type") {
        Ok(k) => k,
        Err(e) => return Some(e),
    };
    let Some(kind) = IdentityKind::from_urn_part(kind_text) else {
        return Some(format!(
            "the type {} must be account, user, group or credential",
            quoted(kind_text)
        ));
    };
    let rest = match next("account") {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    let (account, name) = match rest.split_once('/') {
        Some((account, name)) => (account, Some(name)),
        None => (rest, None),
    };
    if let Some(problem) = account_problem(account) {
        return Some(problem);
    }
    match (kind, name) {
        (IdentityKind::Account, None) => None,
        (IdentityKind::Account, Some(name)) => Some(format!(
            "an account identity takes no name: remove {}",
            quoted(&format!("/{name}"))
        )),
        (_, None) => Some(format!(
            "a {} identity needs a name after the account: …:{}:{account}{}",
            kind_text.to_ascii_lowercase(),
            kind_text.to_ascii_lowercase(),
            kind.name_placeholder()
        )),
        (kind, Some(name)) => name_problem(kind, name),
    }
}

fn account_problem(account: &str) -> Option<String> {
    if account.is_empty() {
        return Some("the account is empty (e.g. xx1111-ovh)".into());
    }
    if !account.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Some(format!(
            "the account {} must be printable ASCII without spaces or ':'",
            quoted(account)
        ));
    }
    None
}

fn name_problem(kind: IdentityKind, name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name after the '/' is empty".into());
    }
    if let Some(problem) = name_text_problem(name) {
        return Some(format!("the name {} {problem}", quoted(name)));
    }
    if kind == IdentityKind::Credential {
        let has_client_id = name
            .get(..SERVICE_ACCOUNT_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(SERVICE_ACCOUNT_PREFIX))
            && name.len() > SERVICE_ACCOUNT_PREFIX.len();
        if !has_client_id {
            return Some(format!(
                "the service-account name {} must be oauth2-{{clientId}}",
                quoted(name)
            ));
        }
    }
    None
}

/// A part of the input, quoted with `'` (the whole URN is quoted with `"`), escaped so that the
/// message stays on one line, and cut if long.
fn quoted(part: &str) -> String {
    quote_with(part, '\'')
}

/// What is wrong with a name (login, group, client id) as the API takes it, or `None`: the API
/// puts it in a path (`/v1/me/identity/user/{login}`), so a `/`, a `%` escape or a `..` would
/// name another resource.
fn name_text_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("must be non-empty printable ASCII without spaces")
    } else if !name.bytes().all(|b| b.is_ascii_graphic()) {
        Some("must be printable ASCII without spaces (no control characters)")
    } else if name.contains('/') || name.contains('%') {
        Some("must not contain '/' or '%'")
    } else if name.contains("..") {
        Some("must not contain '..'")
    } else {
        None
    }
}

/// A URN a builder made from checked parts: only its length can still be wrong, and then the
/// fault is the name's (`field`), the one part of unbounded length.
fn built(field: Field, urn: String) -> Result<IdentityUrn, Error> {
    let length = urn.chars().count();
    if length > MAX_URN_LEN {
        return Err(Error::invalid(
            field,
            format!(
                "the identity URN would be {length} characters long; the API takes at most {MAX_URN_LEN}"
            ),
        ));
    }
    IdentityUrn::parse(&urn)
}

/// `[a-z]{2}\d{1,6}-ovh`, case-insensitive: the usual NIC form.
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

/// The account as a builder takes it: the same rule as the URN's account part, plus no `/`
/// (it would start the name).
fn check_nic(nic: &str) -> Result<(), Error> {
    let problem = if nic.is_empty() {
        "is empty".to_owned()
    } else if !nic
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b':' && b != b'/')
    {
        format!(
            "{} must be printable ASCII without spaces, ':' or '/'",
            quoted(nic)
        )
    } else {
        return Ok(());
    };
    Err(Error::invalid(
        Field::Nic,
        format!("the account ID {problem}; give the OVHcloud account ID, e.g. xx1111-ovh"),
    ))
}

fn check_builder_name(what: Field, s: &str) -> Result<(), Error> {
    if let Some(problem) = name_text_problem(s) {
        return Err(Error::invalid(what, format!("{} {problem}", quoted(s))));
    }
    let length = s.chars().count();
    if length > MAX_URN_LEN {
        return Err(Error::invalid(
            what,
            format!(
                "{} is longer than an identity URN may be ({MAX_URN_LEN} characters)",
                quoted(s)
            ),
        ));
    }
    Ok(())
}
