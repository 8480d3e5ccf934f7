//! Happy paths of every offline command, file modes, overwrite rules and the JSON output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Sandbox, okms, stderr_of, stdout_of};
use predicates::prelude::*;
use serde_json::Value;

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout_of(out)))
}

#[test]
fn key_new_defaults_to_p256_pkcs8_mode_0600() {
    let s = Sandbox::new();
    s.cmd()
        .args(["key", "new", "--out", "k.pem"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ecdsa-p256"));
    assert_eq!(s.mode("k.pem"), 0o600);
    assert!(
        s.read_string("k.pem")
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    // The key never reaches the terminal.
    let out = s
        .cmd()
        .args(["key", "new", "--out", "k2.pem"])
        .output()
        .unwrap();
    assert!(!stdout_of(&out).contains("PRIVATE KEY"));
    assert!(!stderr_of(&out).contains("PRIVATE KEY"));
}

#[test]
fn key_new_every_algorithm_and_traditional_format() {
    let s = Sandbox::new();
    for (alg, label) in [
        ("ecdsa-p256", "EC PRIVATE KEY"),
        ("ecdsa-p384", "EC PRIVATE KEY"),
        ("ecdsa-p521", "EC PRIVATE KEY"),
        ("rsa-2048", "RSA PRIVATE KEY"),
    ] {
        let name = format!("{alg}.pem");
        s.cmd()
            .args([
                "key",
                "new",
                "--algorithm",
                alg,
                "--format",
                "traditional",
                "--out",
                &name,
            ])
            .assert()
            .success();
        assert!(
            s.read_string(&name)
                .starts_with(&format!("-----BEGIN {label}-----")),
            "{alg}"
        );
        assert_eq!(s.mode(&name), 0o600);
        let out = s
            .cmd()
            .args(["--json", "key", "show", &name])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let v = json_of(&out);
        assert_eq!(v["algorithm"], alg);
        assert_eq!(v["encrypted"], false);
    }
}

/// Users coming from openssl type its curve names; every spelling gives the same algorithm.
#[test]
fn algorithm_aliases_and_case() {
    let s = Sandbox::new();
    for (i, (spelling, alg)) in [
        ("P-256", "ecdsa-p256"),
        ("prime256v1", "ecdsa-p256"),
        ("secp384r1", "ecdsa-p384"),
        ("p521", "ecdsa-p521"),
        ("ECDSA-P384", "ecdsa-p384"),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("k{i}.pem");
        s.cmd()
            .args(["key", "new", "--algorithm", spelling, "--out", &name])
            .assert()
            .success();
        let out = s
            .cmd()
            .args(["--json", "key", "show", &name])
            .output()
            .unwrap();
        assert_eq!(json_of(&out)["algorithm"], alg, "{spelling}");
    }
    let out = s
        .cmd()
        .args([
            "csr",
            "new",
            "--algorithm",
            "rsa2048",
            "--cn",
            "a",
            "--key-out",
            "r.pem",
            "--out",
            "r.csr",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("rsa-2048"), "{}", stdout_of(&out));
    // An unknown name lists the canonical ones.
    s.cmd()
        .args(["key", "new", "--algorithm", "ed25519", "--out", "e.pem"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("ecdsa-p256"));
    assert!(!s.exists("e.pem"));
}

/// When both outputs of `csr new --key-out` exist, the refusal names both, and says that
/// `--force` would replace the private key too.
#[test]
fn csr_new_refusal_names_the_key_and_the_csr() {
    let s = Sandbox::new();
    s.cmd()
        .args([
            "csr",
            "new",
            "--cn",
            "a",
            "--key-out",
            "k.pem",
            "--out",
            "c.csr",
        ])
        .assert()
        .success();
    let (key, csr) = (s.read_string("k.pem"), s.read_string("c.csr"));
    let out = s
        .cmd()
        .args([
            "csr",
            "new",
            "--cn",
            "b",
            "--key-out",
            "k.pem",
            "--out",
            "c.csr",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("k.pem and c.csr already exist"), "{err}");
    assert!(err.contains("private key"), "{err}");
    assert_eq!(s.read_string("k.pem"), key);
    assert_eq!(s.read_string("c.csr"), csr);
}

#[test]
fn key_new_encrypted_with_file_and_env() {
    let s = Sandbox::new();
    s.write("pw", "correct horse\n");
    s.cmd()
        .args([
            "key",
            "new",
            "--encrypt",
            "--passphrase-file",
            "pw",
            "--out",
            "e1.pem",
        ])
        .assert()
        .success();
    assert!(
        s.read_string("e1.pem")
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    assert_eq!(s.mode("e1.pem"), 0o600);
    // The trailing newline of the file is not part of the passphrase: the env form opens it.
    let out = s
        .cmd()
        .env("KEY_PASS", "correct horse")
        .args([
            "--json",
            "key",
            "show",
            "e1.pem",
            "--passphrase-env",
            "KEY_PASS",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(json_of(&out)["encrypted"], true);

    s.cmd()
        .env("KEY_PASS", "correct horse")
        .args([
            "key",
            "new",
            "--encrypt",
            "--passphrase-env",
            "KEY_PASS",
            "--algorithm",
            "ecdsa-p384",
            "--out",
            "e2.pem",
        ])
        .assert()
        .success();
    s.cmd()
        .args(["key", "show", "e2.pem", "--passphrase-file", "pw"])
        .assert()
        .success();
}

#[test]
fn key_new_to_stdout_only_when_asked() {
    let s = Sandbox::new();
    let out = s.cmd().args(["key", "new", "--out", "-"]).output().unwrap();
    assert!(out.status.success());
    assert!(stdout_of(&out).starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(
        s.snapshot().is_empty(),
        "no file may be written for --out -"
    );
}

#[test]
fn key_pub_matches_csr_public_key() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let out = s.cmd().args(["key", "pub", "k.pem"]).output().unwrap();
    assert!(out.status.success());
    assert!(stdout_of(&out).starts_with("-----BEGIN PUBLIC KEY-----"));
    s.cmd()
        .args(["key", "pub", "k.pem", "--out", "k.pub"])
        .assert()
        .success();
    assert_eq!(s.read("k.pub"), out.stdout);
    assert_eq!(s.mode("k.pub") & 0o600, 0o600);

    let key = json_of(
        &s.cmd()
            .args(["--json", "key", "show", "k.pem"])
            .output()
            .unwrap(),
    );
    let csr = json_of(
        &s.cmd()
            .args(["--json", "csr", "show", "c.csr"])
            .output()
            .unwrap(),
    );
    assert_eq!(key["public_key_sha256"], csr["public_key_sha256"]);
}

#[test]
fn csr_new_with_existing_key_and_sans() {
    let s = Sandbox::new();
    s.key("k.pem", "ecdsa-p384");
    s.cmd()
        .args([
            "csr",
            "new",
            "--key",
            "k.pem",
            "--subject",
            "CN=app1,O=Example,C=FR",
            "--san",
            "dns:app1.example.com",
            "--san",
            "ip:192.0.2.7",
            "--san",
            "email:ops@example.com",
            "--san",
            "uri:https://example.com/app1",
            "--out",
            "c.csr",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("Wrote CSR to c.csr"));
    assert!(
        s.read_string("c.csr")
            .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
    );
    assert_eq!(s.mode("c.csr"), 0o644);

    let out = s
        .cmd()
        .args(["--json", "csr", "show", "c.csr"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(v["subject"], "CN=app1,O=Example,C=FR");
    assert_eq!(v["key_algorithm"], "ecdsa-p384");
    assert_eq!(v["signature_valid"], true);
    let sans: Vec<String> = v["sans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    assert!(
        sans.contains(&"dns:app1.example.com".to_owned()),
        "{sans:?}"
    );
    assert!(sans.contains(&"ip:192.0.2.7".to_owned()), "{sans:?}");

    s.cmd()
        .args(["csr", "show", "c.csr"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Signature:"));
}

#[test]
fn csr_new_with_new_key_writes_key_first() {
    let s = Sandbox::new();
    let out = s
        .cmd()
        .args([
            "--json",
            "csr",
            "new",
            "--algorithm",
            "rsa-2048",
            "--key-out",
            "k.pem",
            "--cn",
            "app1",
            "--out",
            "c.csr",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(v["algorithm"], "rsa-2048");
    assert_eq!(v["key"]["path"], "k.pem");
    assert_eq!(v["key"]["mode"], "0600");
    assert_eq!(s.mode("k.pem"), 0o600);
    assert_eq!(v["key"]["public_key_sha256"], v["public_key_sha256"]);
    s.cmd()
        .args(["csr", "verify", "c.csr", "--key", "k.pem"])
        .assert()
        .success();
}

#[test]
fn csr_failure_after_the_new_key_keeps_the_key_and_says_so() {
    let s = Sandbox::new();
    // The CSR cannot be written under /proc; by then the new key is on disk and must stay.
    let out = s
        .cmd()
        .args([
            "csr",
            "new",
            "--key-out",
            "k.pem",
            "--cn",
            "x",
            "--out",
            "/proc/okms-cli-test.csr",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("/proc/okms-cli-test.csr"), "{err}");
    assert!(
        err.contains("kept in k.pem") && err.contains("--key k.pem"),
        "{err}"
    );
    assert_eq!(s.mode("k.pem"), 0o600);
    s.cmd().args(["key", "show", "k.pem"]).assert().success();
}

#[test]
fn csr_new_encrypted_new_key_and_reuse() {
    let s = Sandbox::new();
    s.write("pw", "pw-for-key\n");
    s.cmd()
        .args([
            "csr",
            "new",
            "--key-out",
            "k.pem",
            "--encrypt",
            "--passphrase-file",
            "pw",
            "--cn",
            "app1",
            "--out",
            "c1.csr",
        ])
        .assert()
        .success();
    assert!(
        s.read_string("k.pem")
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    s.cmd()
        .args([
            "csr",
            "new",
            "--key",
            "k.pem",
            "--passphrase-file",
            "pw",
            "--cn",
            "app2",
            "--out",
            "c2.csr",
        ])
        .assert()
        .success();
    s.cmd()
        .args([
            "csr",
            "verify",
            "c2.csr",
            "--key",
            "k.pem",
            "--passphrase-file",
            "pw",
        ])
        .assert()
        .success();
}

#[test]
fn csr_new_to_stdout() {
    let s = Sandbox::new();
    s.key("k.pem", "ecdsa-p256");
    let out = s
        .cmd()
        .args(["csr", "new", "--key", "k.pem", "--cn", "x", "--out", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(stdout_of(&out).starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    s.write("from-stdout.csr", &out.stdout);
    s.cmd()
        .args(["csr", "verify", "from-stdout.csr", "--key", "k.pem"])
        .assert()
        .success();
}

#[test]
fn csr_verify_detects_other_key_and_tampering() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    s.key("other.pem", "ecdsa-p256");
    s.cmd()
        .args(["csr", "verify", "c.csr"])
        .assert()
        .success()
        .stdout(predicate::str::contains("signature OK"));
    s.cmd()
        .args(["csr", "verify", "c.csr", "--key", "other.pem"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "does not hold the public key of other.pem",
        ));
    let out = s
        .cmd()
        .args(["--json", "csr", "verify", "c.csr", "--key", "other.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let v = json_of(&out);
    assert_eq!(v["signature_valid"], true);
    assert_eq!(v["key_matches"], false);
}

#[test]
fn pem_escape_and_unescape_round_trip() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let csr = s.read_string("c.csr");

    let out = s.cmd().args(["pem", "escape", "c.csr"]).output().unwrap();
    assert!(out.status.success());
    let escaped = stdout_of(&out);
    let escaped = escaped.trim_end_matches('\n');
    assert!(
        !escaped.contains('\n') && escaped.contains("\\n"),
        "{escaped}"
    );

    let quoted = s
        .cmd()
        .args(["pem", "escape", "--quoted"])
        .write_stdin(csr.clone())
        .output()
        .unwrap();
    let as_json: String = serde_json::from_slice(&quoted.stdout).unwrap();
    assert_eq!(as_json, csr);

    let back = s
        .cmd()
        .args(["pem", "unescape"])
        .write_stdin(escaped.to_owned())
        .output()
        .unwrap();
    assert!(back.status.success(), "{}", stderr_of(&back));
    assert_eq!(stdout_of(&back), csr);

    // A whole API response with the certificate in a field, as pasted from the API console.
    let response =
        serde_json::json!({ "id": "x", "certificatePEM": csr, "status": "READY" }).to_string();
    s.write("resp.json", &response);
    s.cmd()
        .args([
            "pem",
            "unescape",
            "resp.json",
            "--field",
            "certificatePEM",
            "--out",
            "out.pem",
        ])
        .assert()
        .success();
    assert_eq!(s.read_string("out.pem"), csr);
    assert_eq!(s.mode("out.pem"), 0o644);

    let v = json_of(
        &s.cmd()
            .args(["--json", "pem", "escape", "c.csr"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["escaped"], escaped);
}

#[test]
fn pem_unescape_private_key_goes_to_a_0600_file() {
    let s = Sandbox::new();
    s.key("k.pem", "ecdsa-p256");
    let key = s.read_string("k.pem");
    let response = serde_json::json!({ "privateKeyPEM": key, "status": "CREATING" }).to_string();
    s.write("resp.json", &response);

    let out = s
        .cmd()
        .args(["pem", "unescape", "resp.json", "--field", "privateKeyPEM"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "a private key must not be printed unless asked"
    );
    assert!(stderr_of(&out).contains("--out"));

    s.cmd()
        .args([
            "pem",
            "unescape",
            "resp.json",
            "--field",
            "privateKeyPEM",
            "--out",
            "k2.pem",
        ])
        .assert()
        .success();
    assert_eq!(s.read_string("k2.pem"), key);
    assert_eq!(s.mode("k2.pem"), 0o600);

    let out = s
        .cmd()
        .args([
            "pem",
            "unescape",
            "resp.json",
            "--field",
            "privateKeyPEM",
            "--out",
            "-",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(stdout_of(&out), key);
}

#[test]
fn request_new_writes_the_exact_create_body() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    s.cmd()
        .args([
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "app1 access",
            "--identity",
            "urn:v1:eu:identity:user:xx1111-ovh/john.smith",
            "--description",
            "made offline",
            "--validity",
            "30",
            "--out",
            "req.json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("credential create"));
    assert_eq!(s.mode("req.json"), 0o644);
    let v: Value = serde_json::from_slice(&s.read("req.json")).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["csr", "description", "identityURNs", "name", "validity"]
    );
    assert_eq!(v["name"], "app1 access");
    assert_eq!(v["description"], "made offline");
    assert_eq!(v["validity"], 30);
    assert_eq!(
        v["identityURNs"],
        serde_json::json!(["urn:v1:eu:identity:user:xx1111-ovh/john.smith"])
    );
    assert_eq!(v["csr"], s.read_string("c.csr"));

    s.cmd()
        .args(["request", "show", "req.json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("app1 access"));
    let shown = json_of(
        &s.cmd()
            .args(["--json", "request", "show", "req.json"])
            .output()
            .unwrap(),
    );
    assert_eq!(shown["validity"], 30);
}

#[test]
fn request_new_builds_urns_from_flags() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    s.cmd()
        .args([
            "--endpoint",
            "ovh-ca",
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "n",
            "--nic",
            "xx1111-ovh",
            "--root",
            "--user",
            "john.smith",
            "--group",
            "my_group",
            "--service-account",
            "0f0f0f0f0f0f0f0f",
            "--out",
            "req.json",
        ])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&s.read("req.json")).unwrap();
    assert_eq!(
        v["identityURNs"],
        serde_json::json!([
            "urn:v1:ca:identity:account:xx1111-ovh",
            "urn:v1:ca:identity:user:xx1111-ovh/john.smith",
            "urn:v1:ca:identity:group:xx1111-ovh/my_group",
            "urn:v1:ca:identity:credential:xx1111-ovh/oauth2-0f0f0f0f0f0f0f0f",
        ])
    );
    assert!(v.get("validity").is_none() && v.get("description").is_none());
}

#[test]
fn force_replaces_and_keeps_the_mode() {
    let s = Sandbox::new();
    s.key("k.pem", "ecdsa-p256");
    let first = s.read("k.pem");
    s.cmd()
        .args(["key", "new", "--out", "k.pem"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("already exists"))
        .stderr(predicate::str::contains("hint: pass --force"));
    assert_eq!(
        s.read("k.pem"),
        first,
        "refused overwrite must leave the file unchanged"
    );
    s.cmd()
        .args(["key", "new", "--out", "k.pem", "--force"])
        .assert()
        .success();
    assert_ne!(s.read("k.pem"), first);
    assert_eq!(s.mode("k.pem"), 0o600);
    // A world-readable file replaced with --force becomes 0600: the mode comes from creation.
    s.write("loose.pem", "old");
    std::fs::set_permissions(
        s.path("loose.pem"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    s.cmd()
        .args(["key", "new", "--out", "loose.pem", "--force"])
        .assert()
        .success();
    assert_eq!(s.mode("loose.pem"), 0o600);
    let names: Vec<_> = s.snapshot().into_keys().collect();
    assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
}

#[test]
fn online_commands_without_api_credentials_exit_7_before_any_network() {
    let s = Sandbox::new();
    for args in [&["whoami"][..], &["credential", "list"][..]] {
        let mut c = s.cmd();
        for v in [
            "OVH_APPLICATION_KEY",
            "OVH_APPLICATION_SECRET",
            "OVH_CONSUMER_KEY",
            "OVH_CLIENT_ID",
            "OVH_CLIENT_SECRET",
            "OVH_ACCESS_TOKEN",
        ] {
            c.env_remove(v);
        }
        c.env("HOME", s.dir.path())
            .env("OKMS_ID", "0b0c0d0e-0000-4000-8000-000000000001")
            // Loopback port 9 (discard): nothing is listening, and nothing must be sent.
            .env("OVH_ENDPOINT", "http://127.0.0.1:9/1.0")
            .args(args)
            .assert()
            .code(7)
            .stderr(predicate::str::contains("no OVHcloud API credentials"));
    }
}

#[test]
fn help_documents_exit_codes_and_usage_errors_exit_2() {
    okms()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"));
    okms()
        .args(["key", "new"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out"));
    okms().args(["frobnicate"]).assert().code(2);
    okms()
        .args([
            "credential",
            "create",
            "--name",
            "x",
            "--root",
            "--csr",
            "c.csr",
        ])
        .assert()
        .code(2);
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let s = Sandbox::new();
    let out = s
        .cmd()
        .args(["--color", "always", "csr", "show", "missing.csr"])
        .output()
        .unwrap();
    assert!(stderr_of(&out).contains("\x1b["), "--color always colours");
    let out = s
        .cmd()
        .args(["--color", "never", "csr", "show", "missing.csr"])
        .output()
        .unwrap();
    assert!(!stderr_of(&out).contains("\x1b["));
    // auto with stderr not a terminal: no colour.
    let out = s
        .cmd()
        .env_remove("NO_COLOR")
        .args(["csr", "show", "missing.csr"])
        .output()
        .unwrap();
    assert!(!stderr_of(&out).contains("\x1b["));
    assert!(stderr_of(&out).starts_with("error: "));
}

#[test]
fn full_stdout_is_an_error_not_a_panic() {
    let s = Sandbox::new();
    s.key("k.pem", "ecdsa-p256");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okms-cli"))
        .args(["key", "pub", "k.pem"])
        .current_dir(s.dir.path())
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("standard output"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn stdin_and_der_inputs() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    // The CSR from stdin.
    let out = s
        .cmd()
        .args(["--json", "csr", "show", "-"])
        .write_stdin(s.read("c.csr"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(json_of(&out)["subject"], "CN=app1");
    // The key from stdin.
    let out = s
        .cmd()
        .args(["--json", "key", "pub", "-"])
        .write_stdin(s.read("k.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(v["algorithm"], "ecdsa-p256");
    assert!(
        v["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    // DER CSR, decoded from the PEM by hand.
    let b64: String = s
        .read_string("c.csr")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = std::process::Command::new("base64")
        .arg("-d")
        .write_stdin_bytes(b64.as_bytes());
    s.write("c.der", der);
    s.cmd()
        .args(["csr", "verify", "c.der", "--key", "k.pem"])
        .assert()
        .success();
}

#[test]
fn ovh_endpoint_environment_gives_the_urn_region() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    s.cmd()
        .env("OVH_ENDPOINT", "ovh-us")
        .args([
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "n",
            "--nic",
            "xx1111-ovh",
            "--root",
            "--out",
            "-",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "urn:v1:us:identity:account:xx1111-ovh",
        ));
    s.cmd()
        .env("OVH_ENDPOINT", "ovh-us")
        .args([
            "--endpoint",
            "ovh-eu",
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "n",
            "--nic",
            "xx1111-ovh",
        ])
        .args(["--root", "--out", "-"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "urn:v1:eu:identity:account:xx1111-ovh",
        ));
}

/// Runs a process with `input` on stdin and returns its stdout.
trait WriteStdinBytes {
    fn write_stdin_bytes(&mut self, input: &[u8]) -> Vec<u8>;
}

impl WriteStdinBytes for std::process::Command {
    fn write_stdin_bytes(&mut self, input: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut child = self
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        out.stdout
    }
}

/// A committed certificate shaped like OKMS's (serial = credential id, `okms.domain:` SAN,
/// clientAuth) and its throwaway test key, so `cert show` is tested without openssl.
#[test]
fn cert_show_reads_an_okms_shaped_certificate() {
    let s = Sandbox::new();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    std::fs::copy(format!("{fixtures}/client.cert"), s.path("client.cert")).unwrap();
    std::fs::copy(format!("{fixtures}/client.key"), s.path("client.key")).unwrap();
    s.key("other.key", "ecdsa-p256");

    let out = s
        .cmd()
        .args([
            "--json",
            "cert",
            "show",
            "client.cert",
            "--key",
            "client.key",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(v["serial"], "f18b5e0d75b840a39b0e71ffe5ff03cb");
    assert_eq!(v["credential_id"], "f18b5e0d-75b8-40a3-9b0e-71ffe5ff03cb");
    assert_eq!(v["okms_domain"], "e90c5841-f39e-4983-8596-62ff0c538b6b");
    assert_eq!(v["subject"], "CN=e90c5841-f39e-4983-8596-62ff0c538b6b");
    assert_eq!(v["not_after"], "2126-11-05T04:06:36Z");
    assert_eq!(v["key_algorithm"], "ecdsa-p256");
    assert_eq!(v["key_matches"], true);
    assert_eq!(v["extended_key_usages"], serde_json::json!(["clientAuth"]));

    s.cmd()
        .args(["cert", "show", "client.cert"])
        .assert()
        .success()
        .stdout(predicate::str::contains("OKMS domain:"))
        .stdout(predicate::str::contains(
            "e90c5841-f39e-4983-8596-62ff0c538b6b",
        ));
    s.cmd()
        .args(["cert", "show", "client.cert", "--key", "other.key"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "does not hold the public key of other.key",
        ));
    s.cmd()
        .args(["cert", "show", "client.key"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "client.key is not a valid certificate",
        ));
}

#[test]
fn csr_never_replaces_the_key_it_just_wrote() {
    let s = Sandbox::new();
    let out = s
        .cmd()
        .args([
            "csr",
            "new",
            "--key-out",
            "k.pem",
            "--cn",
            "x",
            "--out",
            "./k.pem",
            "--force",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("--key-out and --out name the same file"),
        "{}",
        stderr_of(&out)
    );
    // Refused before any work: no key was made, so none can be lost or replaced.
    assert!(!s.exists("k.pem"));
}

#[test]
fn pem_escape_of_a_private_key_only_where_asked() {
    let s = Sandbox::new();
    s.key("k.pem", "ecdsa-p256");
    s.cmd()
        .args(["pem", "escape", "k.pem", "--out", "k.json-string"])
        .assert()
        .success();
    assert_eq!(s.mode("k.json-string"), 0o600);
    let escaped = s.read_string("k.json-string");
    assert!(
        escaped.starts_with("-----BEGIN PRIVATE KEY-----\\n"),
        "{escaped}"
    );
    let out = s
        .cmd()
        .args(["pem", "escape", "k.pem", "--out", "-", "--quoted"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let back: String = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back, s.read_string("k.pem"));

    s.key_and_csr("k2.pem", "c.csr", "ecdsa-p256");
    s.cmd()
        .args(["pem", "escape", "c.csr", "--out", "c.txt"])
        .assert()
        .success();
    assert_eq!(s.mode("c.txt"), 0o644);
}
