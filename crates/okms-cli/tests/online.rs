//! The online commands end to end against an in-process okms-emulator: every command with
//! signature and OAuth2 authentication, the three ways to create a credential, JSON outputs,
//! and exactly-once creation under dropped connections.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::time::Duration;

use common::{Sandbox, stderr_of};
use okms_emulator::{CredentialPhase, FaultKind, FaultSpec};
use online_common::{AuthMode, cli, emulator, emulator_with, fingerprint, json_ok};

const BOTH: [AuthMode; 2] = [AuthMode::Signature, AuthMode::OAuth2];

#[test]
fn whoami_and_domains_with_both_auth_methods() {
    let emu = emulator_with(|c| c.extra_domains = 2);
    let s = Sandbox::new();
    for mode in BOTH {
        let v = json_ok(cli(&s, &emu, mode).args(["--json", "whoami"]));
        assert_eq!(v["account"], "xx1111-ovh", "{mode:?}");
        assert_eq!(v["urn_region"], "eu");
        let method = v["auth_method"].as_str().unwrap();
        match mode {
            AuthMode::Signature => assert_eq!(method, "application key"),
            AuthMode::OAuth2 => assert_eq!(method, "oauth2 client credentials"),
        }
        assert!(
            v["identities"][0]
                .as_str()
                .unwrap()
                .starts_with("urn:v1:eu:identity:")
        );

        let v = json_ok(cli(&s, &emu, mode).args(["--json", "domain", "list"]));
        let ids: Vec<&str> = v["domains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.contains(&emu.okms_id().to_string().as_str()));

        let v = json_ok(cli(&s, &emu, mode).args([
            "--json",
            "domain",
            "show",
            &emu.okms_id().to_string(),
        ]));
        assert_eq!(v["domain"]["restEndpoint"], emu.kms_url());
    }
    // Human output names the account.
    let out = cli(&s, &emu, AuthMode::Signature)
        .arg("whoami")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("xx1111-ovh"));
}

#[test]
fn csr_flow_get_list_wait_check_delete() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "c.csr",
        "--name",
        "app csr",
        "--root",
        "--user",
        "john.smith",
        "--description",
        "made by a test",
        "--validity",
        "30",
    ]));
    let id = v["credential"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["credential"]["status"], "READY");
    assert_eq!(v["credential"]["fromCSR"], true);
    assert_eq!(v["adopted"], false);
    assert_eq!(v["cert_out"], "client.cert");
    assert!(v["key_out"].is_null());
    assert_eq!(
        v["credential"]["identityURNs"],
        serde_json::json!([
            "urn:v1:eu:identity:account:xx1111-ovh",
            "urn:v1:eu:identity:user:xx1111-ovh/john.smith"
        ])
    );
    assert_eq!(s.mode("client.cert"), 0o644);
    assert_eq!(
        fingerprint(&s, "cert", "client.cert"),
        fingerprint(&s, "key", "k.pem")
    );
    assert_eq!(v["public_key_sha256"], fingerprint(&s, "key", "k.pem"));

    // get, with the certificate again.
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "get",
        &id,
        "--cert-out",
        "again.cert",
    ]));
    assert_eq!(v["credential"]["name"], "app csr");
    assert_eq!(v["credential"]["description"], "made by a test");
    assert_eq!(s.read("again.cert"), s.read("client.cert"));

    // list, both auth methods.
    for mode in BOTH {
        let v = json_ok(cli(&s, &emu, mode).args(["--json", "credential", "list"]));
        let ids: Vec<&str> = v["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![id.as_str()]);
    }

    // wait on a READY credential returns at once.
    let v = json_ok(cli(&s, &emu, AuthMode::OAuth2).args([
        "--json",
        "credential",
        "wait",
        &id,
        "--timeout",
        "10s",
    ]));
    assert_eq!(v["credential"]["status"], "READY");

    // check over mTLS, with the CA from OKMS_CA_FILE, the domain from the certificate.
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "check",
        "--cert",
        "client.cert",
        "--key",
        "k.pem",
    ]));
    assert_eq!(v["ok"], true);
    assert_eq!(v["credential_id"], id.as_str());
    assert_eq!(v["okms_id"], emu.okms_id().to_string());
    assert_eq!(v["kms_url"], emu.kms_url());
    // Human form, with --kms-url and --ca given explicitly.
    let ca = emu.info().ca_file.display().to_string();
    let out = cli(&s, &emu, AuthMode::Signature)
        .env_remove("OKMS_CA_FILE")
        .args([
            "credential",
            "check",
            "--cert",
            "client.cert",
            "--key",
            "k.pem",
            "--kms-url",
            emu.kms_url(),
            "--ca",
            &ca,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("OK"), "{text}");
    assert!(text.contains(&id));

    // delete, then the certificate is refused.
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "delete",
        &id,
        "--yes",
    ]));
    assert_eq!(v["deleted"], id.as_str());
    let out = cli(&s, &emu, AuthMode::Signature)
        .args([
            "-v",
            "credential",
            "check",
            "--cert",
            "client.cert",
            "--key",
            "k.pem",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("revoked"), "{err}");
    // The certificate is minutes old, but the API says its credential is gone: the refusal is
    // final at once, not retried for the propagation wait.
    assert!(err.contains("a refusal is final, not retried"), "{err}");
    assert!(!err.contains("retrying in"), "{err}");
}

