//! Wire types of the OVHcloud API, with the spec's field names; tolerant of unknown enum values
//! and missing optional fields.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $var,)+
            /// A value this library does not know; kept verbatim.
            Other(String),
        }

        impl $name {
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$var => $wire,)+
                    $name::Other(s) => s,
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($wire => $name::$var,)+
                    _ => $name::Other(s),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// `okms.CertificateTypeEnum`: the key type OVHcloud generates when no CSR is sent.
    CertificateType {
        /// ECDSA (P-256), the server default.
        Ecdsa = "ECDSA",
        /// RSA.
        Rsa = "RSA",
    }
}

wire_enum! {
    /// `okms.CredentialStatusEnum`.
    CredentialStatus {
        /// Being issued; no certificate yet.
        Creating = "CREATING",
        /// Being revoked and deleted.
        Deleting = "DELETING",
        /// Issuance failed.
        Error = "ERROR",
        /// Past its expiry.
        Expired = "EXPIRED",
        /// Issued; `certificatePEM` is available.
        Ready = "READY",
    }
}

/// `okms.credential.GetResponse`: an access credential as GET, list and DELETE return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// Credential ID (also the certificate serial).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Identity URNs allowed to use the certificate.
    #[serde(rename = "identityURNs", default)]
    pub identity_urns: Vec<String>,
    /// Status.
    pub status: CredentialStatus,
    /// Whether it was issued from a CSR.
    #[serde(rename = "fromCSR", default, skip_serializing_if = "Option::is_none")]
    pub from_csr: Option<bool>,
    /// Key type (absent from older API versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_type: Option<CertificateType>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Expiry time.
    #[serde(with = "time::serde::rfc3339")]
    pub expired_at: OffsetDateTime,
    /// The certificate, once READY.
    #[serde(
        rename = "certificatePEM",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub certificate_pem: Option<String>,
}

/// `okms.credential.CreationResponse`: the credential plus, when OVHcloud generated the key,
/// the only copy of the private key.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "RawCreated")]
pub struct CreatedCredential {
    /// The credential (status `CREATING` at first).
    pub credential: Credential,
    /// The private key (`privateKeyPEM`); present only when no CSR was sent, and never again.
    pub private_key_pem: Option<SecretString>,
}

// Spelled out rather than `#[serde(flatten)]`, which would buffer the private key in an
// intermediate value that is never zeroized.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCreated {
    id: Uuid,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "identityURNs", default)]
    identity_urns: Vec<String>,
    status: CredentialStatus,
    #[serde(rename = "fromCSR", default)]
    from_csr: Option<bool>,
    #[serde(default)]
    certificate_type: Option<CertificateType>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expired_at: OffsetDateTime,
    #[serde(rename = "privateKeyPEM", default)]
    private_key_pem: Option<SecretString>,
}

impl From<RawCreated> for CreatedCredential {
    fn from(r: RawCreated) -> Self {
        CreatedCredential {
            credential: Credential {
                id: r.id,
                name: r.name,
                description: r.description,
                identity_urns: r.identity_urns,
                status: r.status,
                from_csr: r.from_csr,
                certificate_type: r.certificate_type,
                created_at: r.created_at,
                expired_at: r.expired_at,
                // okms.credential.CreationResponse has no certificatePEM: the certificate
                // only ever comes from a later GET.
                certificate_pem: None,
            },
            private_key_pem: r.private_key_pem,
        }
    }
}

/// `okms.resource.ResponseWithIAM`: an OKMS domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// OKMS ID.
    pub id: Uuid,
    /// Region, e.g. `eu-west-rbx`.
    #[serde(default)]
    pub region: String,
    /// KMS REST endpoint, e.g. `https://eu-west-rbx.okms.ovh.net`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_endpoint: Option<String>,
    /// KMIP endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmip_endpoint: Option<String>,
    /// KMIP endpoint for RSA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmip_rsa_endpoint: Option<String>,
    /// Swagger UI URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swagger_endpoint: Option<String>,
    /// KMS public CA (only with `publicCA=true`).
    #[serde(rename = "publicCA", default, skip_serializing_if = "Option::is_none")]
    pub public_ca: Option<String>,
    /// KMS public RSA CA (only with `publicCA=true`).
    #[serde(
        rename = "publicRsaCA",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub public_rsa_ca: Option<String>,
    /// Number of service keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key_count: Option<i64>,
    /// Number of secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_count: Option<i64>,
    /// Number of secret versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_version_count: Option<i64>,
    /// Number of KMIP objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmip_object_count: Option<i64>,
    /// Whether the domain is PCI-DSS enabled (absent from API versions that do not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_dss_enabled: Option<bool>,
    /// IAM metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<IamMetadata>,
}

/// Which of a domain's KMS endpoints a mutual-TLS connection goes to. Each endpoint's server
/// certificate chains to one of the domain's CAs, which the API gives with `publicCA=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KmsEndpoint {
    /// The REST endpoint (`restEndpoint`).
    Rest,
    /// The KMIP endpoint (`kmipEndpoint`).
    Kmip,
    /// The KMIP endpoint for RSA certificates (`kmipRsaEndpoint`).
    KmipRsa,
}

impl KmsEndpoint {
    /// The [`Domain`] field, as the API spells it, that holds this endpoint's CA.
    pub fn ca_field(self) -> &'static str {
        match self {
            KmsEndpoint::Rest | KmsEndpoint::Kmip => "publicCA",
            KmsEndpoint::KmipRsa => "publicRsaCA",
        }
    }
}

impl Domain {
    /// The CA (PEM, as the API gave it) that `endpoint`'s server certificate chains to;
    /// `None` unless the domain was read with `publicCA=true` and the API filled the field.
    pub fn public_ca_for(&self, endpoint: KmsEndpoint) -> Option<&str> {
        match endpoint {
            KmsEndpoint::Rest | KmsEndpoint::Kmip => self.public_ca.as_deref(),
            KmsEndpoint::KmipRsa => self.public_rsa_ca.as_deref(),
        }
    }
}

/// `iam.ResourceMetadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamMetadata {
    /// Resource ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Resource URN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urn: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// State (`OK`, `IN_CREATION`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// `auth.Details` (`GET /v1/auth/details`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthDetails {
    /// Account (NIC handle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// IAM identity URNs of the current session.
    #[serde(default)]
    pub identities: Vec<String>,
    /// `account`, `oauth2_client_credentials`, `provider` or `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// User login, for `user` sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Roles, as returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<serde_json::Value>,
    /// Allowed routes, as returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_routes: Option<serde_json::Value>,
}

/// `nichandle.Nichandle` (`GET /v1/me`), the fields this project uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// Customer identifier, e.g. `xx1111-ovh`.
    pub nichandle: String,
    /// Customer code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<String>,
    /// Subsidiary, e.g. `FR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ovh_subsidiary: Option<String>,
    /// Account state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firstname: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}
