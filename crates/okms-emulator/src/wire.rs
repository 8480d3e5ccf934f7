//! The JSON shapes on the wire, written from the spec (never shared with okms-api, on
//! purpose: an end-to-end test only passes when two independent readings agree).

use serde::Serialize;
use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};
use uuid::Uuid;

const DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6][offset_hour sign:mandatory]:[offset_minute]"
);

/// RFC 3339 with microseconds and an explicit offset, as in the GUIDE's examples.
pub(crate) fn format_date(t: OffsetDateTime) -> String {
    t.format(DATE_FORMAT).unwrap_or_else(|_| t.to_string())
}

/// `okms.CredentialStatusEnum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CredentialStatus {
    /// Certificate not issued yet.
    Creating,
    /// Deletion requested, not finished.
    Deleting,
    /// Creation failed (never produced by the emulator unless a test asks for it).
    Error,
    /// Past `expiredAt`.
    Expired,
    /// Certificate available.
    Ready,
}

/// `okms.CertificateTypeEnum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CertificateType {
    /// ECDSA P-256 for generated keys; any EC key for CSRs.
    Ecdsa,
    /// RSA.
    Rsa,
}

impl CertificateType {
    /// Parses the enum exactly as the schema spells it.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ECDSA" => Some(Self::Ecdsa),
            "RSA" => Some(Self::Rsa),
            _ => None,
        }
    }
}

/// The fields every credential answer has: `okms.credential.GetResponse` without its
/// certificate, and `okms.credential.CreationResponse` without its private key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialFields {
    /// Credential id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description (null when not given).
    pub description: Option<String>,
    /// Identity URNs.
    #[serde(rename = "identityURNs")]
    pub identity_urns: Vec<String>,
    /// Current status (always CREATING in practice in a POST answer).
    pub status: CredentialStatus,
    /// Whether a CSR was sent.
    #[serde(rename = "fromCSR")]
    pub from_csr: bool,
    /// Key type of the certificate.
    pub certificate_type: CertificateType,
    /// RFC 3339 with microseconds.
    pub created_at: String,
    /// RFC 3339 with microseconds.
    pub expired_at: String,
}

/// `okms.credential.CreationResponse`: the POST answer.
#[derive(Debug, Serialize)]
pub struct CreationResponse {
    /// Everything but the key.
    #[serde(flatten)]
    pub credential: CredentialFields,
    /// The generated key, only when no CSR was sent; null otherwise.
    #[serde(rename = "privateKeyPEM")]
    pub private_key_pem: Option<String>,
}

/// `okms.credential.GetResponse`: GET, list and DELETE answers.
#[derive(Debug, Serialize)]
pub struct GetResponse {
    /// Everything but the certificate.
    #[serde(flatten)]
    pub credential: CredentialFields,
    /// The certificate once READY, null before.
    #[serde(rename = "certificatePEM")]
    pub certificate_pem: Option<String>,
}

/// `iam.ResourceMetadata.StateEnum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceState {
    /// The only state the emulator's domains are in.
    Ok,
}

/// `iam.ResourceMetadata`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamMetadata {
    /// Resource id.
    pub id: Uuid,
    /// Resource URN.
    pub urn: String,
    /// Display name.
    pub display_name: String,
    /// Tags (`map[string]string`; always empty here).
    pub tags: std::collections::BTreeMap<String, String>,
    /// State.
    pub state: ResourceState,
}

/// `okms.resource.ResponseWithIAM`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// OKMS id.
    pub id: Uuid,
    /// Region name, e.g. `eu-west-rbx`.
    pub region: String,
    /// The emulator's KMS URL.
    pub rest_endpoint: String,
    /// Not served by the emulator.
    pub kmip_endpoint: String,
    /// Not served by the emulator.
    pub kmip_rsa_endpoint: Option<String>,
    /// Not served by the emulator.
    pub swagger_endpoint: String,
    /// The CA PEM, with `?publicCA=true` only.
    #[serde(rename = "publicCA", skip_serializing_if = "Option::is_none")]
    pub public_ca: Option<String>,
    /// Same CA (the emulator has a single CA), with `?publicCA=true` only.
    #[serde(rename = "publicRsaCA", skip_serializing_if = "Option::is_none")]
    pub public_rsa_ca: Option<String>,
    /// Always 0.
    pub service_key_count: u64,
    /// Always 0.
    pub secret_count: u64,
    /// Always 0.
    pub secret_version_count: u64,
    /// Always 0.
    pub kmip_object_count: u64,
    /// `true` for a PCI-DSS enabled domain (`EmulatorConfig::pci_dss_domains`), else absent:
    /// the field is not in the API's published schema (only in a generated binding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pci_dss_enabled: Option<bool>,
    /// IAM metadata.
    pub iam: IamMetadata,
}

/// `GET /v1/auth/details` (`auth.Details`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthDetails {
    /// The NIC handle.
    pub account: String,
    /// `account` or `oauth2_client_credentials`.
    pub method: &'static str,
    /// Identity URNs of the caller.
    pub identities: Vec<String>,
    /// Null for account logins.
    pub user: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Empty.
    pub roles: Vec<String>,
    /// What the consumer key grants.
    pub allowed_routes: Vec<AllowedRoute>,
}

/// One access rule.
#[derive(Debug, Serialize)]
pub struct AllowedRoute {
    /// HTTP method.
    pub method: &'static str,
    /// Path pattern.
    pub path: &'static str,
}

/// `GET /v1/me` (`nichandle.Nichandle`, the fields clients read).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The NIC handle.
    pub nichandle: String,
    /// Customer code.
    pub customer_code: String,
    /// Subsidiary.
    pub ovh_subsidiary: &'static str,
    /// Account state.
    pub state: &'static str,
    /// Company.
    pub ovh_company: &'static str,
    /// E-mail.
    pub email: String,
    /// First name.
    pub firstname: &'static str,
    /// Last name.
    pub name: &'static str,
    /// Country.
    pub country: &'static str,
    /// Currency.
    pub currency: Currency,
}

/// A currency.
#[derive(Debug, Serialize)]
pub struct Currency {
    /// ISO code.
    pub code: &'static str,
    /// Symbol name.
    pub symbol: &'static str,
}

/// OAuth2 token answer.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// Opaque token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: u64,
    /// Granted scope.
    pub scope: String,
}

/// OAuth2 error answer (RFC 6749 §5.2).
#[derive(Debug, Serialize)]
pub struct OAuth2Error {
    /// Error code.
    pub error: &'static str,
    /// Human text.
    pub error_description: String,
}

/// Data-plane `ListServiceKeys` answer.
#[derive(Debug, Serialize)]
pub struct ServiceKeyList {
    /// Always empty: the emulator stores no keys.
    pub objects_list: Vec<serde_json::Value>,
    /// Never empty (the schema makes it required, minLength 1); `is_truncated` ends the list.
    pub continuation_token: String,
    /// False on the last page.
    pub is_truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_format_has_micros_and_offset() {
        let t = time::macros::datetime!(2024-04-04 10:26:28.856619 UTC);
        assert_eq!(format_date(t), "2024-04-04T10:26:28.856619+00:00");
    }
}