#[test]
fn request_file_flow_with_oauth2() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p384");
    let sa = format!(
        "urn:v1:eu:identity:credential:xx1111-ovh/oauth2-{}",
        emu.info().client_id
    );
    s.cmd()
        .args([
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "from-request",
            "--identity",
            &sa,
            "--validity",
            "7",
            "--out",
            "req.json",
        ])
        .assert()
        .success();
    let v = json_ok(cli(&s, &emu, AuthMode::OAuth2).args([
        "--json",
        "credential",
        "create",
        "--request",
        "req.json",
        "--cert-out",
        "app.cert",
    ]));
    assert_eq!(v["credential"]["name"], "from-request");
    assert_eq!(v["credential"]["identityURNs"][0], sa.as_str());
    assert_eq!(
        fingerprint(&s, "cert", "app.cert"),
        fingerprint(&s, "key", "k.pem")
    );
    let check = || {
        let mut c = cli(&s, &emu, AuthMode::OAuth2);
        c.args([
            "credential",
            "check",
            "--cert",
            "app.cert",
            "--key",
            "k.pem",
        ]);
        c
    };
    // The service account holds no KMS right until a policy gives it one.
    check()
        .assert()
        .code(7)
        .stderr(predicates::str::contains("okms:apikms:random/get"));
    cli(&s, &emu, AuthMode::OAuth2)
        .args(["iam", "grant", "--identity", &sa, "--preset", "kms-read"])
        .assert()
        .success();
    check().assert().success();
}

