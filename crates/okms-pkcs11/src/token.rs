//! The token side: loading a module, choosing a token, logging in, finding and generating
//! keys, and signing.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::Ulong;
use okms_csr::{CsrSigner, KeyAlgorithm, PublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::encoding;
use crate::error::{Error, Result};
use crate::pin::Pin;
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
    let mut extra = String::new();
    if let Some(name) = uri.and_then(|u| u.module_name.as_ref()) {
        extra.push_str(&format!(
            "; the URI's module-name={name} is not looked up, give the library's path"
        ));
    }
    let found: Vec<&str> = SOFTHSM2_HINT_PATHS
        .iter()
        .copied()
        .filter(|p| Path::new(p).is_file())
        .collect();
    if let Some(first) = found.first() {
        extra.push_str(&format!(
            "; a SoftHSM2 module is installed at {first} (for a SoftHSM2 token: --pkcs11-module {first})"
        ));
    }
    Err(Error::NoModule { extra })
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

/// A token present in a slot, as the module describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenDescription {
    /// The slot number (`slot-id=`).
    pub slot_id: u64,
    /// The token label (`token=`).
    pub label: String,
    /// The token manufacturer (`manufacturer=`).
    pub manufacturer: String,
    /// The token model (`model=`).
    pub model: String,
    /// The token serial number (`serial=`).
    pub serial: String,
    /// Whether the token has been initialized (only initialized tokens hold keys).
    pub initialized: bool,
    /// Whether the token has a PIN pad or other protected path (log in without a PIN).
    pub protected_authentication_path: bool,
    /// Whether the user PIN is locked.
    pub user_pin_locked: bool,
    slot_description: String,
    slot_manufacturer: String,
    slot: Slot,
}

impl fmt::Display for TokenDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} (slot {}, serial {})",
            self.label, self.slot_id, self.serial
        )
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
            Some(p) if !p.is_empty() => Some(p.clone()),
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

