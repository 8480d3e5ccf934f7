//! Profiles in the `okms.yaml` of OVHcloud's Go `okms` tool, so that it works at once with a
//! certificate `credential create` just made (`--okms-profile NAME`).
//!
//! The file is looked up as that tool does: `okms.yaml` in the working directory, else
//! `~/.ovh-kms/okms.yaml`. Everything else in the file (other profiles, unknown keys) is kept;
//! YAML comments are not, since the file is re-serialized. An existing profile that points
//! elsewhere is only replaced with `--force`. Paths are written absolute: the Go tool runs from
//! anywhere.

use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

/// File name the Go tool looks for in the working directory.
pub const FILE_NAME: &str = "okms.yaml";

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

/// `existing` (the file's text, if any) with profile `name` set to `profile`.
///
/// # Errors
/// The text is not a YAML mapping in the Go tool's layout, or the profile exists with other
/// values and `force` is false.
pub fn update(
    existing: Option<&str>,
    path: &Path,
    name: &str,
    profile: &Profile,
    force: bool,
) -> Result<String, ProfileError> {
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
    if !force && (differs("restapi", &restapi) || kmip.as_ref().is_some_and(|k| differs("kmip", k)))
    {
        return Err(ProfileError::Exists {
            name: name.to_owned(),
            path: path.display().to_string(),
        });
    }
    entry.insert("restapi".into(), restapi);
    if let Some(kmip) = kmip {
        entry.insert("kmip".into(), kmip);
    }
    yaml_serde::to_string(&Value::Mapping(root)).map_err(|e| invalid(e.to_string()))
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
        .unwrap();
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
        .unwrap();
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
        .unwrap();
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
        .unwrap();
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
}
