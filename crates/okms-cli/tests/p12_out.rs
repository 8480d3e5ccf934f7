//! `--p12-out` on `credential create` and `credential renew`, and `cert export` taking the
//! domain's CA from the API, checked as a user would: openssl and Python `cryptography` read
//! the file (key matching the certificate, the domain's CA included); a renewal replaces the
//! file and keeps the previous one as `.bak`, a failed one leaves it byte-equal; what cannot be
//! written (an existing target, a key on a token) is refused before any credential exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::time::Duration;

use common::{Sandbox, stderr_of, stdout_of};
use okms_emulator::{CredentialPhase, RunningEmulator};
use okms_test_support::interop::{self, Openssl};
use online_common::{AuthMode, CREATE_SVC, bare_env, cli, emulator, emulator_with, json_ok};

const PASS: &str = "correct horse battery staple";

fn openssl() -> Option<Openssl> {
    interop::openssl("okms-cli's --p12-out tests")
}

/// The live credentials of the emulator (not being deleted).
fn live(emu: &RunningEmulator) -> Vec<String> {
    emu.credentials()
        .into_iter()
        .filter(|c| {
            !matches!(
                c.phase,
                CredentialPhase::Deleting | CredentialPhase::Deleted
            )
        })
        .map(|c| c.id.to_string())
        .collect()
}

/// How many certificates openssl finds in `file`, and the key it holds written to `key_out`.
fn p12_contents(openssl: &Openssl, s: &Sandbox, file: &str, key_out: &str) -> usize {
    let d = s.dir.path();
    let passin = format!("pass:{PASS}");
    let certs = openssl.text(d, &["pkcs12", "-in", file, "-passin", &passin, "-nokeys"]);
    openssl.ok(
        d,
        &[
            "pkcs12", "-in", file, "-passin", &passin, "-nodes", "-nocerts", "-out", key_out,
        ],
    );
    certs.matches("-----BEGIN CERTIFICATE-----").count()
}

/// Python `cryptography` opens `file`: its key is its certificate's, and it holds a chain.
/// openssl finds the certificate and one CA in `p12`, and `key`'s public key (the key is left
/// in `in-p12.key`); Python `cryptography` reads it too.
fn holds_key_and_chain(openssl: &Openssl, s: &Sandbox, p12: &str, key: &str) {
    assert_eq!(p12_contents(openssl, s, p12, "in-p12.key"), 2);
    let d = s.dir.path();
    assert_eq!(
        openssl.public_key_der(d, "in-p12.key", None),
        openssl.public_key_der(d, key, None)
    );
    python_reads(s, p12);
}

fn python_reads(s: &Sandbox, file: &str) {
    let Some(python) = interop::python_cryptography("okms-cli's --p12-out tests") else {
        return;
    };
    let code = format!(
        r#"
from cryptography.hazmat.primitives.serialization import pkcs12, Encoding, PublicFormat
key, cert, chain = pkcs12.load_key_and_certificates(open("{file}", "rb").read(), b"{PASS}")
spki = lambda k: k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
assert spki(key.public_key()) == spki(cert.public_key())
assert len(chain) == 1, chain
print("ok")
"#
    );
    assert_eq!(python.run(s.dir.path(), &code).trim(), "ok");
}

/// `CREATE_SVC` with `--p12-out svc.p12` (the CSR's key given with --key).
fn create_svc_with_p12(s: &Sandbox, emu: &RunningEmulator) -> serde_json::Value {
    s.key_and_csr("svc.key", "svc.csr", "ecdsa-p256");
    json_ok(
        cli(s, emu, AuthMode::Signature)
            .env("P12PASS", PASS)
            .args(CREATE_SVC)
            .args([
                "--key",
                "svc.key",
                "--p12-out",
                "svc.p12",
                "--passphrase-env",
                "P12PASS",
            ]),
    )
}

#[test]
fn create_with_a_generated_key_writes_a_p12_with_the_domains_ca() {
    let emu = emulator();
    let s = Sandbox::new();
    let v = json_ok(
        cli(&s, &emu, AuthMode::Signature)
            .env("P12PASS", PASS)
            .args([
                "--json",
                "credential",
                "create",
                "--name",
                "vm",
                "--root",
                "--key-out",
                "vm.key",
                "--cert-out",
                "vm.cert",
                "--p12-out",
                "vm.p12",
                "--passphrase-env",
                "P12PASS",
            ]),
    );
    assert_eq!(v["p12"]["path"], "vm.p12", "{v}");
    assert_eq!(v["p12"]["chain_source"], "api", "{v}");
    assert_eq!(v["p12"]["chain_certificates"], 1, "{v}");
    assert_eq!(v["p12"]["encryption"], "pbes2-aes256-cbc", "{v}");
    assert_eq!(s.mode("vm.p12"), 0o600);
    let Some(openssl) = openssl() else { return };
    holds_key_and_chain(&openssl, &s, "vm.p12", "vm.key");
}

#[test]
fn create_with_a_csr_puts_the_given_key_in_the_p12() {
    let emu = emulator();
    let s = Sandbox::new();
    let v = create_svc_with_p12(&s, &emu);
    assert_eq!(v["p12"]["chain_certificates"], 1, "{v}");
    let Some(openssl) = openssl() else { return };
    holds_key_and_chain(&openssl, &s, "svc.p12", "svc.key");
}

