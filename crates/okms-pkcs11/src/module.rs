//! Loading the PKCS#11 module the caller names, and choosing one of its tokens.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::UserType;

use crate::description::TokenDescription;
use crate::error::{Error, Result};
use crate::pin::Pin;
use crate::token::{Token, login};
use crate::uri::Pkcs11Uri;

/// The environment variable naming the PKCS#11 module when no flag or URI does.
pub const MODULE_ENV: &str = "OKMS_PKCS11_MODULE";

/// Where SoftHSM2 usually lives. Only used to suggest a path in an error message: a module is
/// never loaded unless the user named it.
pub const SOFTHSM2_HINT_PATHS: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
];

/// Decides which module to load: the explicit path (a `--pkcs11-module` flag) first, then the
/// URI's `module-path`, then `env` (the value of [`MODULE_ENV`], passed in by the caller so
/// this stays testable).
///
/// # Errors
/// [`Error::NoModule`] when none is given; the message names installed SoftHSM2 modules, if
/// any, as a suggestion.
pub fn resolve_module_path(
    explicit: Option<&Path>,
    uri: Option<&Pkcs11Uri>,
    env: Option<&OsStr>,
) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = uri.and_then(|u| u.module_path.as_ref()) {
        return Ok(p.clone());
    }
    if let Some(v) = env.filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(v));
    }
    let softhsm2_module = SOFTHSM2_HINT_PATHS
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .map(Path::to_path_buf);
    Err(Error::NoModule {
        module_name: uri.and_then(|u| u.module_name.clone()),
        softhsm2_module,
    })
}

/// A loaded and initialized PKCS#11 module.
pub struct Module {
    ctx: Pkcs11,
    path: PathBuf,
}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module").field("path", &self.path).finish()
    }
}

