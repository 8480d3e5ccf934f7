//! Identity URNs and the description through `request new` and `credential create`, against
//! the emulator: an unusual account part (OVHcloud's Terraform acceptance test uses
//! `urn:v1:eu:identity:user:badnic-ovh/user1` and expects READY) goes through; a URN with a
//! wrong part is refused before any call, naming the part, with exit 3 and nothing written;
//! `--description ""` is sent as `""`, no `--description` sends none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use common::{Sandbox, stderr_of};
use okms_emulator::{CredentialPhase, RunningEmulator};
use online_common::{AuthMode, cli, emulator, emulator_with, fingerprint, json_ok};

const TF_URN: &str = "urn:v1:eu:identity:user:badnic-ovh/user1";

/// URNs with one wrong part, and what the error must say (lower case).
const BAD_URNS: &[(&str, &str)] = &[
    (
        "urx:v1:eu:identity:user:xx1111-ovh/j",
        "the prefix 'urx' must be urn",
    ),
    (
        "urn:v2:eu:identity:user:xx1111-ovh/j",
        "the version 'v2' must be v1",
    ),
    (
        "urn:v1:xx:identity:user:xx1111-ovh/j",
        "the region 'xx' must be eu, ca, us or labeu",
    ),
    (
        "urn:v1:eu:resource:account:xx1111-ovh",
        "the namespace 'resource' must be identity",
    ),
    (
        "urn:v1:eu:identity:robot:xx1111-ovh/r2",
        "the type 'robot' must be account, user, group or credential",
    ),
    ("urn:v1:eu:identity:user:/j", "the account is empty"),
    ("urn:v1:eu:identity:account:", "the account is empty"),
    (
        "urn:v1:eu:identity:user:xx1111-ovh",
        "a user identity needs a name",
    ),
    (
        "urn:v1:eu:identity:group:xx1111-ovh/",
        "the name after the '/' is empty",
    ),
    (
        "urn:v1:eu:identity:credential:xx1111-ovh/myapp",
        "must be oauth2-{clientid}",
    ),
];

/// Every file in the sandbox, by name, so that a test can prove nothing was written.
fn files(s: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn request_file(s: &Sandbox, name: &str) -> serde_json::Value {
    serde_json::from_slice(&s.read(name)).unwrap()
}

fn ready_credentials(emu: &RunningEmulator) -> Vec<okms_emulator::CredentialSnapshot> {
    let all = emu.credentials();
    for c in &all {
        assert_eq!(c.phase, CredentialPhase::Ready, "{c:?}");
    }
    all
}

#[test]
fn terraform_urn_goes_through_request_new_and_credential_create() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");

    // Air-gapped side: the request file carries the URN as given.
    let out = s
        .cmd()
        .args([
            "-v",
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "tf",
            "--identity",
            TF_URN,
            "--out",
            "req.json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    // At most a note, and only with -v.
    assert!(
        stderr_of(&out).contains("badnic-ovh"),
        "{}",
        stderr_of(&out)
    );
    let req = request_file(&s, "req.json");
    assert_eq!(req["identityURNs"], serde_json::json!([TF_URN]));
    let quiet = s
        .cmd()
        .args([
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "tf",
            "--identity",
            TF_URN,
            "--out",
            "req2.json",
        ])
        .output()
        .unwrap();
    assert!(quiet.status.success(), "{}", stderr_of(&quiet));
    assert!(
        !stderr_of(&quiet).contains("badnic-ovh"),
        "no note without -v: {}",
        stderr_of(&quiet)
    );

    // Connected side: the request file, then the same URN given directly.
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--request",
        "req.json",
        "--cert-out",
        "from-request.cert",
    ]));
    assert_eq!(v["credential"]["status"], "READY");
    assert_eq!(v["credential"]["identityURNs"], serde_json::json!([TF_URN]));
    assert_eq!(
        fingerprint(&s, "cert", "from-request.cert"),
        fingerprint(&s, "key", "k.pem")
    );
    let v = json_ok(cli(&s, &emu, AuthMode::OAuth2).args([
        "--json",
        "credential",
        "create",
        "--name",
        "tf-direct",
        "--identity",
        TF_URN,
        "--key-out",
        "direct.key",
        "--cert-out",
        "direct.cert",
    ]));
    assert_eq!(v["credential"]["status"], "READY");
    assert_eq!(
        fingerprint(&s, "cert", "direct.cert"),
        fingerprint(&s, "key", "direct.key")
    );
    let creds = ready_credentials(&emu);
    assert_eq!(creds.len(), 2);
    for c in &creds {
        assert_eq!(c.identity_urns, vec![TF_URN.to_owned()]);
    }
}

/// An account whose ID is not of the `xx1111-ovh` form: the URNs built from `--nic` (offline)
/// and from the account the API reports (online) both go through.
#[test]
fn unusual_account_builds_urns_offline_and_online() {
    let emu = emulator_with(|c| c.nic = "badnic-ovh".into());
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    s.cmd()
        .args([
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "built",
            "--root",
            "--user",
            "user1",
            "--nic",
            "badnic-ovh",
            "--region",
            "eu",
            "--out",
            "req.json",
        ])
        .assert()
        .success();
    let expected = serde_json::json!([
        "urn:v1:eu:identity:account:badnic-ovh",
        "urn:v1:eu:identity:user:badnic-ovh/user1"
    ]);
    assert_eq!(request_file(&s, "req.json")["identityURNs"], expected);
    cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "create", "--request", "req.json"])
        .assert()
        .success();

    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "c.csr",
        "--name",
        "from-account",
        "--root",
        "--user",
        "user1",
        "--cert-out",
        "account.cert",
    ]));
    assert_eq!(v["credential"]["status"], "READY");
    assert_eq!(v["credential"]["identityURNs"], expected);
    let creds = ready_credentials(&emu);
    assert_eq!(creds.len(), 2);
}

