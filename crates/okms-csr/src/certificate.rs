//! Reading the certificate OKMS issues: serial (the credential id), subject, the
//! `okms.domain:<id>` SAN, validity and key usages.
// Parses untrusted input: no index or arithmetic that can panic (the lints RustCrypto uses).
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use crate::{
    error::{Error, Result},
    name::format_name,
    oids, pem,
    public_key::{PublicKey, hex_lower},
    san::describe_general_name,
};
use der::{
    Decode, Encode,
    asn1::{BitString, ObjectIdentifier, Utf8StringRef},
};
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;

/// A parsed X.509 certificate.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    cert: x509_cert::Certificate,
    public_key: PublicKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

/// A serializable summary of a certificate: what `okms-cli cert show --json` prints.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CertificateInfo {
    /// Serial number, lowercase hex (without a DER sign byte).
    pub serial: String,
    /// The serial read as a UUID (the OKMS credential id), if it is 16 bytes.
    pub credential_id: Option<String>,
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// The OKMS domain id from the `okms.domain:<id>` otherName SAN.
    pub okms_domain: Option<String>,
    /// Subject alternative names, e.g. `othername:1.3.6.1.4.1.311.20.2.3;okms.domain:...`.
    pub sans: Vec<String>,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Key usages, e.g. `digitalSignature`.
    pub key_usages: Vec<String>,
    /// Extended key usages, e.g. `clientAuth`.
    pub extended_key_usages: Vec<String>,
    /// Key algorithm name or e.g. `ed25519 (unsupported)`.
    pub key_algorithm: String,
    /// Lowercase hex SHA-256 of the public key's SPKI DER.
    pub public_key_sha256: String,
}

const KEY_USAGE_NAMES: [&str; 9] = [
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
];

fn eku_name(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.3.6.1.5.5.7.3.1" => "serverAuth",
        "1.3.6.1.5.5.7.3.2" => "clientAuth",
        "1.3.6.1.5.5.7.3.3" => "codeSigning",
        "1.3.6.1.5.5.7.3.4" => "emailProtection",
        "1.3.6.1.5.5.7.3.8" => "timeStamping",
        "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
        "2.5.29.37.0" => "anyExtendedKeyUsage",
        _ => return oid.to_string(),
    };
    name.to_string()
}

fn to_offset(t: &x509_cert::time::Time, which: &str) -> Result<OffsetDateTime> {
    let secs = i64::try_from(t.to_unix_duration().as_secs())
        .map_err(|_| Error::malformed("certificate", format!("{which} is out of range")))?;
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| Error::malformed("certificate", format!("{which} is out of range")))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

