//! The `okms-emulator` binary: one JSON line on stdout, loopback only, clean exit on signals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_okms-emulator");

fn spawn(args: &[&str]) -> (Child, Value) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, v)
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "emulator did not exit after the signal"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn prints_one_json_line_and_exits_on_sigterm() {
    let (mut child, v) = spawn(&["--ready-delay-ms", "100", "--seed", "3"]);
    for key in [
        "api_url",
        "kms_url",
        "kmip_endpoint",
        "ca_file",
        "okms_id",
        "nic",
        "application_key",
        "application_secret",
        "consumer_key",
        "client_id",
        "client_secret",
    ] {
        assert!(
            v[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} in {v}"
        );
    }
    let api = v["api_url"].as_str().unwrap();
    assert!(
        api.starts_with("http://127.0.0.1:") && api.ends_with("/1.0"),
        "{api}"
    );
    assert!(
        v["kms_url"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:")
    );
    let ca_file = std::path::PathBuf::from(v["ca_file"].as_str().unwrap());
    assert!(
        std::fs::read_to_string(&ca_file)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    uuid::Uuid::parse_str(v["okms_id"].as_str().unwrap()).unwrap();
    // It answers.
    common::install_provider();
    let t: i64 = reqwest::blocking::get(format!("{api}/auth/time"))
        .unwrap()
        .json()
        .unwrap();
    assert!(t > 1_600_000_000);
    signal(&child, "-TERM");
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut rest)
        .unwrap();
    assert_eq!(rest, "", "exactly one line on stdout");
    assert!(!ca_file.exists(), "temporary directory removed on exit");
}

#[test]
fn exits_on_sigint_and_keeps_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (mut child, v) = spawn(&[
        "--state-dir",
        state.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(
        v["ca_file"].as_str().unwrap(),
        state.join("ca.pem").to_str().unwrap()
    );
    signal(&child, "-INT");
    assert!(wait_exit(&mut child).success());
    assert!(state.join("ca.pem").exists());
}

#[test]
fn faults_and_skew_from_flags() {
    let (mut child, v) = spawn(&[
        "--fault",
        "error:503,times=1,route=GET:/1.0/auth/time",
        "--clock-skew-secs",
        "-100",
    ]);
    let api = v["api_url"].as_str().unwrap();
    common::install_provider();
    let r = reqwest::blocking::get(format!("{api}/auth/time")).unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let t: i64 = reqwest::blocking::get(format!("{api}/auth/time"))
        .unwrap()
        .json()
        .unwrap();
    let delta = common::now_secs() - t;
    assert!((98..=102).contains(&delta), "{delta}");
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child).success());
}

fn refused(args: &[&str], needle: &str) {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout when refusing");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "{err}");
}

#[test]
fn refuses_non_loopback_and_bad_faults() {
    refused(&["--listen", "0.0.0.0:0"], "loopback");
    refused(&["--kms-listen", "192.0.2.1:443"], "loopback");
    refused(&["--fault", "explode"], "unknown fault kind");
    refused(&["--listen", "not-an-address"], "invalid value");
}

#[test]
fn refuses_out_of_range_numbers_without_panicking() {
    refused(&["--clock-skew-secs", "-9223372036854775808"], "clock skew");
    refused(
        &["--token-ttl-secs", "18446744073709551615"],
        "token lifetime",
    );
    refused(&["--ready-delay-ms", "18446744073709551615"], "ready delay");
    refused(&["--page-size", "0"], "page sizes");
}