#[test]
fn an_existing_target_or_a_token_key_is_refused_before_any_credential_exists() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("svc.key", "svc.csr", "ecdsa-p256");
    s.write("taken.p12", b"mine");
    let out = cli(&s, &emu, AuthMode::Signature)
        .env("P12PASS", PASS)
        .args(CREATE_SVC)
        .args([
            "--key",
            "svc.key",
            "--p12-out",
            "taken.p12",
            "--passphrase-env",
            "P12PASS",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert_eq!(s.read("taken.p12"), b"mine");
    assert!(emu.credentials().is_empty(), "{:?}", emu.credentials());
    assert!(!s.exists("svc.cert"));

    let out = cli(&s, &emu, AuthMode::Signature)
        .args(CREATE_SVC)
        .args([
            "--key",
            "pkcs11:token=t;object=k",
            "--p12-out",
            "x.p12",
            "--no-passphrase",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("not extractable"),
        "{}",
        stderr_of(&out)
    );
    assert!(emu.credentials().is_empty(), "{:?}", emu.credentials());
    assert!(!s.exists("x.p12"));

    // The CSR's key is needed, and must be the CSR's.
    s.key("other.key", "ecdsa-p256");
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(CREATE_SVC)
        .args([
            "--key",
            "other.key",
            "--p12-out",
            "x.p12",
            "--no-passphrase",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(emu.credentials().is_empty(), "{:?}", emu.credentials());
}

#[test]
fn renew_replaces_the_p12_and_keeps_the_previous_one_as_bak() {
    let emu = emulator();
    let s = Sandbox::new();
    create_svc_with_p12(&s, &emu);
    let before = s.read("svc.p12");
    let v = json_ok(
        cli(&s, &emu, AuthMode::Signature)
            .env("P12PASS", PASS)
            .args([
                "--json",
                "credential",
                "renew",
                "--force",
                "--cert",
                "svc.cert",
                "--key",
                "svc.key",
                "--p12-out",
                "svc.p12",
                "--passphrase-env",
                "P12PASS",
            ]),
    );
    assert_eq!(v["renewed"], true, "{v}");
    assert_eq!(v["p12"]["chain_certificates"], 1, "{v}");
    assert_eq!(s.read("svc.p12.bak"), before);
    assert_ne!(s.read("svc.p12"), before);
    assert!(!s.exists("svc.p12.new"));
    assert_eq!(s.mode("svc.p12"), 0o600);
    let Some(openssl) = openssl() else { return };
    // The file holds the new key (the deployed one), not the backup's.
    holds_key_and_chain(&openssl, &s, "svc.p12", "svc.key");
    let d = s.dir.path();
    assert_ne!(
        openssl.public_key_der(d, "in-p12.key", None),
        openssl.public_key_der(d, "svc.key.bak", None)
    );
}

#[test]
fn a_failed_renewal_leaves_the_old_p12_byte_equal() {
    let emu = emulator_with(|c| c.kms_propagation = Duration::from_millis(5000));
    let s = Sandbox::new();
    create_svc_with_p12(&s, &emu);
    let old_id = live(&emu);
    std::thread::sleep(Duration::from_millis(5500));
    let before = s.snapshot();
    let out = cli(&s, &emu, AuthMode::Signature)
        .env("P12PASS", PASS)
        .args([
            "credential",
            "renew",
            "--force",
            "--propagation-wait",
            "0",
            "--cert",
            "svc.cert",
            "--key",
            "svc.key",
            "--p12-out",
            "svc.p12",
            "--passphrase-env",
            "P12PASS",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stderr_of(&out));
    assert_eq!(s.snapshot(), before, "{}", stderr_of(&out));
    assert_eq!(live(&emu), old_id);
}

#[test]
fn renew_refuses_p12_out_for_a_token_key_before_anything() {
    let emu = emulator();
    let s = Sandbox::new();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args([
            "credential",
            "renew",
            "--force",
            "--cert",
            "svc.cert",
            "--key",
            "pkcs11:token=t;object=k",
            "--p12-out",
            "svc.p12",
            "--no-passphrase",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("not extractable"),
        "{}",
        stderr_of(&out)
    );
    assert!(emu.credentials().is_empty());
}

#[test]
fn cert_export_takes_the_domains_ca_from_the_api_and_says_when_it_cannot() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("svc.key", "svc.csr", "ecdsa-p256");
    json_ok(cli(&s, &emu, AuthMode::Signature).args(CREATE_SVC));
    let export = [
        "cert",
        "export",
        "--cert",
        "svc.cert",
        "--key",
        "svc.key",
        "--passphrase-env",
        "P12PASS",
        "--p12",
    ];
    let out = cli(&s, &emu, AuthMode::Signature)
        .env("P12PASS", PASS)
        .args(export)
        .arg("api.p12")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).contains("the domain's CA from the API"),
        "{}",
        stdout_of(&out)
    );

    // No API access is not an error: the file holds no chain, and the output says why.
    let mut offline = s.cmd();
    bare_env(&mut offline, &s);
    let out = offline
        .env("P12PASS", PASS)
        .args(export)
        .arg("offline.p12")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let said = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(
        said.contains("no chain: pass --ca FILE or configure API access"),
        "{said}"
    );

    let Some(openssl) = openssl() else { return };
    assert_eq!(p12_contents(&openssl, &s, "api.p12", "a.key"), 2);
    assert_eq!(p12_contents(&openssl, &s, "offline.p12", "o.key"), 1);
}
