//! PCI-DSS domains: `domain show` says so, and a key made by OVHcloud (no CSR) is warned
//! about, or refused with `--require-csr` before anything is created.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use common::{Sandbox, stderr_of, stdout_of};
use okms_emulator::RunningEmulator;
use online_common::{AuthMode, cli, emulator, emulator_with};

fn pci_emulator() -> RunningEmulator {
    let id = okms_api::Uuid::parse_str("0b5bc7d9-2f0e-4b1e-9c4e-1d6f3a2b9c8d").unwrap();
    emulator_with(|c| {
        c.okms_id = Some(id);
        c.pci_dss_domains = vec![id];
    })
}

fn create_generated(s: &Sandbox, emu: &RunningEmulator, extra: &[&str]) -> std::process::Output {
    cli(s, emu, AuthMode::Signature)
        .args([
            "credential",
            "create",
            "--name",
            "g",
            "--root",
            "--key-out",
            "g.key",
            "--cert-out",
            "g.cert",
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn domain_show_prints_pci_dss_when_the_api_gives_it() {
    let emu = pci_emulator();
    let s = Sandbox::new();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["domain", "show", &emu.okms_id().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("PCI-DSS"), "{}", stdout_of(&out));

    let plain = emulator();
    let out = cli(&s, &plain, AuthMode::Signature)
        .args(["domain", "show", &plain.okms_id().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        !stdout_of(&out).contains("PCI-DSS"),
        "absent is not printed"
    );
}

#[test]
fn a_generated_key_on_a_pci_domain_is_warned_about_or_refused() {
    let emu = pci_emulator();
    let s = Sandbox::new();
    let refused = create_generated(&s, &emu, &["--require-csr"]);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr_of(&refused));
    assert!(
        stderr_of(&refused).contains("PCI-DSS"),
        "{}",
        stderr_of(&refused)
    );
    assert!(!s.exists("g.key") && !s.exists("g.cert"));
    assert!(emu.credentials().is_empty(), "nothing was created");

    let warned = create_generated(&s, &emu, &[]);
    assert!(warned.status.success(), "{}", stderr_of(&warned));
    assert!(
        stderr_of(&warned).contains("not covered by PCI-DSS"),
        "{}",
        stderr_of(&warned)
    );

    // No warning on a domain that is not PCI-DSS enabled.
    let plain = emulator();
    let s = Sandbox::new();
    let quiet = create_generated(&s, &plain, &["--require-csr"]);
    assert!(quiet.status.success(), "{}", stderr_of(&quiet));
    assert!(!stderr_of(&quiet).contains("PCI-DSS"));
}
