//! `credential renew --key pkcs11:...` against the emulator, with the key on a SoftHSM2 token:
//! the new key is made on the same token and takes over the deployed label, and a failure
//! leaves the token as it was.
//!
//! Each test makes its own token directory (outside the sandbox, so that comparing the sandbox
//! before and after a run compares only the user's files). Without SoftHSM2 the tests are
//! skipped with a loud message, unless `OKMS_REQUIRE_SOFTHSM=1` (CI), which makes that a
//! failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use assert_cmd::Command;
use common::{Sandbox, stderr_of};
use okms_emulator::{CredentialPhase, RunningEmulator};
use okms_test_support::{PIN, TOKEN};
use online_common::{AuthMode, cli, emulator, fingerprint, json_ok};

/// An emulator, a sandbox, and a fresh token holding the key `svc` of a READY credential
/// deployed as `svc.cert`.
struct TokenPair {
    emu: RunningEmulator,
    s: Sandbox,
    _hsm: tempfile::TempDir,
    conf: PathBuf,
    module: PathBuf,
    old_id: String,
}

impl TokenPair {
    fn new() -> Option<TokenPair> {
        let module = okms_test_support::softhsm_module(
            okms_pkcs11::SOFTHSM2_HINT_PATHS,
            "the PKCS#11 renewal tests",
        )?;
        let hsm = tempfile::tempdir().unwrap();
        let conf = okms_test_support::init_token_dir(hsm.path());
        let s = Sandbox::new();
        s.write("pin.txt", format!("{PIN}\n"));
        let mut p = TokenPair {
            emu: emulator(),
            s,
            _hsm: hsm,
            conf,
            module,
            old_id: String::new(),
        };
        p.key_new("svc");
        p.token_cmd(p.s.cmd())
            .args(["csr", "new", "--key", &p.uri("svc"), "--cn", "svc"])
            .args(["--pin-file", "pin.txt", "--out", "svc.csr"])
            .assert()
            .success();
        let v = json_ok(p.token_cmd(cli(&p.s, &p.emu, AuthMode::Signature)).args([
            "--json",
            "credential",
            "create",
            "--csr",
            "svc.csr",
            "--name",
            "svc",
            "--root",
            "--validity",
            "30",
            "--cert-out",
            "svc.cert",
        ]));
        p.old_id = v["credential"]["id"].as_str().unwrap().to_owned();
        Some(p)
    }

    /// `c` reaching this test's token: SOFTHSM2_CONF at its directory, the module from
    /// OKMS_PKCS11_MODULE (the PIN comes from --pin-file, given by each caller).
    fn token_cmd(&self, mut c: Command) -> Command {
        c.env("SOFTHSM2_CONF", &self.conf)
            .env("OKMS_PKCS11_MODULE", &self.module);
        c
    }

    /// The URI of the key labelled `object`, without a PIN (the commands get --pin-file).
    fn uri(&self, object: &str) -> String {
        format!("pkcs11:token={TOKEN};object={object}")
    }

    fn key_new(&self, object: &str) {
        self.token_cmd(self.s.cmd())
            .args(["key", "new", "--algorithm", "ecdsa-p256", "--pkcs11"])
            .arg(self.uri(object))
            .args(["--pin-file", "pin.txt"])
            .assert()
            .success();
    }

    fn renew(&self, extra: &[&str]) -> std::process::Output {
        self.token_cmd(cli(&self.s, &self.emu, AuthMode::Signature))
            .args(["credential", "renew", "--cert", "svc.cert", "--key"])
            .arg(self.uri("svc"))
            .args(["--pin-file", "pin.txt"])
            .args(extra)
            .output()
            .unwrap()
    }

    /// The token's private keys: label -> (public key SHA-256 of each key with that label,
    /// sensitive, extractable).
    fn keys(&self) -> BTreeMap<String, Vec<(String, bool, bool)>> {
        let v = json_ok(
            self.token_cmd(self.s.cmd())
                .args(["--json", "key", "list", "--pkcs11"])
                .arg(format!("pkcs11:token={TOKEN}"))
                .args(["--pin-file", "pin.txt"]),
        );
        let mut out: BTreeMap<String, Vec<(String, bool, bool)>> = BTreeMap::new();
        for k in v["keys"].as_array().unwrap() {
            out.entry(k["label"].as_str().unwrap().to_owned())
                .or_default()
                .push((
                    k["public_key_sha256"].as_str().unwrap().to_owned(),
                    k["sensitive"].as_bool().unwrap(),
                    k["extractable"].as_bool().unwrap(),
                ));
        }
        out
    }

