//! `key new --pkcs11`, `key list`, `csr new --key pkcs11:...` against a SoftHSM2 token.
//!
//! Each test makes its own token directory and points SOFTHSM2_CONF at it for the commands it
//! runs. Without SoftHSM2 the token tests are skipped with a loud message, unless
//! `OKMS_REQUIRE_SOFTHSM=1` (CI), which makes that a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::PathBuf;

use assert_cmd::Command;
use common::Sandbox;
use predicates::prelude::*;

use okms_test_support::{PIN, TOKEN, interop};

fn softhsm_module() -> Option<PathBuf> {
    okms_test_support::softhsm_module(okms_pkcs11::SOFTHSM2_HINT_PATHS, "the PKCS#11 CLI tests")
}

/// A sandbox with its own SoftHSM2 token directory holding one token, and a PIN file.
struct Hsm {
    sb: Sandbox,
    conf: PathBuf,
    module: PathBuf,
}

impl Hsm {
    fn new() -> Option<Hsm> {
        let module = softhsm_module()?;
        let sb = Sandbox::new();
        let conf = okms_test_support::init_token_dir(&sb.path("hsm"));
        sb.write("pin.txt", format!("{PIN}\n"));
        Some(Hsm { sb, conf, module })
    }

    /// The CLI with SOFTHSM2_CONF set and OKMS_PKCS11_MODULE unset.
    fn cmd(&self) -> Command {
        let mut c = self.sb.cmd();
        c.env("SOFTHSM2_CONF", &self.conf)
            .env_remove("OKMS_PKCS11_MODULE");
        c
    }

    fn module(&self) -> &str {
        self.module.to_str().unwrap()
    }

    /// A key URI carrying the module path and the PIN.
    fn uri(&self, object: &str) -> String {
        format!(
            "pkcs11:token={TOKEN};object={object}?module-path={}&pin-value={PIN}",
            self.module()
        )
    }

    fn key_new(&self, alg: &str, object: &str) -> String {
        let out = self
            .cmd()
            .args(["key", "new", "--algorithm", alg, "--pkcs11"])
            .arg(format!("pkcs11:token={TOKEN};object={object}"))
            .args(["--pkcs11-module", self.module(), "--pin-file", "pin.txt"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }
}

#[test]
fn key_new_list_and_csr_on_token() {
    let Some(h) = Hsm::new() else { return };
    let Some(openssl) = interop::openssl("the PKCS#11 CLI CSR checks") else {
        return;
    };
    // Generate, writing the public key too.
    let out = h
        .cmd()
        .args(["key", "new", "--algorithm", "ecdsa-p256", "--pkcs11"])
        .arg(format!("pkcs11:token={TOKEN};object=client"))
        .args([
            "--pkcs11-module",
            h.module(),
            "--pin-file",
            "pin.txt",
            "--out",
            "client.pub",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "pkcs11:token={TOKEN};object=client;id=%"
        )))
        .stdout(predicate::str::contains("sensitive, not extractable"))
        .stdout(predicate::str::contains("public key SHA-256"))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains(PIN), "the PIN was printed: {out}");
    assert!(
        h.sb.read_string("client.pub")
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );

