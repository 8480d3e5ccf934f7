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

mod legacy;

use legacy::{convert_legacy, yaml_inline};

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
mod tests;
