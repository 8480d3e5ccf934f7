//! Issue 22, "escalation creates nothing": every way a host (or a thief of a host's files)
//! might get more from the broker than a renewal of its own credential into exactly what it
//! was is refused, and leaves the emulator's credential list as it was: nothing created,
//! nothing revoked. Raw requests are made with curl, independently of okms-cli.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod broker_common;
mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use base64ct::{Base64, Encoding};
use broker_common::{Fleet, Host, credential_states, curl, openssl, policy_yaml};
use common::{AuthMethod, ok, okms_cli, online};
use okms_emulator::{EmulatorConfig, RunningEmulator};

const TESTS: &str = "the broker's escalation tests";

/// A new key `{name}.key` and its CSR `{name}.csr` in `dir`, made by okms-cli.
fn new_key_and_csr(dir: &Path, name: &str) -> String {
    ok(okms_cli().current_dir(dir).args([
        "key",
        "new",
        "--algorithm",
        "ecdsa-p256",
        "--out",
        &format!("{name}.key"),
    ]));
    csr_for(dir, &format!("{name}.key"), name)
}

/// A CSR of `key` as `{name}.csr`; its PEM.
fn csr_for(dir: &Path, key: &str, name: &str) -> String {
    ok(okms_cli().current_dir(dir).args([
        "csr",
        "new",
        "--key",
        key,
        "--cn",
        name,
        "--out",
        &format!("{name}.csr"),
    ]));
    fs::read_to_string(dir.join(format!("{name}.csr"))).unwrap()
}

/// The CSR with one bit of its signature flipped (the last byte of the DER is the signature's).
fn badly_signed(csr_pem: &str) -> String {
    let body: String = csr_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let mut der = Base64::decode_vec(&body).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let encoded = Base64::encode_string(&der);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        lines.join("\n")
    )
}

fn fleet(openssl: okms_test_support::interop::Openssl, emulator: RunningEmulator) -> Fleet {
    let mut fleet = Fleet::new(openssl, emulator, |id| policy_yaml(id, &["web-*"], ""));
    fleet.start_broker();
    fleet
}

/// `POST /v1/renew` with `body`, presenting the host's deployed pair.
fn renew_raw(fleet: &Fleet, host: &Host, body: &[u8]) -> (u16, String) {
    fleet.curl(
        0,
        &host.dir,
        Some(("client.cert", "domain.key")),
        "POST",
        "/v1/renew",
        Some(body),
    )
}

#[test]
fn bodies_naming_anything_but_a_csr_and_bad_csrs_are_refused_with_nothing_created() {
    let (Some(openssl), Some(())) = (openssl(TESTS), curl(TESTS)) else {
        return;
    };
    let fleet = fleet(openssl, common::emulator());
    let host = fleet.new_host("web-1");
    let csr = new_key_and_csr(&host.dir, "next");
    let same_key = csr_for(&host.dir, "domain.key", "same");
    let before = credential_states(&fleet.emulator);
    let json = |value: serde_json::Value| serde_json::to_vec(&value).unwrap();

    for (what, body, status, code, named) in [
        (
            "a name",
            json(serde_json::json!({"csr": csr, "name": "root-of-everything"})),
            400,
            "bad_request",
            "name",
        ),
        (
            "identities",
            json(serde_json::json!({"csr": csr,
                "identityURNs": ["urn:v1:eu:identity:account:xx1111-ovh"]})),
            400,
            "bad_request",
            "identityURNs",
        ),
        (
            "a validity",
            json(serde_json::json!({"csr": csr, "validity": 365})),
            400,
            "bad_request",
            "validity",
        ),
        (
            "a description",
            json(serde_json::json!({"csr": csr, "description": "x"})),
            400,
            "bad_request",
            "description",
        ),
        (
            "the current key",
            json(serde_json::json!({"csr": same_key})),
            400,
            "bad_csr",
            "current key",
        ),
        (
            "a bad signature",
            json(serde_json::json!({"csr": badly_signed(&csr)})),
            400,
            "bad_csr",
            "signature",
        ),
        (
            "not PEM",
            json(serde_json::json!({"csr": "hello"})),
            400,
            "bad_csr",
            "PEM",
        ),
        (
            "not a CSR",
            json(serde_json::json!({"csr": host.cert_pem()})),
            400,
            "bad_csr",
            "CSR",
        ),
        (
            "malformed JSON",
            b"{\"csr\": ".to_vec(),
            400,
            "bad_request",
            "",
        ),
        (
            "an oversized body",
            json(serde_json::json!({"csr": "x".repeat(okms_api::broker::MAX_REQUEST_BYTES)})),
            413,
            "too_large",
            "",
        ),
    ] {
        let (got, answer) = renew_raw(&fleet, &host, &body);
        assert_eq!(got, status, "{what}: {answer}");
        let refusal: serde_json::Value = serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("{what}: the refusal is not JSON ({e}): {answer}"));
        assert_eq!(refusal["error"], code, "{what}: {answer}");
        let message = refusal["message"].as_str().unwrap_or_default();
        assert!(
            message.to_lowercase().contains(&named.to_lowercase()),
            "{what}: the message names {named:?}: {message}"
        );
        assert_eq!(
            credential_states(&fleet.emulator),
            before,
            "{what}: the emulator's credentials changed"
        );
    }

    // The same host's proper request then works: the refusals left nothing in the way.
    let (got, answer) = renew_raw(&fleet, &host, &json(serde_json::json!({"csr": csr})));
    assert_eq!(got, 201, "{answer}");
}