#[test]
fn generated_keys_ecdsa_and_rsa() {
    let emu = emulator();
    let s = Sandbox::new();
    for (mode, ty, key, cert) in [
        (AuthMode::Signature, None, "domain.key", "client.cert"),
        (AuthMode::OAuth2, Some("rsa"), "rsa.key", "rsa.cert"),
    ] {
        let mut c = cli(&s, &emu, mode);
        c.args(["--json", "credential", "create", "--name", "generated"])
            .args(["--root", "--cert-out", cert]);
        if key != "domain.key" {
            c.args(["--key-out", key]);
        }
        if let Some(t) = ty {
            c.args(["--certificate-type", t]);
        }
        let v = json_ok(&mut c);
        assert_eq!(v["key_out"], key);
        assert_eq!(v["credential"]["fromCSR"], false);
        assert_eq!(
            v["credential"]["certificateType"],
            if ty.is_some() { "RSA" } else { "ECDSA" }
        );
        assert_eq!(s.mode(key), 0o600);
        assert_eq!(fingerprint(&s, "cert", cert), fingerprint(&s, "key", key));
        let shown = json_ok(s.cmd().args(["--json", "key", "show", key]));
        assert!(
            shown["algorithm"]
                .as_str()
                .unwrap()
                .starts_with(if ty.is_some() { "rsa" } else { "ecdsa" }),
            "{shown}"
        );
        cli(&s, &emu, mode)
            .args(["credential", "check", "--cert", cert, "--key", key])
            .assert()
            .success();
    }
    // The key never reaches stdout or stderr.
    let out = cli(&s, &emu, AuthMode::Signature)
        .args([
            "-vv",
            "credential",
            "create",
            "--name",
            "quiet-key",
            "--root",
        ])
        .args(["--key-out", "k3.key", "--cert-out", "k3.cert"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let key = s.read_string("k3.key");
    let body: String = key.lines().nth(1).unwrap().to_owned();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    assert!(!all.contains(&body));
    assert!(!all.contains("PRIVATE KEY"));
    let info = emu.info();
    for secret in [&info.application_secret, &info.consumer_key] {
        assert!(!all.contains(secret.as_str()));
    }
}

#[test]
fn no_wait_then_wait_and_timeout() {
    let emu = emulator_with(|c| c.ready_delay = Duration::from_millis(1500));
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "c.csr",
        "--name",
        "later",
        "--root",
        "--no-wait",
    ]));
    assert_eq!(v["credential"]["status"], "CREATING");
    assert!(v["cert_out"].is_null());
    assert!(!s.exists("client.cert"));
    let id = v["credential"]["id"].as_str().unwrap().to_owned();

    // Too short a wait: exit 8, a hint to wait again, no file.
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "wait", &id, "--timeout", "100ms"])
        .args(["--cert-out", "w.cert"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("okms-cli credential wait"));
    assert!(!s.exists("w.cert"));

    // get --cert-out while CREATING fails and writes nothing.
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "get", &id, "--cert-out", "w.cert"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("CREATING"), "{}", stderr_of(&out));
    assert!(!s.exists("w.cert"));

    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "wait",
        &id,
        "--timeout",
        "30s",
        "--cert-out",
        "w.cert",
    ]));
    assert_eq!(v["credential"]["status"], "READY");
    assert_eq!(v["cert_out"], "w.cert");
    assert_eq!(
        fingerprint(&s, "cert", "w.cert"),
        fingerprint(&s, "key", "k.pem")
    );
}

#[test]
fn delete_needs_a_terminal_or_yes() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "c.csr",
        "--name",
        "keep",
        "--root",
    ]));
    let id = v["credential"]["id"].as_str().unwrap().to_owned();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "delete", &id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--yes"));
    assert_eq!(emu.credentials()[0].phase, CredentialPhase::Ready);
    cli(&s, &emu, AuthMode::OAuth2)
        .args(["credential", "delete", &id, "--yes"])
        .assert()
        .success();
    assert!(matches!(
        emu.credentials()[0].phase,
        CredentialPhase::Deleting | CredentialPhase::Deleted
    ));
}

fn drop_after_create() -> FaultSpec {
    FaultSpec::new(FaultKind::DropAfterProcessing)
        .route("POST:/v2/okms/resource/*/credential")
        .unwrap()
        .times(1)
}

#[test]
fn lost_create_answer_with_csr_adopts_the_credential() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    emu.set_faults(vec![drop_after_create()]);
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["--json", "credential", "create", "--csr", "c.csr"])
        .args(["--name", "adopt-me", "--root"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["adopted"], true);
    assert!(stderr_of(&out).contains("adopted"), "{}", stderr_of(&out));
    let creds = emu.credentials();
    assert_eq!(creds.len(), 1, "exactly one credential: {creds:?}");
    assert!(creds[0].answer_lost);
    assert_eq!(creds[0].phase, CredentialPhase::Ready);
    assert_eq!(v["credential"]["id"], creds[0].id.to_string());
    assert_eq!(
        fingerprint(&s, "cert", "client.cert"),
        fingerprint(&s, "key", "k.pem")
    );
}

