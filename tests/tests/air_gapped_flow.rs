//! The product's reason to exist, end to end: a key made on one host, a CSR carried to a
//! connected host as a request file, the certificate carried back, and a mutual-TLS call that
//! proves the pair works. Every step runs the real `okms-cli` binary against `okms-emulator`
//! on 127.0.0.1, and the results are checked with okms-csr, independently of the CLI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::Path;

use common::{AuthMethod, emulator, mode, ok, okms_cli, online};
use okms_csr::{Certificate, PrivateKey, same_public_key};
use okms_emulator::{CredentialPhase, RunningEmulator};

/// What a user checks about a certificate they received: it is for this domain, its serial is
/// the credential, and it holds their key.
fn assert_certificate_for(emulator: &RunningEmulator, cert_path: &Path, key_path: &Path) -> String {
    let cert = Certificate::from_pem(&fs::read_to_string(cert_path).unwrap()).unwrap();
    let key = PrivateKey::import(&fs::read(key_path).unwrap(), None).unwrap();
    assert!(
        same_public_key(&cert.public_key(), &key.public_key()),
        "the certificate must hold the public key of {}",
        key_path.display()
    );
    assert_eq!(
        cert.okms_domain().as_deref(),
        Some(emulator.okms_id().to_string().as_str()),
        "the okms.domain SAN names the domain"
    );
    let id = cert.credential_id().expect("serial is the credential id");
    let live: Vec<_> = emulator
        .credentials()
        .into_iter()
        .filter(|c| c.phase == CredentialPhase::Ready)
        .collect();
    assert!(
        live.iter().any(|c| c.id.to_string() == id),
        "credential {id} is READY on the emulator"
    );
    id
}

fn check(emulator: &RunningEmulator, dir: &Path, cert: &str, key: &str) -> std::process::Output {
    check_with(emulator, dir, cert, key, &[])
}