/// Whether a request presenting that certificate was refused before anything happened: no
/// HTTP answer (the handshake refused it) or 403 `forbidden`.
fn assert_refused(what: &str, (status, body): (u16, String)) {
    assert!(
        status == 0 || (status == 403 && body.contains("forbidden")),
        "{what}: expected the handshake refused or 403 forbidden, got {status} {body}"
    );
}

#[test]
fn certificates_that_are_not_a_live_credential_the_policy_allows_are_refused() {
    let (Some(openssl), Some(())) = (openssl(TESTS), curl(TESTS)) else {
        return;
    };
    let emulator = RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(100),
        delete_delay: Duration::from_millis(100),
        extra_domains: 1,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let other_domain = emulator.domains()[1];
    let fleet = fleet(openssl, emulator);
    let revoked = fleet.new_host("web-revoked");
    let not_allowed = fleet.new_host("db-9");
    let elsewhere = fleet.new_host_in("web-elsewhere", other_domain);
    let stranger = fleet.path().join("hosts/stranger");
    fs::create_dir_all(&stranger).unwrap();
    openssl.ok(
        &stranger,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "domain.key",
            "-subj",
            "/CN=web-1",
            "-days",
            "2",
            "-out",
            "client.cert",
        ],
    );
    ok(
        online(&fleet.emulator, AuthMethod::Signature, fleet.path()).args([
            "credential",
            "delete",
            &revoked.credential_id(),
            "--yes",
        ]),
    );
    common::until_refused(|| fleet.check_once(&revoked).success());
    for host in [&revoked, &not_allowed, &elsewhere] {
        new_key_and_csr(&host.dir, "next");
    }
    fs::copy(revoked.dir.join("next.csr"), stranger.join("next.csr")).unwrap();
    let before = credential_states(&fleet.emulator);

    let body = |dir: &Path| {
        serde_json::to_vec(&serde_json::json!({
            "csr": fs::read_to_string(dir.join("next.csr")).unwrap()
        }))
        .unwrap()
    };
    for (what, dir) in [
        ("a revoked credential", &revoked.dir),
        ("a name the policy does not list", &not_allowed.dir),
        ("another domain's credential", &elsewhere.dir),
        ("a self-signed certificate", &stranger),
    ] {
        let client = Some(("client.cert", "domain.key"));
        assert_refused(
            what,
            fleet.curl(0, dir, client, "POST", "/v1/renew", Some(&body(dir))),
        );
        assert_refused(what, fleet.curl(0, dir, client, "GET", "/v1/status", None));
        assert_refused(
            what,
            fleet.curl(0, dir, client, "POST", "/v1/confirm", Some(b"{}")),
        );
    }
    assert_refused(
        "no certificate",
        fleet.curl(
            0,
            &revoked.dir,
            None,
            "POST",
            "/v1/renew",
            Some(&body(&revoked.dir)),
        ),
    );
    // The host's own command says why, and what to do: running it again would not help.
    let refused = fleet.renew(&not_allowed, 0);
    assert_eq!(refused.code, Some(7), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("ask the broker's operator")
            && !refused.stderr.contains("run the renewal again"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        credential_states(&fleet.emulator),
        before,
        "a refused request created or revoked a credential"
    );
    // What needs no certificate still answers.
    assert_eq!(
        fleet.curl(0, fleet.path(), None, "GET", "/healthz", None).0,
        200
    );
}

#[test]
fn an_expired_credential_is_refused() {
    let (Some(openssl), Some(())) = (openssl(TESTS), curl(TESTS)) else {
        return;
    };
    let mut fleet = fleet(openssl, common::emulator());
    let host = fleet.new_host("web-old");
    new_key_and_csr(&host.dir, "next");
    // The emulator's clock past the certificate's end: the API reports the credential
    // EXPIRED (the TLS layer still judges the certificate by real time).
    fleet
        .emulator
        .advance_clock(Duration::from_secs(366 * 24 * 3600));
    // A broker reads the API's clock when it starts (request signatures carry the API's
    // time): one running across a jump of a year would have every call refused, which is not
    // what this test is about.
    fleet.restart_broker(0);
    let before = credential_states(&fleet.emulator);
    let body = serde_json::to_vec(&serde_json::json!({
        "csr": fs::read_to_string(host.dir.join("next.csr")).unwrap()
    }))
    .unwrap();
    assert_refused(
        "an expired credential",
        fleet.curl(
            0,
            &host.dir,
            Some(("client.cert", "domain.key")),
            "POST",
            "/v1/renew",
            Some(&body),
        ),
    );
    assert_eq!(credential_states(&fleet.emulator), before);
}
