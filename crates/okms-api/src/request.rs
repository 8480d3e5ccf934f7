//! `okms.credential.Creation`: the create body, its client-side validation and its JSON form.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Field, quote_value};
use crate::types::CertificateType;
use crate::urn::validate_urn;

// Parsing a certificate type is validating user input, so it lives with the request's other
// checks; `types` stays free of `Error`, which names `CredentialStatus`.
impl std::str::FromStr for CertificateType {
    type Err = Error;
    /// Case-insensitive `ecdsa` or `rsa`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_uppercase().as_str() {
            "ECDSA" => Ok(CertificateType::Ecdsa),
            "RSA" => Ok(CertificateType::Rsa),
            _ => Err(Error::invalid(
                Field::CertificateType,
                format!("{} is not ECDSA or RSA", quote_value(s)),
            )),
        }
    }
}

/// Longest `name` the API accepts.
pub const NAME_MAX: usize = 50;
/// Longest `description` the API accepts.
pub const DESCRIPTION_MAX: usize = 200;
/// Longest validity, in days.
pub const VALIDITY_MAX_DAYS: u32 = 365;
/// Most identity URNs per credential.
pub const IDENTITY_URNS_MAX: usize = 25;

const CSR_BEGIN: &str = "-----BEGIN CERTIFICATE REQUEST-----";
const CSR_END: &str = "-----END CERTIFICATE REQUEST-----";

/// The body of `POST /v2/okms/resource/{okmsId}/credential`.
///
/// Serializes only the fields that are set, as compact JSON. Also the format of the request
/// file handed from an air-gapped host to a connected one; unknown fields are refused when
/// reading so that a typo cannot silently drop a setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialRequest {
    /// Name, 1–50 printable ASCII characters.
    pub name: String,
    /// Identity URNs, 1–25.
    #[serde(rename = "identityURNs")]
    pub identity_urns: Vec<String>,
    /// Description, up to 200 printable ASCII characters; `Some("")` is sent as `""` (the
    /// Control Panel sends it so), `None` is left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Validity in days, 1–365 (server default 365).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity: Option<u32>,
    /// PEM CSR (real newlines; JSON escapes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr: Option<String>,
    /// Key type for OVHcloud to generate; only without `csr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_type: Option<CertificateType>,
}

impl CredentialRequest {
    /// A request where OVHcloud generates the key (server default type, ECDSA).
    pub fn new(name: impl Into<String>, identity_urns: Vec<String>) -> Self {
        CredentialRequest {
            name: name.into(),
            identity_urns,
            description: None,
            validity: None,
            csr: None,
            certificate_type: None,
        }
    }

    /// A request to certify the key of a CSR (PEM text).
    pub fn from_csr(
        name: impl Into<String>,
        identity_urns: Vec<String>,
        csr_pem: impl Into<String>,
    ) -> Self {
        CredentialRequest {
            csr: Some(csr_pem.into()),
            ..CredentialRequest::new(name, identity_urns)
        }
    }

    /// Sets the description; an empty one is valid and sent as `""`.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the validity in days.
    pub fn with_validity(mut self, days: u32) -> Self {
        self.validity = Some(days);
        self
    }

    /// Sets the key type OVHcloud generates.
    pub fn with_certificate_type(mut self, t: CertificateType) -> Self {
        self.certificate_type = Some(t);
        self
    }

    /// Checks every field against the API's documented limits; the error names the field.
    pub fn validate(&self) -> Result<(), Error> {
        if self.name.is_empty() {
            return Err(Error::invalid(Field::Name, "must not be empty"));
        }
        check_text(Field::Name, &self.name, NAME_MAX)?;
        // The schema makes the description optional and nullable with no minimum length, and
        // the Control Panel sends "" when the field is left blank.
        if let Some(d) = &self.description {
            check_text(Field::Description, d, DESCRIPTION_MAX)?;
        }
        if let Some(v) = self.validity
            && !(1..=VALIDITY_MAX_DAYS).contains(&v)
        {
            return Err(Error::invalid(
                Field::Validity,
                format!("{v} days is outside 1..={VALIDITY_MAX_DAYS}"),
            ));
        }
        if self.identity_urns.is_empty() {
            return Err(Error::invalid(
                Field::IdentityUrns,
                "at least one identity URN is required",
            ));
        }
        if self.identity_urns.len() > IDENTITY_URNS_MAX {
            return Err(Error::invalid(
                Field::IdentityUrns,
                format!(
                    "{} URNs given, at most {IDENTITY_URNS_MAX} are allowed",
                    self.identity_urns.len()
                ),
            ));
        }
        for (i, urn) in self.identity_urns.iter().enumerate() {
            validate_urn(urn).map_err(|e| match e {
                Error::InvalidField { reason, .. } => Error::invalid(Field::IdentityUrn(i), reason),
                other => other,
            })?;
        }
        if let Some(t) = &self.certificate_type {
            if self.csr.is_some() {
                return Err(Error::invalid(
                    Field::CertificateType,
                    "cannot be combined with csr: the CSR's key decides the type",
                ));
            }
            if let CertificateType::Other(s) = t {
                return Err(Error::invalid(
                    Field::CertificateType,
                    format!("{} is not ECDSA or RSA", quote_value(s)),
                ));
            }
        }
        if let Some(csr) = &self.csr {
            check_csr(csr)?;
        }
        Ok(())
    }

    /// The compact JSON body (only the fields that are set).
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self).map_err(Error::RequestDecode)
    }

    /// Reads a request back from JSON (e.g. a request file) and validates it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let r: CredentialRequest = serde_json::from_slice(bytes).map_err(Error::RequestDecode)?;
        r.validate()?;
        Ok(r)
    }
}

fn check_text(field: Field, s: &str, max: usize) -> Result<(), Error> {
    if let Some((i, c)) = s.char_indices().find(|(_, c)| !(' '..='~').contains(c)) {
        return Err(Error::invalid(
            field,
            format!("character {c:?} at byte {i} is not printable ASCII (space to '~')"),
        ));
    }
    if s.len() > max {
        return Err(Error::invalid(
            field,
            format!("{} characters, at most {max} are allowed", s.len()),
        ));
    }
    Ok(())
}

fn check_csr(csr: &str) -> Result<(), Error> {
    if csr.contains('\r') {
        return Err(Error::invalid(
            Field::Csr,
            "contains CR (Windows line endings); convert it to LF line endings",
        ));
    }
    if let Some(c) = csr
        .chars()
        .find(|c| !(c.is_ascii_graphic() || *c == ' ' || *c == '\n'))
    {
        return Err(Error::invalid(
            Field::Csr,
            format!("contains {c:?}; a PEM CSR is printable ASCII"),
        ));
    }
    let t = csr.trim();
    if !t.starts_with(CSR_BEGIN)
        || !t.ends_with(CSR_END)
        || t.len() <= CSR_BEGIN.len() + CSR_END.len()
    {
        let hint = if t.contains("NEW CERTIFICATE REQUEST") {
            " (relabel \"NEW CERTIFICATE REQUEST\" as \"CERTIFICATE REQUEST\")"
        } else {
            ""
        };
        return Err(Error::invalid(
            Field::Csr,
            format!("not a PEM block {CSR_BEGIN} … {CSR_END}{hint}"),
        ));
    }
    if t.matches("-----BEGIN ").count() != 1 {
        return Err(Error::invalid(
            Field::Csr,
            "must hold exactly one PEM block",
        ));
    }
    Ok(())
}