/// [`check`] with `extra` arguments last.
fn check_with(
    emulator: &RunningEmulator,
    dir: &Path,
    cert: &str,
    key: &str,
    extra: &[&str],
) -> std::process::Output {
    okms_cli()
        .current_dir(dir)
        .args([
            "credential",
            "check",
            "--cert",
            cert,
            "--key",
            key,
            "--kms-url",
        ])
        .arg(emulator.kms_url())
        .arg("--ca")
        .arg(&emulator.info().ca_file)
        .arg("--okms-id")
        .arg(emulator.okms_id().to_string())
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn air_gapped_key_request_file_certificate_and_mtls() {
    let emulator = emulator();
    let air_gapped = tempfile::tempdir().unwrap();
    let connected = tempfile::tempdir().unwrap();
    let air = air_gapped.path();
    let net = connected.path();

    // Air-gapped host: key and CSR; only the request file leaves.
    ok(okms_cli().current_dir(air).args([
        "key",
        "new",
        "--algorithm",
        "ecdsa-p384",
        "--out",
        "domain.key",
    ]));
    assert_eq!(mode(&air.join("domain.key")), 0o600);
    ok(okms_cli().current_dir(air).args([
        "csr",
        "new",
        "--key",
        "domain.key",
        "--subject",
        "CN=payments,O=Example,C=FR",
        "--out",
        "client.csr",
    ]));
    ok(okms_cli().current_dir(air).args([
        "request",
        "new",
        "--csr",
        "client.csr",
        "--name",
        "payments-prod",
        "--root",
        "--nic",
        &emulator.info().nic,
        "--region",
        "eu",
        "--validity",
        "30",
        "--description",
        "payments service",
        "--out",
        "request.json",
    ]));
    fs::copy(air.join("request.json"), net.join("request.json")).unwrap();

    // Connected host: submit, wait, write the certificate. No key here, ever.
    let created = ok(online(&emulator, AuthMethod::Signature, net).args([
        "--json",
        "credential",
        "create",
        "--request",
        "request.json",
        "--cert-out",
        "client.cert",
    ]));
    let created: serde_json::Value = serde_json::from_str(&created)
        .unwrap_or_else(|e| panic!("--json output is JSON ({e}): {created}"));
    assert!(!net.join("domain.key").exists());
    let names: Vec<_> = fs::read_dir(net)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "only request.json and client.cert on the connected host: {names:?}"
    );

    // Back on the key's host: the certificate holds the key and works over mutual TLS.
    fs::copy(net.join("client.cert"), air.join("client.cert")).unwrap();
    let id = assert_certificate_for(&emulator, &air.join("client.cert"), &air.join("domain.key"));
    assert!(
        created.to_string().contains(&id),
        "create --json names the credential {id}: {created}"
    );
    let snapshot = emulator.credentials();
    assert_eq!(snapshot.len(), 1, "exactly one credential: {snapshot:?}");
    assert!(snapshot[0].from_csr);
    assert_eq!(snapshot[0].name, "payments-prod");
    assert_eq!(snapshot[0].description.as_deref(), Some("payments service"));
    let output = check(&emulator, air, "client.cert", "domain.key");
    assert!(
        output.status.success(),
        "credential check: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn service_account_submits_a_csr_then_gets_lists_and_deletes() {
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(okms_cli().current_dir(d).args([
        "csr",
        "new",
        "--algorithm",
        "rsa-3072",
        "--key-out",
        "app.key",
        "--cn",
        "app",
        "--out",
        "app.csr",
    ]));
    let out = ok(online(&emulator, AuthMethod::OAuth2, d).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "app.csr",
        "--name",
        "app",
        "--service-account",
        &emulator.info().client_id,
        "--cert-out",
        "app.cert",
    ]));
    let id = assert_certificate_for(&emulator, &d.join("app.cert"), &d.join("app.key"));
    assert!(out.contains(&id));

    let listed =
        ok(online(&emulator, AuthMethod::OAuth2, d).args(["--json", "credential", "list"]));
    assert!(listed.contains(&id), "list shows {id}: {listed}");
    ok(online(&emulator, AuthMethod::OAuth2, d).args([
        "credential",
        "get",
        &id,
        "--cert-out",
        "again.cert",
    ]));
    assert_eq!(
        fs::read_to_string(d.join("app.cert")).unwrap(),
        fs::read_to_string(d.join("again.cert")).unwrap()
    );
    // The certificate names a service account, which needs a policy to use the KMS. One
    // attempt: the KMS's 401 would otherwise be retried for the 60 s propagation wait, which
    // is not what is tested here.
    let once = ["--propagation-wait", "0"];
    assert!(
        !check_with(&emulator, d, "app.cert", "app.key", &once)
            .status
            .success()
    );
    ok(online(&emulator, AuthMethod::OAuth2, d).args([
        "iam",
        "grant",
        "--service-account",
        &emulator.info().client_id,
        "--preset",
        "kms-read",
    ]));
    assert!(check(&emulator, d, "app.cert", "app.key").status.success());

    ok(online(&emulator, AuthMethod::OAuth2, d).args(["credential", "delete", &id, "--yes"]));
    // A deleted credential no longer opens the domain (one attempt per check: the 60 s
    // propagation wait for a new certificate is not what is tested here).
    common::until_refused(|| {
        check_with(&emulator, d, "app.cert", "app.key", &once)
            .status
            .success()
    });
}

#[test]
fn ovhcloud_generated_key_lands_on_disk_private_and_matching() {
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok(online(&emulator, AuthMethod::Signature, d).args([
        "--json",
        "credential",
        "create",
        "--name",
        "quick",
        "--root",
        "--certificate-type",
        "rsa",
        "--key-out",
        "quick.key",
        "--cert-out",
        "quick.cert",
    ]));
    assert_eq!(mode(&d.join("quick.key")), 0o600);
    assert!(
        !out.contains("PRIVATE KEY"),
        "the key is never printed: {out}"
    );
    assert_certificate_for(&emulator, &d.join("quick.cert"), &d.join("quick.key"));
    assert!(
        check(&emulator, d, "quick.cert", "quick.key")
            .status
            .success()
    );
}