    /// `credential check` with the deployed certificate and the deployed URI.
    fn works(&self) -> bool {
        let out = self
            .token_cmd(cli(&self.s, &self.emu, AuthMode::Signature))
            .args(["credential", "check", "--cert", "svc.cert", "--key"])
            .arg(self.uri("svc"))
            .args(["--pin-file", "pin.txt"])
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!("credential check failed: {}", stderr_of(&out));
        }
        out.status.success()
    }

    /// Credentials named `svc` that are still live, by id.
    fn live(&self) -> Vec<String> {
        self.emu
            .credentials()
            .into_iter()
            .filter(|c| {
                c.name == "svc"
                    && !matches!(
                        c.phase,
                        CredentialPhase::Deleting | CredentialPhase::Deleted
                    )
            })
            .map(|c| c.id.to_string())
            .collect()
    }

    fn cert_id(&self) -> String {
        let v = json_ok(self.s.cmd().args(["--json", "cert", "show", "svc.cert"]));
        v["credential_id"].as_str().unwrap().to_owned()
    }
}

#[test]
fn a_token_key_is_renewed_on_the_token_and_the_deployed_uri_names_the_new_key() {
    let Some(p) = TokenPair::new() else { return };
    let old_cert = p.s.read("svc.cert");
    let old_fp = fingerprint(&p.s, "cert", "svc.cert");
    assert_eq!(p.keys()["svc"][0].0, old_fp);
    let hook_out = p.s.path("hook.env");

    let out = p.renew(&[
        "--json",
        "--force",
        "--exec",
        "/bin/sh",
        "-c",
        &format!(
            "env | grep -E '^OKMS_RENEW_(KEY|BACKUP_KEY)=' | sort > {}",
            hook_out.display()
        ),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["renewed"], true);
    assert_eq!(v["old_id"], p.old_id.as_str());
    assert_eq!(v["old_revoked"], true);
    assert_eq!(v["key"], p.uri("svc"));
    assert_eq!(v["backup_key"], p.uri("svc.bak"));
    let new_id = v["new_id"].as_str().unwrap().to_owned();

    // The certificate file is the new credential's, and the deployed URI names its key.
    assert_eq!(p.cert_id(), new_id);
    let new_fp = fingerprint(&p.s, "cert", "svc.cert");
    assert_ne!(new_fp, old_fp);
    let keys = p.keys();
    assert_eq!(
        keys.keys().collect::<Vec<_>>(),
        ["svc", "svc.bak"],
        "no svc.new is left: {keys:?}"
    );
    assert_eq!(
        keys["svc"],
        [(new_fp.clone(), true, false)],
        "the new key, still sensitive and not extractable"
    );
    assert_eq!(keys["svc.bak"], [(old_fp, true, false)], "the old key");
    let shown = json_ok(
        p.token_cmd(p.s.cmd())
            .args(["--json", "key", "show"])
            .arg(p.uri("svc"))
            .args(["--pin-file", "pin.txt"]),
    );
    assert_eq!(shown["public_key_sha256"], new_fp.as_str());
    assert!(p.works(), "credential check with the deployed URI");

    // The previous certificate is kept; the old credential is revoked.
    assert_eq!(p.s.read("svc.cert.bak"), old_cert);
    assert!(!p.s.exists("svc.cert.new"));
    assert_eq!(p.live(), [new_id]);

    // The hook is told the URIs, without any PIN.
    let env = std::fs::read_to_string(&hook_out).unwrap();
    assert_eq!(
        env,
        format!(
            "OKMS_RENEW_BACKUP_KEY={}\nOKMS_RENEW_KEY={}\n",
            p.uri("svc.bak"),
            p.uri("svc")
        )
    );
}

#[test]
fn a_failing_proof_destroys_the_new_key_and_leaves_the_old_one_under_its_label() {
    let Some(p) = TokenPair::new() else { return };
    let before = p.s.snapshot();
    let keys_before = p.keys();
    // Nothing listens on port 9: the mutual-TLS call cannot succeed.
    let out = p.renew(&["--force", "--kms-url", "https://127.0.0.1:9"]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("the mutual-TLS call with the new certificate"),
        "{err}"
    );
    assert!(
        err.contains("was revoked and the new key svc.new was destroyed"),
        "{err}"
    );
    assert!(err.contains("unchanged and still works"), "{err}");
    assert_eq!(p.keys(), keys_before, "only the old key, under svc");
    assert_eq!(p.s.snapshot(), before, "no file written");
    assert_eq!(p.live(), std::slice::from_ref(&p.old_id));
    assert!(p.works());
}

#[test]
fn a_leftover_new_key_on_the_token_is_resolved_by_the_next_run_even_when_not_due() {
    // Issue 19, item 3: a LABEL.new left by an interrupted run used to be refused (exit 5)
    // until a human removed it; it is now resolved as a leftover KEY.new is.
    let Some(p) = TokenPair::new() else { return };
    p.key_new("svc.new");
    let count = p.emu.credentials().len();

    let out = p.renew(&[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("svc.new") && err.contains("no live credential certifies"),
        "{err}"
    );
    assert!(
        !p.keys().contains_key("svc.new"),
        "the leftover is destroyed"
    );
    assert!(p.keys().contains_key("svc"));
    assert_eq!(
        p.emu.credentials().len(),
        count,
        "nothing created (not due)"
    );
    assert!(p.works());
}

#[test]
fn a_leftover_new_key_on_the_token_that_a_credential_certifies_is_revoked_and_destroyed() {
    let Some(p) = TokenPair::new() else { return };
    // What an interrupted run leaves: svc.new, and a live credential of the same name for it.
    p.key_new("svc.new");
    p.token_cmd(p.s.cmd())
        .args(["csr", "new", "--key", &p.uri("svc.new"), "--cn", "svc"])
        .args(["--pin-file", "pin.txt", "--out", "new.csr"])
        .assert()
        .success();
    let v = json_ok(p.token_cmd(cli(&p.s, &p.emu, AuthMode::Signature)).args([
        "--json",
        "credential",
        "create",
        "--csr",
        "new.csr",
        "--name",
        "svc",
        "--root",
    ]));
    let leftover_id = v["credential"]["id"].as_str().unwrap().to_owned();

    let out = p.renew(&["--force"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(&leftover_id) && err.contains("interrupted"),
        "{err}"
    );
    let live = p.live();
    assert_eq!(live.len(), 1, "{live:?}");
    assert!(
        !live.contains(&leftover_id),
        "the leftover's credential is revoked"
    );
    assert!(!p.keys().contains_key("svc.new"));
    assert!(p.works());
}

#[test]
fn an_earlier_backup_key_is_refused_unless_forced_and_then_kept() {
    let Some(p) = TokenPair::new() else { return };
    p.key_new("svc.bak");
    let earlier = p.keys()["svc.bak"].clone();
    let count = p.emu.credentials().len();

    // Due (30 days, all of them left) by --before: only --force accepts the backup label.
    let out = p.renew(&["--before", "30"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("already holds a key labelled svc.bak") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(p.emu.credentials().len(), count, "nothing created");

    let out = p.renew(&["--force"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let keys = p.keys();
    let backups: Vec<&String> = keys["svc.bak"].iter().map(|k| &k.0).collect();
    assert_eq!(backups.len(), 2, "{keys:?}");
    assert!(
        backups.contains(&&earlier[0].0),
        "the earlier backup is kept"
    );
    assert!(p.works());
    // Two keys share svc.bak now: that URI is ambiguous, but svc names exactly one.
    assert_eq!(keys["svc"].len(), 1);
}

#[test]
fn bad_key_arguments_are_refused_before_anything_is_created() {
    let Some(p) = TokenPair::new() else { return };
    p.s.key("other.key", "ecdsa-p256");
    let out = cli(&p.s, &p.emu, AuthMode::Signature)
        .args([
            "credential",
            "renew",
            "--cert",
            "svc.cert",
            "--key",
            "other.key",
            "--pin-file",
            "pin.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("--pkcs11-module and --pin-file apply to --key pkcs11:URI"),
        "{}",
        stderr_of(&out)
    );

    // Another key of the token: refused before anything is made, and the PIN given in the URI
    // is not repeated in the error.
    p.key_new("other");
    let count = p.emu.credentials().len();
    let out = p
        .token_cmd(cli(&p.s, &p.emu, AuthMode::Signature))
        .args(["credential", "renew", "--force", "--cert", "svc.cert"])
        .args([
            "--key",
            &format!("pkcs11:token={TOKEN};object=other?pin-value={PIN}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!(
            "pkcs11:token={TOKEN};object=other is not the key of svc.cert"
        )),
        "{err}"
    );
    assert!(!err.contains(PIN), "the PIN was printed: {err}");
    assert_eq!(p.emu.credentials().len(), count, "nothing created");
    assert!(!p.keys().contains_key("other.new"));

    // A URI that names the key by id= would not name the renewed key.
    let out = p
        .token_cmd(cli(&p.s, &p.emu, AuthMode::Signature))
        .args(["credential", "renew", "--force", "--cert", "svc.cert"])
        .args(["--key", &format!("pkcs11:token={TOKEN};object=svc;id=%01")])
        .args(["--pin-file", "pin.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("names the key by id="),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn algorithm_changes_the_new_token_key_and_the_proof_signs_with_it() {
    let Some(p) = TokenPair::new() else { return };
    let out = p.renew(&["--force", "--algorithm", "rsa-2048"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = json_ok(
        p.token_cmd(p.s.cmd())
            .args(["--json", "key", "show"])
            .arg(p.uri("svc"))
            .args(["--pin-file", "pin.txt"]),
    );
    assert_eq!(v["algorithm"], "rsa-2048", "{v}");
    assert_eq!(
        v["public_key_sha256"].as_str().unwrap(),
        fingerprint(&p.s, "cert", "svc.cert")
    );
    assert!(p.works());
}

#[test]
fn the_backup_key_of_a_revoked_credential_gives_way_to_the_next_renewal() {
    let Some(p) = TokenPair::new() else { return };
    let original_fp = fingerprint(&p.s, "cert", "svc.cert");
    // As a timer runs it: due by --before, no --force.
    let out = p.renew(&["--before", "30"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let first_fp = fingerprint(&p.s, "cert", "svc.cert");
    assert_eq!(p.keys()["svc.bak"], [(original_fp.clone(), true, false)]);

    // The first renewal revoked the original credential, so its key in svc.bak is nobody's.
    let out = p.renew(&["--before", "30"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("removed the previous backup key svc.bak"),
        "{err}"
    );
    let keys = p.keys();
    assert_eq!(
        keys["svc.bak"],
        [(first_fp, true, false)],
        "svc.bak now holds the first renewal's key, and only it: {keys:?}"
    );
    assert!(
        !keys.values().flatten().any(|k| k.0 == original_fp),
        "the original key is gone: {keys:?}"
    );
    assert!(p.works());
    assert_eq!(p.live().len(), 1);
}

#[test]
fn the_backup_key_of_a_live_credential_stays() {
    let Some(p) = TokenPair::new() else { return };
    let original_fp = fingerprint(&p.s, "cert", "svc.cert");
    let out = p.renew(&["--before", "30", "--keep-old"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let count = p.emu.credentials().len();
    // The original credential is still live: its key must not be touched.
    let out = p.renew(&["--before", "30"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert_eq!(p.keys()["svc.bak"], [(original_fp, true, false)]);
    assert_eq!(p.emu.credentials().len(), count, "nothing created");
}

#[test]
fn a_pin_typed_at_the_terminal_is_asked_once() {
    let Some(p) = TokenPair::new() else { return };
    if !common::have_script("the PIN prompt of a token renewal") {
        return;
    }
    let info = p.emu.info();
    let okms_id = info.okms_id.to_string();
    let env: Vec<(&str, Option<&std::ffi::OsStr>)> = vec![
        ("SOFTHSM2_CONF", Some(p.conf.as_os_str())),
        ("OKMS_PKCS11_MODULE", Some(p.module.as_os_str())),
        ("OVH_ENDPOINT", Some(info.api_url.as_ref())),
        ("OKMS_ID", Some(okms_id.as_ref())),
        ("OKMS_CA_FILE", Some(info.ca_file.as_os_str())),
        ("OVH_APPLICATION_KEY", Some(info.application_key.as_ref())),
        (
            "OVH_APPLICATION_SECRET",
            Some(info.application_secret.as_ref()),
        ),
        ("OVH_CONSUMER_KEY", Some(info.consumer_key.as_ref())),
    ];
    let args = format!(
        "credential renew --force --cert svc.cert --key '{}'",
        p.uri("svc")
    );
    let (code, text) = common::on_tty(p.s.dir.path(), &args, &format!("{PIN}\n"), &env);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(text.matches("User PIN for token").count(), 1, "{text}");
    assert!(p.works());
}
