//! The policy file as an operator meets it: `okms-broker check-policy` accepts the issue's
//! example and refuses mistakes naming the line and the fix (exit 3); `okms-broker serve`
//! refuses a bad policy before listening, serves a good one against the emulator, re-reads it
//! on SIGHUP and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use okms_emulator::{EmulatorConfig, RunningEmulator};

fn broker() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_okms-broker"));
    for (k, _) in std::env::vars() {
        if k.starts_with("OVH_") {
            c.env_remove(k);
        }
    }
    c
}

fn check(dir: &Path, yaml: &str) -> Output {
    let file = dir.join("policy.yaml");
    std::fs::write(&file, yaml).unwrap();
    broker().arg("check-policy").arg(&file).output().unwrap()
}

const ID: &str = "00000000-0000-0000-0000-000000000000";

#[test]
fn the_issue_example_passes_check_policy() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(
        dir.path(),
        &format!(
            "version: 1\ndomains:\n  - okms_id: {ID}\n    credentials: [\"web-*\", \"db-1\"]   \
             # credential names that may renew through the broker\n    validity_days: 90       \
                  # optional: else the old credential's validity\n"
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (1 domain)"));
}

#[test]
fn check_policy_names_the_line_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let head = format!("version: 1\ndefaults:\n  grace: 12h\ndomains:\n  - okms_id: {ID}\n");
    for (yaml, line, fix) in [
        (
            format!("{head}    credentials: [\"web-*\"]\n    renew_before: 30\n"),
            7,
            "renew_before_days",
        ),
        (
            format!("{head}    credentials: [\"web-**\"]\n"),
            6,
            "\"web-*\"",
        ),
        (
            format!("{head}    credentials: [\"\"]\n"),
            6,
            "such as \"db-1\"",
        ),
        (
            format!("{head}    credentials: [\"wéb\"]\n"),
            6,
            "printable ASCII",
        ),
        (format!("{head}    credentials: []\n"), 6, "no credentials"),
        (
            format!("{head}    credentials: [a]\n  - okms_id: {ID}\n    credentials: [b]\n"),
            7,
            "merge its credentials",
        ),
        (
            "version: 1\ndomains:\n  - okms_id: 1234\n    credentials: [a]\n".to_string(),
            3,
            "such as 0b5bc7d9",
        ),
        (
            format!("{head}    credentials: [a]\n    grace: 1 day\n"),
            7,
            "24h, 7d",
        ),
        (
            format!("{head}    credentials: [a]\n    validity_days: 400\n"),
            7,
            "1..=365",
        ),
        (
            format!("version: 1\ndefaults:\n  okms_id: {ID}\ndomains: []\n"),
            3,
            "okms_id",
        ),
    ] {
        let out = check(dir.path(), &yaml);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{yaml}\n{stderr}");
        assert!(
            stderr.contains(&format!("line {line}:")),
            "{yaml}\nexpected line {line}: {stderr}"
        );
        assert!(stderr.contains(fix), "{yaml}\nexpected {fix:?}: {stderr}");
    }
}

