//! Reading the policy file (YAML). Each value is checked while it is deserialised, so that
//! yaml_serde attaches the line of the offending node to the error; the one check that needs
//! the whole file (a domain listed twice) finds its line by looking for the id's second
//! occurrence.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use okms_api::{NAME_MAX, Uuid, VALIDITY_MAX_DAYS};
use okms_csr::KeyAlgorithm;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::{DomainPolicy, NamePattern, Policy};
use crate::error::Error;

/// The only policy format version this broker reads.
pub const POLICY_VERSION: u32 = 1;
/// Grace when neither the domain nor `defaults:` sets one.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);
/// Per-host interval between new successors when neither the domain nor `defaults:` sets one.
pub const DEFAULT_MIN_RENEW_INTERVAL: Duration = Duration::from_secs(3600);
/// The longest grace or interval accepted: a credential lives at most this long anyway.
pub const MAX_POLICY_DURATION: Duration = Duration::from_secs(365 * 86_400);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Version,
    #[serde(default)]
    defaults: RawSettings,
    domains: Domains,
}

/// Settings a domain may set and `defaults:` may give every domain.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    key_algorithms: Option<Algorithms>,
    renew_before_days: Option<RenewBeforeDays>,
    grace: Option<Grace>,
    min_renew_interval: Option<Interval>,
    validity_days: Option<ValidityDays>,
}

// Not `#[serde(flatten)]` of RawSettings: flatten disables deny_unknown_fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    okms_id: OkmsId,
    credentials: Patterns,
    key_algorithms: Option<Algorithms>,
    renew_before_days: Option<RenewBeforeDays>,
    grace: Option<Grace>,
    min_renew_interval: Option<Interval>,
    validity_days: Option<ValidityDays>,
}

/// Deserialises a value checked by `FromStr`-like text parsing, so the error carries the
/// node's line. `expecting` says what to write.
macro_rules! checked_text {
    ($name:ident, $inner:ty, $parse:path, $expecting:literal) => {
        struct $name($inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $inner;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$inner, E> {
                        $parse(s).map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, n: u64) -> Result<$inner, E> {
                        $parse(&n.to_string()).map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, n: i64) -> Result<$inner, E> {
                        $parse(&n.to_string()).map_err(E::custom)
                    }
                }
                d.deserialize_any(V).map($name)
            }
        }
    };
}

checked_text!(Version, u32, parse_version, "`version: 1`");
checked_text!(
    OkmsId,
    Uuid,
    parse_okms_id,
    "an OKMS domain id such as 0b5bc7d9-2f0e-4b1e-9c4e-1d6f3a2b9c8d"
);
checked_text!(
    Pattern,
    NamePattern,
    parse_pattern,
    "a credential name or pattern such as \"web-*\""
);
checked_text!(
    Algorithm,
    KeyAlgorithm,
    parse_algorithm,
    "a key algorithm such as ecdsa-p256"
);
checked_text!(
    RenewBeforeDays,
    u32,
    parse_renew_before_days,
    "a number of days such as 30"
);
checked_text!(
    ValidityDays,
    u32,
    parse_validity_days,
    "a number of days from 1 to 365"
);
checked_text!(Grace, Duration, parse_grace, "a duration such as 24h or 7d");
checked_text!(
    Interval,
    Duration,
    parse_interval,
    "a duration such as 30m or 1h"
);

/// A non-empty list, the error on the list's own line.
macro_rules! non_empty_list {
    ($name:ident, $item:ident, $inner:ty, $expecting:literal, $empty:literal) => {
        struct $name(Vec<$inner>);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Vec<$inner>;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_seq<A: SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Vec<$inner>, A::Error> {
                        let mut out = Vec::new();
                        while let Some($item(x)) = seq.next_element()? {
                            out.push(x);
                        }
                        if out.is_empty() {
                            return Err(de::Error::custom($empty));
                        }
                        Ok(out)
                    }
                }
                d.deserialize_seq(V).map($name)
            }
        }
    };
}

