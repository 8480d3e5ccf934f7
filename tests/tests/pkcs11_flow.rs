//! The air-gapped flow with the key on a PKCS#11 token (SoftHSM2): the key is generated on
//! the token, the CSR is signed there, the request file goes to the connected host, the
//! certificate comes back, and the mutual-TLS call to the KMS is signed on the token too.
//! Every step runs the real `okms-cli` binary against `okms-emulator` on 127.0.0.1; the
//! results are checked with okms-csr and the emulator's own state.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process, so each test makes a fresh token
//! directory and gives it to the okms-cli child processes only. Without SoftHSM2 the tests are
//! skipped with a loud message, unless `OKMS_REQUIRE_SOFTHSM=1` (CI) makes that a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{AuthMethod, emulator, ok, okms_cli, online};
use okms_csr::{Certificate, PublicKey, same_public_key};
use okms_emulator::{CredentialPhase, RunningEmulator};

use okms_test_support::{PIN, TOKEN};

fn softhsm_module() -> Option<PathBuf> {
    okms_test_support::softhsm_module(
        okms_pkcs11::SOFTHSM2_HINT_PATHS,
        "the PKCS#11 end-to-end tests",
    )
}

/// The air-gapped host: a directory with a fresh SoftHSM2 token (its own configuration and
/// token directory) and a PIN file.
struct TokenHost {
    dir: tempfile::TempDir,
    conf: PathBuf,
    module: String,
}

impl TokenHost {
    fn new() -> Option<TokenHost> {
        let module = softhsm_module()?;
        let dir = tempfile::tempdir().unwrap();
        let conf = okms_test_support::init_token_dir(dir.path());
        fs::write(dir.path().join("pin.txt"), format!("{PIN}\n")).unwrap();
        Some(TokenHost {
            dir,
            conf,
            module: module.to_str().unwrap().to_owned(),
        })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// okms-cli on this host, seeing this token only.
    fn cli(&self) -> Command {
        let mut c = okms_cli();
        c.current_dir(self.path())
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("OKMS_PKCS11_MODULE");
        c
    }

    /// okms-cli with `args`, then the module and PIN-file flags.
    fn token_cmd(&self, args: &[&str]) -> Command {
        let mut c = self.cli();
        c.args(args)
            .args(["--pkcs11-module", &self.module, "--pin-file", "pin.txt"]);
        c
    }
}

/// Runs `command`, which must exit 0, and checks the PIN is not in its output.
fn ok_no_pin(command: &mut Command) -> String {
    let (stdout, stderr) = common::ok_with_stderr(command);
    assert!(
        !stdout.contains(PIN) && !stderr.contains(PIN),
        "the PIN was printed by {command:?}:\n{stdout}\n{stderr}"
    );
    stdout
}

fn check_cmd(host: &TokenHost, emulator: &RunningEmulator, key: &str) -> Command {
    let mut c = host.token_cmd(&[
        "--json",
        "credential",
        "check",
        "--cert",
        "client.cert",
        "--key",
        key,
    ]);
    c.arg("--kms-url")
        .arg(emulator.kms_url())
        .arg("--ca")
        .arg(&emulator.info().ca_file)
        .arg("--okms-id")
        .arg(emulator.okms_id().to_string());
    c
}

/// The whole flow with a key of `algorithm` on the token.
fn token_flow(algorithm: &str) {
    let Some(host) = TokenHost::new() else { return };
    let emulator = emulator();
    let connected = tempfile::tempdir().unwrap();
    let net = connected.path();

    // Air-gapped host: the key is generated on the token; only its URI comes back.
    let created = ok_no_pin(&mut host.token_cmd(&[
        "--json",
        "key",
        "new",
        "--algorithm",
        algorithm,
        "--pkcs11",
        &format!("pkcs11:token={TOKEN};object=okms-client"),
    ]));
    let created: serde_json::Value = serde_json::from_str(&created)
        .unwrap_or_else(|e| panic!("key new --json is JSON ({e}): {created}"));
    assert_eq!(created["sensitive"], true, "{created}");
    assert_eq!(created["extractable"], false, "{created}");
    let uri = created["uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with(&format!("pkcs11:token={TOKEN};object=okms-client;id=")));

    ok_no_pin(&mut host.token_cmd(&[
        "csr",
        "new",
        "--key",
        &uri,
        "--subject",
        "CN=payments,O=Example,C=FR",
        "--out",
        "client.csr",
    ]));
    ok(host.cli().args([
        "request",
        "new",
        "--csr",
        "client.csr",
        "--name",
        "payments-hsm",
        "--root",
        "--nic",
        &emulator.info().nic,
        "--region",
        "eu",
        "--validity",
        "30",
        "--out",
        "request.json",
    ]));
    let names: Vec<_> = fs::read_dir(host.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".key")),
        "no key file on the token host: {names:?}"
    );
    fs::copy(host.path().join("request.json"), net.join("request.json")).unwrap();

