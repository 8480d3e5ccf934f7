//! The page's rules on the host: what it makes, and that it refuses what okms-cli refuses, in
//! okms-cli's words, before any key exists.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_api::CredentialRequest;
use okms_csr::{Csr, DistinguishedName, KeyAlgorithm, Passphrase, PrivateKey};
use zeroize::Zeroizing;

use super::*;

fn form() -> Form {
    Form {
        algorithm: "ecdsa-p256".into(),
        common_name: "app1".into(),
        name: "app1-cert".into(),
        nic: "xx1111-ovh".into(),
        region: "eu".into(),
        root: true,
        users: "john.smith\r\n\njane\n".into(),
        groups: "admins".into(),
        service_accounts: "EU.abc123".into(),
        validity: "30".into(),
        ..Form::default()
    }
}

fn refusal(f: &Form) -> (Field, String) {
    let e = check(f).expect_err("the form should be refused");
    (e.field().expect("a field is named"), e.to_string())
}

#[test]
fn makes_key_csr_and_request_that_agree() {
    let out = generate(&form()).unwrap();
    assert!(!out.key_encrypted);
    assert!(out.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let key = PrivateKey::import(out.key_pem.as_bytes(), None).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256);
    assert_eq!(key.public_key().fingerprint_sha256(), out.public_key_sha256);

    let csr = Csr::from_pem(&out.csr_pem).unwrap();
    csr.verify().unwrap();
    assert_eq!(csr.subject(), "CN=app1");
    assert_eq!(out.subject, "CN=app1");
    assert_eq!(csr.public_key().fingerprint_sha256(), out.public_key_sha256);

    assert!(out.request_json.ends_with("}\n"));
    let body = CredentialRequest::from_json(out.request_json.as_bytes()).unwrap();
    assert_eq!(body.name, "app1-cert");
    assert_eq!(body.validity, Some(30));
    assert_eq!(body.description, None);
    assert_eq!(body.csr.as_deref(), Some(out.csr_pem.as_str()));
    assert_eq!(
        body.identity_urns,
        [
            "urn:v1:eu:identity:account:xx1111-ovh",
            "urn:v1:eu:identity:user:xx1111-ovh/john.smith",
            "urn:v1:eu:identity:user:xx1111-ovh/jane",
            "urn:v1:eu:identity:group:xx1111-ovh/admins",
            "urn:v1:eu:identity:credential:xx1111-ovh/oauth2-EU.abc123",
        ]
    );
    assert_eq!(out.identity_urns, body.identity_urns);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn request_json_is_what_request_new_writes() {
    let out = generate(&Form {
        validity: String::new(),
        ..form()
    })
    .unwrap();
    let body = CredentialRequest::from_json(out.request_json.as_bytes()).unwrap();
    assert_eq!(body.validity, None, "no validity: the API's default");
    let mut expected = body.to_json().unwrap();
    expected.push(b'\n');
    assert_eq!(out.request_json.as_bytes(), expected.as_slice());
}

#[test]
fn a_passphrase_encrypts_the_key_as_okms_cli_does() {
    let out = generate(&Form {
        algorithm: "ecdsa-p384".into(),
        passphrase: Zeroizing::new("correct horse".into()),
        passphrase_confirm: Zeroizing::new("correct horse".into()),
        ..form()
    })
    .unwrap();
    assert!(out.key_encrypted);
    assert!(
        out.key_pem
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    );
    assert!(matches!(
        PrivateKey::import(out.key_pem.as_bytes(), Some(&Passphrase::from("wrong"))),
        Err(okms_csr::Error::WrongPassphrase)
    ));
    let key = PrivateKey::import(
        out.key_pem.as_bytes(),
        Some(&Passphrase::from("correct horse")),
    )
    .unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP384);
    assert_eq!(key.public_key().fingerprint_sha256(), out.public_key_sha256);
}

