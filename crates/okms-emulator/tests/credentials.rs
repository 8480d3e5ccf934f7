//! The credential routes: validation classes, CSR handling, lifecycle, pagination, domains.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use okms_csr::{CsrBuilder, DistinguishedName, KeyAlgorithm, PrivateKey};
use okms_emulator::{CredentialPhase, EmulatorConfig, RunningEmulator};
use okms_test_support::interop;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn post(emu: &RunningEmulator, body: &Value) -> (StatusCode, Value) {
    json(signed(
        emu,
        Method::POST,
        &cred_path(emu),
        Some(&body.to_string()),
    ))
}

fn class_of(emu: &RunningEmulator, body: Value) -> String {
    let (status, v) = post(emu, &body);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    v["class"].as_str().unwrap().to_owned()
}

fn csr_pem(alg: KeyAlgorithm) -> String {
    let key = PrivateKey::generate(alg).unwrap();
    CsrBuilder::new(DistinguishedName::common_name("app1").unwrap())
        .build(&key)
        .unwrap()
        .to_pem()
}

#[test]
fn validation_errors_over_http() {
    let emu = start(fast());
    let urns = json!([URN]);
    let cases = [
        (
            json!({"name": "x".repeat(51), "identityURNs": urns}),
            "CredentialNameMaximumExceeded",
        ),
        (
            json!({"name": "tab\there", "identityURNs": urns}),
            "CredentialNameInvalidCharacter",
        ),
        (
            json!({"name": "n", "description": "d".repeat(201), "identityURNs": urns}),
            "CredentialDescriptionMaximumExceeded",
        ),
        (
            json!({"name": "n", "description": "ünï", "identityURNs": urns}),
            "CredentialDescriptionInvalidCharacter",
        ),
        (
            json!({"name": "n", "identityURNs": []}),
            "CredentialIdentityURNsMinimumRequired",
        ),
        (
            json!({"name": "n", "identityURNs": vec![URN; 26]}),
            "CredentialIdentityURNsMaximumExceeded",
        ),
        (
            json!({"name": "n", "identityURNs": ["urn:v1:eu:identity:robot:xx1111-ovh/r2"]}),
            "CredentialIdentityURNsInvalidURN",
        ),
        (
            json!({"name": "n", "identityURNs": ["x".repeat(300)]}),
            "CredentialIdentityURNsInvalidSize",
        ),
        (
            json!({"name": "n", "identityURNs": urns, "validity": 0}),
            "CredentialValidityMinimumRequired",
        ),
        (
            json!({"name": "n", "identityURNs": urns, "validity": 366}),
            "CredentialValidityMaximumExceeded",
        ),
        (
            json!({"name": "n", "identityURNs": urns, "certificateType": "EC"}),
            "CredentialCertificateTypeInvalidEnum",
        ),
        (
            json!({"name": "n", "identityURNs": urns, "certificateType": "ECDSA", "csr": csr_pem(KeyAlgorithm::EcdsaP256)}),
            "CredentialCertificateTypeIncompatibleFields",
        ),
        (
            json!({"name": "n", "identityURNs": urns, "csr": "A".repeat(okms_emulator::MAX_CSR_LEN + 1)}),
            "CredentialCSRMaximumExceeded",
        ),
        (
            json!({"name": "n", "identityURNs": urns, "csr": "not a csr"}),
            "CredentialCSRInvalidCharacter",
        ),
    ];
    for (body, class) in cases {
        assert_eq!(class_of(&emu, body), format!("Client::BadRequest::{class}"));
    }
    // Structural problems get the generic class.
    for body in [
        json!({"identityURNs": urns}),
        json!({"name": 5, "identityURNs": urns}),
        json!([1]),
    ] {
        assert_eq!(class_of(&emu, body), "Client::BadRequest");
    }
    let (status, v) = json(signed(
        &emu,
        Method::POST,
        &cred_path(&emu),
        Some("{not json"),
    ));
    assert_eq!(
        (status, v["class"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Client::BadRequest"))
    );
    assert!(emu.credentials().is_empty());
    // Terraform's acceptance test URN passes (the API checks format loosely).
    let (status, _) = post(
        &emu,
        &json!({"name": "tf", "identityURNs": ["urn:v1:eu:identity:user:badnic-ovh/user1"]}),
    );
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn csr_checks() {
    let emu = start(fast());
    let good = csr_pem(KeyAlgorithm::EcdsaP256);
    // CRLF line endings and non-ASCII are refused with the InvalidCharacter class.
    let crlf = good.replace('\n', "\r\n");
    for bad in [crlf, format!("{good}é")] {
        let class = class_of(
            &emu,
            json!({"name": "n", "identityURNs": [URN], "csr": bad}),
        );
        assert_eq!(class, "Client::BadRequest::CredentialCSRInvalidCharacter");
    }
    // A broken self-signature.
    let csr = okms_csr::Csr::from_pem(&good).unwrap();
    let mut der = csr.to_der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let tampered =
        der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &der).unwrap();
    let (status, v) = post(
        &emu,
        &json!({"name": "n", "identityURNs": [URN], "csr": tampered}),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["class"],
        "Client::BadRequest::CredentialCSRInvalidCharacter"
    );
    assert!(v["message"].as_str().unwrap().contains("signature"), "{v}");
    // An unsupported key type (Ed25519, made by openssl).
    if let Some(openssl) = interop::openssl("the Ed25519 CSR case") {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.pem");
        let req = dir.path().join("r.pem");
        openssl.ok(
            dir.path(),
            &[
                "genpkey",
                "-algorithm",
                "ed25519",
                "-out",
                key.to_str().unwrap(),
            ],
        );
        openssl.ok(
            dir.path(),
            &[
                "req",
                "-new",
                "-key",
                key.to_str().unwrap(),
                "-subj",
                "/CN=ed",
                "-out",
                req.to_str().unwrap(),
            ],
        );
        let pem = std::fs::read_to_string(&req).unwrap();
        let (status, v) = post(
            &emu,
            &json!({"name": "n", "identityURNs": [URN], "csr": pem}),
        );
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            v["class"],
            "Client::BadRequest::CredentialCSRInvalidCharacter"
        );
        assert!(
            v["message"].as_str().unwrap().contains("not supported"),
            "{v}"
        );
    }
    assert!(emu.credentials().is_empty());

    // Accepted: EC and RSA CSRs; the type follows the key; no private key comes back.
    for (alg, ty) in [
        (KeyAlgorithm::EcdsaP384, "ECDSA"),
        (KeyAlgorithm::Rsa2048, "RSA"),
    ] {
        let (status, v) = post(
            &emu,
            &json!({"name": "n", "identityURNs": [URN], "csr": csr_pem(alg)}),
        );
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["fromCSR"], true);
        assert_eq!(v["certificateType"], ty);
        assert!(v["privateKeyPEM"].is_null());
        assert!(v.get("certificatePEM").is_none());
    }
}

