//! Configuration as OVHcloud's libraries read it: explicit values > `OVH_*` environment >
//! `ovh.conf` files > defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::endpoint::{DEFAULT_ENDPOINT, Endpoint};
use crate::error::Error;

/// How the client authenticates: exactly one method.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Auth {
    /// Application key + secret + consumer key; every call carries a `$1$` signature.
    ApplicationKey {
        /// The application key (AK), sent in `X-Ovh-Application`. Not secret.
        application_key: String,
        /// The application secret (AS), used only inside the signature.
        application_secret: SecretString,
        /// The consumer key (CK), sent in `X-Ovh-Consumer`.
        consumer_key: SecretString,
    },
    /// OAuth2 client credentials (service account); tokens are fetched and renewed.
    OAuth2 {
        /// The client ID. Not secret.
        client_id: String,
        /// The client secret.
        client_secret: SecretString,
        /// Token URL; `None` means the endpoint's default.
        token_url: Option<String>,
    },
    /// A ready access token, sent as `Authorization: Bearer`.
    AccessToken {
        /// The token.
        access_token: SecretString,
    },
}

impl Auth {
    /// A short name of the method, for messages.
    pub fn method_name(&self) -> &'static str {
        match self {
            Auth::ApplicationKey { .. } => "application key",
            Auth::OAuth2 { .. } => "oauth2 client credentials",
            Auth::AccessToken { .. } => "access token",
        }
    }
}

/// Values given explicitly (command-line flags, code); they beat everything else.
#[derive(Debug, Clone, Default)]
pub struct ConfigOverrides {
    /// Endpoint name or URL.
    pub endpoint: Option<String>,
    /// Application key.
    pub application_key: Option<String>,
    /// Application secret.
    pub application_secret: Option<SecretString>,
    /// Consumer key.
    pub consumer_key: Option<SecretString>,
    /// OAuth2 client ID.
    pub client_id: Option<String>,
    /// OAuth2 client secret.
    pub client_secret: Option<SecretString>,
    /// Ready access token.
    pub access_token: Option<SecretString>,
    /// OAuth2 token URL override.
    pub oauth2_token_url: Option<String>,
}

/// Where configuration is read from; a value so tests never touch the real environment.
///
/// Each value comes from [`ConfigOverrides`] first, then `OVH_<NAME>` in `env`, then the
/// files, then the default. The files are `/etc/ovh.conf`, `~/.ovh.conf` and `./ovh.conf`, read in that order so a later
/// file wins per value. A file named explicitly ([`ConfigSources::with_explicit_file`], the
/// CLI's `--config PATH`) is read as python-ovh reads `Client(config_file=...)`: *after* the
/// standard files, so its values win and the standard files still fill the values it lacks. One
/// exception, so that a file the user did not name never turns a working setup into "multiple
/// authentication methods": when the named file holds credentials for the endpoint, the
/// standard files' credentials of the *other* methods are ignored (those of the same method
/// still fill gaps, e.g. a `consumer_key` kept in `~/.ovh.conf`). Unlike python-ovh, a named
/// file that cannot be read is an error, not silently skipped.
#[derive(Clone, Default)]
pub struct ConfigSources {
    /// `ovh.conf` files, lowest priority first; missing files are skipped.
    pub files: Vec<PathBuf>,
    /// A file named explicitly (`--config`): it must exist, is read after `files` (its values
    /// win) and, when it holds credentials, hides the other methods' credentials of `files`.
    pub explicit_file: Option<PathBuf>,
    /// Environment variables (only `OVH_*` names are consulted).
    pub env: BTreeMap<String, String>,
}

impl fmt::Debug for ConfigSources {
    // Environment values may be secrets: show names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigSources")
            .field("files", &self.files)
            .field("explicit_file", &self.explicit_file)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ConfigSources {
    /// The standard files (`/etc/ovh.conf`, `~/.ovh.conf`, `./ovh.conf`) and the process's
    /// `OVH_*` environment variables.
    pub fn standard() -> Self {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with("OVH_"))
            .collect();
        ConfigSources {
            files: default_config_files(),
            explicit_file: None,
            env,
        }
    }