non_empty_list!(
    Patterns,
    Pattern,
    NamePattern,
    "a list of credential names or patterns, such as [\"web-*\", \"db-1\"]",
    "no credentials: list the credential names that may renew, such as [\"web-*\", \"db-1\"]"
);
non_empty_list!(
    Algorithms,
    Algorithm,
    KeyAlgorithm,
    "a list of key algorithms, such as [ecdsa-p256, rsa-3072]",
    "no key algorithm: list at least one (ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, \
     rsa-3072, rsa-4096), or remove key_algorithms to allow them all"
);
non_empty_list!(
    Domains,
    RawDomainItem,
    RawDomain,
    "a list of domains, each with okms_id and credentials",
    "no domain: list at least one, with okms_id and credentials"
);

// The list macro takes items as one-field tuples.
struct RawDomainItem(RawDomain);

impl<'de> Deserialize<'de> for RawDomainItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawDomain::deserialize(d).map(RawDomainItem)
    }
}

fn parse_version(s: &str) -> Result<u32, String> {
    match s.trim() {
        "1" => Ok(POLICY_VERSION),
        other => Err(format!(
            "version {other:?} is not one this broker reads: write `version: {POLICY_VERSION}`"
        )),
    }
}

fn parse_okms_id(s: &str) -> Result<Uuid, String> {
    Uuid::from_str(s.trim()).map_err(|_| {
        format!(
            "okms_id {s:?} is not a UUID: write the domain id as `okms-cli domain list` \
             shows it, such as 0b5bc7d9-2f0e-4b1e-9c4e-1d6f3a2b9c8d"
        )
    })
}

/// A pattern is a credential name (printable ASCII, at most [`NAME_MAX`] characters) in
/// which `*` stands for any run of characters.
pub(crate) fn parse_pattern(s: &str) -> Result<NamePattern, String> {
    if s.is_empty() {
        return Err(
            "an empty credential pattern matches nothing: write a name such as \
                    \"db-1\" or a pattern such as \"web-*\""
                .to_string(),
        );
    }
    if let Some(c) = s.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!(
            "credential pattern {s:?} has {c:?}, which no credential name can hold: names \
             are printable ASCII (space to '~')"
        ));
    }
    if s.contains("**") {
        return Err(format!(
            "credential pattern {s:?} has `**`: one `*` already matches any run of \
             characters, write {:?}",
            collapse_stars(s)
        ));
    }
    let literal = s.chars().filter(|&c| c != '*').count();
    if literal > NAME_MAX {
        return Err(format!(
            "credential pattern {s:?} needs names of {literal} characters; a credential \
             name has at most {NAME_MAX}"
        ));
    }
    Ok(NamePattern::new_unchecked(s))
}

fn collapse_stars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !(c == '*' && out.ends_with('*')) {
            out.push(c);
        }
    }
    out
}

fn parse_algorithm(s: &str) -> Result<KeyAlgorithm, String> {
    KeyAlgorithm::from_str(s).map_err(|_| {
        let known: Vec<&str> = KeyAlgorithm::ALL.iter().map(KeyAlgorithm::as_str).collect();
        format!(
            "key algorithm {s:?} is unknown: write one of {}",
            known.join(", ")
        )
    })
}