fn login(session: &Session, user: UserType, pin: Option<&Pin>, token: &str) -> Result<()> {
    let auth = pin.map(Pin::to_auth_pin);
    match session.login(user, auth.as_ref()) {
        Ok(()) => Ok(()),
        // Login state is per token and application: another session of ours logged in.
        Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) if matches!(user, UserType::User) => {
            Ok(())
        }
        Err(source) => {
            let reason = match &source {
                CkError::Pkcs11(RvError::PinIncorrect, _) => {
                    "wrong PIN (each failure brings the token closer to locking the PIN)"
                }
                CkError::Pkcs11(RvError::PinLocked, _) => {
                    "the user PIN is locked; unlock it with the security officer PIN"
                }
                CkError::Pkcs11(RvError::PinExpired, _) => {
                    "the PIN has expired; change it with the token's tools"
                }
                CkError::Pkcs11(RvError::UserPinNotInitialized, _) => {
                    "the token's user PIN was never set; initialize it (softhsm2-util --init-token sets it)"
                }
                CkError::Pkcs11(RvError::PinLenRange | RvError::PinInvalid, _) => {
                    "the PIN has a length or characters the token does not accept"
                }
                _ => "the token refused the login",
            };
            let code = match &source {
                CkError::Pkcs11(rv, _) => format!("{rv:?}"),
                other => other.to_string(),
            };
            Err(Error::Login {
                token: token.to_owned(),
                reason: reason.to_owned(),
                code,
            })
        }
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

/// A logged-in session on one token.
pub struct Token {
    session: Session,
    token: TokenDescription,
    pin: Option<Pin>,
    mechanisms: Vec<MechanismType>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// A private key on the token, with what is known about it.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// The key algorithm and size.
    pub algorithm: KeyAlgorithm,
    /// The matching public key.
    pub public_key: PublicKey,
    /// A URI naming this key (token, object, id, `type=private`; the module path of the URI
    /// used to reach it, never a PIN).
    pub uri: Pkcs11Uri,
    /// `CKA_SENSITIVE` (`None` if the token does not say).
    pub sensitive: Option<bool>,
    /// `CKA_EXTRACTABLE` (`None` if the token does not say).
    pub extractable: Option<bool>,
    /// `CKA_ALWAYS_AUTHENTICATE`: the PIN is needed again for each signature.
    pub always_authenticate: bool,
    handle: ObjectHandle,
}

/// A private key that cannot be used here, and why.
#[derive(Clone, Debug)]
pub struct SkippedKey {
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// Why it is not usable (unsupported type or size, no public key...).
    pub reason: String,
}

/// The private keys on a token.
#[derive(Clone, Debug, Default)]
pub struct KeyListing {
    /// Keys this crate can sign with.
    pub usable: Vec<KeyInfo>,
    /// Other private keys.
    pub skipped: Vec<SkippedKey>,
}

fn text_attr(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

impl Token {
    /// The token this session is on.
    pub fn description(&self) -> &TokenDescription {
        &self.token
    }

    fn find(&self, template: &[Attribute]) -> Result<Vec<ObjectHandle>> {
        self.session
            .find_objects(template)
            .map_err(Error::pkcs11("C_FindObjects"))
    }

    /// Generates a key pair on the token: a token object, private, sensitive, not
    /// extractable, usable only to sign, with label `label` and id `id` (16 random bytes when
    /// `None`). `base` supplies the module path for the returned key's URI.
    ///
    /// Refuses when any object on the token already has that label or id: keys on a token
    /// are never replaced.
    ///
    /// # Errors
    /// [`Error::KeyExists`], [`Error::KeyPolicy`] (the token did not honour sensitive /
    /// non-extractable; the new key is destroyed), [`Error::Pkcs11`].
    pub fn generate_key(
        &self,
        alg: KeyAlgorithm,
        label: &str,
        id: Option<&[u8]>,
        base: &Pkcs11Uri,
    ) -> Result<KeyInfo> {
        if label.is_empty() {
            return Err(Error::MissingUriAttribute {
                what: "a non-empty object= label",
                hint: "name the new key, e.g. pkcs11:token=mytoken;object=okms-client",
            });
        }
        if !self
            .find(&[Attribute::Label(label.as_bytes().to_vec())])?
            .is_empty()
        {
            return Err(Error::KeyExists {
                token: self.token.label.clone(),
                attribute: "label",
                value: label.to_owned(),
            });
        }
        let id = match id {
            Some(id) if !id.is_empty() => id.to_vec(),
            Some(_) => {
                return Err(Error::uri("id", "the id of a new key must not be empty"));
            }
            None => {
                let mut id = vec![0u8; 16];
                getrandom::fill(&mut id).map_err(|e| Error::Random(e.to_string()))?;
                id
            }
        };
        if !self.find(&[Attribute::Id(id.clone())])?.is_empty() {
            return Err(Error::KeyExists {
                token: self.token.label.clone(),
                attribute: "id",
                value: hex::encode(&id),
            });
        }

        let common = |private: bool| {
            vec![
                Attribute::Token(true),
                Attribute::Private(private),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.clone()),
            ]
        };
        let mut public = common(false);
        public.push(Attribute::Verify(true));
        let mut private = common(true);
        private.extend([
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ]);
        let mechanism = if alg.is_rsa() {
            let bits = u64::try_from(alg.key_bits())
                .map_err(|_| Error::UnsupportedKey(format!("{alg}: key size out of range")))?;
            public.extend([
                Attribute::ModulusBits(bits.into()),
                Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                Attribute::Encrypt(false),
                Attribute::Wrap(false),
            ]);
            private.extend([Attribute::Decrypt(false), Attribute::Unwrap(false)]);
            Mechanism::RsaPkcsKeyPairGen
        } else {
            public.push(Attribute::EcParams(encoding::ec_params(alg)?));
            private.push(Attribute::Derive(false));
            Mechanism::EccKeyPairGen
        };
        let (pub_handle, priv_handle) = self
            .session
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(Error::pkcs11("C_GenerateKeyPair"))?;

        let destroy = || {
            let _ = self.session.destroy_object(priv_handle);
            let _ = self.session.destroy_object(pub_handle);
        };
        let key = match self.key_info(priv_handle, base) {
            Ok(k) => k,
            Err(e) => {
                destroy();
                return Err(e);
            }
        };
        if key.sensitive != Some(true) || key.extractable != Some(false) {
            destroy();
            return Err(Error::KeyPolicy {
                token: self.token.label.clone(),
                label: label.to_owned(),
                detail: format!(
                    "CKA_SENSITIVE {:?}, CKA_EXTRACTABLE {:?}",
                    key.sensitive, key.extractable
                ),
            });
        }
        if key.algorithm != alg {
            destroy();
            return Err(Error::UnsupportedKey(format!(
                "asked the token for {alg} and got {}; the key was destroyed",
                key.algorithm
            )));
        }
        Ok(key)
    }

    /// The private keys on the token, split into usable and skipped ones. `base` supplies
    /// the module path for the keys' URIs.
    ///
    /// # Errors
    /// [`Error::Pkcs11`] when the token fails to answer.
    pub fn keys(&self, base: &Pkcs11Uri) -> Result<KeyListing> {
        let mut listing = KeyListing::default();
        for handle in self.find(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])? {
            match self.key_info(handle, base) {
                Ok(k) => listing.usable.push(k),
                Err(e @ (Error::UnsupportedKey(_) | Error::MalformedAttribute { .. })) => {
                    let (label, id) = self.label_and_id(handle)?;
                    listing.skipped.push(SkippedKey {
                        label,
                        id,
                        reason: e.to_string(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        listing
            .usable
            .sort_by(|a, b| (&a.label, &a.id).cmp(&(&b.label, &b.id)));
        Ok(listing)
    }

    /// The one private key the URI's `object=` / `id=` select.
    ///
    /// # Errors
    /// [`Error::KeyNotFound`], [`Error::AmbiguousKey`], [`Error::InvalidUri`] for a `type=`
    /// other than `private`, [`Error::UnsupportedKey`].
    pub fn find_key(&self, uri: &Pkcs11Uri) -> Result<KeyInfo> {
        uri.require_private()?;
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(label) = &uri.object {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        let found = self.find(&template)?;
        let shown = uri.without_pin().to_string();
        match found.as_slice() {
            [one] => self.key_info(*one, uri),
            [] => Err(Error::KeyNotFound {
                token: self.token.label.clone(),
                uri: shown,
            }),
            many => Err(Error::AmbiguousKey {
                token: self.token.label.clone(),
                uri: shown,
                count: many.len(),
            }),
        }
    }

    /// A signer for the key the URI selects; it keeps this session.
    ///
    /// # Errors
    /// As [`Token::find_key`].
    pub fn into_signer(self, uri: &Pkcs11Uri) -> Result<TokenSigner> {
        let key = self.find_key(uri)?;
        Ok(TokenSigner {
            token: self,
            key,
            raw_rsa: false,
        })
    }

    fn label_and_id(&self, handle: ObjectHandle) -> Result<(String, Vec<u8>)> {
        let attrs = self
            .session
            .get_attributes(handle, &[AttributeType::Label, AttributeType::Id])
            .map_err(Error::pkcs11("C_GetAttributeValue"))?;
        let mut label = String::new();
        let mut id = Vec::new();
        for a in attrs {
            match a {
                Attribute::Label(v) => label = text_attr(&v),
                Attribute::Id(v) => id = v,
                _ => {}
            }
        }
        Ok((label, id))
    }

    fn key_info(&self, handle: ObjectHandle, base: &Pkcs11Uri) -> Result<KeyInfo> {
        let attrs = self
            .session
            .get_attributes(
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::Label,
                    AttributeType::Id,
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::AlwaysAuthenticate,
                    AttributeType::EcParams,
                    AttributeType::Modulus,
                    AttributeType::PublicExponent,
                    AttributeType::PublicKeyInfo,
                ],
            )
            .map_err(Error::pkcs11("C_GetAttributeValue"))?;
        let mut key_type = None;
        let (mut label, mut id) = (String::new(), Vec::new());
        let (mut sensitive, mut extractable, mut always_authenticate) = (None, None, false);
        let (mut params, mut modulus, mut exponent, mut spki) = (None, None, None, None);
        for a in attrs {
            match a {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Label(v) => label = text_attr(&v),
                Attribute::Id(v) => id = v,
                Attribute::Sensitive(b) => sensitive = Some(b),
                Attribute::Extractable(b) => extractable = Some(b),
                Attribute::AlwaysAuthenticate(b) => always_authenticate = b,
                Attribute::EcParams(v) if !v.is_empty() => params = Some(v),
                Attribute::Modulus(v) if !v.is_empty() => modulus = Some(v),
                Attribute::PublicExponent(v) if !v.is_empty() => exponent = Some(v),
                Attribute::PublicKeyInfo(v) if !v.is_empty() => spki = Some(v),
                _ => {}
            }
        }

        let (algorithm, public_key) = match key_type {
            Some(KeyType::EC) => {
                let params = params.ok_or_else(|| Error::MalformedAttribute {
                    attribute: "CKA_EC_PARAMS",
                    reason: "the EC private key does not say its curve".to_owned(),
                })?;
                let alg = encoding::curve_from_params(&params)?;
                let public = match spki {
                    Some(der) => encoding::spki_from_token(alg, &der)?,
                    None => {
                        let point = self.public_ec_point(&label, &id, &params)?;
                        encoding::ec_spki(alg, &encoding::ec_point(alg, &point)?)?
                    }
                };
                (alg, public)
            }
            Some(KeyType::RSA) => {
                let modulus = modulus.ok_or_else(|| Error::MalformedAttribute {
                    attribute: "CKA_MODULUS",
                    reason: "the RSA private key does not give its modulus".to_owned(),
                })?;
                let alg = encoding::rsa_algorithm(&modulus)?;
                let public = match (spki, exponent) {
                    (Some(der), _) => encoding::spki_from_token(alg, &der)?,
                    (None, Some(e)) => encoding::rsa_spki(&modulus, &e)?,
                    (None, None) => {
                        let e = self.public_rsa_exponent(&label, &id, &modulus)?;
                        encoding::rsa_spki(&modulus, &e)?
                    }
                };
                (alg, public)
            }
            Some(other) => {
                return Err(Error::UnsupportedKey(format!(
                    "{other} key; only ECDSA (P-256, P-384, P-521) and RSA (2048, 3072, 4096) keys can sign CSRs"
                )));
            }
            None => {
                return Err(Error::MalformedAttribute {
                    attribute: "CKA_KEY_TYPE",
                    reason: "the private key does not say its type".to_owned(),
                });
            }
        };

        let uri = Pkcs11Uri {
            token: Some(self.token.label.clone()),
            object: (!label.is_empty()).then(|| label.clone()),
            id: (!id.is_empty()).then(|| id.clone()),
            object_type: Some(crate::uri::ObjectType::Private),
            module_path: base.module_path.clone(),
            ..Pkcs11Uri::default()
        };
        Ok(KeyInfo {
            label,
            id,
            algorithm,
            public_key,
            uri,
            sensitive,
            extractable,
            always_authenticate,
            handle,
        })
    }

    /// The public key objects that pair with a private key: same id if it has one, else same
    /// label.
    fn public_objects(&self, label: &str, id: &[u8]) -> Result<Vec<ObjectHandle>> {
        let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
        if !id.is_empty() {
            template.push(Attribute::Id(id.to_vec()));
        } else if !label.is_empty() {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        } else {
            return Ok(Vec::new());
        }
        self.find(&template)
    }

    fn no_public(label: &str) -> Error {
        Error::UnsupportedKey(format!(
            "the private key {label:?} has no public key object (same id or label) on the token, and the token does not give CKA_PUBLIC_KEY_INFO"
        ))
    }

    fn public_ec_point(&self, label: &str, id: &[u8], params: &[u8]) -> Result<Vec<u8>> {
        for handle in self.public_objects(label, id)? {
            let attrs = self
                .session
                .get_attributes(handle, &[AttributeType::EcParams, AttributeType::EcPoint])
                .map_err(Error::pkcs11("C_GetAttributeValue"))?;
            let (mut p, mut point) = (None, None);
            for a in attrs {
                match a {
                    Attribute::EcParams(v) => p = Some(v),
                    Attribute::EcPoint(v) => point = Some(v),
                    _ => {}
                }
            }
            if let (Some(p), Some(point)) = (p, point)
                && p == params
            {
                return Ok(point);
            }
        }
        Err(Self::no_public(label))
    }

    fn public_rsa_exponent(&self, label: &str, id: &[u8], modulus: &[u8]) -> Result<Vec<u8>> {
        for handle in self.public_objects(label, id)? {
            let attrs = self
                .session
                .get_attributes(
                    handle,
                    &[AttributeType::Modulus, AttributeType::PublicExponent],
                )
                .map_err(Error::pkcs11("C_GetAttributeValue"))?;
            let (mut n, mut e) = (None, None);
            for a in attrs {
                match a {
                    Attribute::Modulus(v) => n = Some(v),
                    Attribute::PublicExponent(v) => e = Some(v),
                    _ => {}
                }
            }
            if let (Some(n), Some(e)) = (n, e)
                && n == modulus
            {
                return Ok(e);
            }
        }
        Err(Self::no_public(label))
    }
}

/// Signs with a private key that stays on the token; implements okms-csr's [`CsrSigner`].
///
/// ECDSA: the message is hashed here (SHA-256/384/512 for P-256/384/521) and the token signs
/// the digest with `CKM_ECDSA`; its raw `r || s` is turned into DER. RSA: `CKM_SHA256_RSA_PKCS`
/// when the token offers it, else `CKM_RSA_PKCS` over the SHA-256 DigestInfo.
pub struct TokenSigner {
    token: Token,
    key: KeyInfo,
    raw_rsa: bool,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("token", &self.token.token.label)
            .field("key", &self.key.uri.to_string())
            .field("algorithm", &self.key.algorithm)
            .finish()
    }
}

impl TokenSigner {
    /// The key this signer uses.
    pub fn key(&self) -> &KeyInfo {
        &self.key
    }

    /// Signs RSA with `CKM_RSA_PKCS` over the DigestInfo even when the token offers
    /// `CKM_SHA256_RSA_PKCS`, as on tokens without the latter. For tests of that path.
    #[doc(hidden)]
    pub fn force_raw_rsa_pkcs(&mut self) {
        self.raw_rsa = true;
    }

    /// Signs `message` as [`CsrSigner::sign`] describes, with this crate's error type.
    ///
    /// # Errors
    /// [`Error::Pkcs11`] when the token refuses, [`Error::MalformedAttribute`] for a
    /// signature of the wrong size.
    pub fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
        let alg = self.key.algorithm;
        let kind = if alg.is_rsa() {
            SignatureKind::RsaPkcs1(HashAlg::Sha256)
        } else {
            SignatureKind::Ecdsa(curve_hash(alg))
        };
        self.sign_with(kind, message)
    }

    /// Whether this key and token can make signatures of `kind`: ECDSA only with the hash
    /// of the key's curve (SHA-256 for P-256, SHA-384 for P-384, SHA-512 for P-521, as TLS 1.3
    /// pairs them); RSA PKCS#1 v1.5 when the token has `CKM_SHAx_RSA_PKCS` or `CKM_RSA_PKCS`;
    /// RSA-PSS when it has `CKM_SHAx_RSA_PKCS_PSS` or `CKM_RSA_PKCS_PSS`.
    #[must_use]
    pub fn supports(&self, kind: SignatureKind) -> bool {
        let alg = self.key.algorithm;
        let has = |m: MechanismType| self.token.mechanisms.contains(&m);
        match kind {
            SignatureKind::Ecdsa(h) => !alg.is_rsa() && curve_hash(alg) == h,
            SignatureKind::RsaPkcs1(h) => {
                alg.is_rsa() && (has(MechanismType::RSA_PKCS) || has(h.rsa_pkcs_mechanism()))
            }
            SignatureKind::RsaPss(h) => {
                alg.is_rsa() && (has(MechanismType::RSA_PKCS_PSS) || has(h.rsa_pss_mechanism()))
            }
        }
    }

    /// Signs `message` (not pre-hashed) on the token as `kind` says: ECDSA as DER
    /// `Ecdsa-Sig-Value`, RSA PKCS#1 v1.5 or RSA-PSS (MGF1 with the same hash, salt as long as
    /// the hash, as TLS requires). The hashing is done by the token when it offers the
    /// combined mechanism, else here.
    ///
    /// # Errors
    /// [`Error::UnsupportedKey`] when `kind` does not fit the key ([`TokenSigner::supports`]),
    /// [`Error::Pkcs11`] when the token refuses, [`Error::MalformedAttribute`] for a
    /// signature of the wrong size.
    pub fn sign_with(&self, kind: SignatureKind, message: &[u8]) -> Result<Vec<u8>> {
        let alg = self.key.algorithm;
        let fits = match kind {
            SignatureKind::Ecdsa(h) => !alg.is_rsa() && curve_hash(alg) == h,
            SignatureKind::RsaPkcs1(_) | SignatureKind::RsaPss(_) => alg.is_rsa(),
        };
        if !fits {
            return Err(Error::UnsupportedKey(format!(
                "a {} key cannot make {kind:?} signatures",
                alg.as_str()
            )));
        }
        if self.key.always_authenticate {
            login(
                &self.token.session,
                UserType::ContextSpecific,
                self.token.pin.as_ref(),
                &self.token.token.label,
            )?;
        }
        let session = &self.token.session;
        let handle = self.key.handle;
        let has = |m: MechanismType| !self.raw_rsa && self.token.mechanisms.contains(&m);
        match kind {
            SignatureKind::Ecdsa(h) => {
                let raw = session
                    .sign(&Mechanism::Ecdsa, handle, &h.digest(message))
                    .map_err(Error::pkcs11("C_Sign (CKM_ECDSA)"))?;
                encoding::ecdsa_der(alg, &raw)
            }
            SignatureKind::RsaPkcs1(h) => {
                if has(h.rsa_pkcs_mechanism()) {
                    let mechanism = match h {
                        HashAlg::Sha256 => Mechanism::Sha256RsaPkcs,
                        HashAlg::Sha384 => Mechanism::Sha384RsaPkcs,
                        HashAlg::Sha512 => Mechanism::Sha512RsaPkcs,
                    };
                    return session
                        .sign(&mechanism, handle, message)
                        .map_err(Error::pkcs11("C_Sign (CKM_SHAx_RSA_PKCS)"));
                }
                let mut info = h.digest_info_prefix().to_vec();
                info.extend_from_slice(&h.digest(message));
                session
                    .sign(&Mechanism::RsaPkcs, handle, &info)
                    .map_err(Error::pkcs11("C_Sign (CKM_RSA_PKCS)"))
            }
            SignatureKind::RsaPss(h) => {
                let params = PkcsPssParams {
                    hash_alg: h.mechanism(),
                    mgf: h.mgf1(),
                    s_len: Ulong::try_from(h.len())
                        .map_err(Error::pkcs11("CK_RSA_PKCS_PSS_PARAMS.sLen"))?,
                };
                if has(h.rsa_pss_mechanism()) {
                    let mechanism = match h {
                        HashAlg::Sha256 => Mechanism::Sha256RsaPkcsPss(params),
                        HashAlg::Sha384 => Mechanism::Sha384RsaPkcsPss(params),
                        HashAlg::Sha512 => Mechanism::Sha512RsaPkcsPss(params),
                    };
                    return session
                        .sign(&mechanism, handle, message)
                        .map_err(Error::pkcs11("C_Sign (CKM_SHAx_RSA_PKCS_PSS)"));
                }
                session
                    .sign(&Mechanism::RsaPkcsPss(params), handle, &h.digest(message))
                    .map_err(Error::pkcs11("C_Sign (CKM_RSA_PKCS_PSS)"))
            }
        }
    }
}

/// The hash TLS 1.3 pairs with an ECDSA curve (and that CSRs use).
fn curve_hash(alg: KeyAlgorithm) -> HashAlg {
    match alg {
        KeyAlgorithm::EcdsaP384 => HashAlg::Sha384,
        KeyAlgorithm::EcdsaP521 => HashAlg::Sha512,
        _ => HashAlg::Sha256,
    }
}

/// A hash function for [`TokenSigner::sign_with`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => Sha256::digest(message).to_vec(),
            HashAlg::Sha384 => Sha384::digest(message).to_vec(),
            HashAlg::Sha512 => Sha512::digest(message).to_vec(),
        }
    }

    /// Digest length in bytes.
    fn len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    fn mechanism(self) -> MechanismType {
        match self {
            HashAlg::Sha256 => MechanismType::SHA256,
            HashAlg::Sha384 => MechanismType::SHA384,
            HashAlg::Sha512 => MechanismType::SHA512,
        }
    }

    fn mgf1(self) -> PkcsMgfType {
        match self {
            HashAlg::Sha256 => PkcsMgfType::MGF1_SHA256,
            HashAlg::Sha384 => PkcsMgfType::MGF1_SHA384,
            HashAlg::Sha512 => PkcsMgfType::MGF1_SHA512,
        }
    }

    fn rsa_pkcs_mechanism(self) -> MechanismType {
        match self {
            HashAlg::Sha256 => MechanismType::SHA256_RSA_PKCS,
            HashAlg::Sha384 => MechanismType::SHA384_RSA_PKCS,
            HashAlg::Sha512 => MechanismType::SHA512_RSA_PKCS,
        }
    }

    fn rsa_pss_mechanism(self) -> MechanismType {
        match self {
            HashAlg::Sha256 => MechanismType::SHA256_RSA_PKCS_PSS,
            HashAlg::Sha384 => MechanismType::SHA384_RSA_PKCS_PSS,
            HashAlg::Sha512 => MechanismType::SHA512_RSA_PKCS_PSS,
        }
    }

    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            HashAlg::Sha256 => &encoding::SHA256_DIGEST_INFO_PREFIX,
            HashAlg::Sha384 => &encoding::SHA384_DIGEST_INFO_PREFIX,
            HashAlg::Sha512 => &encoding::SHA512_DIGEST_INFO_PREFIX,
        }
    }
}

/// A kind of signature for [`TokenSigner::sign_with`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureKind {
    /// ECDSA over the hash of the message, DER-encoded.
    Ecdsa(HashAlg),
    /// RSA PKCS#1 v1.5 over the hash of the message.
    RsaPkcs1(HashAlg),
    /// RSA-PSS over the hash of the message, MGF1 with the same hash, salt of the hash's length.
    RsaPss(HashAlg),
}

impl CsrSigner for TokenSigner {
    fn algorithm(&self) -> KeyAlgorithm {
        self.key.algorithm
    }

    fn public_key(&self) -> okms_csr::Result<PublicKey> {
        Ok(self.key.public_key.clone())
    }

    fn sign(&self, message: &[u8]) -> okms_csr::Result<Vec<u8>> {
        self.sign_message(message)
            .map_err(|e| okms_csr::Error::Signing(format!("on the PKCS#11 token: {e}")))
    }
}