    /// Names a file explicitly (`--config PATH`); see [`ConfigSources`] for how it layers over
    /// the standard files.
    pub fn with_explicit_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit_file = Some(path.into());
        self
    }
}

/// `/etc/ovh.conf`, `~/.ovh.conf`, `./ovh.conf`, lowest priority first.
pub fn default_config_files() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from("/etc/ovh.conf")];
    if let Some(home) = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
    {
        v.push(Path::new(&home).join(".ovh.conf"));
    }
    v.push(PathBuf::from("ovh.conf"));
    v
}

/// A resolved configuration: where to talk and how to authenticate.
#[derive(Debug, Clone)]
pub struct Config {
    /// The API endpoint.
    pub endpoint: Endpoint,
    /// The authentication method.
    pub auth: Auth,
}

/// Merged INI content: section → key → value; later files override earlier ones per key.
#[derive(Default)]
struct Ini(BTreeMap<String, BTreeMap<String, String>>);

impl Drop for Ini {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for section in self.0.values_mut() {
            for v in section.values_mut() {
                v.zeroize();
            }
        }
    }
}

impl Ini {
    fn merge_file(&mut self, path: &Path, required: bool) -> Result<(), Error> {
        // The file may hold secrets: wipe the raw text once parsed.
        let text = match std::fs::read_to_string(path).map(zeroize::Zeroizing::new) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(Error::ConfigRead {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        };
        self.merge_str(&text).map_err(|message| Error::ConfigParse {
            path: path.to_path_buf(),
            message,
        })
    }

    fn merge_str(&mut self, text: &str) -> Result<(), String> {
        let parsed = ini::Ini::load_from_str(text).map_err(|e| e.to_string())?;
        for (section, props) in parsed.iter() {
            let Some(section) = section else { continue };
            let entry = self.0.entry(section.to_string()).or_default();
            for (k, v) in props.iter() {
                entry.insert(k.to_string(), v.to_string());
            }
        }
        Ok(())
    }

    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.0
            .get(section)
            .and_then(|s| s.get(key))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Parses `ovh.conf` text (for tests and fuzzing): returns section → key → value.
pub fn parse_ovh_conf(text: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>, Error> {
    let mut ini = Ini::default();
    ini.merge_str(text).map_err(|message| Error::ConfigParse {
        path: PathBuf::from("<text>"),
        message,
    })?;
    Ok(std::mem::take(&mut ini.0))
}

impl Config {
    /// A configuration from values in hand.
    pub fn new(endpoint: Endpoint, auth: Auth) -> Self {
        Config { endpoint, auth }
    }

    /// Resolves each value as explicit > `OVH_<NAME>` environment > file section > default
    /// (the named file before the standard ones, see [`ConfigSources`]), then checks
    /// that exactly one complete authentication method results.
    ///
    /// The endpoint is read from `[default] endpoint=`; the keys from the section named after
    /// the endpoint (its name, or its URL for custom endpoints).
    pub fn load(overrides: &ConfigOverrides, sources: &ConfigSources) -> Result<Config, Error> {
        let mut standard = Ini::default();
        for f in &sources.files {
            standard.merge_file(f, false)?;
        }
        let mut named = Ini::default();
        if let Some(f) = &sources.explicit_file {
            named.merge_file(f, true)?;
        }
        let file_value = |section: &str, name: &str| {
            named
                .get(section, name)
                .or_else(|| standard.get(section, name))
        };
        let env = |name: &str| {
            sources
                .env
                .get(&format!("OVH_{}", name.to_ascii_uppercase()))
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };

        let endpoint_text = non_empty(overrides.endpoint.as_deref())
            .or_else(|| env("endpoint"))
            .or_else(|| file_value("default", "endpoint"))
            .unwrap_or(DEFAULT_ENDPOINT)
            .to_string();
        let endpoint = Endpoint::parse(&endpoint_text)?;
        let section = endpoint.config_section().to_string();
        // The methods whose credentials the named file holds; empty when it holds none (or no
        // file was named), and then every method of the standard files counts.
        let named_methods: Vec<&[&str]> = AUTH_METHOD_KEYS
            .iter()
            .copied()
            .filter(|keys| keys.iter().any(|k| named.get(&section, k).is_some()))
            .collect();
        let credential_from_files = |name: &str| -> Option<&str> {
            let hidden =
                !named_methods.is_empty() && !named_methods.iter().any(|keys| keys.contains(&name));
            named.get(&section, name).or_else(|| {
                if hidden {
                    None
                } else {
                    standard.get(&section, name)
                }
            })
        };
        let layered = |explicit: Option<&str>, name: &str| -> Option<String> {
            non_empty(explicit)
                .or_else(|| env(name))
                .or_else(|| credential_from_files(name))
                .map(str::to_string)
        };
        // Secrets go straight from their source into a SecretString, without plain copies.
        let layered_secret = |explicit: &Option<SecretString>, name: &str| {
            use secrecy::ExposeSecret;
            match explicit {
                Some(s) if !s.expose_secret().is_empty() => Some(s.clone()),
                _ => env(name)
                    .or_else(|| credential_from_files(name))
                    .map(SecretString::from),
            }
        };

        let ak = layered(overrides.application_key.as_deref(), "application_key");
        let as_ = layered_secret(&overrides.application_secret, "application_secret");
        let ck = layered_secret(&overrides.consumer_key, "consumer_key");
        let client_id = layered(overrides.client_id.as_deref(), "client_id");
        let client_secret = layered_secret(&overrides.client_secret, "client_secret");
        let token = layered_secret(&overrides.access_token, "access_token");

        pair(
            "application_key",
            ak.is_some(),
            "application_secret",
            as_.is_some(),
        )?;
        pair(
            "client_id",
            client_id.is_some(),
            "client_secret",
            client_secret.is_some(),
        )?;

        let mut methods = Vec::new();
        if ak.is_some() {
            methods.push("application_key");
        }
        if client_id.is_some() {
            methods.push("client_id");
        }
        if token.is_some() {
            methods.push("access_token");
        }
        if let [first, second, ..] = methods[..] {
            return Err(Error::MultipleAuthMethods { first, second });
        }

        let auth = match (ak, as_, ck, client_id, client_secret, token) {
            (Some(application_key), Some(application_secret), Some(consumer_key), ..) => {
                Auth::ApplicationKey {
                    application_key,
                    application_secret,
                    consumer_key,
                }
            }
            (Some(_), Some(_), None, ..) => {
                return Err(Error::IncompleteCredentials {
                    present: "application_key",
                    missing: "consumer_key",
                });
            }
            (_, _, _, Some(client_id), Some(client_secret), _) => {
                let token_url = match non_empty(overrides.oauth2_token_url.as_deref()) {
                    Some(u) => {
                        crate::endpoint::check_url(u)?;
                        Some(u.to_string())
                    }
                    None => {
                        endpoint.oauth2_token_url()?;
                        None
                    }
                };
                Auth::OAuth2 {
                    client_id,
                    client_secret,
                    token_url,
                }
            }
            (.., Some(access_token)) => Auth::AccessToken { access_token },
            _ => {
                return Err(Error::NoCredentials { endpoint: section });
            }
        };
        Ok(Config { endpoint, auth })
    }
}

/// The `ovh.conf` keys of each authentication method, to tell which methods a file holds.
const AUTH_METHOD_KEYS: [&[&str]; 3] = [
    &["application_key", "application_secret", "consumer_key"],
    &["client_id", "client_secret"],
    &["access_token"],
];

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|v| !v.is_empty())
}

fn pair(a: &'static str, has_a: bool, b: &'static str, has_b: bool) -> Result<(), Error> {
    match (has_a, has_b) {
        (true, false) => Err(Error::IncompleteCredentials {
            present: a,
            missing: b,
        }),
        (false, true) => Err(Error::IncompleteCredentials {
            present: b,
            missing: a,
        }),
        _ => Ok(()),
    }
}
