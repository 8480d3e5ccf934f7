//! Helpers shared by the integration tests: an HTTP client, signed calls, key/CSR files.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use okms_emulator::{EmulatorConfig, RunningEmulator, signature};
use reqwest::{Method, StatusCode, blocking::Response};
use serde_json::Value;

pub fn install_provider() {
    // Deprecated since rustls 0.23.48 only for lacking post-quantum key exchange (see
    // okms_emulator's `ring_provider`); the emulator's own TLS uses ring too.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn start(config: EmulatorConfig) -> RunningEmulator {
    install_provider();
    RunningEmulator::spawn_in_thread(config).expect("emulator starts")
}

pub fn fast() -> EmulatorConfig {
    EmulatorConfig {
        ready_delay: Duration::from_millis(150),
        delete_delay: Duration::from_millis(150),
        ..EmulatorConfig::default()
    }
}

pub fn client() -> reqwest::blocking::Client {
    install_provider();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// The API base without `/1.0` (where `/v1`, `/v2` and `/auth/oauth2/token` live).
pub fn base(emu: &RunningEmulator) -> String {
    emu.api_url().trim_end_matches("/1.0").to_owned()
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A call signed like go-ovh / python-ovh do it.
pub fn signed_at(
    emu: &RunningEmulator,
    method: Method,
    path: &str,
    body: Option<&str>,
    ts: i64,
    headers: &[(&str, &str)],
) -> Response {
    let info = emu.info();
    let url = format!("{}{path}", base(emu));
    let body = body.unwrap_or("");
    let ts = ts.to_string();
    let sig = signature::compute(
        &info.application_secret,
        &info.consumer_key,
        method.as_str(),
        &url,
        body.as_bytes(),
        &ts,
    );
    let mut req = client()
        .request(method, &url)
        .header("X-Ovh-Application", &info.application_key)
        .header("X-Ovh-Consumer", &info.consumer_key)
        .header("X-Ovh-Timestamp", &ts)
        .header("X-Ovh-Signature", sig);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if !body.is_empty() {
        req = req
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    req.send().unwrap()
}

pub fn signed(emu: &RunningEmulator, method: Method, path: &str, body: Option<&str>) -> Response {
    signed_at(emu, method, path, body, now_secs(), &[])
}

pub fn json(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

pub fn cred_path(emu: &RunningEmulator) -> String {
    format!("/v2/okms/resource/{}/credential", emu.okms_id())
}

pub const URN: &str = "urn:v1:eu:identity:account:xx1111-ovh";

pub fn create_body(extra: &str) -> String {
    format!(r#"{{"name":"test","identityURNs":["{URN}"]{extra}}}"#)
}

/// Polls GET until the status is not `from`, returns the final body.
pub fn wait_while(emu: &RunningEmulator, id: &str, from: &str) -> (StatusCode, Value) {
    let path = format!("{}/{id}", cred_path(emu));
    for _ in 0..100 {
        let (status, v) = json(signed(emu, Method::GET, &path, None));
        if status != StatusCode::OK || v["status"] != from {
            return (status, v);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("credential {id} stayed {from}");
}

/// Creates a credential without CSR, waits until READY, returns (id, cert PEM, key PEM).
pub fn ready_credential(emu: &RunningEmulator) -> (String, String, String) {
    let (status, v) = json(signed(
        emu,
        Method::POST,
        &cred_path(emu),
        Some(&create_body("")),
    ));
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let key = v["privateKeyPEM"].as_str().unwrap().to_owned();
    let (_, got) = wait_while(emu, &id, "CREATING");
    (id, got["certificatePEM"].as_str().unwrap().to_owned(), key)
}

/// A client of the KMS that trusts the emulator's CA and presents `identity` (certificate and
/// key PEM), if any.
pub fn mtls_client(
    emu: &RunningEmulator,
    identity: Option<(&str, &str)>,
) -> reqwest::blocking::Client {
    install_provider();
    let ca = reqwest::Certificate::from_pem(emu.info().ca_pem.as_bytes()).unwrap();
    let mut b = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .tls_certs_only([ca]);
    if let Some((cert, key)) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b.build().unwrap()
}
