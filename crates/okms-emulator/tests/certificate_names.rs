//! The names in an issued access certificate are encoded as OKMS encodes them: the issuer's
//! and the subject's CN are PrintableString (tag 0x13), not UTF8String (0x0c), and the issuer
//! is byte-for-byte the CA certificate's subject, so the chain still verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use der::{Decode, DecodePem, Encode, Tag, Tagged, oid::ObjectIdentifier};
use okms_test_support::interop;
use x509_cert::{Certificate, name::Name};

const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// The tag and the text of the one CN attribute of `name`.
fn common_name(name: &Name) -> (Tag, String) {
    let cns: Vec<_> = name
        .as_ref()
        .iter()
        .flat_map(|rdn| rdn.iter())
        .filter(|atv| atv.oid == OID_COMMON_NAME)
        .collect();
    assert_eq!(cns.len(), 1, "exactly one CN expected in {name}");
    let value = &cns[0].value;
    (
        value.tag(),
        String::from_utf8(value.value().to_vec()).unwrap(),
    )
}

#[test]
fn issuer_and_subject_cn_are_printable_strings() {
    let emu = start(fast());
    let (_, pem, _) = ready_credential(&emu);
    let cert = Certificate::from_pem(pem.as_bytes()).unwrap();
    let tbs = cert.tbs_certificate();

    assert_eq!(
        common_name(tbs.issuer()),
        (Tag::PrintableString, "CCMUsersCA".to_owned())
    );
    assert_eq!(
        common_name(tbs.subject()),
        (Tag::PrintableString, emu.okms_id().to_string())
    );
    // Every attribute of both names, not just the CN: a UTF8String O= next to a
    // PrintableString CN would still differ from a name written the other way.
    for name in [tbs.issuer(), tbs.subject()] {
        for atv in name.as_ref().iter().flat_map(|rdn| rdn.iter()) {
            assert_eq!(atv.value.tag(), Tag::PrintableString, "{name}");
        }
    }

    // Path building compares the issuer with the CA's subject as bytes.
    let ca = Certificate::from_pem(emu.info().ca_pem.as_bytes()).unwrap();
    assert_eq!(
        ca.tbs_certificate().subject().to_der().unwrap(),
        tbs.issuer().to_der().unwrap()
    );
    assert_eq!(
        common_name(ca.tbs_certificate().subject()),
        (Tag::PrintableString, "CCMUsersCA".to_owned())
    );
    // The raw bytes, as a reader without an ASN.1 library would look for them:
    // SEQUENCE { OID 2.5.4.3, PrintableString "CCMUsersCA" }.
    let mut issuer_cn = vec![0x30, 0x11, 0x06, 0x03, 0x55, 0x04, 0x03, 0x13, 0x0a];
    issuer_cn.extend(b"CCMUsersCA");
    let der = Certificate::from_der(&cert.to_der().unwrap())
        .unwrap()
        .tbs_certificate()
        .issuer()
        .to_der()
        .unwrap();
    assert!(
        der.windows(issuer_cn.len())
            .any(|w| w == issuer_cn.as_slice()),
        "issuer CN is not PrintableString \"CCMUsersCA\" in {der:02x?}"
    );
}

#[test]
fn openssl_reads_printable_names_and_verifies_the_chain() {
    // Without openssl the name types are still checked by parsing the DER, above.
    let Some(openssl) = interop::openssl("the openssl reading of the certificate names") else {
        return;
    };
    let emu = start(fast());
    let (_, pem, _) = ready_credential(&emu);
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("client.cert");
    std::fs::write(&cert_file, &pem).unwrap();
    let cert_path = cert_file.to_str().unwrap();
    let names = openssl.text(
        dir.path(),
        &[
            "x509",
            "-in",
            cert_path,
            "-noout",
            "-issuer",
            "-subject",
            "-nameopt",
            "oneline,show_type",
        ],
    );
    assert!(
        names.contains("CN = PRINTABLESTRING:CCMUsersCA"),
        "issuer: {names}"
    );
    assert!(
        names.contains(&format!("CN = PRINTABLESTRING:{}", emu.okms_id())),
        "subject: {names}"
    );
    assert!(!names.contains("UTF8STRING"), "{names}");
    let ca = emu.info().ca_file.to_str().unwrap().to_owned();
    openssl.verify_client_certificate(dir.path(), &ca, cert_path);
}