    // Connected host: submit and wait for the certificate.
    ok(online(&emulator, AuthMethod::Signature, net).args([
        "credential",
        "create",
        "--request",
        "request.json",
        "--cert-out",
        "client.cert",
    ]));
    fs::copy(net.join("client.cert"), host.path().join("client.cert")).unwrap();

    // The certificate holds the token key's public key, as `key pub` reads it on the token.
    let cert = Certificate::from_pem(&fs::read_to_string(host.path().join("client.cert")).unwrap())
        .unwrap();
    let token_pub = ok_no_pin(&mut host.token_cmd(&["key", "pub", &uri]));
    let token_pub = PublicKey::from_pem(&token_pub).unwrap();
    assert!(
        same_public_key(&cert.public_key(), &token_pub),
        "the certificate holds the token key"
    );
    assert_eq!(
        cert.okms_domain().as_deref(),
        Some(emulator.okms_id().to_string().as_str())
    );
    let snapshot = emulator.credentials();
    assert_eq!(snapshot.len(), 1, "exactly one credential: {snapshot:?}");
    assert_eq!(snapshot[0].phase, CredentialPhase::Ready);
    assert!(snapshot[0].from_csr);
    assert_eq!(snapshot[0].name, "payments-hsm");
    assert_eq!(
        Some(snapshot[0].id.to_string()),
        cert.credential_id(),
        "the certificate's serial is the credential"
    );

    // Mutual TLS, the handshake signed on the token.
    let report = ok_no_pin(&mut check_cmd(&host, &emulator, &uri));
    let report: serde_json::Value = serde_json::from_str(&report)
        .unwrap_or_else(|e| panic!("credential check --json is JSON ({e}): {report}"));
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["http_status"], 200, "{report}");
    assert_eq!(
        report["public_key_sha256"].as_str(),
        Some(token_pub.fingerprint_sha256().as_str())
    );

    // Another key on the same token does not pass for this certificate.
    ok_no_pin(&mut host.token_cmd(&[
        "key",
        "new",
        "--algorithm",
        algorithm,
        "--pkcs11",
        &format!("pkcs11:token={TOKEN};object=other"),
    ]));
    let other = format!("pkcs11:token={TOKEN};object=other");
    let out = check_cmd(&host, &emulator, &other).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("does not hold the public key"), "{stderr}");

    // Once the credential is deleted, the KMS refuses the token-signed handshake. One attempt
    // per check: the propagation wait (retrying a refusal for a new certificate, 60 s) is not
    // what is tested here, and `until_refused` already allows for the deletion to spread.
    let id = cert.credential_id().unwrap();
    ok(online(&emulator, AuthMethod::Signature, net).args(["credential", "delete", &id, "--yes"]));
    common::until_refused(|| {
        check_cmd(&host, &emulator, &uri)
            .args(["--propagation-wait", "0"])
            .output()
            .unwrap()
            .status
            .success()
    });
}

#[test]
fn ecdsa_key_on_token_request_file_certificate_and_mtls() {
    token_flow("ecdsa-p256");
}

#[test]
fn rsa_key_on_token_request_file_certificate_and_mtls() {
    token_flow("rsa-2048");
}
