//! `okms-cli iam ...` and the IAM checks of `credential create|check`, against the emulator's
//! IAM model (seed: users alice in kms-operators (role NONE) and bob in admins (ADMIN)).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::time::Duration;

use common::{Sandbox, stderr_of, stdout_of};
use okms_emulator::RunningEmulator;
use online_common::{AuthMode, cli, emulator, json_ok};

const ALICE: &str = "urn:v1:eu:identity:user:xx1111-ovh/alice";
const BOB: &str = "urn:v1:eu:identity:user:xx1111-ovh/bob";

fn line<'a>(err: &'a str, prefix: &str) -> &'a str {
    err.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{err}"))
}

/// Creates a credential from a fresh CSR for `who` (`--user NAME`), certificate in
/// `<name>.cert`, key in `<name>.key`; returns stderr.
fn create_for(s: &Sandbox, emu: &RunningEmulator, user: &str) -> String {
    s.key_and_csr(&format!("{user}.key"), &format!("{user}.csr"), "ecdsa-p256");
    let out = cli(s, emu, AuthMode::Signature)
        .args(["credential", "create", "--name", user, "--user", user])
        .args([
            "--csr",
            &format!("{user}.csr"),
            "--cert-out",
            &format!("{user}.cert"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    stderr_of(&out)
}

fn check(s: &Sandbox, emu: &RunningEmulator, user: &str) -> std::process::Output {
    cli(s, emu, AuthMode::Signature)
        .args(["credential", "check", "--cert", &format!("{user}.cert")])
        .args(["--key", &format!("{user}.key")])
        .output()
        .unwrap()
}

fn grant(s: &Sandbox, emu: &RunningEmulator, args: &[&str]) -> std::process::Output {
    cli(s, emu, AuthMode::Signature)
        .args(["iam", "grant"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_users_certificate_works_after_iam_grant_and_granting_twice_keeps_one_policy() {
    let emu = emulator();
    let s = Sandbox::new();
    let created = create_for(&s, &emu, "alice");
    // After READY: no policy gives alice a KMS action, so the command says how to fix it.
    assert!(created.contains("no IAM policy"), "{created}");
    assert!(
        created.contains(&format!(
            "okms-cli iam grant --okms-id {} --identity {ALICE} --preset kms-read",
            emu.okms_id()
        )),
        "{created}"
    );

    let out = check(&s, &emu, "alice");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        line(&err, "error: ").contains("okms:apikms:random/get"),
        "{err}"
    );
    let hint = line(&err, "hint: ");
    assert!(hint.contains("okms-cli iam grant"), "{hint}");
    assert!(
        hint.contains(ALICE) && hint.contains("--preset kms-read"),
        "{hint}"
    );

    let out = grant(&s, &emu, &["--user", "alice", "--preset", "kms-read"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).starts_with("Created policy"),
        "{}",
        stdout_of(&out)
    );
    let out = check(&s, &emu, "alice");
    assert!(out.status.success(), "{}", stderr_of(&out));

    let out = grant(&s, &emu, &["--user", "alice", "--preset", "kms-read"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).contains("Already in place"),
        "{}",
        stdout_of(&out)
    );
    let policies = emu.policies();
    assert_eq!(policies.len(), 1, "{policies:?}");
    assert_eq!(policies[0]["identities"], serde_json::json!([ALICE]));
    assert_eq!(
        policies[0]["resources"][0]["urn"],
        format!("urn:v1:eu:resource:okms:{}", emu.okms_id())
    );

    // A different policy under the same name needs --force, and the PUT carries it whole.
    let name = policies[0]["name"].as_str().unwrap().to_owned();
    let out = grant(
        &s,
        &emu,
        &["--user", "alice", "--preset", "kms-crypto", "--name", &name],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert!(line(&stderr_of(&out), "hint: ").contains("--force"));
    assert_eq!(emu.policies(), policies, "nothing changed without --force");
    let out = grant(
        &s,
        &emu,
        &[
            "--user",
            "alice",
            "--preset",
            "kms-crypto",
            "--name",
            &name,
            "--force",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let after = emu.policies();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["id"], policies[0]["id"]);
    let allowed: Vec<&str> = after[0]["permissions"]["allow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        allowed.contains(&"okms:apikms:serviceKey/encrypt"),
        "{allowed:?}"
    );

    // list shows it; revoke removes it, and the certificate stops working.
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args(["--json", "iam", "list"]));
    assert_eq!(v["policies"].as_array().unwrap().len(), 1, "{v}");
    let id = after[0]["id"].as_str().unwrap();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["iam", "revoke", id, "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(emu.policies().is_empty());
    assert_eq!(check(&s, &emu, "alice").status.code(), Some(7));
}

#[test]
fn deny_beats_allow_expired_policies_grant_nothing_admin_members_pass() {
    let emu = emulator();
    let s = Sandbox::new();
    create_for(&s, &emu, "alice");
    let out = grant(
        &s,
        &emu,
        &["--user", "alice", "--preset", "kms-read", "--name", "allow"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = grant(
        &s,
        &emu,
        &[
            "--group",
            "kms-operators",
            "--allow",
            "okms:apikms:serviceKey/get",
            "--deny",
            "okms:apikms:random/get",
            "--name",
            "deny",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = check(&s, &emu, "alice");
    assert_eq!(
        out.status.code(),
        Some(7),
        "deny beats allow: {}",
        stderr_of(&out)
    );
    assert!(stderr_of(&out).contains("okms:apikms:random/get"));
    let deny_id = emu.policies()[1]["id"].as_str().unwrap().to_owned();
    cli(&s, &emu, AuthMode::Signature)
        .args(["iam", "revoke", &deny_id, "--yes"])
        .assert()
        .success();
    assert!(check(&s, &emu, "alice").status.success());

    // An expiring policy: in force now, nothing once the emulator's clock passes its expiry.
    let allow_id = emu.policies()[0]["id"].as_str().unwrap().to_owned();
    cli(&s, &emu, AuthMode::Signature)
        .args(["iam", "revoke", &allow_id, "--yes"])
        .assert()
        .success();
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let out = grant(
        &s,
        &emu,
        &[
            "--user",
            "alice",
            "--preset",
            "kms-read",
            "--expires-at",
            &soon,
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(check(&s, &emu, "alice").status.success());
    emu.advance_clock(Duration::from_secs(2 * 3600));
    let out = check(&s, &emu, "alice");
    assert_eq!(out.status.code(), Some(7), "expired: {}", stderr_of(&out));

    // bob is in the ADMIN group: no policy, no warning, the check passes.
    let s2 = Sandbox::new();
    let emu2 = emulator();
    let created = create_for(&s2, &emu2, "bob");
    assert!(!created.contains("no IAM policy"), "{created}");
    assert!(check(&s2, &emu2, "bob").status.success());
    let _ = BOB;
}

#[test]
fn a_caller_without_credential_create_is_stopped_before_anything_exists() {
    let emu = emulator();
    let s = Sandbox::new();
    emu.set_api_caller_identity(Some(ALICE.to_owned()));
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    for extra in [&["--key-out", "domain.key"][..], &["--csr", "c.csr"][..]] {
        let before = s.snapshot();
        let out = cli(&s, &emu, AuthMode::Signature)
            .args(["credential", "create", "--name", "x", "--user", "alice"])
            .args(extra)
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(7), "{err}");
        assert!(
            line(&err, "error: ").contains("okms:apiovh:credential/create"),
            "{err}"
        );
        let hint = line(&err, "hint: ");
        assert!(
            hint.contains("okms-cli iam grant") && hint.contains("credential-manager"),
            "{hint}"
        );
        assert_eq!(s.snapshot(), before, "nothing written");
    }
    assert!(emu.credentials().is_empty(), "no credential created");
}

#[test]
fn dry_run_prints_a_schema_valid_body_and_sends_nothing() {
    let emu = emulator();
    let s = Sandbox::new();
    let out = grant(
        &s,
        &emu,
        &[
            "--user",
            "alice",
            "--group",
            "kms-operators",
            "--preset",
            "kms-read",
            "--allow",
            "okms:kmip:*",
            "--deny",
            "okms:apikms:serviceKey/delete",
            "--description",
            "d",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        body["identities"],
        serde_json::json!([ALICE, "urn:v1:eu:identity:group:xx1111-ovh/kms-operators"])
    );
    assert_eq!(body["permissions"]["allow"][2]["action"], "okms:kmip:*");
    assert_eq!(
        body["permissions"]["deny"][0]["action"],
        "okms:apikms:serviceKey/delete"
    );
    check_against_creation_model(&body);
    assert!(emu.policies().is_empty(), "--dry-run sent nothing");

    let out = grant(
        &s,
        &emu,
        &[
            "--user",
            "alice",
            "--preset",
            "kms-read",
            "--name",
            "n",
            "--format",
            "terraform",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let hcl = stdout_of(&out);
    assert!(
        hcl.starts_with("resource \"ovh_iam_policy\" \"n\" {"),
        "{hcl}"
    );
    assert!(
        hcl.contains(&format!("identities  = [\"{ALICE}\"]")),
        "{hcl}"
    );
    assert!(
        hcl.contains("allow       = [\"okms:apikms:serviceKey/get\", \"okms:apikms:random/get\"]"),
        "{hcl}"
    );
    assert!(emu.policies().is_empty());
}

#[test]
fn bad_grants_are_refused_with_a_clear_error_and_nothing_sent() {
    let emu = emulator();
    let s = Sandbox::new();
    let past = "2020-01-01T00:00:00Z";
    let cases: [(&[&str], i32, &str); 8] = [
        (
            &["--user", "alice", "--preset", "kms-reed"],
            3,
            "did you mean kms-read",
        ),
        (
            &["--user", "alice", "--allow", "okms:apikms:servicekey/get"],
            3,
            "did you mean okms:apikms:serviceKey/get",
        ),
        (&["--root", "--preset", "kms-read"], 2, "needs no policy"),
        (
            &[
                "--identity",
                "urn:v1:eu:identity:user:zz9999-ovh/eve",
                "--preset",
                "kms-read",
            ],
            3,
            "not of this account",
        ),
        (
            &[
                "--identity",
                "urn:v1:ca:identity:user:xx1111-ovh/alice",
                "--preset",
                "kms-read",
            ],
            3,
            "not of this account",
        ),
        (&["--user", "alice"], 2, "empty allow list"),
        (
            &[
                "--user",
                "alice",
                "--preset",
                "kms-read",
                "--expires-at",
                past,
            ],
            3,
            "not in the future",
        ),
        (&["--preset", "kms-read"], 2, "say who receives"),
    ];
    for (args, code, needle) in cases {
        let out = grant(&s, &emu, args);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(line(&err, "error: ").contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert!(emu.policies().is_empty(), "nothing sent that writes");

    let out = cli(&s, &emu, AuthMode::Signature)
        .args([
            "iam",
            "revoke",
            "f18b5e0d-75b8-40a3-9b0e-71ffe5ff03cb",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert!(line(&stderr_of(&out), "hint: ").contains("iam list"));
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["iam", "revoke", "not-a-uuid", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["iam", "revoke", "f18b5e0d-75b8-40a3-9b0e-71ffe5ff03cb"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "no terminal, no --yes: {}",
        stderr_of(&out)
    );

    let help = stdout_of(
        &cli(&s, &emu, AuthMode::Signature)
            .args(["iam", "grant", "--help"])
            .output()
            .unwrap(),
    );
    for preset in [
        "kms-read",
        "kms-crypto",
        "kms-admin",
        "secrets-read",
        "secrets-write",
        "kmip",
        "credential-manager",
    ] {
        assert!(help.contains(preset), "{preset} missing from --help");
    }
    assert!(help.contains("okms:apikms:random/get"), "{help}");
}

#[test]
fn identities_lists_users_groups_and_service_accounts_with_their_urns() {
    let emu = emulator();
    let s = Sandbox::new();
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args(["--json", "iam", "identities"]));
    let users = v["users"].as_array().unwrap();
    assert!(
        users
            .iter()
            .any(|u| u["login"] == "alice" && u["urn"] == ALICE),
        "{v}"
    );
    let groups = v["groups"].as_array().unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g["name"] == "admins" && g["role"] == "ADMIN"),
        "{v}"
    );
    let sas = v["service_accounts"].as_array().unwrap();
    assert!(
        sas.iter().any(|c| c["clientId"] == "EU.ci-runner"
            && c["identity"]
                .as_str()
                .is_some_and(|i| i.contains("ci-runner"))),
        "{v}"
    );
    assert!(v["failed"].as_array().unwrap().is_empty());
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["iam", "identities"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(stdout_of(&out).contains("ADMIN: its members hold every right"));
}

/// The schema's `iam.policy.Creation` (iam-v2.json): every required field present, no field it
/// lacks, and each field of the type it declares. Skips loudly without the schema
/// (`OKMS_REQUIRE_SCHEMA=1` fails instead).
fn check_against_creation_model(body: &serde_json::Value) {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("OKMS_API_SCHEMA_DIR")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(
            manifest
                .ancestors()
                .map(|a| a.join("shared/spec/api-schema")),
        )
        .chain([std::path::PathBuf::from("/work/shared/spec/api-schema")])
        .find(|d| d.join("iam-v2.json").is_file());
    let Some(dir) = dir else {
        okms_test_support::skip_or_fail(
            "dry-run body vs iam.policy.Creation: no schema",
            "OKMS_REQUIRE_SCHEMA",
        );
        return;
    };
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("iam-v2.json")).unwrap()).unwrap();
    let models = &doc["models"];
    let creation = models["iam.policy.Creation"]["properties"]
        .as_object()
        .unwrap();
    let sent = body.as_object().unwrap();
    for (k, spec) in creation {
        if spec["required"] == true {
            assert!(sent.contains_key(k), "required {k} missing from {body}");
        }
    }
    for (k, v) in sent {
        let spec = creation
            .get(k)
            .unwrap_or_else(|| panic!("{k} is not in iam.policy.Creation"));
        let ty = spec["fullType"].as_str().unwrap();
        check_type(models, ty, v, k);
    }
}

fn check_type(models: &serde_json::Value, ty: &str, v: &serde_json::Value, at: &str) {
    if let Some(inner) = ty.strip_suffix("[]") {
        for (i, item) in v
            .as_array()
            .unwrap_or_else(|| panic!("{at}: not an array"))
            .iter()
            .enumerate()
        {
            check_type(models, inner, item, &format!("{at}[{i}]"));
        }
        return;
    }
    match ty {
        "string" => assert!(v.is_string(), "{at}: not a string"),
        "datetime" => assert!(
            v.as_str().is_some_and(|s| time::OffsetDateTime::parse(
                s,
                &time::format_description::well_known::Rfc3339
            )
            .is_ok()),
            "{at}: not a date-time"
        ),
        model => {
            let props = models[model]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{at}: unknown type {model}"));
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("{at}: not an object"));
            for (k, spec) in props {
                if spec["required"] == true && spec["readOnly"] != true {
                    assert!(obj.contains_key(k), "{at}: required {k} missing");
                }
            }
            for (k, x) in obj {
                let spec = props
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k} is not in {model}"));
                if x.is_null() {
                    assert!(spec["canBeNull"] == true, "{at}.{k} may not be null");
                    continue;
                }
                check_type(
                    models,
                    spec["fullType"].as_str().unwrap(),
                    x,
                    &format!("{at}.{k}"),
                );
            }
        }
    }
}

#[test]
fn a_caller_that_may_manage_certificates_but_not_read_policies_is_told_with_v() {
    let emu = emulator();
    let s = Sandbox::new();
    // As root: alice may manage the domain's certificates, nothing more.
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "iam",
        "grant",
        "--user",
        "alice",
        "--preset",
        "credential-manager",
    ]));
    assert_eq!(v["outcome"], "created", "{v}");
    emu.set_api_caller_identity(Some(ALICE.to_owned()));
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let out = cli(&s, &emu, AuthMode::Signature)
        .args([
            "-v",
            "credential",
            "create",
            "--name",
            "a",
            "--user",
            "alice",
        ])
        .args(["--csr", "c.csr", "--cert-out", "a.cert"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    let told: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("not checking whether the certificate's identities may use the KMS"))
        .collect();
    assert_eq!(told.len(), 1, "{err}");
    assert!(!err.contains("warning: no IAM policy"), "{err}");
    assert_eq!(emu.credentials().len(), 1);
}

#[test]
fn identities_shows_the_rest_when_one_cannot_be_read() {
    let emu = online_common::emulator_with(|c| {
        c.faults = vec![
            "error:500,route=GET:/v1/me/identity/user/bob"
                .parse()
                .unwrap(),
        ];
    });
    let s = Sandbox::new();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["--json", "iam", "identities"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(6), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["login"] == "alice"),
        "{v}"
    );
    assert!(
        !v["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["login"] == "bob"),
        "{v}"
    );
    assert_eq!(v["failed"][0]["item"], "user bob", "{v}");
    assert!(err.contains("cannot read user bob"), "{err}");
    assert!(
        line(&err, "error: ").contains("1 identity could not be read"),
        "{err}"
    );
}

/// A user the account does not have is a warning naming the closest one, on `credential
/// create` and `iam grant` alike (the API would accept the URN, which names nobody).
#[test]
fn an_identity_the_account_lacks_is_a_warning_naming_the_closest() {
    let emu = emulator();
    let s = Sandbox::new();
    let create = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "create", "--name", "typo", "--user", "alise"])
        .args(["--key-out", "t.key", "--cert-out", "t.crt"])
        .output()
        .unwrap();
    let grant = cli(&s, &emu, AuthMode::Signature)
        .args(["iam", "grant", "--user", "alise", "--preset", "kms-read"])
        .output()
        .unwrap();
    for out in [create, grant] {
        let err = stderr_of(&out);
        assert!(out.status.success(), "{err}");
        let warning = line(&err, "warning: the account has no user");
        assert!(
            warning.contains("\"alise\"") && warning.contains("alice"),
            "{warning}"
        );
    }
    let known = cli(&s, &emu, AuthMode::Signature)
        .args(["iam", "grant", "--user", "alice", "--preset", "kms-read"])
        .output()
        .unwrap();
    assert!(
        !stderr_of(&known).contains("has no user"),
        "{}",
        stderr_of(&known)
    );
}
