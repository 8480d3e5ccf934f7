//! The first seconds after READY: the emulator's KMS refuses a new certificate (401) for 5 s,
//! as a node the certificate has not reached yet would; `credential check` and the renewal's
//! proof wait it out and say so, and with `--propagation-wait 0` the proof fails and the
//! renewal is undone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::time::Duration;

use common::{Sandbox, stderr_of};
use okms_emulator::{CredentialPhase, RunningEmulator};
use online_common::{AuthMode, CREATE_SVC, cli, emulator_with, json_ok};

const WAITING: &str = "the KMS does not accept the certificate yet";

fn slow_kms() -> RunningEmulator {
    emulator_with(|c| c.kms_propagation = Duration::from_millis(5000))
}

/// Creates the pair `svc.cert`/`svc.key`; returns its credential id.
fn created(s: &Sandbox, emu: &RunningEmulator) -> String {
    s.key_and_csr("svc.key", "svc.csr", "ecdsa-p256");
    let v = json_ok(cli(s, emu, AuthMode::Signature).args(CREATE_SVC));
    v["credential"]["id"].as_str().unwrap().to_owned()
}

fn run(s: &Sandbox, emu: &RunningEmulator, args: &[&str]) -> std::process::Output {
    cli(s, emu, AuthMode::Signature)
        .args(["credential"])
        .args(args)
        .args(["--cert", "svc.cert", "--key", "svc.key"])
        .output()
        .unwrap()
}

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

#[test]
fn a_check_right_after_create_and_a_renewal_wait_for_the_kms_to_accept_the_certificate() {
    let emu = slow_kms();
    let s = Sandbox::new();
    let old_id = created(&s, &emu);
    let check = run(&s, &emu, &["check"]);
    assert!(check.status.success(), "{}", stderr_of(&check));
    assert!(stderr_of(&check).contains(WAITING), "{}", stderr_of(&check));

    let renewal = run(&s, &emu, &["renew", "--force"]);
    let err = stderr_of(&renewal);
    assert!(renewal.status.success(), "{err}");
    assert!(err.contains(WAITING), "{err}");
    assert!(err.contains("for up to 60 s"), "{err}");
    let live = live(&emu);
    assert_eq!(live.len(), 1, "{live:?}");
    assert_ne!(live[0], old_id, "the old credential is revoked");
    assert!(run(&s, &emu, &["check"]).status.success());
}

#[test]
fn without_the_wait_the_proof_fails_the_successor_is_revoked_and_the_old_pair_kept() {
    let emu = slow_kms();
    let s = Sandbox::new();
    let old_id = created(&s, &emu);
    std::thread::sleep(Duration::from_millis(5500));
    let before = s.snapshot();
    let renewal = run(&s, &emu, &["renew", "--force", "--propagation-wait", "0"]);
    let err = stderr_of(&renewal);
    assert!(!renewal.status.success(), "{err}");
    assert!(!err.contains(WAITING), "{err}");
    assert!(err.contains("was revoked and its key removed"), "{err}");
    assert_eq!(s.snapshot(), before);
    assert_eq!(live(&emu), [old_id]);
    let check = run(&s, &emu, &["check", "--propagation-wait", "0"]);
    assert!(check.status.success(), "{}", stderr_of(&check));
}
