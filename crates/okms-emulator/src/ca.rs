//! The emulator's certificate authority: a P-256 key and a self-signed CA certificate that
//! issues the access certificates (shaped like OKMS's, spec §2.4) and the KMS endpoint's
//! server certificate.

use std::{net::IpAddr, str::FromStr, time::SystemTime};

use der::{
    Decode, Encode, EncodePem, Tag, Tagged,
    asn1::{Any, OctetString, PrintableStringRef, Utf8StringRef},
    flagset::FlagSet,
    oid::{AssociatedOid, ObjectIdentifier},
    pem::LineEnding,
    referenced::OwnedToRef,
};
use p256::{ecdsa::DerSignature, elliptic_curve::Generate, pkcs8::EncodePrivateKey};
use time::OffsetDateTime;
use uuid::Uuid;
use x509_cert::{
    Certificate,
    attr::AttributeTypeAndValue,
    builder::{Builder, CertificateBuilder, profile::BuilderProfile},
    certificate::TbsCertificate,
    ext::{
        Extension,
        pkix::{
            BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
            SubjectKeyIdentifier,
            name::{GeneralName, OtherName},
        },
    },
    name::{Name, RdnSequence, RelativeDistinguishedName},
    serial_number::SerialNumber,
    spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef},
    time::{Time, Validity},
};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Microsoft UPN otherName type, which OKMS uses to carry `okms.domain:<okmsId>`.
pub const OID_MS_UPN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.3");
const OID_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const OID_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");

/// Subject (and issuer of everything it signs) of the emulator CA. OKMS's is `CN=CCMUsersCA`;
/// the O= says plainly that this one is not OVHcloud's.
pub const CA_SUBJECT: &str = "CN=CCMUsersCA,O=okms-emulator (not OVHcloud)";

/// The CA key and certificate.
pub struct Ca {
    key: p256::ecdsa::SigningKey,
    name: Name,
    cert_pem: String,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &CA_SUBJECT)
            .finish_non_exhaustive()
    }
}

/// A profile whose extensions are fixed up front (the stock profiles add extensions OKMS's
/// certificates do not have).
struct FixedProfile {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

fn encoding(what: &'static str) -> impl FnOnce(der::Error) -> Error {
    move |source| Error::Encoding { what, source }
}

fn extension<T: AssociatedOid + Encode>(value: &T, critical: bool) -> Result<Extension> {
    let der = value.to_der().map_err(encoding("certificate extension"))?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(der).map_err(encoding("certificate extension"))?,
    })
}

fn to_time(t: OffsetDateTime) -> Result<Time> {
    Time::try_from(SystemTime::from(t)).map_err(encoding("certificate validity"))
}

/// `s` (RFC 4514) as a name whose text attributes are PrintableString, as in OKMS's
/// certificates (issuer `CN=CCMUsersCA` and subject `CN=<okmsId>` are both PrintableString).
/// x509-cert parses every such attribute as UTF8String, which a client comparing names
/// byte-for-byte, or inspecting the encoding, would see as a difference from the real thing.
fn name(s: &str) -> Result<Name> {
    let parsed = Name::from_str(s).map_err(encoding("certificate name"))?;
    let mut printable = RdnSequence::default();
    for rdn in parsed.as_ref().iter() {
        let attributes = rdn
            .iter()
            .map(|atv| {
                if atv.value.tag() != Tag::Utf8String {
                    return Ok(atv.clone());
                }
                let text = PrintableStringRef::new(atv.value.value())?;
                Ok(AttributeTypeAndValue {
                    oid: atv.oid,
                    value: Any::encode_from(&text)?,
                })
            })
            .collect::<der::Result<Vec<_>>>()
            .map_err(encoding("certificate name"))?;
        printable.push(
            RelativeDistinguishedName::try_from(attributes)
                .map_err(encoding("certificate name"))?,
        );
    }
    let der = printable.to_der().map_err(encoding("certificate name"))?;
    Name::from_der(&der).map_err(encoding("certificate name"))
}

fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(Error::Random)?;
    // A positive, non-zero serial that keeps its 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(encoding("serial number"))
}

