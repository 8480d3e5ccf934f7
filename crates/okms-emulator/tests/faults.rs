//! Fault injection: latency, 5xx shares, 429, dropped connections, targeting, determinism.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use okms_emulator::{CredentialPhase, EmulatorConfig, FaultKind, FaultSpec};
use reqwest::{Method, StatusCode};

fn time_url(emu: &okms_emulator::RunningEmulator) -> String {
    format!("{}/auth/time", emu.api_url())
}

#[test]
fn latency_targets_one_route() {
    let emu = start(EmulatorConfig {
        faults: vec!["latency:300,route=GET:/1.0/auth/time".parse().unwrap()],
        ..fast()
    });
    let c = client();
    let t = Instant::now();
    assert_eq!(
        c.get(time_url(&emu)).send().unwrap().status(),
        StatusCode::OK
    );
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(
        c.get(format!("{}/v1/auth/time", base(&emu)))
            .send()
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "other routes are not delayed"
    );
}

fn statuses(seed: u64) -> Vec<u16> {
    let emu = start(EmulatorConfig {
        seed,
        faults: vec![FaultSpec::new(FaultKind::ServerError).rate(0.4)],
        ..fast()
    });
    let c = client();
    (0..40)
        .map(|_| {
            let resp = c.get(time_url(&emu)).send().unwrap();
            assert!(resp.headers().contains_key("x-ovh-queryid"));
            resp.status().as_u16()
        })
        .collect()
}

#[test]
fn server_errors_are_a_seeded_share() {
    let a = statuses(7);
    assert_eq!(a, statuses(7), "same seed, same answers");
    assert_ne!(a, statuses(8));
    let errors = a.iter().filter(|s| **s != 200).count();
    assert!(
        (5..=30).contains(&errors),
        "{errors} errors of 40 at rate 0.4"
    );
    assert!(a.iter().all(|s| [200, 500, 502, 503].contains(s)));
    assert!(a.contains(&500) || a.contains(&502) || a.contains(&503));
}

#[test]
fn status_bodies_and_throttle() {
    let emu = start(fast());
    let c = client();
    for code in [500u16, 502, 503] {
        emu.set_faults(vec![FaultSpec::new(FaultKind::Status(code)).times(1)]);
        let resp = c.get(time_url(&emu)).send().unwrap();
        assert_eq!(resp.status().as_u16(), code);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        let body = resp.text().unwrap();
        if code == 502 {
            assert!(ct.starts_with("text/html") && body.contains("502"));
        } else {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(v["class"].as_str().unwrap().starts_with("Server::"));
        }
        assert_eq!(
            c.get(time_url(&emu)).send().unwrap().status(),
            StatusCode::OK,
            "times=1"
        );
    }
    emu.set_faults(vec!["throttle:7".parse().unwrap()]);
    let resp = c.get(time_url(&emu)).send().unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "7");
    let (_, v) = json(resp);
    assert_eq!(v["class"], "Client::TooManyRequests");
    // A throttled create changes nothing.
    let (status, _) = json(signed(
        &emu,
        Method::POST,
        &cred_path(&emu),
        Some(&create_body("")),
    ));
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(emu.credentials().is_empty());
}

#[test]
fn drop_before_processing_changes_nothing() {
    let emu = start(fast());
    let route = format!("POST:{}", cred_path(&emu));
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::DropBeforeProcessing)
            .times(1)
            .route(&route)
            .unwrap(),
    ]);
    // GETs on the same path are not targeted.
    assert_eq!(
        signed(&emu, Method::GET, &cred_path(&emu), None).status(),
        StatusCode::OK
    );
    let url = format!("{}{}", base(&emu), cred_path(&emu));
    let info = emu.info();
    let ts = now_secs().to_string();
    let body = create_body("");
    let sig = okms_emulator::signature::compute(
        &info.application_secret,
        &info.consumer_key,
        "POST",
        &url,
        body.as_bytes(),
        &ts,
    );
    let res = client()
        .post(&url)
        .header("X-Ovh-Application", &info.application_key)
        .header("X-Ovh-Consumer", &info.consumer_key)
        .header("X-Ovh-Timestamp", &ts)
        .header("X-Ovh-Signature", sig)
        .body(body)
        .send();
    assert!(res.is_err(), "the connection is closed without an answer");
    assert!(emu.credentials().is_empty());
    // The next one goes through.
    let (status, _) = json(signed(
        &emu,
        Method::POST,
        &cred_path(&emu),
        Some(&create_body("")),
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emu.credentials().len(), 1);
}

#[test]
fn drop_after_processing_loses_the_answer_not_the_credential() {
    let emu = start(EmulatorConfig {
        faults: vec![
            "drop-after,times=1,route=POST:/v2/okms/resource/*/credential"
                .parse()
                .unwrap(),
        ],
        ..fast()
    });
    let url = format!("{}{}", base(&emu), cred_path(&emu));
    let info = emu.info();
    let ts = now_secs().to_string();
    let body = create_body("");
    let sig = okms_emulator::signature::compute(
        &info.application_secret,
        &info.consumer_key,
        "POST",
        &url,
        body.as_bytes(),
        &ts,
    );
    let res = client()
        .post(&url)
        .header("X-Ovh-Application", &info.application_key)
        .header("X-Ovh-Consumer", &info.consumer_key)
        .header("X-Ovh-Timestamp", &ts)
        .header("X-Ovh-Signature", sig)
        .body(body)
        .send();
    assert!(res.is_err(), "the answer is lost");
    let creds = emu.credentials();
    assert_eq!(creds.len(), 1, "but the credential exists");
    assert!(creds[0].answer_lost);
    assert_eq!(creds[0].name, "test");
    // A client can find it again by listing.
    std::thread::sleep(Duration::from_millis(200));
    let (status, list) = json(signed(&emu, Method::GET, &cred_path(&emu), None));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["id"], creds[0].id.to_string());
    assert_eq!(list[0]["status"], "READY");
    assert_eq!(emu.credentials()[0].phase, CredentialPhase::Ready);
}

#[test]
fn skip_lets_the_first_requests_through() {
    let emu = start(EmulatorConfig {
        faults: vec!["error:503,skip=2,times=1".parse().unwrap()],
        ..fast()
    });
    let c = client();
    let got: Vec<u16> = (0..4)
        .map(|_| c.get(time_url(&emu)).send().unwrap().status().as_u16())
        .collect();
    assert_eq!(got, [200, 200, 503, 200]);
}

#[test]
fn faults_apply_to_the_kms_side_too() {
    let emu = start(EmulatorConfig {
        faults: vec!["error:503,route=/api/**".parse().unwrap()],
        ..fast()
    });
    install_provider();
    let ca = reqwest::Certificate::from_pem(emu.info().ca_pem.as_bytes()).unwrap();
    let c = reqwest::blocking::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let resp = c
        .get(format!(
            "{}/api/{}/v1/servicekey",
            emu.kms_url(),
            emu.okms_id()
        ))
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The API side is untouched by that route.
    assert_eq!(
        client().get(time_url(&emu)).send().unwrap().status(),
        StatusCode::OK
    );
}