/// `--description ""` is sent as `""`; without `--description`, the field is not sent.
#[test]
fn empty_description_is_sent_and_absent_one_is_not() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let urn = "urn:v1:eu:identity:account:xx1111-ovh";
    s.cmd()
        .args([
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "blank",
            "--identity",
            urn,
            "--description",
            "",
            "--out",
            "blank.json",
        ])
        .assert()
        .success();
    assert!(
        s.read_string("blank.json").contains(r#""description":"""#),
        "{}",
        s.read_string("blank.json")
    );
    s.cmd()
        .args([
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "none",
            "--identity",
            urn,
            "--out",
            "none.json",
        ])
        .assert()
        .success();
    assert!(
        !s.read_string("none.json").contains("description"),
        "{}",
        s.read_string("none.json")
    );
    // request show accepts the empty one back.
    s.cmd()
        .args(["request", "show", "blank.json"])
        .assert()
        .success();

    for (file, cert) in [("blank.json", "blank.cert"), ("none.json", "none.cert")] {
        cli(&s, &emu, AuthMode::Signature)
            .args([
                "credential",
                "create",
                "--request",
                file,
                "--cert-out",
                cert,
            ])
            .assert()
            .success();
    }
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--name",
        "direct-blank",
        "--identity",
        urn,
        "--description",
        "",
        "--key-out",
        "d.key",
        "--cert-out",
        "d.cert",
    ]));
    assert_eq!(v["credential"]["description"], "");
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--name",
        "direct-none",
        "--identity",
        urn,
        "--key-out",
        "n.key",
        "--cert-out",
        "n.cert",
    ]));
    assert!(v["credential"]["description"].is_null(), "{v}");
    let described: Vec<(String, Option<String>)> = ready_credentials(&emu)
        .into_iter()
        .map(|c| (c.name, c.description))
        .collect();
    assert_eq!(
        described,
        vec![
            ("blank".to_owned(), Some(String::new())),
            ("none".to_owned(), None),
            ("direct-blank".to_owned(), Some(String::new())),
            ("direct-none".to_owned(), None),
        ]
    );
}

#[test]
fn bad_urns_are_refused_by_request_new_naming_the_part() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let before = files(&s);
    for (urn, needle) in BAD_URNS {
        let out = s
            .cmd()
            .args([
                "request",
                "new",
                "--csr",
                "c.csr",
                "--name",
                "n",
                "--identity",
                urn,
                "--out",
                "req.json",
            ])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(3), "{urn}: {err}");
        let lower = err.to_lowercase();
        assert!(
            lower.contains(needle),
            "{urn}: expected {needle:?} in: {err}"
        );
        assert!(lower.contains("--identity"), "{urn}: names the flag: {err}");
        assert!(!lower.contains("panicked"), "{urn}: {err}");
        assert_eq!(files(&s), before, "{urn}: nothing written");
    }
}

#[test]
fn bad_urns_are_refused_by_credential_create_before_any_call() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let before = files(&s);
    for (urn, needle) in BAD_URNS {
        // Both sources: a key OVHcloud would generate (domain.key must not appear) and a CSR.
        for source in [&["--key-out", "domain.key"][..], &["--csr", "c.csr"][..]] {
            let out = cli(&s, &emu, AuthMode::Signature)
                .args(["credential", "create", "--name", "n", "--identity", urn])
                .args(source)
                .output()
                .unwrap();
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(3), "{urn}: {err}");
            let lower = err.to_lowercase();
            assert!(
                lower.contains(needle),
                "{urn}: expected {needle:?} in: {err}"
            );
            assert!(!lower.contains("panicked"), "{urn}: {err}");
            assert_eq!(files(&s), before, "{urn}: nothing written");
        }
    }
    // Names given to --user/--group/--service-account are checked before the account is read.
    for (flag, value, field) in [
        ("--user", "", "user login"),
        ("--group", "my group", "group name"),
        ("--service-account", "", "client id"),
    ] {
        let out = cli(&s, &emu, AuthMode::Signature)
            .args(["credential", "create", "--name", "n", flag, value])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(3), "{flag} {value:?}: {err}");
        let lower = err.to_lowercase();
        assert!(lower.contains(field), "{flag}: {err}");
        assert!(lower.contains(flag), "{flag}: {err}");
        assert_eq!(files(&s), before, "{flag}: nothing written");
    }
    // No POST reached the API.
    assert!(emu.credentials().is_empty(), "{:?}", emu.credentials());
}

#[test]
fn bad_nic_is_refused_before_anything_is_written() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let before = files(&s);
    for nic in ["", "bad nic", "xx1111-ovh/john", "xx:1"] {
        let out = s
            .cmd()
            .args([
                "request", "new", "--csr", "c.csr", "--name", "n", "--root", "--region", "eu",
                "--nic", nic, "--out", "req.json",
            ])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(3), "{nic:?}: {err}");
        assert!(err.contains("--nic"), "{nic:?}: {err}");
        assert_eq!(files(&s), before, "{nic:?}: nothing written");
    }
}