impl Ca {
    /// Generates a fresh CA key and a self-signed certificate valid for ten years.
    pub fn generate() -> Result<Self> {
        let key = p256::ecdsa::SigningKey::try_generate_from_rng(&mut getrandom::SysRng)
            .map_err(Error::Random)?;
        let name = name(CA_SUBJECT)?;
        let spki = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).map_err(|e| {
            Error::Certificate {
                what: "CA",
                source: e.into(),
            }
        })?;
        let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref()).map_err(|e| {
            Error::Certificate {
                what: "CA",
                source: e.into(),
            }
        })?;
        let extensions = vec![
            extension(
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
                true,
            )?,
            extension(
                &KeyUsage(
                    KeyUsages::KeyCertSign | KeyUsages::CRLSign | KeyUsages::DigitalSignature,
                ),
                true,
            )?,
            extension(&ski, false)?,
        ];
        let now = OffsetDateTime::now_utc();
        let validity = Validity::new(
            to_time(now - time::Duration::hours(1))?,
            to_time(now + time::Duration::days(3650))?,
        );
        let profile = FixedProfile {
            issuer: name.clone(),
            subject: name.clone(),
            extensions,
        };
        let cert = CertificateBuilder::new(profile, random_serial()?, validity, spki)
            .and_then(|b| b.build::<_, DerSignature>(&key))
            .map_err(|source| Error::Certificate { what: "CA", source })?;
        let cert_der = cert.to_der().map_err(encoding("CA certificate"))?;
        let cert_pem = cert
            .to_pem(LineEnding::LF)
            .map_err(encoding("CA certificate"))?;
        Ok(Self {
            key,
            name,
            cert_pem,
            cert_der,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    fn sign(
        &self,
        what: &'static str,
        profile: FixedProfile,
        serial: SerialNumber,
        validity: Validity,
        spki_der: &[u8],
    ) -> Result<Certificate> {
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(encoding("public key"))?;
        CertificateBuilder::new(profile, serial, validity, spki)
            .and_then(|b| b.build::<_, DerSignature>(&self.key))
            .map_err(|source| Error::Certificate { what, source })
    }

    /// Issues an access certificate the way OKMS does: serial = the credential id's 16 bytes,
    /// subject `CN=<okmsId>`, a critical subjectAltName with the otherName
    /// `1.3.6.1.4.1.311.20.2.3` = UTF8String `okms.domain:<okmsId>`, EKU clientAuth, and
    /// nothing else. Returns the PEM and the DER.
    pub fn issue_access_certificate(
        &self,
        credential_id: Uuid,
        okms_id: Uuid,
        spki_der: &[u8],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<(String, Vec<u8>)> {
        let upn = format!("okms.domain:{okms_id}");
        let value =
            Any::encode_from(&Utf8StringRef::new(&upn).map_err(encoding("okms.domain name"))?)
                .map_err(encoding("okms.domain name"))?;
        let san = SubjectAltName(vec![GeneralName::OtherName(OtherName {
            type_id: OID_MS_UPN,
            value,
        })]);
        let profile = FixedProfile {
            issuer: self.name.clone(),
            subject: name(&format!("CN={okms_id}"))?,
            extensions: vec![
                extension(&san, true)?,
                extension(&ExtendedKeyUsage(vec![OID_CLIENT_AUTH]), false)?,
            ],
        };
        let serial =
            SerialNumber::new(credential_id.as_bytes()).map_err(encoding("serial number"))?;
        let validity = Validity::new(to_time(not_before)?, to_time(not_after)?);
        let cert = self.sign("access", profile, serial, validity, spki_der)?;
        let pem = cert
            .to_pem(LineEnding::LF)
            .map_err(encoding("access certificate"))?;
        let der = cert.to_der().map_err(encoding("access certificate"))?;
        Ok((pem, der))
    }

    /// Issues the KMS endpoint's server certificate (localhost, 127.0.0.1, ::1) with a fresh
    /// P-256 key. Returns the certificate DER and the key as PKCS#8 DER.
    pub fn issue_server_certificate(&self) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
        let key = p256::ecdsa::SigningKey::try_generate_from_rng(&mut getrandom::SysRng)
            .map_err(Error::Random)?;
        let spki = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).map_err(|e| {
            Error::Certificate {
                what: "server",
                source: e.into(),
            }
        })?;
        let spki_der = spki.to_der().map_err(encoding("server public key"))?;
        let mut names = vec![GeneralName::DnsName(
            der::asn1::Ia5String::new("localhost").map_err(encoding("server name"))?,
        )];
        for ip in [
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
        ] {
            names.push(GeneralName::from(ip));
        }
        let profile = FixedProfile {
            issuer: self.name.clone(),
            subject: name("CN=localhost,O=okms-emulator (not OVHcloud)")?,
            extensions: vec![
                extension(&SubjectAltName(names), false)?,
                extension(&ExtendedKeyUsage(vec![OID_SERVER_AUTH]), false)?,
                extension(&KeyUsage(FlagSet::from(KeyUsages::DigitalSignature)), true)?,
            ],
        };
        let now = OffsetDateTime::now_utc();
        let validity = Validity::new(
            to_time(now - time::Duration::hours(1))?,
            to_time(now + time::Duration::days(825))?,
        );
        let cert = self.sign("server", profile, random_serial()?, validity, &spki_der)?;
        let cert_der = cert.to_der().map_err(encoding("server certificate"))?;
        let key_der = key.to_pkcs8_der().map_err(Error::ServerKey)?;
        Ok((cert_der, Zeroizing::new(key_der.as_bytes().to_vec())))
    }
}
