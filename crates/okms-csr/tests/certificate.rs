//! Parsing a certificate like the one OKMS issues (UUID serial, `okms.domain:<id>` otherName
//! SAN, clientAuth), made here by openssl from one of our CSRs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_csr::{Certificate, CsrBuilder, KeyAlgorithm, PrivateKey, same_public_key};
use okms_test_support::interop::{self, Openssl};
use time::macros::datetime;

const EXT: &str = "[ext]
subjectAltName = critical, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:okms.domain:e90c5841-f39e-4983-8596-62ff0c538b6b
extendedKeyUsage = clientAuth
keyUsage = critical, digitalSignature, keyAgreement
";

fn issue(openssl: Openssl, d: &std::path::Path, key: &PrivateKey, serial: &str) -> Certificate {
    let csr = CsrBuilder::new("CN=e90c5841-f39e-4983-8596-62ff0c538b6b".parse().unwrap())
        .build(key)
        .unwrap();
    std::fs::write(d.join("req.pem"), csr.to_pem()).unwrap();
    std::fs::write(d.join("ext.cnf"), EXT).unwrap();
    openssl.ok(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "req.pem",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            serial,
            "-days",
            "365",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "ext",
            "-out",
            "cert.pem",
        ],
    );
    let pem = std::fs::read_to_string(d.join("cert.pem")).unwrap();
    let cert = Certificate::from_pem(&pem).unwrap();
    let der = openssl.ok(d, &["x509", "-in", "cert.pem", "-outform", "DER"]);
    assert_eq!(cert.to_der(), der.as_slice());
    assert_eq!(Certificate::parse(&der).unwrap().to_pem(), cert.to_pem());
    cert
}

#[test]
fn okms_like_certificate_is_parsed() {
    let Some(openssl) = interop::openssl("okms_like_certificate_is_parsed") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl.ok(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-subj",
            "/CN=CCMUsersCA",
            "-days",
            "30",
            "-out",
            "ca.pem",
        ],
    );
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let cert = issue(openssl, d, &key, "0x3f2504e04f8911d39a0c0305e82c3301");
    assert_eq!(cert.serial_hex(), "3f2504e04f8911d39a0c0305e82c3301");
    assert_eq!(
        cert.credential_id().as_deref(),
        Some("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    );
    assert_eq!(cert.subject(), "CN=e90c5841-f39e-4983-8596-62ff0c538b6b");
    assert_eq!(cert.issuer(), "CN=CCMUsersCA");
    assert_eq!(
        cert.okms_domain().as_deref(),
        Some("e90c5841-f39e-4983-8596-62ff0c538b6b")
    );
    assert_eq!(cert.extended_key_usages(), vec!["clientAuth"]);
    assert_eq!(cert.key_usages(), vec!["digitalSignature", "keyAgreement"]);
    assert!(same_public_key(&cert.public_key(), &key.public_key()));
    let now = time::OffsetDateTime::now_utc();
    assert!(cert.is_valid_at(now));
    assert!(!cert.is_valid_at(now + time::Duration::days(400)));
    assert!(!cert.is_valid_at(datetime!(2000-01-01 0:00 UTC)));
    assert!(cert.not_after() - cert.not_before() >= time::Duration::days(364));
    let info = cert.info();
    assert_eq!(
        info.credential_id.as_deref(),
        Some("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    );
    assert_eq!(info.key_algorithm, "ecdsa-p256");
    assert!(
        info.sans[0].contains("okms.domain:e90c5841"),
        "{:?}",
        info.sans
    );
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["okms_domain"], "e90c5841-f39e-4983-8596-62ff0c538b6b");

    // A serial with its top bit set gets a leading 0x00 in DER; the UUID is still 16 bytes.
    let cert = issue(openssl, d, &key, "0xb1e2c3d4e5f60718293a4b5c6d7e8f90");
    assert_eq!(
        cert.credential_id().as_deref(),
        Some("b1e2c3d4-e5f6-0718-293a-4b5c6d7e8f90")
    );
    // An id starting with 00 loses that byte in DER (minimal integer), with or without a
    // sign byte after it; it is padded back (the emulator's ids do this one time in 256).
    let cert = issue(openssl, d, &key, "0x005a2c3d4e5f60718293a4b5c6d7e8f9");
    assert_eq!(cert.serial_hex(), "5a2c3d4e5f60718293a4b5c6d7e8f9");
    assert_eq!(
        cert.credential_id().as_deref(),
        Some("005a2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
    );
    let cert = issue(openssl, d, &key, "0x00009a3d4e5f60718293a4b5c6d7e8f9");
    assert_eq!(
        cert.credential_id().as_deref(),
        Some("00009a3d-4e5f-6071-8293-a4b5c6d7e8f9")
    );
    // A short serial is not a UUID.
    let cert = issue(openssl, d, &key, "0x1234");
    assert_eq!(cert.credential_id(), None);
    assert_eq!(cert.serial_hex(), "1234");
}
