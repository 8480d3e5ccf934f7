//! `credential create --okms-profile`: the Go `okms` tool's okms.yaml gets a profile that points
//! at the new certificate and key, without losing what the file already held.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::path::Path;

use common::{Sandbox, stderr_of};
use online_common::{AuthMode, cli};
use yaml_serde::Value;

fn yaml(path: &Path) -> Value {
    yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn abs(s: &Sandbox, name: &str) -> String {
    s.path(name).canonicalize().unwrap().display().to_string()
}

#[test]
fn generated_key_profile_goes_to_the_home_okms_yaml() {
    let emu = online_common::emulator();
    let s = Sandbox::new();
    cli(&s, &emu, AuthMode::Signature)
        .args([
            "credential",
            "create",
            "--name",
            "g",
            "--root",
            "--key-out",
            "g.key",
            "--cert-out",
            "g.cert",
            "--okms-profile",
            "prod",
        ])
        .assert()
        .success();
    // HOME is the sandbox (see online_common::bare_env).
    let file = s.path(".ovh-kms/okms.yaml");
    assert_eq!(s.mode(".ovh-kms/okms.yaml"), 0o600);
    assert_eq!(s.mode(".ovh-kms"), 0o700);
    let v = yaml(&file);
    assert_eq!(v["version"], Value::from(1));
    assert_eq!(v["profile"], Value::from("prod"));
    let rest = &v["profiles"]["prod"]["restapi"];
    assert_eq!(rest["endpoint"], Value::from(emu.kms_url()));
    assert_eq!(rest["auth"]["type"], Value::from("mtls"));
    assert_eq!(rest["auth"]["cert"], Value::from(abs(&s, "g.cert")));
    assert_eq!(rest["auth"]["key"], Value::from(abs(&s, "g.key")));
    // The domain's CA from the API, written beside the certificate, so the Go tool needs no
    // download to trust the KMS.
    assert_eq!(rest["ca"], Value::from(abs(&s, "g.ca.pem")));
    assert_eq!(s.read_string("g.ca.pem"), emu.info().ca_pem);
}

#[test]
fn csr_profile_keeps_the_rest_of_a_local_okms_yaml_and_needs_force_to_repoint() {
    let emu = online_common::emulator();
    let s = Sandbox::new();
    s.cmd()
        .args([
            "csr",
            "new",
            "--key-out",
            "k.key",
            "--cn",
            "a",
            "--out",
            "a.csr",
        ])
        .assert()
        .success();
    let existing = "version: 1\nprofile: staging\nprofiles:\n  staging:\n    restapi: {endpoint: 'https://staging.example', auth: {type: token, token: t, okmsId: x}}\n";
    s.write("okms.yaml", existing);
    let create = |cert_out: &str, force: bool| {
        let mut c = cli(&s, &emu, AuthMode::OAuth2);
        c.args([
            "credential",
            "create",
            "--csr",
            "a.csr",
            "--name",
            "a",
            "--root",
            "--cert-out",
            cert_out,
            "--okms-profile",
            "dev",
            "--okms-profile-key",
            "k.key",
        ]);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    assert!(create("a.cert", false).status.success());
    let v = yaml(&s.path("okms.yaml"));
    assert_eq!(
        v["profile"],
        Value::from("staging"),
        "the default profile is the user's"
    );
    assert_eq!(
        v["profiles"]["staging"]["restapi"]["endpoint"],
        Value::from("https://staging.example")
    );
    assert_eq!(
        v["profiles"]["dev"]["restapi"]["auth"]["key"],
        Value::from(abs(&s, "k.key"))
    );
    assert_eq!(s.mode("okms.yaml"), 0o600);
    assert!(!s.exists(".ovh-kms"), "./okms.yaml wins over the home one");

    // Pointing the profile at another certificate is refused before anything is sent.
    let before = s.read("okms.yaml");
    let refused = create("b.cert", false);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr_of(&refused));
    assert!(stderr_of(&refused).contains("\"dev\""));
    assert!(stderr_of(&refused).contains("--force"));
    assert_eq!(s.read("okms.yaml"), before);
    assert!(!s.exists("b.cert"));
    assert_eq!(emu.credentials().len(), 1, "nothing was created");

    let forced = create("b.cert", true);
    assert!(forced.status.success(), "{}", stderr_of(&forced));
    let v = yaml(&s.path("okms.yaml"));
    assert_eq!(
        v["profiles"]["dev"]["restapi"]["auth"]["cert"],
        Value::from(abs(&s, "b.cert"))
    );
}

#[test]
fn a_profile_key_that_is_not_the_csr_key_is_refused_before_sending() {
    let emu = online_common::emulator();
    let s = Sandbox::new();
    s.cmd()
        .args([
            "csr",
            "new",
            "--key-out",
            "k.key",
            "--cn",
            "a",
            "--out",
            "a.csr",
        ])
        .assert()
        .success();
    s.cmd()
        .args(["key", "new", "--out", "other.key"])
        .assert()
        .success();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args([
            "credential",
            "create",
            "--csr",
            "a.csr",
            "--name",
            "a",
            "--root",
            "--okms-profile",
            "dev",
            "--okms-profile-key",
            "other.key",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("other.key"));
    assert!(emu.credentials().is_empty());
    assert!(!s.exists("okms.yaml") && !s.exists(".ovh-kms"));
}

#[test]
fn a_broken_okms_yaml_is_named_and_left_alone() {
    let emu = online_common::emulator();
    let s = Sandbox::new();
    s.write("okms.yaml", "profiles: [oops");
    let out = cli(&s, &emu, AuthMode::Signature)
        .args([
            "credential",
            "create",
            "--name",
            "g",
            "--root",
            "--key-out",
            "g.key",
            "--okms-profile",
            "prod",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("okms.yaml"));
    assert_eq!(s.read_string("okms.yaml"), "profiles: [oops");
    assert!(emu.credentials().is_empty(), "nothing was created");
    assert!(!s.exists("g.key"));
}