impl Certificate {
    /// Reads a PEM `CERTIFICATE` (the first one, if several are given).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let der = pem::decode_one(pem, &["CERTIFICATE"], "certificate")?;
        Self::from_der(&der)
    }

    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let cert =
            x509_cert::Certificate::from_der(der).map_err(Error::der("X.509 certificate"))?;
        let tbs = cert.tbs_certificate();
        let spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(Error::der("certificate public key"))?;
        let public_key = PublicKey::from_spki_der(&spki)?;
        let not_before = to_offset(&tbs.validity().not_before, "notBefore")?;
        let not_after = to_offset(&tbs.validity().not_after, "notAfter")?;
        Ok(Certificate {
            der: der.to_vec(),
            cert,
            public_key,
            not_before,
            not_after,
        })
    }

    /// Reads a certificate, PEM or DER.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        pem::pem_or_der(bytes, Self::from_pem, Self::from_der)
    }

    /// PEM, label `CERTIFICATE`, LF line endings.
    pub fn to_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.der).to_string()
    }

    /// The DER encoding.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    fn serial_bytes(&self) -> &[u8] {
        let bytes = self.cert.tbs_certificate().serial_number().as_bytes();
        // DER adds a 0x00 in front of a serial whose top bit is set; it is not part of the value.
        match bytes {
            [0, rest @ ..] if !rest.is_empty() => rest,
            _ => bytes,
        }
    }

    /// The serial number as lowercase hex (without a DER sign byte).
    pub fn serial_hex(&self) -> String {
        hex_lower(self.serial_bytes())
    }

    /// The serial read as a UUID, `8-4-4-4-12` lowercase: OKMS uses the credential id as the
    /// serial. DER drops the leading zero bytes of an integer, so an id that starts with `00`
    /// (one in 256) arrives shorter and is padded back to 16 bytes; a serial of fewer than 12
    /// or more than 16 bytes is not a credential id.
    pub fn credential_id(&self) -> Option<String> {
        let bytes = self.serial_bytes();
        if !(12..=16).contains(&bytes.len()) {
            return None;
        }
        // Left-padded with zeros to 16 bytes: a serial is a DER integer, its leading zeros dropped.
        let mut id = [0u8; 16];
        let start = id.len().checked_sub(bytes.len())?;
        id.get_mut(start..)?.copy_from_slice(bytes);
        let h = hex_lower(&id);
        Some(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ))
    }

    /// Subject, RFC 4514.
    pub fn subject(&self) -> String {
        format_name(self.cert.tbs_certificate().subject())
    }

    /// Issuer, RFC 4514.
    pub fn issuer(&self) -> String {
        format_name(self.cert.tbs_certificate().issuer())
    }

    fn extension(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        self.cert
            .tbs_certificate()
            .extensions()?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    fn general_names(&self) -> Vec<GeneralName> {
        self.extension(oids::SUBJECT_ALT_NAME)
            .and_then(|v| Vec::<GeneralName>::from_der(v).ok())
            .unwrap_or_default()
    }

    /// The OKMS domain id from the otherName SAN (1.3.6.1.4.1.311.20.2.3) `okms.domain:<id>`.
    pub fn okms_domain(&self) -> Option<String> {
        self.general_names().iter().find_map(|gn| match gn {
            GeneralName::OtherName(o) if o.type_id == oids::MS_UPN => {
                let s = o.value.decode_as::<Utf8StringRef<'_>>().ok()?;
                s.as_str().strip_prefix("okms.domain:").map(str::to_string)
            }
            _ => None,
        })
    }

    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Whether `t` lies within the validity period (both ends inclusive, as RFC 5280 says).
    pub fn is_valid_at(&self, t: OffsetDateTime) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// Key usage names, e.g. `digitalSignature`.
    pub fn key_usages(&self) -> Vec<String> {
        let Some(bits) = self
            .extension(oids::KEY_USAGE)
            .and_then(|v| BitString::from_der(v).ok())
        else {
            return Vec::new();
        };
        bits.bits()
            .zip(KEY_USAGE_NAMES)
            .filter(|(set, _)| *set)
            .map(|(_, name)| name.to_string())
            .collect()
    }

    /// Extended key usage names, e.g. `clientAuth` (dotted OIDs for unknown ones).
    pub fn extended_key_usages(&self) -> Vec<String> {
        self.extension(oids::EXT_KEY_USAGE)
            .and_then(|v| Vec::<ObjectIdentifier>::from_der(v).ok())
            .unwrap_or_default()
            .iter()
            .map(eku_name)
            .collect()
    }

    /// The certified public key.
    pub fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }

    /// A summary for display.
    pub fn info(&self) -> CertificateInfo {
        CertificateInfo {
            serial: self.serial_hex(),
            credential_id: self.credential_id(),
            subject: self.subject(),
            issuer: self.issuer(),
            okms_domain: self.okms_domain(),
            sans: self
                .general_names()
                .iter()
                .map(describe_general_name)
                .collect(),
            not_before: rfc3339(self.not_before),
            not_after: rfc3339(self.not_after),
            key_usages: self.key_usages(),
            extended_key_usages: self.extended_key_usages(),
            key_algorithm: self.public_key.describe().0,
            public_key_sha256: self.public_key.fingerprint_sha256(),
        }
    }
}
