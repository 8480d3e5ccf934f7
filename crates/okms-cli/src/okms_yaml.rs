//! Profiles in the `okms.yaml` of OVHcloud's Go `okms` tool, so that it works at once with a
//! certificate `credential create` just made (`--okms-profile NAME`).
//!
//! The file is looked up as that tool does: `okms.yaml` in the working directory, else
//! `~/.ovh-kms/okms.yaml`. Everything else in the file (other profiles, unknown keys) is kept;
//! YAML comments are not, since the file is re-serialized. An existing profile that points
//! elsewhere is only replaced with `--force`. Paths are written absolute: the Go tool runs from
//! anywhere.
//!
//! The Go tool knows two layouts (ovh/okms-cli `common/config/config.go`):
//!
//! - version 1: `version: 1`, `profile: NAME` (the default), and `profiles: {NAME: {restapi:
//!   {endpoint, ca, auth: {type: mtls, cert, key}}, kmip: {...}}}`;
//! - the legacy one (no `version`, or `version: 0`): every top-level key is a profile, holding
//!   `endpoint`, `ca`, `cert`, `key` for the REST API and optionally sub-sections (`http:`,
//!   `kmip:`, ...) with those same four fields. The Go tool converts it in memory on every run
//!   (`migrateV0toV1`: top-level fields into an `http` section, `cert`/`key` into `auth` with
//!   `type: mtls`, `profile: default`).
//!
//! Adding `version: 1` and `profiles:` to a legacy file would make the Go tool read it as
//! version 1 and no longer see the old top-level profiles. So a legacy file is converted the
//! way the Go tool converts it, but only when nothing would be lost: any key or value that
//! conversion does not carry over is refused with the file and the key named, and nothing is
//! written. The caller keeps a copy of the legacy file ([`Updated::legacy_profiles`]).

use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

/// File name the Go tool looks for in the working directory.
pub const FILE_NAME: &str = "okms.yaml";

/// The fields a legacy profile or section may hold, all strings.
const LEGACY_FIELDS: [&str; 4] = ["endpoint", "ca", "cert", "key"];

/// What a profile says about the domain and the access certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The domain's REST endpoint (`https://...`).
    pub rest_endpoint: String,
    /// The domain's KMIP endpoint (`host:port`), when the API reports one.
    pub kmip_endpoint: Option<String>,
    /// CA bundle to trust for the domain, when not the system roots.
    pub ca: Option<PathBuf>,
    /// The access certificate (absolute path).
    pub cert: PathBuf,
    /// Its private key (absolute path).
    pub key: PathBuf,
}

/// Why a profile cannot be written; each message names the file.
#[derive(Debug)]
pub enum ProfileError {
    /// The file is not YAML, or not the Go tool's layout.
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The file has the legacy (version-less) layout and holds something the conversion to
    /// version 1 would lose.
    Legacy {
        /// The file.
        path: String,
        /// What cannot be carried over.
        reason: String,
    },
    /// The profile exists and says something else.
    Exists {
        /// The profile.
        name: String,
        /// The file.
        path: String,
    },
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileError::Invalid { path, reason } => {
                write!(f, "{path} is not a valid okms.yaml: {reason}")
            }
            ProfileError::Legacy { path, reason } => {
                write!(
                    f,
                    "{path} has the legacy okms.yaml layout (no `version`), and converting it to \
                     version 1 would lose data: {reason}"
                )
            }
            ProfileError::Exists { name, path } => {
                write!(
                    f,
                    "profile {name:?} in {path} already exists and points elsewhere"
                )
            }
        }
    }
}

impl std::error::Error for ProfileError {}

/// The file's new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// The whole new file.
    pub text: String,
    /// When the file had the legacy layout: the profiles it held, now under `profiles:`. The
    /// caller must keep the old file before replacing it.
    pub legacy_profiles: Option<Vec<String>>,
}

/// Where the Go tool reads its configuration: `./okms.yaml` if it exists, else
/// `~/.ovh-kms/okms.yaml` (`None` without a home directory).
pub fn default_path() -> Option<PathBuf> {
    let local = PathBuf::from(FILE_NAME);
    if local.exists() {
        return Some(local);
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".ovh-kms").join(FILE_NAME))
}

