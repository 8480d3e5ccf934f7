//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong in `okms-pkcs11`. Messages name the problem and, where we
/// know it, what to do about it.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A PKCS#11 URI (RFC 7512) is malformed; `attribute` names the offending attribute
    /// (or `scheme` / `syntax` when the problem is not tied to one attribute).
    #[error("invalid PKCS#11 URI: attribute {attribute:?}: {reason}")]
    InvalidUri {
        /// The attribute (or part of the URI) that is wrong.
        attribute: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The URI lacks something the operation needs (e.g. `object=` to name a new key).
    #[error("the PKCS#11 URI is missing {what}: {hint}")]
    MissingUriAttribute {
        /// What is missing.
        what: &'static str,
        /// What to add.
        hint: &'static str,
    },

    /// No module path was given and the URI has no `module-path`.
    #[error(
        "no PKCS#11 module given: give the module's path, set OKMS_PKCS11_MODULE, or add ?module-path=PATH to the URI{}{}",
        module_name.as_ref().map(|n| format!("; the URI's module-name={n} is not looked up, give the library's path")).unwrap_or_default(),
        softhsm2_module.as_ref().map(|p| format!("; a SoftHSM2 module is installed at {}", p.display())).unwrap_or_default()
    )]
    NoModule {
        /// The URI's `module-name`, which is not looked up.
        module_name: Option<String>,
        /// An installed SoftHSM2 module, found at a well-known path (never loaded unasked).
        softhsm2_module: Option<PathBuf>,
    },

    /// The module path does not name an existing file.
    #[error(
        "PKCS#11 module {path} does not exist; install your token's PKCS#11 library (for SoftHSM2: `apt-get install softhsm2`, module /usr/lib/softhsm/libsofthsm2.so) and give its path, or set OKMS_PKCS11_MODULE"
    )]
    ModuleNotFound {
        /// The module path.
        path: PathBuf,
    },

    /// This program is a fully static build (the musl release binary), which cannot load a
    /// shared library at all, so no PKCS#11 module can be used.
    #[error(
        "cannot load PKCS#11 module {path}: this okms-cli is a static build, which cannot load shared libraries; use the Debian package or a build from source (`cargo install`) for PKCS#11 tokens"
    )]
    StaticBuild {
        /// The module path.
        path: PathBuf,
    },

    /// The PKCS#11 module (shared library) could not be loaded or initialized.
    #[error("cannot load PKCS#11 module {path}: {source}")]
    ModuleLoad {
        /// The module path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: cryptoki::error::Error,
    },

    /// The PIN source named in the URI (or a PIN file) could not be read.
    #[error("cannot read the PIN from {path}: {source}")]
    PinSource {
        /// The file that was read.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// No token matched the URI's token/slot/library attributes.
    #[error("no PKCS#11 token matches {uri}; available tokens: {available}")]
    NoToken {
        /// The URI (without PIN).
        uri: String,
        /// The labels of the tokens present, for the user to pick from.
        available: String,
    },

    /// Several tokens matched and the URI does not say which one to use.
    #[error(
        "{count} PKCS#11 tokens match {uri} ({labels}); add token=LABEL or serial=SERIAL to the URI"
    )]
    AmbiguousToken {
        /// The URI (without PIN).
        uri: String,
        /// How many matched.
        count: usize,
        /// Their labels.
        labels: String,
    },

    /// The token needs a PIN and none was given.
    #[error(
        "token {token:?} needs its user PIN, and none was given (the URI may carry pin-source or pin-value)"
    )]
    PinRequired {
        /// The token label.
        token: String,
    },

    /// The PIN was rejected by the token (wrong, locked, or not initialized).
    #[error("PKCS#11 login to token {token:?} failed: {reason} ({code})")]
    Login {
        /// The token label.
        token: String,
        /// Why, in words.
        reason: String,
        /// The PKCS#11 return value, e.g. `PinIncorrect`.
        code: String,
    },

    /// No private key matched the URI.
    #[error(
        "no private key on token {token:?} matches {uri}; list the token's keys to find the right URI"
    )]
    KeyNotFound {
        /// The token label.
        token: String,
        /// The URI (without PIN).
        uri: String,
    },

    /// Several private keys matched the URI.
    #[error(
        "{count} private keys on token {token:?} match {uri}; add object=LABEL or id=ID to the URI"
    )]
    AmbiguousKey {
        /// The token label.
        token: String,
        /// The URI (without PIN).
        uri: String,
        /// How many matched.
        count: usize,
    },

    /// Key generation was refused because an object with the same label or id exists.
    #[error(
        "token {token:?} already holds an object with {attribute} {value}; choose another object= (or id=) or delete the old key"
    )]
    KeyExists {
        /// The token label.
        token: String,
        /// `label` or `id`.
        attribute: &'static str,
        /// The clashing value (label text or id hex).
        value: String,
    },

    /// The token did not apply the protection asked for a new key (sensitive, not
    /// extractable); the key was destroyed again.
    #[error(
        "token {token:?} did not keep the new key {label:?} sensitive and non-extractable ({detail}); the key was destroyed"
    )]
    KeyPolicy {
        /// The token label.
        token: String,
        /// The key label.
        label: String,
        /// What the token reported.
        detail: String,
    },

    /// The token refused to change a key's label (`CKA_LABEL`); `state` says which label its
    /// objects have now.
    #[error("cannot relabel key {from:?} to {to:?} on token {token:?}: {source}; {state}")]
    Relabel {
        /// The token label.
        token: String,
        /// The key's label before.
        from: String,
        /// The label asked for.
        to: String,
        /// Where the key's objects stand after the failure (and the undo).
        state: String,
        /// Whether every object of the key has its old label again (or never lost it).
        restored: bool,
        /// The cause (boxed: this variant carries more text than the others).
        #[source]
        source: Box<cryptoki::error::Error>,
    },

    /// The key on the token is of a type or size this crate does not handle.
    #[error("unsupported key on the token: {0}")]
    UnsupportedKey(String),

    /// A PKCS#11 call failed.
    #[error("PKCS#11 {operation} failed: {source}")]
    Pkcs11 {
        /// What we were doing.
        operation: &'static str,
        /// The cause.
        #[source]
        source: cryptoki::error::Error,
    },

    /// An attribute the token returned could not be understood.
    #[error("malformed {attribute} from the token: {reason}")]
    MalformedAttribute {
        /// The attribute (e.g. `CKA_EC_POINT`).
        attribute: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The operating system random number generator failed.
    #[error("the OS random number generator failed: {0}")]
    Random(String),

    /// okms-csr rejected something we built (e.g. the SubjectPublicKeyInfo).
    #[error(transparent)]
    Csr(#[from] okms_csr::Error),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn uri(attribute: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidUri {
            attribute: attribute.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn pkcs11(operation: &'static str) -> impl FnOnce(cryptoki::error::Error) -> Error {
        move |source| Error::Pkcs11 { operation, source }
    }
}
