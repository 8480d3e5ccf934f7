//! The create body: validation naming the bad field, exact JSON, request files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_api::{CertificateType, CredentialRequest, Error};

const URN: &str = "urn:v1:eu:identity:user:xx1111-ovh/john.smith";
const CSR: &str =
    "-----BEGIN CERTIFICATE REQUEST-----\nMIIBAzCBqgIBADAS\n-----END CERTIFICATE REQUEST-----\n";

fn base() -> CredentialRequest {
    CredentialRequest::new("John Smith", vec![URN.into()])
}

fn field_of(e: Error) -> String {
    match e {
        Error::InvalidField { field, .. } => field.to_string(),
        other => panic!("expected InvalidField, got {other}"),
    }
}

#[test]
fn serializes_only_set_fields_compactly() {
    assert_eq!(
        String::from_utf8(base().to_json().unwrap()).unwrap(),
        r#"{"name":"John Smith","identityURNs":["urn:v1:eu:identity:user:xx1111-ovh/john.smith"]}"#
    );
    let full = base()
        .with_description("My access credential")
        .with_validity(30)
        .with_certificate_type(CertificateType::Rsa);
    assert_eq!(
        String::from_utf8(full.to_json().unwrap()).unwrap(),
        r#"{"name":"John Smith","identityURNs":["urn:v1:eu:identity:user:xx1111-ovh/john.smith"],"description":"My access credential","validity":30,"certificateType":"RSA"}"#
    );
    let csr = CredentialRequest::from_csr("n", vec![URN.into()], CSR);
    let json = String::from_utf8(csr.to_json().unwrap()).unwrap();
    assert!(json.contains(r#""csr":"-----BEGIN CERTIFICATE REQUEST-----\nMIIBAzCBqgIBADAS\n-----END CERTIFICATE REQUEST-----\n""#), "{json}");
    assert!(!json.contains("certificateType"));
}

#[test]
fn from_json_round_trips_and_validates() {
    let r = base().with_description("d").with_validity(365);
    let back = CredentialRequest::from_json(&r.to_json().unwrap()).unwrap();
    assert_eq!(back, r);
    // The GUIDE's example body.
    let guide = br#"{ "description": "My access credential",
  "identityURNs": ["urn:v1:eu:identity:user:xx1111-ovh/john.smith","urn:v1:eu:identity:group:xx1111-ovh/my_group"],
  "name": "John Smith", "validity": 30 }"#;
    let g = CredentialRequest::from_json(guide).unwrap();
    assert_eq!(g.validity, Some(30));
    assert_eq!(g.identity_urns.len(), 2);
    // A typo must not silently drop a setting.
    let e = CredentialRequest::from_json(
        br#"{"name":"n","identityURNs":["urn:v1:eu:identity:account:xx1111-ovh"],"validty":3}"#,
    )
    .unwrap_err();
    assert!(matches!(e, Error::RequestDecode(_)));
    assert!(format!("{:?}", std::error::Error::source(&e)).contains("validty"));
    // Invalid content is refused on reading.
    let e = CredentialRequest::from_json(
        br#"{"name":"","identityURNs":["urn:v1:eu:identity:account:xx1111-ovh"]}"#,
    )
    .unwrap_err();
    assert_eq!(field_of(e), "name");
    assert!(CredentialRequest::from_json(b"not json").is_err());
    assert!(
        CredentialRequest::from_json(br#"{"name":"n","identityURNs":[],"validity":-1}"#).is_err()
    );
}

#[test]
fn validation_names_the_bad_field() {
    let cases: Vec<(CredentialRequest, &str)> = vec![
        (CredentialRequest::new("", vec![URN.into()]), "name"),
        (
            CredentialRequest::new("x".repeat(51), vec![URN.into()]),
            "name",
        ),
        (CredentialRequest::new("café", vec![URN.into()]), "name"),
        (
            CredentialRequest::new("tab\there", vec![URN.into()]),
            "name",
        ),
        (base().with_description("d".repeat(201)), "description"),
        (base().with_description("naïve"), "description"),
        (base().with_validity(0), "validity"),
        (base().with_validity(366), "validity"),
        (CredentialRequest::new("n", vec![]), "identityURNs"),
        (
            CredentialRequest::new("n", vec![URN.into(); 26]),
            "identityURNs",
        ),
        (
            CredentialRequest::new("n", vec![URN.into(), "urn:v1:eu:identity:user:/x".into()]),
            "identityURNs[1]",
        ),
        (
            CredentialRequest::from_csr("n", vec![URN.into()], CSR)
                .with_certificate_type(CertificateType::Ecdsa),
            "certificateType",
        ),
        (
            base().with_certificate_type(CertificateType::Other("DSA".into())),
            "certificateType",
        ),
        (
            CredentialRequest::from_csr("n", vec![URN.into()], "hello"),
            "csr",
        ),
        (
            CredentialRequest::from_csr("n", vec![URN.into()], CSR.replace('\n', "\r\n")),
            "csr",
        ),
        (
            CredentialRequest::from_csr(
                "n",
                vec![URN.into()],
                "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n",
            ),
            "csr",
        ),
        (
            CredentialRequest::from_csr(
                "n",
                vec![URN.into()],
                CSR.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"),
            ),
            "csr",
        ),
        (
            CredentialRequest::from_csr("n", vec![URN.into()], format!("{CSR}{CSR}")),
            "csr",
        ),
    ];
    for (req, field) in cases {
        let e = req.validate().unwrap_err();
        let msg = e.to_string();
        assert_eq!(field_of(e), field, "{req:?}: {msg}");
    }
}

/// `--description ""` is valid: the schema has no minimum length and the Control Panel sends
/// `""` for a blank field. Given, it is sent as `""`; not given, it is left out (never `null`).
#[test]
fn empty_description_is_sent_as_given() {
    let empty = base().with_description("");
    empty.validate().unwrap();
    assert_eq!(
        String::from_utf8(empty.to_json().unwrap()).unwrap(),
        r#"{"name":"John Smith","identityURNs":["urn:v1:eu:identity:user:xx1111-ovh/john.smith"],"description":""}"#
    );
    let back = CredentialRequest::from_json(&empty.to_json().unwrap()).unwrap();
    assert_eq!(back.description.as_deref(), Some(""));
    let absent = String::from_utf8(base().to_json().unwrap()).unwrap();
    assert!(!absent.contains("description"), "{absent}");
    // A request file with an explicit null reads as "not given".
    let null = CredentialRequest::from_json(
        br#"{"name":"n","identityURNs":["urn:v1:eu:identity:account:xx1111-ovh"],"description":null}"#,
    )
    .unwrap();
    assert_eq!(null.description, None);
    assert!(
        !String::from_utf8(null.to_json().unwrap())
            .unwrap()
            .contains("description")
    );
    // The name stays required.
    let e = CredentialRequest::new("", vec![URN.into()])
        .with_description("")
        .validate()
        .unwrap_err();
    assert_eq!(field_of(e), "name");
}

#[test]
fn limits_are_inclusive() {
    CredentialRequest::new("x".repeat(50), vec![URN.into(); 25])
        .with_description("~".repeat(200))
        .with_validity(1)
        .validate()
        .unwrap();
    base().with_validity(365).validate().unwrap();
    CredentialRequest::from_csr("n", vec![URN.into()], CSR)
        .validate()
        .unwrap();
    base()
        .with_certificate_type(CertificateType::Ecdsa)
        .validate()
        .unwrap();
    assert_eq!(
        "rsa".parse::<CertificateType>().unwrap(),
        CertificateType::Rsa
    );
    assert!("dsa".parse::<CertificateType>().is_err());
}
