//! The emulator clock moved from outside the Rust API: `POST /_emulator/clock/advance` on the
//! API listener and the binary's `--clock-offset`. Expiry follows it on both sides: the API
//! reports EXPIRED and the KMS refuses the certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::*;
use okms_emulator::{CLOCK_ADVANCE_ROUTE, CLOCK_ROUTE, RunningEmulator};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_okms-emulator");

fn advance(api_base: &str, body: &str) -> (StatusCode, Value) {
    json(
        client()
            .post(format!("{api_base}{CLOCK_ADVANCE_ROUTE}"))
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap(),
    )
}

fn clock(api_base: &str) -> Value {
    let (status, v) = json(
        client()
            .get(format!("{api_base}{CLOCK_ROUTE}"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

/// A signed call stamped with the emulator's clock, as a client that synchronised with
/// `/auth/time` sends it after the jump.
fn signed_now(emu: &RunningEmulator, method: Method, path: &str) -> (StatusCode, Value) {
    let (_, server_time) = json(
        client()
            .get(format!("{}/auth/time", base(emu)))
            .send()
            .unwrap(),
    );
    let ts = server_time.as_i64().unwrap();
    json(signed_at(emu, method, path, None, ts, &[]))
}

fn kms_status(emu: &RunningEmulator, cert: &str, key: &str) -> (StatusCode, Value) {
    json(
        mtls_client(emu, Some((cert, key)))
            .get(format!(
                "{}/api/{}/v1/servicekey",
                emu.kms_url(),
                emu.okms_id()
            ))
            .send()
            .unwrap(),
    )
}

#[test]
fn advancing_over_the_route_past_expired_at_expires_the_credential_on_both_sides() {
    let emu = start(fast());
    let api = base(&emu);
    let (status, v) = json(signed(
        &emu,
        Method::POST,
        &cred_path(&emu),
        Some(&json!({"name": "soon", "identityURNs": [URN], "validity": 1}).to_string()),
    ));
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let key = v["privateKeyPEM"].as_str().unwrap().to_owned();
    let (_, ready) = wait_while(&emu, &id, "CREATING");
    assert_eq!(ready["status"], "READY", "{ready}");
    let cert = ready["certificatePEM"].as_str().unwrap().to_owned();
    let (status, v) = kms_status(&emu, &cert, &key);
    assert_eq!(status, StatusCode::OK, "the fresh certificate works: {v}");

    let before = clock(&api);
    assert_eq!(before["offsetSeconds"], 0, "{before}");
    // One day and a minute: past the one-day credential's expiredAt.
    let (status, moved) = advance(&api, r#"{"seconds": 86460}"#);
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["offsetSeconds"], 86_460, "{moved}");
    let jumped = moved["nowEpochSeconds"].as_i64().unwrap() - now_secs();
    assert!(
        (86_400..86_520).contains(&jumped),
        "the answer is the new emulator time, {jumped} s ahead: {moved}"
    );
    let now = time::OffsetDateTime::parse(
        moved["now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        now.unix_timestamp(),
        moved["nowEpochSeconds"].as_i64().unwrap()
    );
    let expired_at = time::OffsetDateTime::parse(
        ready["expiredAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(now > expired_at, "{now} is past {expired_at}");

    let (status, got) = signed_now(&emu, Method::GET, &format!("{}/{id}", cred_path(&emu)));
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["status"], "EXPIRED", "{got}");
    let (status, v) = kms_status(&emu, &cert, &key);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert!(
        v["errors"][0].as_str().unwrap().contains("expired"),
        "the refusal says why: {v}"
    );
    // The Rust API and the route move the same clock.
    emu.advance_clock(Duration::from_secs(40));
    assert_eq!(clock(&api)["offsetSeconds"], 86_500);
}

#[test]
fn a_bad_advance_is_refused_naming_seconds_and_moves_nothing() {
    let emu = start(fast());
    let api = base(&emu);
    let max = okms_emulator::MAX_DURATION.as_secs();
    for (body, words) in [
        (
            r#"{"seconds": -5}"#.to_owned(),
            "seconds must not be negative",
        ),
        (
            r#"{"seconds": 1.5}"#.to_owned(),
            "seconds must be a whole number",
        ),
        (
            r#"{"seconds": "60"}"#.to_owned(),
            "seconds must be a whole number",
        ),
        (r#"{}"#.to_owned(), "seconds is required"),
        (r#"{"secs": 60}"#.to_owned(), "unknown field \"secs\""),
        ("[60]".to_owned(), "JSON object"),
        ("sixty".to_owned(), "not JSON"),
        (
            format!(r#"{{"seconds": {}}}"#, max + 1),
            "seconds is too large",
        ),
        (
            format!(r#"{{"seconds": {}}}"#, u64::MAX),
            "seconds is too large",
        ),
        (
            r#"{"seconds": 1e30}"#.to_owned(),
            "seconds must be a whole number",
        ),
    ] {
        let (status, v) = advance(&api, &body);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["class"], "Client::BadRequest", "{body}: {v}");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(words), "{body}: {message}");
    }
    assert_eq!(clock(&api)["offsetSeconds"], 0, "nothing moved");

    // Up to the limit is fine; one second more is not, and says how much is left.
    let (status, v) = advance(&api, &format!(r#"{{"seconds": {}}}"#, max - 10));
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = advance(&api, r#"{"seconds": 11}"#);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("at most 10 more"),
        "{v}"
    );
    let (status, v) = advance(&api, r#"{"seconds": 0}"#);
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["offsetSeconds"], max - 10);
}

/// The binary: `--clock-offset` starts with the clock moved, the route moves it further, and a
/// bad offset stops the start with a message naming the flag's forms.
#[test]
fn the_binary_starts_with_the_offset_and_serves_the_route() {
    let mut child = Command::new(BIN)
        .args(["--clock-offset", "2h"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let api = info["api_url"]
        .as_str()
        .unwrap()
        .trim_end_matches("/1.0")
        .to_owned();
    let at_start = clock(&api);
    assert_eq!(at_start["offsetSeconds"], 7200, "{at_start}");
    let (_, server_time) = json(client().get(format!("{api}/auth/time")).send().unwrap());
    let ahead = server_time.as_i64().unwrap() - now_secs();
    assert!((7190..7210).contains(&ahead), "/auth/time follows: {ahead}");
    let (status, v) = advance(&api, r#"{"seconds": 60}"#);
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["offsetSeconds"], 7260);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "emulator did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    for bad in ["-1d", "1w", "soon", "4000d"] {
        let out = Command::new(BIN)
            .arg(format!("--clock-offset={bad}"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "--clock-offset {bad} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--clock-offset") && stderr.contains("clock offset"),
            "{bad}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{bad}: no start-up line");
    }
}