#[test]
fn lost_create_answer_with_generated_key_deletes_the_orphan_and_creates_again() {
    let emu = emulator();
    let s = Sandbox::new();
    emu.set_faults(vec![drop_after_create()]);
    let out = cli(&s, &emu, AuthMode::OAuth2)
        .args([
            "--json",
            "credential",
            "create",
            "--name",
            "orphan-test",
            "--root",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events: Vec<&str> = v["reconciliation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, vec!["outcome_unknown", "orphans_deleted", "resent"]);
    assert!(stderr_of(&out).contains("deleted"), "{}", stderr_of(&out));
    let creds = emu.credentials();
    assert_eq!(creds.len(), 2, "{creds:?}");
    assert!(creds[0].answer_lost);
    assert!(matches!(
        creds[0].phase,
        CredentialPhase::Deleting | CredentialPhase::Deleted
    ));
    assert_eq!(creds[1].phase, CredentialPhase::Ready);
    assert_eq!(v["credential"]["id"], creds[1].id.to_string());
    assert_eq!(
        v["reconciliation"][1]["ids"][0],
        creds[0].id.to_string().as_str()
    );
    assert_eq!(s.mode("domain.key"), 0o600);
    assert_eq!(
        fingerprint(&s, "cert", "client.cert"),
        fingerprint(&s, "key", "domain.key")
    );
}

#[test]
fn lost_answer_before_processing_creates_once() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::DropBeforeProcessing)
            .route("POST:/v2/okms/resource/*/credential")
            .unwrap()
            .times(1),
    ]);
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "c.csr",
        "--name",
        "retry-once",
        "--root",
    ]));
    let events: Vec<&str> = v["reconciliation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, vec!["outcome_unknown", "nothing_created", "resent"]);
    assert_eq!(emu.credentials().len(), 1);
}

#[test]
fn server_errors_and_throttling_on_gets_are_retried() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "c.csr",
        "--name",
        "retry",
        "--root",
    ]));
    let id = v["credential"]["id"].as_str().unwrap().to_owned();
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::Status(503))
            .route("GET:/v2/okms/resource/*/credential/*")
            .unwrap()
            .times(1),
        FaultSpec::new(FaultKind::TooManyRequests {
            retry_after_secs: 1,
        })
        .route("GET:/v2/okms/resource/*/credential/*")
        .unwrap()
        .times(1),
        FaultSpec::new(FaultKind::Status(502))
            .route("GET:/v2/okms/resource/*/credential")
            .unwrap()
            .times(1),
    ]);
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args(["--json", "credential", "get", &id]));
    assert_eq!(v["credential"]["id"], id.as_str());
    let v = json_ok(cli(&s, &emu, AuthMode::OAuth2).args(["--json", "credential", "list"]));
    assert_eq!(v["credentials"].as_array().unwrap().len(), 1);
}

#[test]
fn encrypted_rsa_key_with_csr_and_check() {
    let emu = emulator();
    let s = Sandbox::new();
    s.write("pw", "Zq8-online-secret\n");
    s.cmd()
        .args(["key", "new", "--algorithm", "rsa-2048", "--encrypt"])
        .args(["--passphrase-file", "pw", "--out", "k.pem"])
        .assert()
        .success();
    s.cmd()
        .args(["csr", "new", "--key", "k.pem", "--passphrase-file", "pw"])
        .args(["--cn", "rsa-app", "--out", "c.csr"])
        .assert()
        .success();
    let v = json_ok(cli(&s, &emu, AuthMode::OAuth2).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "c.csr",
        "--name",
        "rsa",
        "--root",
    ]));
    assert_eq!(v["credential"]["certificateType"], "RSA");
    let out = cli(&s, &emu, AuthMode::OAuth2)
        .args([
            "credential",
            "check",
            "--cert",
            "client.cert",
            "--key",
            "k.pem",
        ])
        .args(["--passphrase-file", "pw"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("Zq8-online-secret"));
}