impl Module {
    /// Loads the module at `path` and initializes it (a module already initialized by this
    /// process is fine).
    ///
    /// # Errors
    /// [`Error::ModuleNotFound`] when the file does not exist, [`Error::ModuleLoad`] when it
    /// is not a PKCS#11 library or fails to initialize.
    pub fn load(path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref().to_path_buf();
        if !path.is_file() {
            return Err(Error::ModuleNotFound { path });
        }
        // musl's static dlopen always fails, with a message ("Dynamic loading not supported")
        // that would leave the user looking for a fault in the module.
        if cfg!(all(target_env = "musl", target_feature = "crt-static")) {
            return Err(Error::StaticBuild { path });
        }
        let ctx = Pkcs11::new(&path).map_err(|source| Error::ModuleLoad {
            path: path.clone(),
            source,
        })?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(source) => return Err(Error::ModuleLoad { path, source }),
        }
        Ok(Module { ctx, path })
    }

    /// The path the module was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every slot with a token present, initialized or not.
    ///
    /// # Errors
    /// [`Error::Pkcs11`] when the module fails to answer.
    pub fn tokens(&self) -> Result<Vec<TokenDescription>> {
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(Error::pkcs11("C_GetSlotList"))?;
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            let info = self
                .ctx
                .get_token_info(slot)
                .map_err(Error::pkcs11("C_GetTokenInfo"))?;
            let slot_info = self
                .ctx
                .get_slot_info(slot)
                .map_err(Error::pkcs11("C_GetSlotInfo"))?;
            out.push(TokenDescription {
                slot_id: slot.id(),
                label: info.label().trim_end().to_owned(),
                manufacturer: info.manufacturer_id().trim_end().to_owned(),
                model: info.model().trim_end().to_owned(),
                serial: info.serial_number().trim_end().to_owned(),
                initialized: info.token_initialized(),
                protected_authentication_path: info.protected_authentication_path(),
                user_pin_locked: info.user_pin_locked(),
                slot_description: slot_info.slot_description().trim_end().to_owned(),
                slot_manufacturer: slot_info.manufacturer_id().trim_end().to_owned(),
                slot,
            });
        }
        Ok(out)
    }

    /// The one initialized token the URI's token, slot and library attributes select.
    ///
    /// # Errors
    /// [`Error::NoToken`] (listing the tokens present) or [`Error::AmbiguousToken`].
    pub fn select_token(&self, uri: &Pkcs11Uri) -> Result<TokenDescription> {
        let tokens = self.tokens()?;
        let shown = uri.without_pin().to_string();
        let available = || {
            let labels: Vec<String> = tokens
                .iter()
                .filter(|t| t.initialized)
                .map(ToString::to_string)
                .collect();
            if labels.is_empty() {
                "none (initialize one, e.g. `softhsm2-util --init-token --free --label NAME`)"
                    .to_owned()
            } else {
                labels.join(", ")
            }
        };
        if !self.library_matches(uri)? {
            return Err(Error::NoToken {
                uri: shown,
                available: format!(
                    "{} (but the library-* attributes do not match module {})",
                    available(),
                    self.path.display()
                ),
            });
        }
        let matching: Vec<&TokenDescription> = tokens
            .iter()
            .filter(|t| t.initialized && token_matches(uri, t))
            .collect();
        match matching.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::NoToken {
                uri: shown,
                available: available(),
            }),
            many => Err(Error::AmbiguousToken {
                uri: shown,
                count: many.len(),
                labels: many
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    fn library_matches(&self, uri: &Pkcs11Uri) -> Result<bool> {
        if uri.library_manufacturer.is_none()
            && uri.library_description.is_none()
            && uri.library_version.is_none()
        {
            return Ok(true);
        }
        let info = self
            .ctx
            .get_library_info()
            .map_err(Error::pkcs11("C_GetInfo"))?;
        let version = info.library_version();
        Ok(eq_opt(&uri.library_manufacturer, info.manufacturer_id())
            && eq_opt(&uri.library_description, info.library_description())
            && uri.library_version.is_none_or(|(major, minor)| {
                major == version.major() && minor.is_none_or(|m| m == version.minor())
            }))
    }

    /// Opens a read-write session on `token` and logs the user in. `pin` may be `None` only
    /// for tokens with a protected authentication path (PIN pad).
    ///
    /// # Errors
    /// [`Error::PinRequired`], [`Error::Login`] (wrong or locked PIN), [`Error::Pkcs11`].
    pub fn login(&self, token: &TokenDescription, pin: Option<&Pin>) -> Result<Token> {
        let session = self
            .ctx
            .open_rw_session(token.slot)
            .map_err(Error::pkcs11("C_OpenSession"))?;
        let pin = match pin {
            Some(p) if !secrecy::ExposeSecret::expose_secret(p).is_empty() => Some(p.clone()),
            _ if token.protected_authentication_path => None,
            _ => {
                return Err(Error::PinRequired {
                    token: token.label.clone(),
                });
            }
        };
        login(&session, UserType::User, pin.as_ref(), &token.label)?;
        let mechanisms = self
            .ctx
            .get_mechanism_list(token.slot)
            .map_err(Error::pkcs11("C_GetMechanismList"))?;
        Ok(Token {
            session,
            token: token.clone(),
            pin,
            mechanisms,
        })
    }
}

fn eq_opt(wanted: &Option<String>, actual: &str) -> bool {
    wanted.as_deref().is_none_or(|w| w == actual.trim_end())
}

fn token_matches(uri: &Pkcs11Uri, t: &TokenDescription) -> bool {
    eq_opt(&uri.token, &t.label)
        && eq_opt(&uri.manufacturer, &t.manufacturer)
        && eq_opt(&uri.model, &t.model)
        && eq_opt(&uri.serial, &t.serial)
        && eq_opt(&uri.slot_description, &t.slot_description)
        && eq_opt(&uri.slot_manufacturer, &t.slot_manufacturer)
        && uri.slot_id.is_none_or(|id| id == t.slot_id)
}
