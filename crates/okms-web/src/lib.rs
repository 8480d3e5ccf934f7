#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod wasm;

use std::str::FromStr;

use okms_api::{CredentialRequest, IdentitySelection, IdentityUrn, Plate};
use okms_csr::{
    CsrBuilder, DistinguishedName, ExposeSecret, KeyAlgorithm, KeyFormat, Passphrase, PrivateKey,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use error::{Error, Field};

/// The file names the page offers, as the README's air-gapped flow names them.
pub const KEY_FILE: &str = "domain.key";
/// See [`KEY_FILE`].
pub const CSR_FILE: &str = "client.csr";
/// See [`KEY_FILE`].
pub const REQUEST_FILE: &str = "request.json";

/// The page's form, as its script sends it (every value as typed).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// `ecdsa-p256` … `rsa-4096`, as `csr new --algorithm` takes it.
    pub algorithm: String,
    /// The CSR's subject common name.
    pub common_name: String,
    /// The credential name.
    pub name: String,
    /// The account the identities belong to, e.g. `xx1111-ovh`.
    #[serde(default)]
    pub nic: String,
    /// `eu`, `ca` or `us`.
    #[serde(default)]
    pub region: String,
    /// The account's root identity.
    #[serde(default)]
    pub root: bool,
    /// User logins, one a line.
    #[serde(default)]
    pub users: String,
    /// Group names, one a line.
    #[serde(default)]
    pub groups: String,
    /// Service accounts' OAuth2 client ids, one a line.
    #[serde(default)]
    pub service_accounts: String,
    /// Days, 1-365; empty for the API's default (365).
    #[serde(default)]
    pub validity: String,
    /// Empty for an unencrypted key.
    #[serde(default)]
    pub passphrase: Zeroizing<String>,
    /// The passphrase again.
    #[serde(default)]
    pub passphrase_confirm: Zeroizing<String>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Form")
            .field("algorithm", &self.algorithm)
            .field("common_name", &self.common_name)
            .field("name", &self.name)
            .field("nic", &self.nic)
            .field("region", &self.region)
            .field("root", &self.root)
            .field("users", &self.users)
            .field("groups", &self.groups)
            .field("service_accounts", &self.service_accounts)
            .field("validity", &self.validity)
            .field("passphrase", &"[redacted]")
            .field("passphrase_confirm", &"[redacted]")
            .finish()
    }
}

impl Form {
    /// Reads the form the page sends.
    ///
    /// # Errors
    /// [`Field::Form`] when the JSON does not match (the page and the module disagree).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| {
            Error::invalid(
                Field::Form,
                format!("the page sent a form this module cannot read: {e}"),
            )
            .with_hint("the page and its WebAssembly module do not match; rebuild it with `cargo xtask web`")
        })
    }
}

/// Everything checked, nothing generated yet.
#[derive(Debug)]
pub struct Checked {
    algorithm: KeyAlgorithm,
    subject: DistinguishedName,
    request: CredentialRequest,
    passphrase: Option<Passphrase>,
    warnings: Vec<String>,
}

impl Checked {
    /// The identity URNs the request will carry, in order, each once.
    #[must_use]
    pub fn identity_urns(&self) -> &[String] {
        &self.request.identity_urns
    }

    /// Notes about the input that are not errors (a duplicate identity, an unusual account).
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// What the page offers: the three files and what to show.
#[derive(Serialize)]
pub struct Generated {
    /// `domain.key`: PKCS#8, encrypted (scrypt + AES-256-CBC) when a passphrase was given.
    pub key_pem: Zeroizing<String>,
    /// Whether [`Generated::key_pem`] is encrypted.
    pub key_encrypted: bool,
    /// `client.csr`.
    pub csr_pem: String,
    /// `request.json`, as `request new` writes it (compact JSON and a newline).
    pub request_json: String,
    /// The key's algorithm, e.g. `ecdsa-p256`.
    pub algorithm: String,
    /// The CSR's subject, RFC 4514.
    pub subject: String,
    /// The identity URNs of the request.
    pub identity_urns: Vec<String>,
    /// SHA-256 of the public key (SubjectPublicKeyInfo DER), lowercase hex: okms-cli's
    /// `public key SHA-256`.
    pub public_key_sha256: String,
    /// Notes that are not errors.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated")
            .field("key_pem", &"[redacted]")
            .field("key_encrypted", &self.key_encrypted)
            .field("algorithm", &self.algorithm)
            .field("subject", &self.subject)
            .field("identity_urns", &self.identity_urns)
            .field("public_key_sha256", &self.public_key_sha256)
            .finish_non_exhaustive()
    }
}