#[test]
fn help_documents_the_exit_codes_and_usage_errors_exit_2() {
    let out = broker().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for code in ["2  usage", "3  invalid policy", "4  TLS", "5  OVHcloud API"] {
        assert!(help.contains(code), "{code} missing from\n{help}");
    }
    let out = broker().args(["serve", "--listen"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn serve_refuses_a_bad_policy_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "version: 1\ndomains:\n  - okms_id: x\n").unwrap();
    let out = broker()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "c",
            "--tls-key",
            "k",
        ])
        .arg("--policy")
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn serve_against_the_emulator_reloads_on_sighup_and_stops_on_sigterm() {
    let _ = okms_api::tls::ring_provider().install_default();
    let emu = RunningEmulator::spawn_in_thread(EmulatorConfig::default()).unwrap();
    let info = emu.info();
    let dir = tempfile::tempdir().unwrap();
    let ca = okms_emulator::Ca::generate().unwrap();
    let (cert_der, key_der) = ca.issue_server_certificate().unwrap();
    let pem = |label: &str, der: &[u8]| {
        der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
    };
    let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    std::fs::write(&cert, pem("CERTIFICATE", &cert_der)).unwrap();
    std::fs::write(&key, pem("PRIVATE KEY", &key_der)).unwrap();
    let policy = dir.path().join("policy.yaml");
    let good = format!(
        "version: 1\ndomains:\n  - okms_id: {}\n    credentials: [\"web-*\"]\n",
        emu.okms_id()
    );
    std::fs::write(&policy, &good).unwrap();
    let audit = dir.path().join("audit.log");
    let port = free_port();
    let mut child = broker()
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("OVH_ENDPOINT", &info.api_url)
        .env("OVH_APPLICATION_KEY", &info.application_key)
        .env("OVH_APPLICATION_SECRET", &info.application_secret)
        .env("OVH_CONSUMER_KEY", &info.consumer_key)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--policy")
        .arg(&policy)
        .arg("--audit-log")
        .arg(&audit)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap()])
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let health = format!("https://localhost:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(&health).send() {
            assert_eq!(r.status(), reqwest::StatusCode::OK);
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("okms-broker exited with {status}: {err}");
        }
        assert!(Instant::now() < deadline, "okms-broker never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    let audit_text = || std::fs::read_to_string(&audit).unwrap_or_default();
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !audit_text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle} in\n{}",
                audit_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for(r#""event":"reconcile""#);
    // A host's status through the binary: its audit line has the API's query ids (the engine's
    // transport is Audited).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let host = runtime.block_on(common::host(&emu, "web-1"));
    let key_pem = host.key.to_pem(okms_csr::KeyFormat::Pkcs8).unwrap();
    let key_pem = okms_csr::ExposeSecret::expose_secret(&key_pem);
    let as_host = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap()])
        .identity(
            reqwest::Identity::from_pem(format!("{}{key_pem}", host.certificate_pem).as_bytes())
                .unwrap(),
        )
        .build()
        .unwrap();
    let status = as_host
        .get(format!("https://localhost:{port}/v1/status"))
        .send()
        .unwrap();
    assert_eq!(status.status(), reqwest::StatusCode::OK);
    wait_for(r#""route":"/v1/status""#);
    let line = audit_text()
        .lines()
        .find(|l| l.contains(r#""route":"/v1/status""#))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .unwrap();
    assert_eq!(line["clientCredentialId"], host.id.to_string());
    assert!(line["apiCalls"].as_u64().unwrap() >= 1, "{line}");
    assert!(
        line["apiQueryIds"][0].as_str().unwrap().starts_with("EU."),
        "{line}"
    );
    // A bad policy on SIGHUP: refused, still serving.
    std::fs::write(&policy, "version: 1\ndomains: []\n").unwrap();
    signal(&child, "HUP");
    wait_for(r#""event":"reload-refused""#);
    assert_eq!(client.get(&health).send().unwrap().status(), 200);
    std::fs::write(&policy, &good).unwrap();
    signal(&child, "HUP");
    wait_for(r#""event":"reload""#);
    signal(&child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "okms-broker ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let text = audit_text();
    assert!(!text.contains(&*info.application_secret));
    assert!(!text.contains(&*info.consumer_key));
}

#[test]
fn the_readme_policy_is_valid() {
    let readme = include_str!("../README.md");
    let start = readme.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let yaml = &readme[start..start + readme[start..].find("```").unwrap()];
    let policy = okms_broker::policy::Policy::from_yaml(yaml, Path::new("README.md")).unwrap();
    let d = &policy.domains[0];
    assert_eq!(d.key_algorithms.len(), 3);
    assert_eq!(d.renew_before_days, Some(30));
    assert_eq!(d.validity_days, Some(90));
    assert!(d.allows("web-7") && d.allows("db-1"));
}