#[test]
fn generated_key_is_on_disk_before_any_polling() {
    let emu = emulator_with(|c| c.ready_delay = Duration::from_secs(2));
    let s = Sandbox::new();
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--name",
        "early-key",
        "--root",
        "--no-wait",
    ]));
    // The credential is still CREATING, and the key is already there, private.
    assert_eq!(v["credential"]["status"], "CREATING");
    assert_eq!(v["key_out"], "domain.key");
    assert_eq!(s.mode("domain.key"), 0o600);
    let id = v["credential"]["id"].as_str().unwrap().to_owned();
    json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "wait",
        &id,
        "--cert-out",
        "client.cert",
    ]));
    assert_eq!(
        fingerprint(&s, "cert", "client.cert"),
        fingerprint(&s, "key", "domain.key")
    );
}

#[test]
fn no_secret_is_printed_at_the_highest_verbosity() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let info = emu.info();
    let secrets = [
        info.application_secret.clone(),
        info.consumer_key.clone(),
        info.client_secret.clone(),
    ];
    let mut outputs = Vec::new();
    for mode in BOTH {
        let name = format!("{mode:?}");
        let run = |args: &[&str]| {
            let out = cli(&s, &emu, mode).arg("-vv").args(args).output().unwrap();
            assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
            out
        };
        let created = run(&[
            "--json",
            "credential",
            "create",
            "--csr",
            "c.csr",
            "--name",
            &name,
            "--root",
            "--cert-out",
            &format!("{name}.cert"),
        ]);
        let v: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
        let id = v["credential"]["id"].as_str().unwrap().to_owned();
        outputs.push(created);
        outputs.push(run(&["whoami"]));
        outputs.push(run(&["domain", "list"]));
        outputs.push(run(&["credential", "list"]));
        outputs.push(run(&["credential", "get", &id]));
        outputs.push(run(&["credential", "wait", &id]));
        outputs.push(run(&[
            "credential",
            "check",
            "--cert",
            &format!("{name}.cert"),
            "--key",
            "k.pem",
        ]));
        outputs.push(run(&["credential", "delete", &id, "--yes"]));
    }
    for out in &outputs {
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr_of(out));
        for secret in &secrets {
            assert!(
                !all.contains(secret.as_str()),
                "a secret was printed:\n{all}"
            );
        }
        assert!(!all.contains("PRIVATE KEY"));
        assert!(!all.to_lowercase().contains("bearer "), "{all}");
        assert!(!all.contains("X-Ovh-Signature"), "{all}");
    }
}

/// Runs the CLI on a pseudo-terminal made by script(1), typing `input`; None without script.
fn on_tty(
    s: &Sandbox,
    emu: &okms_emulator::RunningEmulator,
    args: &str,
    input: &str,
) -> Option<(i32, String)> {
    if !common::have_script("the delete confirmation") {
        return None;
    }
    let info = emu.info();
    let okms_id = info.okms_id.to_string();
    let some = |v: &str| Some(std::ffi::OsString::from(v));
    let env = [
        ("HOME", Some(s.dir.path().as_os_str().to_owned())),
        ("OVH_ENDPOINT", some(&info.api_url)),
        ("OVH_APPLICATION_KEY", some(&info.application_key)),
        ("OVH_APPLICATION_SECRET", some(&info.application_secret)),
        ("OVH_CONSUMER_KEY", some(&info.consumer_key)),
        ("OVH_CLIENT_ID", None),
        ("OVH_CLIENT_SECRET", None),
        ("OVH_ACCESS_TOKEN", None),
        ("OKMS_ID", some(&okms_id)),
    ];
    let env: Vec<_> = env.iter().map(|(k, v)| (*k, v.as_deref())).collect();
    let (code, text) = common::on_tty(s.dir.path(), args, input, &env);
    Some((code.unwrap_or(-1), text))
}

#[test]
fn delete_asks_on_a_terminal() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "c.csr",
        "--name",
        "ask-me",
        "--root",
    ]));
    let id = v["credential"]["id"].as_str().unwrap().to_owned();
    let Some((code, text)) = on_tty(&s, &emu, &format!("credential delete {id}"), "n\n") else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("ask-me") && text.contains("[y/N]"), "{text}");
    assert!(text.contains("nothing was deleted"), "{text}");
    assert_eq!(emu.credentials()[0].phase, CredentialPhase::Ready);
    let (code, text) = on_tty(&s, &emu, &format!("credential delete {id}"), "y\n").unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(matches!(
        emu.credentials()[0].phase,
        CredentialPhase::Deleting | CredentialPhase::Deleted
    ));
}