/// Checks every field as okms-cli does, in the order of the page.
///
/// # Errors
/// The first field okms-cli would refuse, with its message.
pub fn check(form: &Form) -> Result<Checked, Error> {
    let algorithm = KeyAlgorithm::from_str(&form.algorithm).map_err(|e| {
        Error::invalid(Field::Algorithm, format!("invalid algorithm: {e}"))
            .with_hint("supported keys: ECDSA P-256, P-384, P-521 and RSA 2048-4096 bits")
    })?;
    let subject = DistinguishedName::common_name(&form.common_name).map_err(|e| {
        // okms-cli: `invalid --cn "…"`, then okms-csr's reason.
        Error::invalid(
            Field::CommonName,
            format!("invalid common name {:?}: {e}", form.common_name),
        )
        .with_hint("give the name the certificate is for, e.g. app1")
    })?;
    // okms-api checks the name before the identities: a request with none yet fails on the
    // name when the name is wrong, and on the missing identities otherwise.
    let no_identity = match CredentialRequest::new(form.name.clone(), Vec::new()).validate() {
        Err(e) if matches!(&e, okms_api::Error::InvalidField { field, .. } if field == "name") => {
            return Err(api_error(e, Field::Name));
        }
        Err(e) => api_error(e, Field::Identities)
            .with_hint("tick the account's root, or name a user, a group or a service account"),
        Ok(()) => Error::invalid(Field::Identities, "at least one identity is required"),
    };
    let (urns, warnings) = identities(form, no_identity)?;
    let validity = validity(&form.validity)?;
    let mut request = CredentialRequest::new(form.name.clone(), urns);
    if let Some(days) = validity {
        request = request.with_validity(days);
    }
    request.validate().map_err(|e| api_error(e, Field::Name))?;
    let passphrase = passphrase(&form.passphrase, &form.passphrase_confirm)?;
    Ok(Checked {
        algorithm,
        subject,
        request,
        passphrase,
        warnings,
    })
}

/// Checks the form, then makes the key, the CSR and the request.
///
/// # Errors
/// A field okms-cli would refuse (before any key is made), or a failure of the generator.
pub fn generate(form: &Form) -> Result<Generated, Error> {
    generate_checked(check(form)?)
}

/// Makes the key, the CSR and the request from a checked form.
///
/// # Errors
/// A failure of the generator, of signing or of encoding.
pub fn generate_checked(checked: Checked) -> Result<Generated, Error> {
    let Checked {
        algorithm,
        subject,
        request,
        passphrase,
        warnings,
    } = checked;
    let key = PrivateKey::generate(algorithm).map_err(|cause| Error::Crypto {
        context: format!("cannot generate an {algorithm} key"),
        cause,
    })?;
    let csr = CsrBuilder::new(subject)
        .build(&key)
        .map_err(|cause| Error::Crypto {
            context: "cannot build the CSR".into(),
            cause,
        })?;
    let key_pem = match &passphrase {
        Some(p) => key.to_encrypted_pem(p).map_err(|cause| Error::Crypto {
            context: "cannot encrypt the new key".into(),
            cause,
        })?,
        None => key
            .to_pem(KeyFormat::Pkcs8)
            .map_err(|cause| Error::Crypto {
                context: "cannot encode the new key".into(),
                cause,
            })?,
    };
    let csr_pem = csr.to_pem();
    let CredentialRequest {
        name,
        identity_urns,
        validity,
        ..
    } = request;
    let mut body = CredentialRequest::from_csr(name, identity_urns, csr_pem.clone());
    if let Some(days) = validity {
        body = body.with_validity(days);
    }
    // Checked already without the CSR; the CSR's own rules (PEM, line endings) are checked
    // here, as `request new` does.
    body.validate().map_err(|e| api_error(e, Field::Name))?;
    let mut json = body.to_json().map_err(Error::Encode)?;
    json.push(b'\n');
    // serde_json writes UTF-8: the lossy conversion never replaces anything.
    let request_json = String::from_utf8_lossy(&json).into_owned();
    Ok(Generated {
        key_pem: Zeroizing::new(key_pem.expose_secret().to_owned()),
        key_encrypted: passphrase.is_some(),
        csr_pem,
        request_json,
        algorithm: algorithm.as_str().to_owned(),
        subject: csr.subject(),
        identity_urns: body.identity_urns,
        public_key_sha256: key.public_key().fingerprint_sha256(),
        warnings,
    })
}