fn parse_days(s: &str, what: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, String> {
    let days: u32 = s.trim().parse().map_err(|_| {
        format!("{what} {s:?} is not a whole number of days: write a number such as 30")
    })?;
    if !range.contains(&days) {
        return Err(format!(
            "{what} {days} is outside {}..={}: write a number of days in that range",
            range.start(),
            range.end()
        ));
    }
    Ok(days)
}

fn parse_renew_before_days(s: &str) -> Result<u32, String> {
    parse_days(s, "renew_before_days", 1..=VALIDITY_MAX_DAYS)
}

fn parse_validity_days(s: &str) -> Result<u32, String> {
    parse_days(s, "validity_days", 1..=VALIDITY_MAX_DAYS)
}

/// `90s`, `30m`, `24h`, `7d`: a whole number and one unit.
pub(crate) fn parse_duration(s: &str, what: &str) -> Result<Duration, String> {
    let text = s.trim();
    let bad = || {
        format!(
            "{what} {s:?} is not a duration: write a whole number and a unit, s, m, h or d \
             (such as 90s, 30m, 24h, 7d)"
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let secs = number
        .checked_mul(unit_secs)
        .filter(|&secs| secs <= MAX_POLICY_DURATION.as_secs())
        .ok_or_else(|| format!("{what} {s:?} is longer than a credential can live (365d)"))?;
    Ok(Duration::from_secs(secs))
}

fn parse_grace(s: &str) -> Result<Duration, String> {
    let grace = parse_duration(s, "grace")?;
    if grace.is_zero() {
        return Err(
            "a grace of 0 revokes every successor before its host can confirm it: \
                    write a duration such as 24h"
                .to_string(),
        );
    }
    Ok(grace)
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    parse_duration(s, "min_renew_interval")
}

impl Policy {
    /// Reads and validates the policy file at `path`.
    ///
    /// # Errors
    /// [`Error::Read`] when the file cannot be read, [`Error::Policy`] (naming the line) when
    /// it is not a valid policy.
    pub fn load(path: &Path) -> Result<Policy, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::from_yaml(&text, path)
    }

    /// Validates the policy text `yaml`; `path` only names the file in errors.
    ///
    /// # Errors
    /// [`Error::Policy`] naming the line and what to write instead.
    pub fn from_yaml(yaml: &str, path: &Path) -> Result<Policy, Error> {
        let refuse = |line: usize, message: String| Error::Policy {
            path: path.to_path_buf(),
            line,
            message,
        };
        if let Some((line, what)) = foreign_line_break(yaml) {
            return Err(refuse(
                line,
                format!(
                    "{what}: YAML counts it as a line break, editors and this message do not; \
                     save the file with \\n (or \\r\\n) line ends"
                ),
            ));
        }
        let raw: RawPolicy = yaml_serde::from_str(yaml).map_err(|e| {
            let line = e.location().map_or(0, |l| l.line());
            refuse(line, explain(&e))
        })?;
        // Checked while deserialised: only version 1 gets here.
        let Version(version) = raw.version;
        debug_assert_eq!(version, POLICY_VERSION);
        let defaults = raw.defaults;
        let mut domains: Vec<DomainPolicy> = Vec::with_capacity(raw.domains.0.len());
        for d in raw.domains.0 {
            let okms_id = d.okms_id.0;
            if domains.iter().any(|seen| seen.okms_id == okms_id) {
                return Err(refuse(
                    second_occurrence_line(yaml, okms_id),
                    format!(
                        "domain {okms_id} is listed twice: merge its credentials into one \
                         entry"
                    ),
                ));
            }
            domains.push(DomainPolicy {
                okms_id,
                credentials: d.credentials.0,
                validity_days: d
                    .validity_days
                    .map(|v| v.0)
                    .or(defaults.validity_days.as_ref().map(|v| v.0)),
                key_algorithms: d
                    .key_algorithms
                    .map(|a| a.0)
                    .or_else(|| defaults.key_algorithms.as_ref().map(|a| a.0.clone()))
                    .unwrap_or_else(|| KeyAlgorithm::ALL.to_vec()),
                renew_before_days: d
                    .renew_before_days
                    .map(|v| v.0)
                    .or(defaults.renew_before_days.as_ref().map(|v| v.0)),
                grace: d
                    .grace
                    .map(|v| v.0)
                    .or(defaults.grace.as_ref().map(|v| v.0))
                    .unwrap_or(DEFAULT_GRACE),
                min_renew_interval: d
                    .min_renew_interval
                    .map(|v| v.0)
                    .or(defaults.min_renew_interval.as_ref().map(|v| v.0))
                    .unwrap_or(DEFAULT_MIN_RENEW_INTERVAL),
            });
        }
        Ok(Policy { domains })
    }

    /// The shortest grace of any domain (the reconciler runs at least four times within it).
    pub fn shortest_grace(&self) -> Duration {
        self.domains
            .iter()
            .map(|d| d.grace)
            .min()
            .unwrap_or(DEFAULT_GRACE)
    }
}

/// yaml_serde's message without its position (the line is reported separately). serde's own
/// words already say what to write: an unknown key's message lists the keys that are allowed.
fn explain(e: &yaml_serde::Error) -> String {
    let full = e.to_string();
    let message = full
        .find(" at line ")
        .map_or(full.as_str(), |i| &full[..i])
        .to_string();
    if message.contains("missing field `version`") {
        format!("{message}: start the file with `version: {POLICY_VERSION}`")
    } else {
        message
    }
}

/// The 1-based line where `id` occurs for the second time (case-insensitively, with or
/// without hyphens), 0 when it cannot be found (a form such as `urn:uuid:` split oddly).
fn second_occurrence_line(yaml: &str, id: Uuid) -> usize {
    let needles = [id.hyphenated().to_string(), id.simple().to_string()];
    yaml.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line
                .split(" #")
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            needles.iter().any(|n| code.contains(n.as_str()))
        })
        .nth(1)
        .map_or(0, |(i, _)| i + 1)
}