#[test]
fn an_rsa_key_signs_its_csr() {
    let out = generate(&Form {
        algorithm: "rsa-2048".into(),
        ..form()
    })
    .unwrap();
    let csr = Csr::from_pem(&out.csr_pem).unwrap();
    csr.verify().unwrap();
    assert_eq!(out.algorithm, "rsa-2048");
}

#[test]
fn passphrases_that_differ_are_refused() {
    let (field, msg) = refusal(&Form {
        passphrase: Zeroizing::new("one".into()),
        passphrase_confirm: Zeroizing::new("two".into()),
        ..form()
    });
    assert_eq!(field, Field::PassphraseConfirm);
    assert_eq!(msg, "the two passphrases differ");
    // Typed in the first field only: two different passphrases.
    let (field, msg) = refusal(&Form {
        passphrase: Zeroizing::new("one".into()),
        ..form()
    });
    assert_eq!(field, Field::PassphraseConfirm);
    assert_eq!(msg, "the two passphrases differ");
}

#[test]
fn an_empty_passphrase_is_refused_as_csr_new_encrypt_refuses_it() {
    // Typed in the second field only: encryption was asked for, with an empty passphrase.
    let e = check(&Form {
        passphrase_confirm: Zeroizing::new("two".into()),
        ..form()
    })
    .unwrap_err();
    assert_eq!(e.field(), Some(Field::Passphrase));
    // okms-cli: `error: the passphrase for domain.key is empty`.
    assert_eq!(e.to_string(), "the passphrase for domain.key is empty");
    assert!(
        e.hint()
            .unwrap()
            .starts_with("an empty passphrase protects nothing")
    );
}

#[test]
fn an_empty_name_is_refused_with_the_api_rule() {
    let (field, msg) = refusal(&Form {
        name: String::new(),
        ..form()
    });
    assert_eq!(field, Field::Name);
    assert_eq!(
        msg,
        "the request would be rejected by the API: invalid name: must not be empty"
    );
    // Before the identities, as okms-api checks them.
    let (field, _) = refusal(&Form {
        name: String::new(),
        root: false,
        users: String::new(),
        groups: String::new(),
        service_accounts: String::new(),
        ..form()
    });
    assert_eq!(field, Field::Name);
}

#[test]
fn names_the_api_refuses_are_refused() {
    let (field, msg) = refusal(&Form {
        name: "x".repeat(51),
        ..form()
    });
    assert_eq!(field, Field::Name);
    assert!(
        msg.ends_with("invalid name: 51 characters, at most 50 are allowed"),
        "{msg}"
    );
    let (field, msg) = refusal(&Form {
        name: "café".into(),
        ..form()
    });
    assert_eq!(field, Field::Name);
    assert!(
        msg.contains("'é' at byte 3 is not printable ASCII"),
        "{msg}"
    );
}

#[test]
fn the_common_name_follows_csr_new_cn() {
    for cn in ["", "a\u{0}b"] {
        let (field, msg) = refusal(&Form {
            common_name: cn.into(),
            ..form()
        });
        assert_eq!(field, Field::CommonName);
        let lib = DistinguishedName::common_name(cn).unwrap_err();
        assert_eq!(msg, format!("invalid common name {cn:?}: {lib}"));
    }
    // What `--cn` takes, the page takes, escaped the same way.
    let out = generate(&Form {
        common_name: "app,1+x".into(),
        ..form()
    })
    .unwrap();
    assert_eq!(
        out.subject,
        DistinguishedName::common_name("app,1+x")
            .unwrap()
            .to_string()
    );
}