#[test]
fn generated_keys_ecdsa_default_and_rsa() {
    let emu = start(fast());
    let (status, v) = post(
        &emu,
        &json!({"name": "e", "identityURNs": [URN], "description": "d", "validity": 30}),
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["certificateType"], "ECDSA");
    assert_eq!(v["fromCSR"], false);
    assert_eq!(v["description"], "d");
    assert!(
        v["privateKeyPEM"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN EC PRIVATE KEY-----\n")
    );
    let created = time::OffsetDateTime::parse(
        v["createdAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expired = time::OffsetDateTime::parse(
        v["expiredAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expired - created, time::Duration::days(30));
    let (status, v) = post(
        &emu,
        &json!({"name": "r", "identityURNs": [URN], "certificateType": "RSA"}),
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["certificateType"], "RSA");
    assert!(
        v["privateKeyPEM"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
    );
    assert!(v["description"].is_null());
    // The generated key matches the certificate issued later.
    let id = v["id"].as_str().unwrap().to_owned();
    let key = PrivateKey::import(v["privateKeyPEM"].as_str().unwrap().as_bytes(), None).unwrap();
    let (_, got) = wait_while(&emu, &id, "CREATING");
    let cert = okms_csr::Certificate::from_pem(got["certificatePEM"].as_str().unwrap()).unwrap();
    assert!(okms_csr::same_public_key(
        &cert.public_key(),
        &key.public_key()
    ));
}

#[test]
fn lifecycle_get_delete_and_errors() {
    let emu = start(EmulatorConfig {
        ready_delay: Duration::from_millis(400),
        delete_delay: Duration::from_millis(400),
        ..EmulatorConfig::default()
    });
    let (_, v) = post(&emu, &json!({"name": "life", "identityURNs": [URN]}));
    let id = v["id"].as_str().unwrap().to_owned();
    let path = format!("{}/{id}", cred_path(&emu));
    let (status, g) = json(signed(&emu, Method::GET, &path, None));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(g["status"], "CREATING");
    assert!(g["certificatePEM"].is_null());
    assert!(g.get("privateKeyPEM").is_none());
    // Deleting while CREATING is refused.
    let (status, d) = json(signed(&emu, Method::DELETE, &path, None));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(d["class"], "Client::BadRequest::CredentialStatusInvalid");
    let (_, g) = wait_while(&emu, &id, "CREATING");
    assert_eq!(g["status"], "READY");
    // Listed while it exists.
    let (status, list) = json(signed(&emu, Method::GET, &cred_path(&emu), None));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    // DELETE answers the object, DELETING; a second DELETE is refused; then it is gone.
    let (status, d) = json(signed(&emu, Method::DELETE, &path, None));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["status"], "DELETING");
    assert_eq!(d["id"], id.as_str());
    let (status, d) = json(signed(&emu, Method::DELETE, &path, None));
    assert_eq!(
        (status, d["class"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("Client::BadRequest::CredentialStatusInvalid")
        )
    );
    let (status, g) = wait_while(&emu, &id, "DELETING");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(g["class"], "Client::NotFound");
    let (status, _) = json(signed(&emu, Method::DELETE, &path, None));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = json(signed(&emu, Method::GET, &cred_path(&emu), None));
    assert_eq!(list, json!([]));
    // Inspection still shows it.
    let all = emu.credentials();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].phase, CredentialPhase::Deleted);
    assert!(!all[0].answer_lost);

    // Ids: unknown -> 404, malformed -> 400; unknown domain -> 404.
    let unknown = format!("{}/{}", cred_path(&emu), uuid::Uuid::new_v4());
    assert_eq!(
        json(signed(&emu, Method::GET, &unknown, None)).0,
        StatusCode::NOT_FOUND
    );
    let (status, v) = json(signed(
        &emu,
        Method::GET,
        &format!("{}/not-a-uuid", cred_path(&emu)),
        None,
    ));
    assert_eq!(
        (status, v["class"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Client::BadRequest"))
    );
    let other = format!("/v2/okms/resource/{}/credential", uuid::Uuid::new_v4());
    let (status, v) = json(signed(&emu, Method::GET, &other, None));
    assert_eq!(
        (status, v["class"].as_str()),
        (StatusCode::NOT_FOUND, Some("Client::NotFound"))
    );
    let (status, _) = json(signed(&emu, Method::POST, &other, Some(&create_body(""))));
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn expiry_via_time_travel() {
    let emu = start(fast());
    let (_, v) = post(
        &emu,
        &json!({"name": "short", "identityURNs": [URN], "validity": 1}),
    );
    let id = v["id"].as_str().unwrap().to_owned();
    wait_while(&emu, &id, "CREATING");
    emu.advance_clock(Duration::from_secs(86_400 + 5));
    let (_, g) = json(signed_at(
        &emu,
        Method::GET,
        &format!("{}/{id}", cred_path(&emu)),
        None,
        now_secs() + 86_405,
        &[],
    ));
    assert_eq!(g["status"], "EXPIRED", "{g}");
    assert!(g["certificatePEM"].is_string());
    assert_eq!(emu.credentials()[0].phase, CredentialPhase::Expired);
}

#[test]
fn credential_pagination() {
    let emu = start(EmulatorConfig {
        ready_delay: Duration::ZERO,
        ..fast()
    });
    let mut ids = Vec::new();
    for i in 0..5 {
        let (status, v) = post(
            &emu,
            &json!({"name": format!("c{i}"), "identityURNs": [URN]}),
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["status"], "READY", "no delay means READY at once");
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut headers = vec![("X-Pagination-Size", "2")];
        if let Some(c) = &cursor {
            headers.push(("X-Pagination-Cursor", c.as_str()));
        }
        let resp = signed_at(
            &emu,
            Method::GET,
            &cred_path(&emu),
            None,
            now_secs(),
            &headers,
        );
        let next = resp
            .headers()
            .get("x-pagination-cursor-next")
            .map(|v| v.to_str().unwrap().to_owned());
        let (status, list) = json(resp);
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        seen.extend(
            list.as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);
    let resp = signed_at(
        &emu,
        Method::GET,
        &cred_path(&emu),
        None,
        now_secs(),
        &[("X-Pagination-Cursor", "bogus")],
    );
    let (status, v) = json(resp);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["class"],
        "Client::BadRequest::CredentialPaginationCursorInvalidValue"
    );
    let resp = signed_at(
        &emu,
        Method::GET,
        &cred_path(&emu),
        None,
        now_secs(),
        &[("X-Pagination-Size", "-1")],
    );
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn domains_list_and_show() {
    let emu = start(EmulatorConfig {
        extra_domains: 2,
        ..fast()
    });
    let resp = signed_at(
        &emu,
        Method::GET,
        "/v2/okms/resource",
        None,
        now_secs(),
        &[("X-Pagination-Size", "2")],
    );
    let next = resp.headers()["x-pagination-cursor-next"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, page1) = json(resp);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page1.as_array().unwrap().len(), 2);
    assert_eq!(page1[0]["id"], emu.okms_id().to_string());
    assert!(page1[0].get("publicCA").is_none());
    assert_eq!(page1[0]["restEndpoint"], emu.kms_url());
    assert_eq!(
        page1[0]["iam"]["urn"],
        format!("urn:v1:eu:resource:okms:{}", emu.okms_id())
    );
    let resp = signed_at(
        &emu,
        Method::GET,
        "/v2/okms/resource",
        None,
        now_secs(),
        &[("X-Pagination-Cursor", &next)],
    );
    assert!(resp.headers().get("x-pagination-cursor-next").is_none());
    let (_, page2) = json(resp);
    assert_eq!(page2.as_array().unwrap().len(), 1);
    assert_eq!(emu.domains().len(), 3);

    let (status, d) = json(signed(
        &emu,
        Method::GET,
        &format!("/v2/okms/resource/{}?publicCA=true", emu.okms_id()),
        None,
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["publicCA"], emu.info().ca_pem.as_str());
    assert_eq!(d["region"], "eu-west-rbx");
    let (status, d) = json(signed(
        &emu,
        Method::GET,
        &format!("/v2/okms/resource/{}", uuid::Uuid::new_v4()),
        None,
    ));
    assert_eq!(
        (status, d["class"].as_str()),
        (StatusCode::NOT_FOUND, Some("Client::NotFound"))
    );
    let (status, _) = json(signed(&emu, Method::GET, "/v2/okms/resource/xyz", None));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let resp = signed_at(
        &emu,
        Method::GET,
        "/v2/okms/resource",
        None,
        now_secs(),
        &[("X-Pagination-Cursor", "bogus")],
    );
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}
