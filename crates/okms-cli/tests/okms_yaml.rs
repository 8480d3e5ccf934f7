//! `credential create --okms-profile` and the legacy (version-less) okms.yaml of OVHcloud's Go
//! `okms` tool: its profiles are carried into the version 1 layout (the old file kept byte for
//! byte), or, when that would lose something, nothing is sent and nothing is written. And the
//! `KMS_*` variables that would override the written profile are named, never their values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use assert_cmd::Command;
use common::{Sandbox, stderr_of};
use online_common::{AuthMode, cli};
use yaml_serde::Value;

/// The legacy layout as the Go tool's `migrateV0toV1` reads it: each top-level key a profile.
const LEGACY: &str = "\
# written by hand, long ago
default:
  endpoint: https://eu-west-rbx.okms.ovh.net
  ca: /etc/okms/ca.pem
  cert: /etc/okms/default.pem
  key: /etc/okms/default.key
staging:
  http:
    endpoint: https://eu-west-gra.okms.ovh.net
    cert: /etc/okms/staging.pem
    key: /etc/okms/staging.key
  kmip:
    endpoint: eu-west-gra.okms.ovh.net:5696
    cert: /etc/okms/staging.pem
    key: /etc/okms/staging.key
";

/// The CLI with no `KMS_*` variable of the machine in the way.
fn create(
    s: &Sandbox,
    emu: &okms_emulator::RunningEmulator,
    key_out: &str,
    profile: &str,
) -> Command {
    let mut c = cli(s, emu, AuthMode::Signature);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KMS_") {
            c.env_remove(name);
        }
    }
    c.args([
        "credential",
        "create",
        "--name",
        "g",
        "--root",
        "--key-out",
        key_out,
        "--cert-out",
        &format!("{key_out}.cert"),
        "--okms-profile",
        profile,
    ]);
    c
}

fn yaml(s: &Sandbox, name: &str) -> Value {
    yaml_serde::from_str(&s.read_string(name)).unwrap()
}

#[test]
fn a_legacy_file_keeps_every_profile_and_a_byte_identical_copy() {
    let emu = online_common::emulator();
    let s = Sandbox::new();
    s.write("okms.yaml", LEGACY);
    let out = create(&s, &emu, "g.key", "prod").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);

    assert_eq!(s.read("okms.yaml.v0.bak"), LEGACY.as_bytes());
    assert_eq!(s.mode("okms.yaml.v0.bak"), 0o600);
    assert!(err.contains("okms.yaml.v0.bak"), "{err}");
    assert!(err.contains("default, staging"), "{err}");
    assert!(err.contains("legacy"), "{err}");

    let v = yaml(&s, "okms.yaml");
    assert_eq!(v["version"], Value::from(1));
    assert_eq!(v["profile"], Value::from("default"));
    let profiles = v["profiles"].as_mapping().unwrap();
    let mut names: Vec<_> = profiles.keys().map(|k| k.as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["default", "prod", "staging"]);
    let d = &v["profiles"]["default"]["http"];
    assert_eq!(
        d["endpoint"],
        Value::from("https://eu-west-rbx.okms.ovh.net")
    );
    assert_eq!(d["ca"], Value::from("/etc/okms/ca.pem"));
    assert_eq!(d["auth"]["type"], Value::from("mtls"));
    assert_eq!(d["auth"]["cert"], Value::from("/etc/okms/default.pem"));
    assert_eq!(d["auth"]["key"], Value::from("/etc/okms/default.key"));
    let st = &v["profiles"]["staging"];
    assert_eq!(
        st["http"]["endpoint"],
        Value::from("https://eu-west-gra.okms.ovh.net")
    );
    assert_eq!(
        st["http"]["auth"]["key"],
        Value::from("/etc/okms/staging.key")
    );
    assert_eq!(
        st["kmip"]["endpoint"],
        Value::from("eu-west-gra.okms.ovh.net:5696")
    );
    assert_eq!(
        st["kmip"]["auth"]["cert"],
        Value::from("/etc/okms/staging.pem")
    );
    let prod = &v["profiles"]["prod"]["restapi"];
    assert_eq!(prod["endpoint"], Value::from(emu.kms_url()));
    assert_eq!(
        prod["auth"]["cert"],
        Value::from(
            s.path("g.key.cert")
                .canonicalize()
                .unwrap()
                .display()
                .to_string()
        )
    );

    // The converted file is version 1: a second profile adds to it without another copy.
    let out = create(&s, &emu, "h.key", "second").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("legacy"), "{}", stderr_of(&out));
    assert!(!s.exists("okms.yaml.v0.1.bak"));
    assert_eq!(s.read("okms.yaml.v0.bak"), LEGACY.as_bytes());
    let v = yaml(&s, "okms.yaml");
    for name in ["default", "staging", "prod", "second"] {
        assert!(v["profiles"].get(name).is_some(), "{name} lost: {v:?}");
    }
}

#[test]
fn an_existing_copy_is_never_replaced() {
    let emu = online_common::emulator();
    let s = Sandbox::new();
    s.write("okms.yaml", LEGACY);
    s.write("okms.yaml.v0.bak", "an older copy\n");
    let out = create(&s, &emu, "g.key", "prod")
        .arg("--force")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(s.read_string("okms.yaml.v0.bak"), "an older copy\n");
    assert_eq!(s.read("okms.yaml.v0.1.bak"), LEGACY.as_bytes());
    assert!(
        stderr_of(&out).contains("okms.yaml.v0.1.bak"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn legacy_content_that_cannot_be_carried_over_is_refused_before_sending() {
    let emu = online_common::emulator();
    let s = Sandbox::new();
    // `slot` (a YubiKey setting) is not a field the Go tool's conversion carries over.
    let unsafe_legacy = format!("{LEGACY}yubi:\n  endpoint: https://x\n  slot: 9a\n");
    s.write("okms.yaml", &unsafe_legacy);
    let before = s.snapshot();
    let out = create(&s, &emu, "g.key", "prod").output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("okms.yaml"), "{err}");
    assert!(err.contains("yubi.slot"), "{err}");
    assert!(err.contains("version 1"), "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
    assert_eq!(s.snapshot(), before, "nothing written, no copy made");
    assert!(emu.credentials().is_empty(), "nothing was created");
}

#[test]
fn kms_variables_that_override_the_profile_are_named_without_their_values() {
    let emu = online_common::emulator();
    let s = Sandbox::new();
    let out = create(&s, &emu, "g.key", "prod")
        .env(
            "KMS_RESTAPI_ENDPOINT",
            "https://value-that-must-not-show.example",
        )
        .env("KMS_PROFILE", "someprofile-value")
        .env("KMS_UNRELATED", "x")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("KMS_RESTAPI_ENDPOINT"), "{err}");
    assert!(err.contains("KMS_PROFILE"), "{err}");
    assert!(!err.contains("KMS_UNRELATED"), "{err}");
    assert!(!err.contains("value-that-must-not-show"), "{err}");
    assert!(!err.contains("someprofile-value"), "{err}");

    // Without them, no such note.
    let s = Sandbox::new();
    let out = create(&s, &emu, "g.key", "prod").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("KMS_"), "{}", stderr_of(&out));
}