/// The first line break other than `\n` and `\r\n` (a lone `\r`, NEL, LS, PS), with its line
/// as `\n` counts them: YAML would count it too, and its line numbers would then disagree with
/// the user's editor.
fn foreign_line_break(yaml: &str) -> Option<(usize, &'static str)> {
    let mut line = 1;
    let mut chars = yaml.chars().peekable();
    while let Some(c) = chars.next() {
        let what = match c {
            '\n' => {
                line += 1;
                continue;
            }
            '\r' if chars.peek() == Some(&'\n') => continue,
            '\r' => "a carriage return not followed by a newline (an old Mac line end)",
            '\u{85}' => "a NEL character (U+0085)",
            '\u{2028}' => "a line separator (U+2028)",
            '\u{2029}' => "a paragraph separator (U+2029)",
            _ => continue,
        };
        return Some((line, what));
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const ID: &str = "0b5bc7d9-2f0e-4b1e-9c4e-1d6f3a2b9c8d";

    fn refusal(yaml: &str) -> (usize, String) {
        match Policy::from_yaml(yaml, Path::new("p.yaml")) {
            Err(Error::Policy { line, message, .. }) => (line, message),
            other => panic!("expected a policy error, got {other:?}"),
        }
    }

    #[test]
    fn line_breaks_yaml_counts_and_editors_do_not_are_refused_on_their_line() {
        let (line, message) = refusal("version: 1\ndomains:\r  - okms_id: x\n");
        assert_eq!(line, 2, "{message}");
        assert!(message.contains("carriage return"), "{message}");
        let (line, message) = refusal("version: 1\u{2028}domains: []\n");
        assert_eq!(line, 1, "{message}");
        // \r\n is an ordinary line end.
        let (line, _) = refusal("version: 1\r\ndomains: []\r\n");
        assert_eq!(line, 2);
    }

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(parse_duration("90s", "x"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m", "x"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("24h", "x"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d", "x"), Ok(Duration::from_secs(604_800)));
        for bad in [
            "",
            "h",
            "1.5h",
            "1 h",
            "10",
            "1w",
            "-1h",
            "366d",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad, "grace").is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_are_credential_names_with_stars() {
        assert!(parse_pattern("web-*").is_ok());
        assert!(parse_pattern("*").is_ok());
        assert!(parse_pattern("").unwrap_err().contains("empty"));
        assert!(parse_pattern("a**b").unwrap_err().contains("\"a*b\""));
        assert!(
            parse_pattern("wéb")
                .unwrap_err()
                .contains("printable ASCII")
        );
        assert!(parse_pattern("tab\there").is_err());
        assert!(
            parse_pattern(&"x".repeat(51))
                .unwrap_err()
                .contains("at most 50")
        );
        assert!(parse_pattern(&format!("{}*", "x".repeat(50))).is_ok());
    }

    #[test]
    fn defaults_fill_what_a_domain_leaves_out() {
        let yaml = format!(
            "version: 1\ndefaults:\n  grace: 2h\n  key_algorithms: [ecdsa-p256]\n  \
             validity_days: 30\ndomains:\n  - okms_id: {ID}\n    credentials: [\"web-*\"]\n    \
             grace: 30m\n"
        );
        let policy = Policy::from_yaml(&yaml, Path::new("p.yaml")).unwrap();
        let d = &policy.domains[0];
        assert_eq!(d.grace, Duration::from_secs(1800));
        assert_eq!(d.key_algorithms, vec![KeyAlgorithm::EcdsaP256]);
        assert_eq!(d.validity_days, Some(30));
        assert_eq!(d.min_renew_interval, DEFAULT_MIN_RENEW_INTERVAL);
        assert_eq!(d.renew_before_days, None);
        assert_eq!(policy.shortest_grace(), Duration::from_secs(1800));
    }

    #[test]
    fn the_issue_example_is_valid_with_every_default() {
        let yaml = "version: 1\ndomains:\n  - okms_id: 00000000-0000-0000-0000-000000000000\n    \
                    credentials: [\"web-*\", \"db-1\"]   # comment\n    validity_days: 90\n";
        let policy = Policy::from_yaml(yaml, Path::new("p.yaml")).unwrap();
        let d = &policy.domains[0];
        assert!(d.allows("web-3") && d.allows("db-1") && !d.allows("db-2"));
        assert_eq!(d.key_algorithms, KeyAlgorithm::ALL.to_vec());
        assert_eq!(d.grace, DEFAULT_GRACE);
    }

    #[test]
    fn errors_name_the_line_and_the_fix() {
        let head = format!("version: 1\ndomains:\n  - okms_id: {ID}\n");
        let (line, msg) = refusal(&format!("{head}    credentials: [\"a**\"]\n"));
        assert_eq!(line, 4, "{msg}");
        assert!(msg.contains("\"a*\""), "{msg}");
        let (line, msg) = refusal(&format!("{head}    credentials: []\n"));
        assert_eq!(line, 4, "{msg}");
        assert!(msg.contains("no credentials"), "{msg}");
        let (line, msg) = refusal(&format!("{head}    credentials: [a]\n    grase: 1h\n"));
        assert_eq!(line, 5, "{msg}");
        assert!(msg.contains("grase") && msg.contains("grace"), "{msg}");
        let (line, msg) = refusal(&format!("{head}    credentials: [a]\n    grace: 0s\n"));
        assert_eq!(line, 5, "{msg}");
        let (line, msg) = refusal(&format!(
            "{head}    credentials: [a]\n    key_algorithms: [dsa-1024]\n"
        ));
        assert_eq!(line, 5, "{msg}");
        assert!(msg.contains("rsa-3072"), "{msg}");
        let (line, msg) = refusal(&format!(
            "{head}    credentials: [a]\n    validity_days: 0\n"
        ));
        assert_eq!(line, 5, "{msg}");
        let (line, msg) =
            refusal("version: 1\ndomains:\n  - okms_id: nope\n    credentials: [a]\n");
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("not a UUID"), "{msg}");
        let (line, msg) = refusal(&format!("version: 2\ndomains:\n  - okms_id: {ID}\n"));
        assert_eq!(line, 1, "{msg}");
        assert!(msg.contains("version: 1"), "{msg}");
        let (_, msg) = refusal(&format!(
            "domains:\n  - okms_id: {ID}\n    credentials: [a]\n"
        ));
        assert!(msg.contains("version: 1"), "{msg}");
        let (line, msg) = refusal(&format!(
            "{head}    credentials: [a]\n  - okms_id: {}\n    credentials: [b]\n",
            ID.to_uppercase()
        ));
        assert_eq!(line, 5, "{msg}");
        assert!(msg.contains("twice"), "{msg}");
        let (line, _) = refusal("version: 1\ndomains: []\n");
        assert_eq!(line, 2);
    }
}