    // List, with the module from the environment and the PIN in the URI.
    h.cmd()
        .env("OKMS_PKCS11_MODULE", h.module())
        .args(["key", "list", "--pkcs11"])
        .arg(format!("pkcs11:token={TOKEN}?pin-value={PIN}"))
        .assert()
        .success()
        .stdout(predicate::str::contains("client  ecdsa-p256  id "))
        .stdout(predicate::str::contains("type=private"));
    let json = h
        .cmd()
        .args(["--json", "key", "list", "--pkcs11"])
        .arg(format!("pkcs11:token={TOKEN}"))
        .args(["--pkcs11-module", h.module(), "--pin-file", "pin.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["label"], "client");
    assert_eq!(keys[0]["algorithm"], "ecdsa-p256");
    assert_eq!(keys[0]["sensitive"], true);
    assert_eq!(keys[0]["extractable"], false);
    let uri = keys[0]["uri"].as_str().unwrap().to_owned();

    // Sign a CSR on the token, with the URI `key list` printed and the PIN from --pin-file.
    h.cmd()
        .args([
            "csr",
            "new",
            "--key",
            &uri,
            "--cn",
            "app1",
            "--san",
            "dns:app1.example.com",
        ])
        .args([
            "--pkcs11-module",
            h.module(),
            "--pin-file",
            "pin.txt",
            "--out",
            "client.csr",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("Wrote CSR to client.csr."));
    openssl.verify_csr(h.sb.dir.path(), "client.csr");
    // The CSR carries the token key's public key.
    let pubkey = openssl.text(
        h.sb.dir.path(),
        &["req", "-pubkey", "-noout", "-in", "client.csr"],
    );
    assert_eq!(pubkey, h.sb.read_string("client.pub"));
    h.cmd()
        .args(["csr", "verify", "client.csr", "--key", &h.uri("client")])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "holds the public key of pkcs11:token=okms-test;object=client",
        ));
    h.cmd()
        .args(["key", "pub", &h.uri("client")])
        .assert()
        .success()
        .stdout(h.sb.read_string("client.pub"));

    // The CSR goes on to a request file as any other CSR.
    h.cmd()
        .args(["request", "new", "--csr", "client.csr", "--name", "app1"])
        .args([
            "--identity",
            "urn:v1:eu:identity:account:xx1111-ovh",
            "--out",
            "request.json",
        ])
        .assert()
        .success();
}

#[test]
fn rsa_key_and_pin_source() {
    let Some(h) = Hsm::new() else { return };
    let Some(openssl) = interop::openssl("the PKCS#11 CLI CSR checks") else {
        return;
    };
    let out = h.key_new("rsa-2048", "rsa-client");
    assert!(
        out.contains("Generated rsa-2048 key \"rsa-client\""),
        "{out}"
    );
    let pin_path = h.sb.path("pin.txt");
    let uri = format!(
        "pkcs11:token={TOKEN};object=rsa-client?module-path={}&pin-source=file:{}",
        h.module(),
        pin_path.display()
    );
    h.cmd()
        .args([
            "csr",
            "new",
            "--key",
            &uri,
            "--subject",
            "CN=app1,O=Example",
            "--out",
            "rsa.csr",
        ])
        .assert()
        .success();
    openssl.verify_csr(h.sb.dir.path(), "rsa.csr");
    h.cmd()
        .args(["csr", "show", "rsa.csr"])
        .assert()
        .success()
        .stdout(predicate::str::contains("rsa-2048"));
}

#[test]
fn duplicate_label_is_refused() {
    let Some(h) = Hsm::new() else { return };
    h.key_new("ecdsa-p256", "dup");
    h.cmd()
        .args(["key", "new", "--pkcs11", &h.uri("dup"), "--force"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "already holds an object with label dup",
        ));
}

#[test]
fn pin_problems_are_named() {
    let Some(h) = Hsm::new() else { return };
    h.key_new("ecdsa-p256", "k");
    let wrong = format!(
        "pkcs11:token={TOKEN};object=k?module-path={}&pin-value=98765",
        h.module()
    );
    h.cmd()
        .args(["csr", "new", "--key", &wrong, "--cn", "a", "--out", "a.csr"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("wrong PIN"))
        .stderr(predicate::str::contains("98765").not());
    assert!(!h.sb.exists("a.csr"));

    // No PIN anywhere and no terminal to ask on.
    let no_pin = format!("pkcs11:token={TOKEN};object=k?module-path={}", h.module());
    h.cmd()
        .args([
            "csr", "new", "--key", &no_pin, "--cn", "a", "--out", "a.csr",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("needs its user PIN"))
        .stderr(predicate::str::contains("--pin-file"));

    // Two PIN sources.
    h.cmd()
        .args(["csr", "new", "--key", &h.uri("k"), "--pin-file", "pin.txt"])
        .args(["--cn", "a", "--out", "a.csr"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("both --pin-file and the URI"));
}

#[test]
fn key_and_token_not_found() {
    let Some(h) = Hsm::new() else { return };
    h.cmd()
        .args([
            "csr",
            "new",
            "--key",
            &h.uri("missing"),
            "--cn",
            "a",
            "--out",
            "a.csr",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "no private key on token \"okms-test\"",
        ))
        .stderr(predicate::str::contains("key list"));
    let other = format!(
        "pkcs11:token=other?module-path={}&pin-value={PIN}",
        h.module()
    );
    h.cmd()
        .args(["key", "list", "--pkcs11", &other])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no PKCS#11 token matches"))
        .stderr(predicate::str::contains("\"okms-test\""));
    // A new key needs a label.
    let no_label = format!(
        "pkcs11:token={TOKEN}?module-path={}&pin-value={PIN}",
        h.module()
    );
    h.cmd()
        .args(["key", "new", "--pkcs11", &no_label])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("object=LABEL"));
}

#[test]
fn no_module_and_bad_uri_are_named() {
    // These fail before any module is loaded: no SoftHSM2 needed.
    let sb = Sandbox::new();
    sb.cmd()
        .env_remove("OKMS_PKCS11_MODULE")
        .args(["key", "list", "--pkcs11", "pkcs11:token=t?pin-value=1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no PKCS#11 module given"))
        .stderr(predicate::str::contains("OKMS_PKCS11_MODULE"));
    sb.cmd()
        .args(["key", "list", "--pkcs11", "pkcs11:token=t?pin-value=1"])
        .args(["--pkcs11-module", "/nonexistent/libpkcs11.so"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "/nonexistent/libpkcs11.so does not exist",
        ))
        .stderr(predicate::str::contains("softhsm2"));
    sb.cmd()
        .args([
            "csr",
            "new",
            "--key",
            "pkcs11:objet=k",
            "--cn",
            "a",
            "--out",
            "a.csr",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("attribute \"objet\""));
    sb.cmd()
        .args(["key", "new", "--pkcs11", "pkcs11:object=k;id=%G1"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("attribute \"id\""));
    // File-key flags do not mix with a token key, and the reverse.
    sb.cmd()
        .args(["key", "new", "--pkcs11", "pkcs11:object=k", "--encrypt"])
        .assert()
        .code(2);
    sb.cmd()
        .args(["key", "new", "--out", "k.pem", "--pin-file", "pin.txt"])
        .assert()
        .code(2);
    assert!(!sb.exists("k.pem"));
    sb.cmd().args(["key", "new"]).assert().code(2);
    // credential check: a passphrase is for a key file, a PIN file for a token key.
    sb.cmd()
        .args(["credential", "check", "--cert", "c.pem", "--key"])
        .args(["pkcs11:object=k", "--passphrase-file", "p.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("token's PIN"));
    sb.cmd()
        .args(["credential", "check", "--cert", "c.pem", "--key", "k.pem"])
        .args(["--pin-file", "pin.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("apply to --key pkcs11:URI"));
}

#[test]
fn json_key_new_and_pin_prompt() {
    let Some(h) = Hsm::new() else { return };
    let out = h
        .cmd()
        .args([
            "--json",
            "key",
            "new",
            "--algorithm",
            "ecdsa-p521",
            "--pkcs11",
        ])
        .arg(format!("pkcs11:token={TOKEN};object=j;id=%0A%0B"))
        .args(["--pkcs11-module", h.module(), "--pin-file", "pin.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["algorithm"], "ecdsa-p521");
    assert_eq!(v["id"], "0a0b");
    assert_eq!(v["token"], TOKEN);
    assert_eq!(v["extractable"], false);
    assert_eq!(
        v["uri"],
        "pkcs11:token=okms-test;object=j;id=%0A%0B;type=private"
    );

    // The PIN typed at a terminal prompt (through script(1)'s pseudo-terminal).
    if !common::have_script("the PIN prompt") {
        return;
    }
    let args = format!(
        "key list --pkcs11 'pkcs11:token={TOKEN}' --pkcs11-module {}",
        h.module()
    );
    let conf = h.conf.as_os_str().to_owned();
    let run = |typed: &str| {
        common::on_tty(
            h.sb.dir.path(),
            &args,
            typed,
            &[
                ("SOFTHSM2_CONF", Some(conf.as_os_str())),
                ("OKMS_PKCS11_MODULE", None),
            ],
        )
    };
    let (code, text) = run(&format!("{PIN}\n"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("User PIN for token \"okms-test\""), "{text}");
    assert!(text.contains("j  ecdsa-p521  id 0a0b"), "{text}");
    // The pseudo-terminal echoes what was typed before the prompt turned echo off; after the
    // prompt, the PIN must not show.
    let after = text.split("User PIN for token").nth(1).unwrap();
    assert!(!after.contains(PIN), "the PIN was echoed: {text}");
    let (code, text) = run("0000\n");
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("wrong PIN"), "{text}");
}
