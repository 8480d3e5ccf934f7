//! The issued access certificate looks like OKMS's (spec §2.4), checked with openssl and
//! with okms-csr's parser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use okms_csr::{Certificate, CsrBuilder, DistinguishedName, KeyAlgorithm, PrivateKey};
use okms_test_support::interop;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[test]
fn certificate_shape() {
    let emu = start(fast());
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = CsrBuilder::new(DistinguishedName::common_name("ignored-subject").unwrap())
        .build(&key)
        .unwrap();
    let body = json!({"name": "shape", "identityURNs": [URN], "validity": 30, "csr": csr.to_pem()});
    let (status, v) = json(signed(
        &emu,
        Method::POST,
        &cred_path(&emu),
        Some(&body.to_string()),
    ));
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let (_, got) = wait_while(&emu, &id, "CREATING");
    let pem = got["certificatePEM"].as_str().unwrap().to_owned();
    let okms_id = emu.okms_id().to_string();

    // okms-csr's reading.
    let cert = Certificate::from_pem(&pem).unwrap();
    assert_eq!(cert.credential_id().as_deref(), Some(id.as_str()));
    assert_eq!(cert.okms_domain().as_deref(), Some(okms_id.as_str()));
    assert_eq!(cert.subject(), format!("CN={okms_id}"));
    assert_eq!(cert.extended_key_usages(), vec!["clientAuth".to_owned()]);
    assert!(okms_csr::same_public_key(
        &cert.public_key(),
        &csr.public_key()
    ));
    assert_eq!(
        cert.not_after() - cert.not_before(),
        time::Duration::days(30)
    );

    let Some(openssl) = interop::openssl("the openssl checks of the issued certificate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("client.pem");
    std::fs::write(&cert_file, &pem).unwrap();
    let cert_path = cert_file.to_str().unwrap();
    let text = openssl.text(dir.path(), &["x509", "-in", cert_path, "-noout", "-text"]);
    let serial_hex: String = id.replace('-', "").to_uppercase();
    let serial = openssl.text(dir.path(), &["x509", "-in", cert_path, "-noout", "-serial"]);
    // openssl prints the INTEGER's bytes; a high first bit adds a leading 00.
    let serial = serial
        .trim()
        .trim_start_matches("serial=")
        .trim_start_matches("00");
    assert_eq!(serial, serial_hex.trim_start_matches("00"));
    assert!(
        text.contains("Signature Algorithm: ecdsa-with-SHA256"),
        "{text}"
    );
    assert!(
        text.contains("Issuer: CN = CCMUsersCA") || text.contains("CN = CCMUsersCA"),
        "{text}"
    );
    assert!(text.contains(&format!("Subject: CN = {okms_id}")), "{text}");
    assert!(
        text.contains("X509v3 Subject Alternative Name: critical"),
        "{text}"
    );
    assert!(text.contains(&format!("okms.domain:{okms_id}")), "{text}");
    assert!(
        text.contains("othername:")
            || text.contains("1.3.6.1.4.1.311.20.2.3")
            || text.contains("UPN"),
        "{text}"
    );
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(text.contains("Version: 3"), "{text}");
    // Exactly two extensions.
    let extensions = text
        .lines()
        .filter(|l| l.trim_start().starts_with("X509v3 ") && !l.contains("X509v3 extensions"))
        .count();
    assert_eq!(extensions, 2, "{text}");
    // The CA verifies it, for client use.
    let ca = emu.info().ca_file.to_str().unwrap().to_owned();
    openssl.verify_client_certificate(dir.path(), &ca, cert_path);
    // The raw SAN: otherName [0] { type-id 1.3.6.1.4.1.311.20.2.3, [0] EXPLICIT UTF8String }.
    let value = format!("okms.domain:{okms_id}");
    let mut expected = vec![
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03,
    ];
    expected.extend([0xa0, value.len() as u8 + 2, 0x0c, value.len() as u8]);
    expected.extend(value.as_bytes());
    let der = cert.to_der();
    assert!(
        der.windows(expected.len())
            .any(|w| w == expected.as_slice()),
        "otherName with a UTF8String value not found in the DER"
    );
}

#[test]
fn ca_file_is_a_ca() {
    let Some(openssl) = interop::openssl("the openssl check of the emulator's CA") else {
        return;
    };
    let emu = start(fast());
    let ca_file = &emu.info().ca_file;
    let text = openssl.text(
        ca_file.parent().unwrap(),
        &["x509", "-in", ca_file.to_str().unwrap(), "-noout", "-text"],
    );
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("CCMUsersCA"), "{text}");
    assert!(text.contains("ASN1 OID: prime256v1"), "{text}");
}