#[test]
fn identities_follow_request_new() {
    let (field, msg) = refusal(&Form {
        root: false,
        users: "\n\n".into(),
        groups: String::new(),
        service_accounts: String::new(),
        ..form()
    });
    assert_eq!(field, Field::Identities);
    assert_eq!(
        msg,
        "the request would be rejected by the API: invalid identityURNs: at least one identity URN is required"
    );

    let (field, msg) = refusal(&Form {
        nic: String::new(),
        ..form()
    });
    assert_eq!(field, Field::Nic);
    assert!(msg.contains("need the account ID"), "{msg}");

    let (field, msg) = refusal(&Form {
        nic: "xx1111/ovh".into(),
        ..form()
    });
    assert_eq!(field, Field::Nic);
    assert!(msg.contains("without spaces, ':' or '/'"), "{msg}");

    let (field, msg) = refusal(&Form {
        region: "mars".into(),
        ..form()
    });
    assert_eq!(field, Field::Region);
    assert!(msg.ends_with("\"mars\" is not one of eu, ca, us"), "{msg}");

    let (field, msg) = refusal(&Form {
        users: "john smith".into(),
        ..form()
    });
    assert_eq!(field, Field::Users);
    assert!(
        msg.contains("must be printable ASCII without spaces"),
        "{msg}"
    );

    let (field, _) = refusal(&Form {
        groups: "ops team".into(),
        ..form()
    });
    assert_eq!(field, Field::Groups);
    let (field, _) = refusal(&Form {
        service_accounts: "EU abc".into(),
        ..form()
    });
    assert_eq!(field, Field::ServiceAccounts);

    let many = (0..25).map(|i| format!("u{i}\n")).collect::<String>();
    let (field, msg) = refusal(&Form {
        users: many,
        ..form()
    });
    assert_eq!(field, Field::Identities);
    // root + 25 users + a group + a service account.
    assert!(msg.contains("28 URNs given, at most 25"), "{msg}");
}

#[test]
fn duplicates_and_unusual_accounts_are_noted() {
    let checked = check(&Form {
        nic: "acme".into(),
        root: false,
        users: "bob\nbob".into(),
        groups: String::new(),
        service_accounts: String::new(),
        ..form()
    })
    .unwrap();
    assert_eq!(
        checked.identity_urns(),
        ["urn:v1:eu:identity:user:acme/bob"]
    );
    assert_eq!(
        checked.warnings()[0],
        "duplicate identities were given once each"
    );
    assert!(checked.warnings()[1].contains("\"acme\" is not of the usual form"));
}

#[test]
fn validity_follows_request_new() {
    for (text, end) in [
        ("0", "invalid validity: 0 days is outside 1..=365"),
        ("366", "invalid validity: 366 days is outside 1..=365"),
    ] {
        let (field, msg) = refusal(&Form {
            validity: text.into(),
            ..form()
        });
        assert_eq!(field, Field::Validity);
        assert!(msg.ends_with(end), "{msg}");
    }
    let (field, msg) = refusal(&Form {
        validity: "1y".into(),
        ..form()
    });
    assert_eq!(field, Field::Validity);
    assert!(msg.starts_with("invalid validity \"1y\""), "{msg}");
}

#[test]
fn an_unknown_algorithm_is_refused() {
    let (field, msg) = refusal(&Form {
        algorithm: "ed25519".into(),
        ..form()
    });
    assert_eq!(field, Field::Algorithm);
    assert!(msg.contains("ed25519"), "{msg}");
}

#[test]
fn the_form_json_is_read_strictly_and_secrets_stay_out_of_debug() {
    let f = Form::from_json(
        r#"{"algorithm":"ecdsa-p256","common_name":"a","name":"n","passphrase":"s3cret-pass","passphrase_confirm":"s3cret-pass"}"#,
    )
    .unwrap();
    assert!(!format!("{f:?}").contains("s3cret-pass"));
    let checked = check(&Form {
        passphrase: f.passphrase.clone(),
        passphrase_confirm: f.passphrase_confirm.clone(),
        ..form()
    })
    .unwrap();
    assert!(!format!("{checked:?}").contains("s3cret-pass"));
    let out = generate_checked(checked).unwrap();
    assert!(!format!("{out:?}").contains("PRIVATE KEY"));

    let e =
        Form::from_json(r#"{"algorithm":"ecdsa-p256","common_name":"a","name":"n","nick":"x"}"#)
            .unwrap_err();
    assert_eq!(e.field(), Some(Field::Form));
    assert!(e.to_string().contains("unknown field `nick`"), "{e}");
}
