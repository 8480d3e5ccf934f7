//! `credential check --kmip` against the emulator's KMIP endpoint: a pass that lists what the
//! server speaks, and the refusals a user meets, each explained (revoked certificate, a
//! certificate of another domain's CA, an endpoint that does not speak KMIP).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use common::{Sandbox, stderr_of, stdout_of};
use online_common::{AuthMode, cli, emulator, json_ok};

/// Creates a credential with a key made by OVHcloud; returns its id.
fn credential(s: &Sandbox, emu: &okms_emulator::RunningEmulator, stem: &str) -> String {
    let v = json_ok(cli(s, emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--name",
        stem,
        "--root",
        "--key-out",
        &format!("{stem}.key"),
        "--cert-out",
        &format!("{stem}.cert"),
    ]));
    v["credential"]["id"].as_str().unwrap().to_owned()
}

#[test]
fn passes_then_explains_a_revoked_certificate() {
    let emu = emulator();
    let s = Sandbox::new();
    let id = credential(&s, &emu, "a");
    let check = [
        "credential",
        "check",
        "--kmip",
        "--cert",
        "a.cert",
        "--key",
        "a.key",
    ];
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(check)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(text.contains(&emu.info().kmip_endpoint), "{text}");
    assert!(text.contains("1.4, 1.3, 1.2, 1.1, 1.0"), "{text}");
    assert!(text.contains("Discover Versions, Query, Create"), "{text}");
    assert!(text.contains("Symmetric Key"), "{text}");

    // With API access and no --ca, the domain's CA comes from the API.
    let out = cli(&s, &emu, AuthMode::Signature)
        .env_remove("OKMS_CA_FILE")
        .args(check)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));

    cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "delete", &id, "--yes"])
        .assert()
        .success();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(check)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("CertificateRevoked"), "{err}");
    assert!(err.contains("refused the TLS handshake"), "{err}");
    assert!(stdout_of(&out).is_empty());
}

#[test]
fn explains_a_foreign_certificate_and_an_endpoint_that_is_not_kmip() {
    let emu = emulator();
    let other = emulator();
    let s = Sandbox::new();
    credential(&s, &other, "foreign");
    // Another domain's certificate (another CA: another region) on this endpoint.
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "check", "--kmip"])
        .args(["--cert", "foreign.cert", "--key", "foreign.key"])
        .args(["--okms-id", &other.okms_id().to_string()])
        .args(["--kmip-endpoint", &emu.info().kmip_endpoint])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("another region or domain"), "{err}");

    // The REST endpoint answers HTTP, not TTLV: said so, without reading on.
    credential(&s, &emu, "mine");
    let rest = emu.kms_url().trim_start_matches("https://").to_owned();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "check", "--kmip"])
        .args(["--cert", "mine.cert", "--key", "mine.key"])
        .args(["--kmip-endpoint", &rest])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("did not answer in KMIP"), "{err}");
}

#[test]
fn waits_for_a_new_certificate_to_reach_the_kmip_node() {
    // The emulator refuses the new certificate's handshake for 3 s after READY, as a KMIP
    // node it has not reached yet would.
    let emu = online_common::emulator_with(|c| {
        c.kms_propagation = std::time::Duration::from_millis(3000);
    });
    let s = Sandbox::new();
    credential(&s, &emu, "new");
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "check", "--kmip"])
        .args(["--cert", "new.cert", "--key", "new.key"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("the KMS does not accept the certificate yet"),
        "{err}"
    );

    // Without the wait, the refusal is the answer.
    credential(&s, &emu, "newer");
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "check", "--kmip", "--propagation-wait", "0"])
        .args(["--cert", "newer.cert", "--key", "newer.key"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("refused the TLS handshake"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn the_domain_is_read_once_for_its_endpoint_and_its_ca() {
    use okms_emulator::{FaultKind, FaultSpec};
    let emu = emulator();
    let s = Sandbox::new();
    credential(&s, &emu, "a");
    s.key_and_csr("svc.key", "svc.csr", "ecdsa-p256");
    json_ok(cli(&s, &emu, AuthMode::Signature).args(online_common::CREATE_SVC));
    // A zero delay on the domain's route counts its reads.
    let count_reads = || {
        emu.set_faults(vec![
            FaultSpec::new(FaultKind::Latency(std::time::Duration::ZERO))
                .route(&format!("GET:/v2/okms/resource/{}", emu.okms_id()))
                .unwrap(),
        ]);
    };
    let reads = || -> u64 { emu.fault_counts().iter().map(|(_, n)| n).sum() };

    count_reads();
    let out = cli(&s, &emu, AuthMode::Signature)
        .env_remove("OKMS_CA_FILE")
        .args([
            "credential",
            "check",
            "--kmip",
            "--cert",
            "a.cert",
            "--key",
            "a.key",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(reads(), 1, "credential check --kmip");

    count_reads();
    let out = cli(&s, &emu, AuthMode::Signature)
        .env_remove("OKMS_CA_FILE")
        .args(["credential", "check", "--cert", "a.cert", "--key", "a.key"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(reads(), 1, "credential check");

    count_reads();
    let out = cli(&s, &emu, AuthMode::Signature)
        .env_remove("OKMS_CA_FILE")
        .args([
            "credential",
            "renew",
            "--force",
            "--cert",
            "svc.cert",
            "--key",
            "svc.key",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(reads(), 1, "credential renew");
}
