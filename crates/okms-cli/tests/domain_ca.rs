//! The domain's CA: `domain ca` writes what the API gives (openssl verifies the emulator's KMS
//! server certificate with it), and every mutual-TLS connection trusts it with no `--ca`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use assert_cmd::Command;
use common::{Sandbox, stderr_of};
use okms_emulator::RunningEmulator;
use online_common::{AuthMode, CREATE_SVC, cli, emulator, json_ok};

/// The CLI wired to `emu` as a new user would have it: API credentials, no CA file.
fn cli_without_ca(s: &Sandbox, emu: &RunningEmulator) -> Command {
    let mut c = cli(s, emu, AuthMode::Signature);
    c.env_remove("OKMS_CA_FILE");
    c
}

/// A READY credential deployed as `svc.cert`/`svc.key`.
fn deployed(s: &Sandbox, emu: &RunningEmulator) {
    s.key_and_csr("svc.key", "svc.csr", "ecdsa-p256");
    json_ok(cli_without_ca(s, emu).args(CREATE_SVC));
}

#[test]
fn domain_ca_verifies_the_kms_server_certificate_with_openssl() {
    let Some(openssl) = okms_test_support::interop::openssl("okms-cli domain ca") else {
        return;
    };
    let emu = emulator();
    let s = Sandbox::new();
    let out = cli_without_ca(&s, &emu)
        .args(["domain", "ca", "--out", "ca.pem"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(s.read_string("ca.pem"), emu.info().ca_pem);
    assert_eq!(s.mode("ca.pem") & 0o022, 0, "not writable by others");

    let connect = emu.info().kms_addr.to_string();
    let shown = openssl.output(
        s.dir.path(),
        &[
            "s_client",
            "-connect",
            &connect,
            "-CAfile",
            "ca.pem",
            "-verify_return_error",
            "-showcerts",
        ],
    );
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("Verify return code: 0 (ok)"),
        "openssl did not verify the KMS with the domain's CA: {text}\n{}",
        String::from_utf8_lossy(&shown.stderr)
    );

    // Standard output and the RSA endpoint's CA (the emulator has one CA for both).
    let stdout = cli_without_ca(&s, &emu)
        .args(["domain", "ca", "--rsa"])
        .output()
        .unwrap();
    assert!(stdout.status.success(), "{}", stderr_of(&stdout));
    assert_eq!(String::from_utf8(stdout.stdout).unwrap(), emu.info().ca_pem);
}

#[test]
fn domain_ca_never_writes_over_a_file_without_force() {
    let emu = emulator();
    let s = Sandbox::new();
    s.write("ca.pem", "mine\n");
    let out = cli_without_ca(&s, &emu)
        .args(["domain", "ca", "--out", "ca.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert_eq!(s.read_string("ca.pem"), "mine\n");
    let v = json_ok(
        cli_without_ca(&s, &emu).args(["--json", "domain", "ca", "--out", "ca.pem", "--force"]),
    );
    assert_eq!(v["field"], "publicCA");
    assert_eq!(v["certificates"], 1);
    assert_eq!(s.read_string("ca.pem"), emu.info().ca_pem);
}

#[test]
fn check_and_renewal_trust_the_domains_ca_with_no_ca_file() {
    let emu = emulator();
    let s = Sandbox::new();
    deployed(&s, &emu);
    let check = cli_without_ca(&s, &emu)
        .args([
            "credential",
            "check",
            "--cert",
            "svc.cert",
            "--key",
            "svc.key",
        ])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr_of(&check));
    // A timer set up from the README: no --ca, no OKMS_CA_FILE.
    let renew = cli_without_ca(&s, &emu)
        .args([
            "credential",
            "renew",
            "--cert",
            "svc.cert",
            "--key",
            "svc.key",
            "--force",
        ])
        .output()
        .unwrap();
    assert!(
        renew.status.success(),
        "renewal without --ca failed: {}",
        stderr_of(&renew)
    );
}