#[test]
fn wait_stops_at_once_on_expired() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "c.csr",
        "--name",
        "short",
        "--root",
        "--validity",
        "1",
        "--no-wait",
    ]));
    let id = v["credential"]["id"].as_str().unwrap().to_owned();
    emu.advance_clock(Duration::from_secs(3 * 86_400));
    let started = std::time::Instant::now();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "wait", &id, "--timeout", "60s"])
        .args(["--cert-out", "late.cert"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("EXPIRED"), "{}", stderr_of(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!s.exists("late.cert"));
}

/// A small soak: create-wait-check runs with faults on every route (dropped connections before
/// and after processing on the create, 5xx and 429 on reads, latency). Every run ends with
/// exactly one READY credential of its name whose certificate matches a key on disk, or fails
/// saying so with nothing left behind; no orphan survives. `OKMS_SOAK_RUNS` sets the count.
#[test]
fn soak_create_wait_check_under_faults() {
    let runs: usize = std::env::var("OKMS_SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let emu = emulator_with(|c| c.seed = 7);
    let post = "POST:/v2/okms/resource/*/credential";
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::DropAfterProcessing)
            .rate(0.3)
            .route(post)
            .unwrap(),
        FaultSpec::new(FaultKind::DropBeforeProcessing)
            .rate(0.15)
            .route(post)
            .unwrap(),
        FaultSpec::new(FaultKind::ServerError)
            .rate(0.1)
            .route("GET:/v2/**")
            .unwrap(),
        FaultSpec::new(FaultKind::TooManyRequests {
            retry_after_secs: 0,
        })
        .rate(0.05)
        .route("GET:/v2/**")
        .unwrap(),
        FaultSpec::new(FaultKind::Latency(Duration::from_millis(20))).rate(0.2),
    ]);
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let (mut ok, mut failed, mut reconciled) = (0, 0, 0);
    for i in 0..runs {
        let name = format!("soak-{i}");
        let cert = format!("{name}.cert");
        let key = format!("{name}.key");
        let mut c = cli(
            &s,
            &emu,
            if i % 2 == 0 {
                AuthMode::Signature
            } else {
                AuthMode::OAuth2
            },
        );
        c.args(["--json", "credential", "create", "--name", &name, "--root"])
            .args(["--cert-out", &cert, "--timeout", "20s"]);
        let csr_mode = i % 3 != 2;
        if csr_mode {
            c.args(["--csr", "c.csr"]);
        } else {
            c.args(["--key-out", &key]);
        }
        let out = c.output().unwrap();
        let live: Vec<_> = emu
            .credentials()
            .into_iter()
            .filter(|c| c.name == name)
            .filter(|c| {
                !matches!(
                    c.phase,
                    CredentialPhase::Deleting | CredentialPhase::Deleted
                )
            })
            .collect();
        if out.status.success() {
            ok += 1;
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            if !v["reconciliation"].as_array().unwrap().is_empty() {
                reconciled += 1;
            }
            assert_eq!(live.len(), 1, "run {i}: one live credential: {live:?}");
            assert_eq!(v["credential"]["id"], live[0].id.to_string());
            let key_file = if csr_mode { "k.pem" } else { key.as_str() };
            assert_eq!(
                fingerprint(&s, "cert", &cert),
                fingerprint(&s, "key", key_file)
            );
        } else {
            failed += 1;
            let err = stderr_of(&out);
            eprintln!("soak run {i} failed:\n{err}");
            // A failure must leave no live credential behind without naming it.
            for c in &live {
                assert!(
                    err.contains(&c.id.to_string()),
                    "run {i}: unnamed live credential {c:?}:\n{err}"
                );
            }
            assert!(!s.exists(&cert), "run {i}");
        }
    }
    eprintln!(
        "soak: {runs} runs, {ok} ok ({reconciled} after reconciliation), {failed} failed cleanly"
    );
    assert!(ok > 0);
}