/// `existing` (the file's text, if any) with profile `name` set to `profile`; a legacy file
/// is converted to version 1 first.
///
/// # Errors
/// The text is not a YAML mapping in one of the Go tool's layouts, a legacy file holds
/// something the conversion would lose, or the profile exists with other values and `force`
/// is false.
pub fn update(
    existing: Option<&str>,
    path: &Path,
    name: &str,
    profile: &Profile,
    force: bool,
) -> Result<Updated, ProfileError> {
    let invalid = |reason: String| ProfileError::Invalid {
        path: path.display().to_string(),
        reason,
    };
    let mut root = match existing.map(str::trim).filter(|t| !t.is_empty()) {
        None => Mapping::new(),
        Some(text) => match yaml_serde::from_str::<Value>(text) {
            Ok(Value::Mapping(m)) => m,
            Ok(Value::Null) => Mapping::new(),
            Ok(_) => return Err(invalid("the top level is not a mapping".into())),
            Err(e) => return Err(invalid(e.to_string())),
        },
    };
    // An empty file has no layout yet: there is nothing to convert.
    let legacy_profiles = match version(&root) {
        _ if root.is_empty() => None,
        Some(0) => {
            let (converted, names) =
                convert_legacy(&root).map_err(|reason| ProfileError::Legacy {
                    path: path.display().to_string(),
                    reason,
                })?;
            root = converted;
            Some(names)
        }
        Some(1) => None,
        _ => {
            let shown = root.get("version").map(yaml_inline).unwrap_or_default();
            return Err(invalid(format!(
                "version {shown}: the Go okms tool reads only version 1 (or the legacy layout, without a version)"
            )));
        }
    };
    if !root.contains_key("version") {
        root.insert("version".into(), Value::from(1));
    }
    if !root.contains_key("profile") {
        // The user's choice of default profile is theirs; only a new file gets one.
        root.insert("profile".into(), Value::from(name));
    }
    let profiles = root
        .entry("profiles".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if profiles.is_null() {
        *profiles = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(profiles) = profiles else {
        return Err(invalid("`profiles` is not a mapping".into()));
    };
    let entry = profiles
        .entry(name.into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if entry.is_null() {
        *entry = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(entry) = entry else {
        return Err(invalid(format!("profile {name:?} is not a mapping")));
    };

    let restapi = section(&profile.rest_endpoint, profile);
    let kmip = profile
        .kmip_endpoint
        .as_deref()
        .map(|e| section(e, profile));
    let differs = |key: &str, new: &Value| entry.get(key).is_some_and(|old| old != new);
    // `http` is the REST section's legacy name, which the Go tool still reads: a profile that
    // has one pointing elsewhere points elsewhere.
    if !force
        && (differs("restapi", &restapi)
            || differs("http", &restapi)
            || kmip.as_ref().is_some_and(|k| differs("kmip", k)))
    {
        return Err(ProfileError::Exists {
            name: name.to_owned(),
            path: path.display().to_string(),
        });
    }
    // Left in place, an old `http` section would still be there for whichever of the two
    // names a Go tool version prefers.
    entry.remove("http");
    entry.insert("restapi".into(), restapi);
    if let Some(kmip) = kmip {
        entry.insert("kmip".into(), kmip);
    }
    let text = yaml_serde::to_string(&Value::Mapping(root)).map_err(|e| invalid(e.to_string()))?;
    Ok(Updated {
        text,
        legacy_profiles,
    })
}

/// `version` as the Go tool reads it (koanf `Int`): absent is 0.
fn version(root: &Mapping) -> Option<i64> {
    match root.get("version") {
        None => Some(0),
        Some(Value::Number(n)) => n.as_i64(),
        Some(_) => None,
    }
}

/// The legacy layout converted as the Go tool's `migrateV0toV1` does, or why that would lose
/// something. Returns the new root and the profile names carried over.
fn convert_legacy(root: &Mapping) -> Result<(Mapping, Vec<String>), String> {
    let mut profiles = Mapping::new();
    let mut names = Vec::new();
    for (key, value) in root {
        if key.as_str() == Some("version") {
            continue;
        }
        let Some(name) = key.as_str() else {
            return Err(format!(
                "the top-level key {} is not a profile name",
                yaml_inline(key)
            ));
        };
        let Value::Mapping(fields) = value else {
            return Err(format!(
                "`{name}` is not a profile (a mapping of endpoint, ca, cert, key and sections)"
            ));
        };
        let converted = convert_legacy_profile(name, fields).map_err(|reason| {
            if name == "profiles" {
                // Most likely a version 1 file that lost its `version:` line.
                format!(
                    "{reason} (the file has `profiles:` but no `version: 1`; if it is meant as \
                     the version 1 layout, add `version: 1` at the top)"
                )
            } else {
                reason
            }
        })?;
        profiles.insert(name.into(), Value::Mapping(converted));
        names.push(name.to_owned());
    }
    let mut converted = Mapping::new();
    converted.insert("version".into(), Value::from(1));
    // What the Go tool's conversion sets, so it keeps choosing the profile it chose before.
    converted.insert("profile".into(), Value::from("default"));
    converted.insert("profiles".into(), Value::Mapping(profiles));
    Ok((converted, names))
}

/// One legacy profile: its own fields become the `http` section; each sub-mapping a section
/// of the same name. Fields the Go tool would drop, and a field set both at the top and in
/// `http:` with different values (the Go tool keeps one silently), are refused.
fn convert_legacy_profile(name: &str, fields: &Mapping) -> Result<Mapping, String> {
    let mut top = Mapping::new();
    let mut sections: Vec<(String, Mapping)> = Vec::new();
    for (key, value) in fields {
        let Some(key) = key.as_str() else {
            return Err(format!(
                "`{name}` has the key {}, which is not a field name",
                yaml_inline(key)
            ));
        };
        if LEGACY_FIELDS.contains(&key) {
            top.insert(key.into(), legacy_field(&format!("{name}.{key}"), value)?);
            continue;
        }
        let Value::Mapping(section) = value else {
            return Err(format!(
                "`{name}.{key}` is neither one of {} nor a section",
                LEGACY_FIELDS.join(", ")
            ));
        };
        let mut checked = Mapping::new();
        for (field, value) in section {
            let field_name = field.as_str().filter(|f| LEGACY_FIELDS.contains(f));
            let Some(field_name) = field_name else {
                return Err(format!(
                    "`{name}.{key}.{}` is not one of {}",
                    yaml_inline(field),
                    LEGACY_FIELDS.join(", ")
                ));
            };
            checked.insert(
                field_name.into(),
                legacy_field(&format!("{name}.{key}.{field_name}"), value)?,
            );
        }
        sections.push((key.to_owned(), checked));
    }
    let mut http = top;
    let mut out = Mapping::new();
    for (key, section) in sections {
        if key == "http" {
            for (field, value) in section {
                if http.get(&field).is_some_and(|old| old != &value) {
                    return Err(format!(
                        "`{name}.{}` and `{name}.http.{}` differ, and only one can be kept",
                        yaml_inline(&field),
                        yaml_inline(&field)
                    ));
                }
                http.insert(field, value);
            }
        } else {
            out.insert(key.into(), Value::Mapping(v1_section(&section)));
        }
    }
    if !http.is_empty() {
        out.insert("http".into(), Value::Mapping(v1_section(&http)));
    }
    Ok(out)
}

/// A legacy field's value: a string. The Go tool skips empty ones, which hold nothing.
fn legacy_field(what: &str, value: &Value) -> Result<Value, String> {
    match value {
        Value::String(_) => Ok(value.clone()),
        other => Err(format!("`{what}` is {}, not a string", yaml_inline(other))),
    }
}

/// `{endpoint, ca, cert, key}` as version 1 writes it: `{endpoint, ca, auth: {type: mtls,
/// cert, key}}`, empty values left out as the Go tool leaves them out.
fn v1_section(fields: &Mapping) -> Mapping {
    let get = |f: &str| {
        fields
            .get(f)
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .cloned()
    };
    let mut section = Mapping::new();
    if let Some(endpoint) = get("endpoint") {
        section.insert("endpoint".into(), endpoint);
    }
    if let Some(ca) = get("ca") {
        section.insert("ca".into(), ca);
    }
    let (cert, key) = (get("cert"), get("key"));
    if cert.is_some() || key.is_some() {
        let mut auth = Mapping::new();
        auth.insert("type".into(), "mtls".into());
        if let Some(cert) = cert {
            auth.insert("cert".into(), cert);
        }
        if let Some(key) = key {
            auth.insert("key".into(), key);
        }
        section.insert("auth".into(), Value::Mapping(auth));
    }
    section
}

fn yaml_inline(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => yaml_serde::to_string(other)
            .map(|t| t.trim().replace('\n', " "))
            .unwrap_or_else(|_| "(unprintable)".into()),
    }
}

/// The Go tool's environment variables, among `names`, that take precedence over what a
/// profile with a `restapi` (and `kmip`, if `kmip`) section says: `KMS_PROFILE` (which
/// profile, when `--profile` is not given), `KMS_RESTAPI_*`, its legacy alias `KMS_HTTP_*`,
/// and `KMS_KMIP_*`. Sorted; names only, the values are none of our business.
pub fn overriding_env_vars<I, S>(names: I, kmip: bool) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut found: Vec<String> = names
        .into_iter()
        .filter_map(|n| n.as_ref().to_str().map(str::to_owned))
        .filter(|n| {
            n == "KMS_PROFILE"
                || n.starts_with("KMS_RESTAPI_")
                || n.starts_with("KMS_HTTP_")
                || (kmip && n.starts_with("KMS_KMIP_"))
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// `{endpoint, ca?, auth: {type: mtls, cert, key}}`, the shape both sections share.
fn section(endpoint: &str, profile: &Profile) -> Value {
    let mut auth = Mapping::new();
    auth.insert("type".into(), "mtls".into());
    auth.insert("cert".into(), path_value(&profile.cert));
    auth.insert("key".into(), path_value(&profile.key));
    let mut section = Mapping::new();
    section.insert("endpoint".into(), endpoint.into());
    if let Some(ca) = &profile.ca {
        section.insert("ca".into(), path_value(ca));
    }
    section.insert("auth".into(), Value::Mapping(auth));
    Value::Mapping(section)
}

fn path_value(p: &Path) -> Value {
    Value::from(p.to_string_lossy().into_owned())
}

/// `path` made absolute against the working directory, without touching the filesystem
/// beyond it (the file may not exist yet).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn profile(cert: &str) -> Profile {
        Profile {
            rest_endpoint: "https://eu-west-rbx.okms.ovh.net".into(),
            kmip_endpoint: Some("eu-west-rbx.okms.ovh.net:5696".into()),
            ca: None,
            cert: PathBuf::from(cert),
            key: PathBuf::from("/keys/domain.key"),
        }
    }

    fn parse(text: &str) -> Value {
        yaml_serde::from_str(text).unwrap()
    }

    #[test]
    fn a_new_file_gets_version_default_profile_and_both_sections() {
        let text = update(
            None,
            Path::new("okms.yaml"),
            "prod",
            &profile("/c.pem"),
            false,
        )
        .unwrap()
        .text;
        let v = parse(&text);
        assert_eq!(v["version"], Value::from(1));
        assert_eq!(v["profile"], Value::from("prod"));
        let p = &v["profiles"]["prod"];
        assert_eq!(
            p["restapi"]["endpoint"],
            Value::from("https://eu-west-rbx.okms.ovh.net")
        );
        assert_eq!(p["restapi"]["auth"]["type"], Value::from("mtls"));
        assert_eq!(p["restapi"]["auth"]["cert"], Value::from("/c.pem"));
        assert_eq!(p["restapi"]["auth"]["key"], Value::from("/keys/domain.key"));
        assert_eq!(
            p["kmip"]["endpoint"],
            Value::from("eu-west-rbx.okms.ovh.net:5696")
        );
    }

    #[test]
    fn other_profiles_keys_and_the_default_are_kept() {
        let existing = "version: 1\nprofile: staging\ncolor: true\nprofiles:\n  staging:\n    restapi: {endpoint: https://x, auth: {type: token, token: t, okmsId: abc}}\n";
        let text = update(
            Some(existing),
            Path::new("okms.yaml"),
            "prod",
            &profile("/c.pem"),
            false,
        )
        .unwrap()
        .text;
        let v = parse(&text);
        assert_eq!(v["profile"], Value::from("staging"));
        assert_eq!(v["color"], Value::from(true));
        assert_eq!(
            v["profiles"]["staging"]["restapi"]["auth"]["type"],
            Value::from("token")
        );
        assert_eq!(
            v["profiles"]["prod"]["restapi"]["auth"]["cert"],
            Value::from("/c.pem")
        );
    }

    #[test]
    fn a_profile_pointing_elsewhere_needs_force_and_the_same_one_does_not() {
        let first = update(
            None,
            Path::new("okms.yaml"),
            "prod",
            &profile("/a.pem"),
            false,
        )
        .unwrap()
        .text;
        assert!(
            update(
                Some(&first),
                Path::new("okms.yaml"),
                "prod",
                &profile("/a.pem"),
                false
            )
            .is_ok()
        );
        let err = update(
            Some(&first),
            Path::new("okms.yaml"),
            "prod",
            &profile("/b.pem"),
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"prod\""), "{err}");
        let forced = update(
            Some(&first),
            Path::new("okms.yaml"),
            "prod",
            &profile("/b.pem"),
            true,
        )
        .unwrap()
        .text;
        assert_eq!(
            parse(&forced)["profiles"]["prod"]["restapi"]["auth"]["cert"],
            Value::from("/b.pem")
        );
    }

    #[test]
    fn broken_files_are_refused_with_their_name() {
        for bad in [
            "profiles: [1, 2]",
            "- a\n- b",
            "profiles:\n  prod: 3",
            "a: [unclosed",
        ] {
            let err = update(
                Some(bad),
                Path::new("/x/okms.yaml"),
                "prod",
                &profile("/c"),
                true,
            )
            .unwrap_err();
            assert!(err.to_string().contains("/x/okms.yaml"), "{bad}: {err}");
        }
    }

    const LEGACY: &str = "\
default:
  endpoint: https://eu-west-rbx.okms.ovh.net
  ca: /etc/okms/ca.pem
  cert: /c/default.pem
  key: /c/default.key
  kmip:
    endpoint: eu-west-rbx.okms.ovh.net:5696
    cert: /c/kmip.pem
    key: /c/kmip.key
staging:
  http:
    endpoint: https://eu-west-gra.okms.ovh.net
    cert: /c/staging.pem
    key: /c/staging.key
";

    #[test]
    fn a_legacy_file_is_converted_as_the_go_tool_converts_it() {
        let updated = update(
            Some(LEGACY),
            Path::new("okms.yaml"),
            "prod",
            &profile("/c.pem"),
            false,
        )
        .unwrap();
        assert_eq!(
            updated.legacy_profiles,
            Some(vec!["default".to_owned(), "staging".to_owned()])
        );
        let v = parse(&updated.text);
        assert_eq!(v["version"], Value::from(1));
        assert_eq!(
            v["profile"],
            Value::from("default"),
            "as migrateV0toV1 sets it"
        );
        let d = &v["profiles"]["default"];
        assert_eq!(
            d["http"]["endpoint"],
            Value::from("https://eu-west-rbx.okms.ovh.net")
        );
        assert_eq!(d["http"]["ca"], Value::from("/etc/okms/ca.pem"));
        assert_eq!(d["http"]["auth"]["type"], Value::from("mtls"));
        assert_eq!(d["http"]["auth"]["cert"], Value::from("/c/default.pem"));
        assert_eq!(d["http"]["auth"]["key"], Value::from("/c/default.key"));
        assert_eq!(
            d["kmip"]["endpoint"],
            Value::from("eu-west-rbx.okms.ovh.net:5696")
        );
        assert_eq!(d["kmip"]["auth"]["cert"], Value::from("/c/kmip.pem"));
        let st = &v["profiles"]["staging"]["http"];
        assert_eq!(
            st["endpoint"],
            Value::from("https://eu-west-gra.okms.ovh.net")
        );
        assert_eq!(st["auth"]["key"], Value::from("/c/staging.key"));
        assert_eq!(
            v["profiles"]["prod"]["restapi"]["auth"]["cert"],
            Value::from("/c.pem")
        );
        // Nothing of the legacy layout is left at the top.
        let top: Vec<_> = v.as_mapping().unwrap().keys().cloned().collect();
        assert_eq!(
            top,
            ["version", "profile", "profiles"].map(Value::from).to_vec()
        );
        // A version 1 file is not converted again.
        let again = update(
            Some(&updated.text),
            Path::new("okms.yaml"),
            "prod",
            &profile("/c.pem"),
            false,
        )
        .unwrap();
        assert_eq!(again.legacy_profiles, None);
        assert_eq!(parse(&again.text), v);
    }

    #[test]
    fn legacy_content_the_conversion_would_lose_is_refused_naming_it() {
        for (bad, named) in [
            (
                "default:\n  endpoint: https://x\n  token: t\n",
                "default.token",
            ),
            ("default:\n  endpoint: 3\n", "default.endpoint"),
            (
                "default:\n  kmip:\n    endpoint: h:1\n    slot: 9a\n",
                "default.kmip.slot",
            ),
            (
                "default:\n  endpoint: https://a\n  http:\n    endpoint: https://b\n",
                "default.http.endpoint",
            ),
            ("default: https://x\n", "`default`"),
            ("profiles:\n  prod: 3\n", "profiles.prod"),
            (
                "profiles:\n  prod:\n    restapi: {endpoint: https://x}\n",
                "add `version: 1`",
            ),
        ] {
            let err = update(
                Some(bad),
                Path::new("/x/okms.yaml"),
                "prod",
                &profile("/c"),
                true,
            )
            .unwrap_err();
            assert!(matches!(err, ProfileError::Legacy { .. }), "{bad}: {err:?}");
            let msg = err.to_string();
            assert!(msg.contains("/x/okms.yaml"), "{bad}: {msg}");
            assert!(msg.contains(named), "{bad}: {msg}");
        }
        // Equal values at the top and in http: are one value, not a conflict.
        let same = "default:\n  endpoint: https://a\n  http:\n    endpoint: https://a\n";
        assert!(update(Some(same), Path::new("o"), "prod", &profile("/c"), false).is_ok());
    }

    #[test]
    fn an_unknown_version_is_refused() {
        for bad in ["version: 2\nprofiles: {}\n", "version: one\n"] {
            let err = update(
                Some(bad),
                Path::new("/x/okms.yaml"),
                "p",
                &profile("/c"),
                true,
            )
            .unwrap_err();
            assert!(
                matches!(err, ProfileError::Invalid { .. }),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("version"), "{err}");
        }
    }

    #[test]
    fn a_legacy_profile_of_the_same_name_needs_force_and_loses_its_http_section() {
        let err = update(
            Some(LEGACY),
            Path::new("okms.yaml"),
            "staging",
            &profile("/c.pem"),
            false,
        )
        .unwrap_err();
        assert!(matches!(err, ProfileError::Exists { .. }), "{err:?}");
        let forced = update(
            Some(LEGACY),
            Path::new("okms.yaml"),
            "staging",
            &profile("/c.pem"),
            true,
        )
        .unwrap();
        let v = parse(&forced.text);
        let st = &v["profiles"]["staging"];
        assert!(st.get("http").is_none(), "{st:?}");
        assert_eq!(st["restapi"]["auth"]["cert"], Value::from("/c.pem"));
        assert_eq!(
            v["profiles"]["default"]["http"]["auth"]["cert"],
            Value::from("/c/default.pem")
        );
    }

    #[test]
    fn overriding_variables_are_named_by_family() {
        let names = [
            "KMS_RESTAPI_ENDPOINT",
            "KMS_HTTP_CERT",
            "KMS_KMIP_KEY",
            "KMS_PROFILE",
            "KMS_PROFILES",
            "OKMS_ID",
            "PATH",
            "KMS_RESTAPI_ENDPOINT",
        ];
        assert_eq!(
            overriding_env_vars(names, true),
            [
                "KMS_HTTP_CERT",
                "KMS_KMIP_KEY",
                "KMS_PROFILE",
                "KMS_RESTAPI_ENDPOINT"
            ]
        );
        assert_eq!(
            overriding_env_vars(names, false),
            ["KMS_HTTP_CERT", "KMS_PROFILE", "KMS_RESTAPI_ENDPOINT"]
        );
    }
}