/// The lines of a one-a-line field; blank lines are skipped, nothing else is trimmed (okms-cli
/// refuses `--user " bob"`, so the page does too).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty())
}

/// The identity URNs, as `request new --root/--user/--group/--service-account` builds them
/// (okms-api's [`IdentitySelection`]: root, users, groups, service accounts, in that order),
/// each once.
fn identities(form: &Form, none_given: Error) -> Result<(Vec<String>, Vec<String>), Error> {
    let owned = |text: &str| lines(text).map(str::to_owned).collect::<Vec<_>>();
    let selection = IdentitySelection {
        root: form.root,
        users: owned(&form.users),
        groups: owned(&form.groups),
        service_accounts: owned(&form.service_accounts),
        ..IdentitySelection::default()
    };
    if selection.is_empty() {
        return Err(none_given);
    }
    if form.nic.is_empty() {
        return Err(Error::invalid(
            Field::Nic,
            "the root, users, groups and service accounts need the account ID (your NIC handle, e.g. xx1111-ovh)",
        ));
    }
    let plate = Plate::from_str(&form.region).map_err(|e| api_error(e, Field::Region))?;
    let built = selection
        .to_urns(plate, &form.nic)
        .map_err(|e| api_error(e, Field::Identities))?;
    let mut warnings = Vec::new();
    if built.duplicates_dropped() {
        warnings.push("duplicate identities were given once each".to_owned());
    }
    let urns = built.into_urns();
    for urn in &urns {
        if let Ok(u) = IdentityUrn::parse(urn)
            && !u.has_usual_account()
        {
            warnings.push(format!(
                "identity {urn}: the account {:?} is not of the usual form xx1111-ovh; it is sent as given",
                u.account()
            ));
        }
    }
    Ok((urns, warnings))
}

/// Empty for the API's default; else a whole number of days, its range checked by okms-api.
fn validity(text: &str) -> Result<Option<u32>, Error> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u32>().map(Some).map_err(|e| {
        Error::invalid(Field::Validity, format!("invalid validity {text:?}: {e}")).with_hint(
            "give a whole number of days, 1-365, or leave it empty for the API's default (365)",
        )
    })
}

/// No passphrase: an unencrypted key. Otherwise both must be typed and equal, as okms-cli's
/// prompt asks for them twice.
fn passphrase(
    first: &Zeroizing<String>,
    second: &Zeroizing<String>,
) -> Result<Option<Passphrase>, Error> {
    if first.is_empty() && second.is_empty() {
        return Ok(None);
    }
    // Only the second field typed: the user asked for encryption with an empty passphrase,
    // which `csr new --encrypt` refuses in these words.
    if first.is_empty() {
        return Err(Error::invalid(
            Field::Passphrase,
            format!("the passphrase for {KEY_FILE} is empty"),
        )
        .with_hint(
            "an empty passphrase protects nothing; give a non-empty one, or leave both fields empty for an unencrypted key",
        ));
    }
    if **first != **second {
        return Err(
            Error::invalid(Field::PassphraseConfirm, "the two passphrases differ")
                .with_hint("type the same passphrase in both fields, or leave both empty for an unencrypted key"),
        );
    }
    Ok(Some(Passphrase::from(first.as_str())))
}

/// An okms-api validation error, on the field it names (`fallback` when it names none the
/// page has), with okms-cli's `error:` line in front.
fn api_error(e: okms_api::Error, fallback: Field) -> Error {
    let field = match &e {
        okms_api::Error::InvalidField { field, .. } => match field {
            okms_api::Field::IdentityUrns | okms_api::Field::IdentityUrn(_) => Field::Identities,
            okms_api::Field::Name => Field::Name,
            okms_api::Field::Validity => Field::Validity,
            okms_api::Field::Nic => Field::Nic,
            okms_api::Field::Plate => Field::Region,
            okms_api::Field::UserLogin => Field::Users,
            okms_api::Field::GroupName => Field::Groups,
            okms_api::Field::ClientId => Field::ServiceAccounts,
            _ => fallback,
        },
        _ => fallback,
    };
    Error::invalid(
        field,
        format!("the request would be rejected by the API: {e}"),
    )
}

#[cfg(test)]
mod tests;
