//! An API caller the IAM refuses: exit 7, the missing action on the `error:` line, a hint
//! saying how to get it granted, nothing written and nothing created.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use common::{Sandbox, stderr_of};
use online_common::{AuthMode, cli, emulator_with};

const URN: &str = "urn:v1:eu:identity:account:xx1111-ovh";

fn line<'a>(err: &'a str, prefix: &str) -> &'a str {
    err.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{err}"))
}

#[test]
fn credential_create_refused_by_iam_exits_7_naming_the_action() {
    let emu = emulator_with(|c| c.deny_actions = vec!["okms:apiovh:credential/create".into()]);
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let cases: [&[&str]; 2] = [
        // OVHcloud would generate the key: nothing may be written.
        &["--key-out", "domain.key", "--cert-out", "client.cert"],
        // From a CSR.
        &["--csr", "c.csr", "--cert-out", "client.cert"],
    ];
    for mode in [AuthMode::Signature, AuthMode::OAuth2] {
        for extra in cases {
            let before = s.snapshot();
            let out = cli(&s, &emu, mode)
                .args([
                    "credential",
                    "create",
                    "--name",
                    "denied",
                    "--identity",
                    URN,
                ])
                .args(extra)
                .output()
                .unwrap();
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(7), "{mode:?} {extra:?}: {err}");
            let error = line(&err, "error: ");
            assert!(
                error.contains("okms:apiovh:credential/create") && error.contains("IAM"),
                "{error}"
            );
            let hint = line(&err, "hint: ");
            for needle in [
                "okms:apiovh:credential/create",
                "administrator",
                "IAM",
                "Control Panel",
                "POST /v2/iam/policy",
                "resource:okms",
            ] {
                assert!(hint.contains(needle), "{needle:?} missing from {hint}");
            }
            // Issue 19: the hint names the `credential-manager` preset whatever the identity.
            assert!(
                hint.contains("okms-cli iam grant") && hint.contains("credential-manager"),
                "{hint}"
            );
            assert_eq!(s.snapshot(), before, "{mode:?} {extra:?}: nothing written");
            assert!(out.stdout.is_empty(), "{mode:?} {extra:?}");
        }
    }
    assert!(emu.credentials().is_empty(), "no credential created");
}

/// The hint for a caller refused `credential/create` does not depend on which identities the
/// certificate would name: the root, a user or a service account.
#[test]
fn the_create_refusal_hint_is_the_same_for_every_identity_kind() {
    let emu = emulator_with(|c| c.deny_actions = vec!["okms:apiovh:credential/create".into()]);
    let s = Sandbox::new();
    let mut hints = Vec::new();
    for identity in [
        URN,
        "urn:v1:eu:identity:user:xx1111-ovh/john.smith",
        "urn:v1:eu:identity:credential:xx1111-ovh/oauth2-EU.0f0f0f0f0f0f0f0f",
    ] {
        let out = cli(&s, &emu, AuthMode::Signature)
            .args([
                "credential",
                "create",
                "--name",
                "denied",
                "--identity",
                identity,
            ])
            .args(["--key-out", "domain.key", "--cert-out", "client.cert"])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(7), "{identity}: {err}");
        let hint = line(&err, "hint: ").to_owned();
        assert!(hint.contains("credential-manager"), "{identity}: {hint}");
        hints.push(hint);
    }
    assert!(hints.windows(2).all(|w| w[0] == w[1]), "{hints:#?}");
    assert!(emu.credentials().is_empty(), "no credential created");
}

#[test]
fn credential_list_refused_by_iam_exits_7_naming_the_action() {
    let emu = emulator_with(|c| c.deny_actions = vec!["okms:apiovh:credential/*".into()]);
    let s = Sandbox::new();
    for mode in [AuthMode::Signature, AuthMode::OAuth2] {
        for json in [false, true] {
            let before = s.snapshot();
            let mut cmd = cli(&s, &emu, mode);
            if json {
                cmd.arg("--json");
            }
            let out = cmd.args(["credential", "list"]).output().unwrap();
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(7), "{mode:?}: {err}");
            assert!(
                line(&err, "error: ").contains("okms:apiovh:credential/get"),
                "{err}"
            );
            assert!(
                line(&err, "hint: ").contains("okms:apiovh:credential/get"),
                "{err}"
            );
            assert!(out.stdout.is_empty(), "{mode:?} json={json}");
            assert_eq!(s.snapshot(), before);
        }
    }
    // Granted again, the same command works.
    emu.set_denied_actions(Vec::new()).unwrap();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}
