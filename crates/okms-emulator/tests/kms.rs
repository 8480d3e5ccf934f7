//! The KMS side: mutual TLS and `GET /api/{okmsId}/v1/servicekey`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use okms_emulator::{ClientAuth, EmulatorConfig, RunningEmulator};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn kms_get(
    client: &reqwest::blocking::Client,
    emu: &RunningEmulator,
    okms_id: &str,
) -> (StatusCode, Value) {
    json(
        client
            .get(format!("{}/api/{okms_id}/v1/servicekey", emu.kms_url()))
            .send()
            .unwrap(),
    )
}

fn assert_kms_error(v: &Value, category: u64) {
    // ErrorResponse has additionalProperties: false.
    let mut fields: Vec<_> = v.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["error_code", "error_id", "errors", "request_id"],
        "{v}"
    );
    assert!(v["error_id"].is_string(), "{v}");
    assert!(v["request_id"].is_string(), "{v}");
    assert!(
        v["errors"][0].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    let code = v["error_code"].as_u64().unwrap();
    assert_eq!((code >> 12) & 0xf, category, "{v}");
}

#[test]
fn mtls_access_and_refusals() {
    let emu = start(EmulatorConfig {
        extra_domains: 1,
        ..fast()
    });
    let okms_id = emu.okms_id().to_string();
    let (id, cert, key) = ready_credential(&emu);

    let good = mtls_client(&emu, Some((&cert, &key)));
    let (status, v) = kms_get(&good, &emu, &okms_id);
    assert_eq!(status, StatusCode::OK, "{v}");
    // ListServiceKeysResponse: the three required fields and no other; the token is never
    // empty (minLength 1), even on a complete list.
    assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
    assert_eq!(v["objects_list"], json!([]));
    assert_eq!(v["is_truncated"], false);
    let token = v["continuation_token"].as_str().unwrap();
    assert!(!token.is_empty(), "{v}");
    let resp = good
        .get(format!(
            "{}/api/{okms_id}/v1/servicekey?max=10",
            emu.kms_url()
        ))
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, v) = json(
        good.get(format!(
            "{}/api/{okms_id}/v1/servicekey?max=5",
            emu.kms_url()
        ))
        .send()
        .unwrap(),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_kms_error(&v, 2);

    // Another domain of the account: the certificate is not for it. ListServiceKeys declares
    // no 403, so the refusal is a 401 whose error_code says Authorization.
    let other = emu.domains()[1].to_string();
    let (status, v) = kms_get(&good, &emu, &other);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_kms_error(&v, 4);
    assert_eq!(
        v["error_code"], 16_924_673,
        "CCM / IAM / Authorization: {v}"
    );
    assert!(v["errors"][0].as_str().unwrap().contains(&okms_id), "{v}");
    // A domain that does not exist.
    let (status, v) = kms_get(&good, &emu, &uuid::Uuid::new_v4().to_string());
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_kms_error(&v, 5);
    // Unknown route.
    let (status, v) = json(
        good.get(format!("{}/api/{okms_id}/v1/nothing", emu.kms_url()))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_kms_error(&v, 5);

    // No client certificate.
    let anon = mtls_client(&emu, None);
    let (status, v) = kms_get(&anon, &emu, &okms_id);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_kms_error(&v, 3);

    // After DELETE the certificate is refused.
    let (status, _) = json(signed(
        &emu,
        Method::DELETE,
        &format!("{}/{id}", cred_path(&emu)),
        None,
    ));
    assert_eq!(status, StatusCode::OK);
    let fresh = mtls_client(&emu, Some((&cert, &key)));
    let (status, v) = kms_get(&fresh, &emu, &okms_id);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_kms_error(&v, 3);
    assert!(v["errors"][0].as_str().unwrap().contains("revoked"));
}

#[test]
fn a_new_certificate_is_refused_with_401_until_it_has_propagated() {
    let emu = start(EmulatorConfig {
        kms_propagation: Duration::from_secs(3600),
        ..fast()
    });
    let (_, cert, key) = ready_credential(&emu);
    let client = mtls_client(&emu, Some((&cert, &key)));
    let okms_id = emu.okms_id().to_string();
    let (status, v) = kms_get(&client, &emu, &okms_id);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_kms_error(&v, 3);
    assert!(
        v["errors"][0].as_str().unwrap().contains("does not know"),
        "{v}"
    );
    emu.advance_clock(Duration::from_secs(3601));
    let (status, v) = kms_get(&client, &emu, &okms_id);
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[test]
fn expired_credential_is_refused() {
    let emu = start(fast());
    let (_, cert, key) = ready_credential(&emu);
    emu.advance_clock(Duration::from_secs(366 * 86_400));
    let (status, v) = kms_get(
        &mtls_client(&emu, Some((&cert, &key))),
        &emu,
        &emu.okms_id().to_string(),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(v["errors"][0].as_str().unwrap().contains("expired"), "{v}");
}

#[test]
fn certificate_from_another_emulator_fails_the_handshake() {
    let a = start(fast());
    let b = start(fast());
    let (_, cert, key) = ready_credential(&b);
    let client = mtls_client(&a, Some((&cert, &key)));
    let res = client
        .get(format!("{}/api/{}/v1/servicekey", a.kms_url(), a.okms_id()))
        .send();
    assert!(
        res.is_err(),
        "an untrusted client certificate must fail the TLS handshake"
    );
}

#[test]
fn required_client_auth_fails_handshake_without_certificate() {
    let emu = start(EmulatorConfig {
        kms_client_auth: ClientAuth::Required,
        ..fast()
    });
    let res = mtls_client(&emu, None)
        .get(format!(
            "{}/api/{}/v1/servicekey",
            emu.kms_url(),
            emu.okms_id()
        ))
        .send();
    assert!(res.is_err());
    let (_, cert, key) = ready_credential(&emu);
    let (status, _) = kms_get(
        &mtls_client(&emu, Some((&cert, &key))),
        &emu,
        &emu.okms_id().to_string(),
    );
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn curl_with_cert_key_cacert() {
    let curl = std::process::Command::new("curl").arg("--version").output();
    if !curl.is_ok_and(|o| o.status.success()) {
        okms_test_support::skip_or_fail(
            "curl is not installed; install it with `apt-get install curl` to run the mTLS call \
             with curl --cert --key --cacert",
            "OKMS_REQUIRE_INTEROP",
        );
        return;
    }
    let emu = start(fast());
    let (_, cert, key) = ready_credential(&emu);
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("client.cert");
    let key_file = dir.path().join("domain.key");
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let url = format!(
        "{}/api/{}/v1/servicekey?max=10",
        emu.kms_url(),
        emu.okms_id()
    );
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail-with-body", "--cert"])
        .arg(&cert_file)
        .arg("--key")
        .arg(&key_file)
        .arg("--cacert")
        .arg(&emu.info().ca_file)
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["is_truncated"], false);
    // Without a certificate curl gets the 401 JSON.
    let out = std::process::Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&emu.info().ca_file)
        .arg(&url)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error_code"].is_u64(), "{v}");
}

/// Every status this side answers is one kms-rest.json declares for ListServiceKeys, and every
/// error_code decodes (okms-sdk-go's bit layout) to a published system and component.
#[test]
fn refusals_use_declared_statuses_and_published_codes() {
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/spec/api-schema/kms-rest.json");
    let declared: Vec<u16> = match std::fs::read_to_string(&schema) {
        Ok(text) => {
            let spec: Value = serde_json::from_str(&text).unwrap();
            let op = spec["operations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["operationId"] == "ListServiceKeys")
                .unwrap()
                .clone();
            op["responses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().parse().unwrap())
                .collect()
        }
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{}: {e}; the schema is required in CI",
                schema.display()
            );
            eprintln!(
                "SKIPPED schema read ({}: {e}); using the statuses it declared when written",
                schema.display()
            );
            vec![200, 400, 401, 404, 429, 500]
        }
    };
    assert!(!declared.contains(&403));

    let emu = start(EmulatorConfig {
        extra_domains: 1,
        ..fast()
    });
    let okms_id = emu.okms_id().to_string();
    let (id, cert, key) = ready_credential(&emu);
    let good = mtls_client(&emu, Some((&cert, &key)));
    let anon = mtls_client(&emu, None);
    let url = |domain: &str, rest: &str| format!("{}/api/{domain}/v1/{rest}", emu.kms_url());
    let other = emu.domains()[1].to_string();
    let mut answers = vec![
        json(good.get(url(&okms_id, "servicekey")).send().unwrap()),
        json(
            good.get(url(&okms_id, "servicekey?max=101"))
                .send()
                .unwrap(),
        ),
        json(good.get(url(&other, "servicekey")).send().unwrap()),
        json(
            good.get(url(&uuid::Uuid::new_v4().to_string(), "servicekey"))
                .send()
                .unwrap(),
        ),
        json(good.get(url("not-a-uuid", "servicekey")).send().unwrap()),
        json(good.get(url(&okms_id, "nothing")).send().unwrap()),
        json(anon.get(url(&okms_id, "servicekey")).send().unwrap()),
    ];
    let (status, _) = json(signed(
        &emu,
        Method::DELETE,
        &format!("{}/{id}", cred_path(&emu)),
        None,
    ));
    assert_eq!(status, StatusCode::OK);
    answers.push(json(
        mtls_client(&emu, Some((&cert, &key)))
            .get(url(&okms_id, "servicekey"))
            .send()
            .unwrap(),
    ));
    for (status, v) in answers {
        assert!(
            declared.contains(&status.as_u16()),
            "{status} is not declared: {v}"
        );
        if status.is_success() {
            continue;
        }
        let code = v["error_code"].as_u64().unwrap();
        assert!(i32::try_from(code).is_ok(), "error_code is an int32: {v}");
        // Major: 1 CCM, 3 REST; Minor 1 is General, 2 IAM (CCM) or Authentication Provider
        // (REST), 3 Domain (CCM).
        let (major, minor) = ((code >> 24) & 0xff, (code >> 16) & 0xff);
        assert!(
            matches!((major, minor), (1, 2 | 3) | (3, 1 | 2)),
            "{code:#x} is not a published system/component: {v}"
        );
    }
}

#[test]
fn continuation_token_round_trips_and_bad_ones_are_refused() {
    let emu = start(fast());
    let okms_id = emu.okms_id().to_string();
    let (_, cert, key) = ready_credential(&emu);
    let good = mtls_client(&emu, Some((&cert, &key)));
    let (status, first) = kms_get(&good, &emu, &okms_id);
    assert_eq!(status, StatusCode::OK, "{first}");
    let token = first["continuation_token"].as_str().unwrap().to_owned();
    // The tokens below need no percent-encoding.
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "{token}"
    );
    let page = |token: &str| {
        json(
            good.get(format!(
                "{}/api/{okms_id}/v1/servicekey?max=10&continuation-token={token}",
                emu.kms_url()
            ))
            .send()
            .unwrap(),
        )
    };
    let (status, again) = page(&token);
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first);

    let (status, v) = page("a-token-never-issued");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_kms_error(&v, 2);
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap()
            .contains("continuation-token"),
        "{v}"
    );
    let (status, v) = page(&"x".repeat(501));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["errors"][0].as_str().unwrap().contains("500"), "{v}");
}
