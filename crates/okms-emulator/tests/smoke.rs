//! The shortest end-to-end path: start in a thread, time, signed call, create, wait, READY.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};

#[test]
fn start_sign_create_ready() {
    let emu = start(fast());
    let info = emu.info();
    assert!(info.api_url.ends_with("/1.0"));
    assert!(info.ca_file.exists());

    let t: i64 = client()
        .get(format!("{}/auth/time", emu.api_url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!((t - now_secs()).abs() < 5);

    let (status, me) = json(signed(&emu, Method::GET, "/v1/me", None));
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["nichandle"], "xx1111-ovh");

    let (status, created) = json(signed(
        &emu,
        Method::POST,
        &cred_path(&emu),
        Some(&create_body("")),
    ));
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["status"], "CREATING");
    assert!(
        created["privateKeyPEM"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN EC PRIVATE KEY-----")
    );
    let id = created["id"].as_str().unwrap();
    let (status, got) = wait_while(&emu, id, "CREATING");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["status"], "READY");
    assert!(
        got["certificatePEM"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(got.get("privateKeyPEM").is_none());
    let path = info.ca_file.clone();
    drop(emu);
    assert!(!path.exists(), "temporary CA file removed on drop");
}
