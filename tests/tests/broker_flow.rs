//! Issue 22 end to end: a host that holds no API credential renews its access certificate
//! through `okms-broker`, with the README's own command line, and its new pair works; a policy
//! file with a mistake is refused at start, naming its line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod broker_common;
mod common;

use std::time::Duration;

use broker_common::{Fleet, STEP_LIMIT, openssl, policy_yaml};
use common::{emulator, run_bounded};
use okms_emulator::CredentialPhase;

const README: &str = include_str!("../../README.md");

/// The host's command of the README's "Renewing a fleet", words split as a shell would.
fn readme_host_command() -> Vec<String> {
    let text = README
        .split("## Renewing a fleet")
        .nth(1)
        .expect("the README has a \"Renewing a fleet\" section");
    let start = text
        .find("okms-cli credential renew --broker")
        .expect("the section shows the host's command");
    let mut line = String::new();
    for part in text[start..].lines() {
        let (code, continued) = match part.trim_end().strip_suffix('\\') {
            Some(code) => (code, true),
            None => (part, false),
        };
        line.push_str(code.trim());
        line.push(' ');
        if !continued {
            break;
        }
    }
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn a_host_with_no_api_credential_renews_through_the_broker_and_its_new_pair_works() {
    let Some(openssl) = openssl("the broker's end-to-end tests") else {
        return;
    };
    let mut fleet = Fleet::new(openssl, emulator(), |id| {
        policy_yaml(id, &["web-*"], "    validity_days: 30\n")
    });
    fleet.start_broker();
    let host = fleet.new_host("web-17");
    let old_id = host.credential_id();
    let old_cert = host.cert_pem();

    // The README's line, with this test's broker and paths for its placeholders.
    let words = readme_host_command();
    assert_eq!(words[..4], ["okms-cli", "credential", "renew", "--broker"]);
    let mut command = fleet.host_cli(&host);
    for word in &words[1..] {
        let word = word
            .replace("https://broker.example:8443", &fleet.brokers[0].url())
            .replace("broker-ca.pem", fleet.broker_ca().to_str().unwrap())
            .replace("/etc/okms-cli/", "");
        command.arg(word);
    }
    command.arg("--force");
    let renewed = run_bounded(&mut command, STEP_LIMIT);
    assert!(
        renewed.success(),
        "renew through the broker failed: {renewed:?}\nbroker:\n{}",
        fleet.brokers[0].stderr()
    );

    assert_ne!(host.cert_pem(), old_cert, "a new certificate is deployed");
    assert!(host.dir.join("client.cert.bak").exists());
    assert!(host.dir.join("domain.key.bak").exists());
    fleet.assert_settled(&host);
    let new_id = host.credential_id();
    let credentials = fleet.emulator.credentials();
    let new = credentials
        .iter()
        .find(|c| c.id.to_string() == new_id)
        .unwrap();
    let old = credentials
        .iter()
        .find(|c| c.id.to_string() == old_id)
        .unwrap();
    assert_eq!(new.name, "web-17", "the successor keeps the name");
    assert_eq!(new.identity_urns, old.identity_urns, "and the identities");
    assert_eq!(new.description, old.description, "and the description");
    assert!(
        (new.expired_at - new.created_at - time::Duration::days(30)).abs()
            < time::Duration::hours(1),
        "the policy's validity_days"
    );
    assert!(
        !matches!(
            old.phase,
            CredentialPhase::Ready | CredentialPhase::Creating
        ),
        "the confirm revoked the previous credential"
    );

    // The audit log: one line per request, the ids, and never a key or a CSR.
    let audit = fleet.brokers[0].audit();
    assert!(
        audit.iter().any(|l| l.to_string().contains(&new_id)),
        "the audit log names the new credential: {audit:?}"
    );
    let text = std::fs::read_to_string(&fleet.brokers[0].audit_log).unwrap();
    for secret in [
        "PRIVATE KEY",
        "CERTIFICATE REQUEST",
        &fleet.emulator.info().application_secret,
    ] {
        assert!(!text.contains(secret), "the audit log holds {secret:?}");
    }
    assert!(
        !fleet.brokers[0]
            .stderr()
            .contains(&fleet.emulator.info().application_secret)
    );
}

#[test]
fn a_bad_policy_is_refused_at_start_naming_its_line() {
    let Some(openssl) = broker_common::openssl_broker_only("the broker's policy check") else {
        return;
    };
    for (policy, line, words) in [
        (
            "version: 1\ndomains:\n  - okms_id: 00000000-0000-0000-0000-000000000000\n    credentials: [\"web-*\"]\n    colour: blue\n",
            5,
            "colour",
        ),
        (
            "version: 1\ndomains:\n  - okms_id: 00000000-0000-0000-0000-000000000000\n    credentials: [\"web-**\"]\n",
            4,
            "web-**",
        ),
        (
            "version: 1\ndomains:\n  - okms_id: 00000000-0000-0000-0000-000000000000\n    credentials: [\"web-*\"]\n    grace: soon\n",
            5,
            "grace",
        ),
    ] {
        let fleet = Fleet::new(openssl, emulator(), |_| policy.to_owned());
        let audit = fleet.path().join("audit.jsonl");
        let ran = run_bounded(
            &mut fleet.broker_command(broker_common::free_port(), &audit),
            Duration::from_secs(60),
        );
        assert!(
            !ran.success() && !ran.timed_out,
            "a bad policy must stop the broker: {ran:?}"
        );
        assert!(
            ran.stderr.contains(&format!("line {line}")) && ran.stderr.contains(words),
            "the error names line {line} and {words:?}: {}",
            ran.stderr
        );
        assert!(fleet.emulator.credentials().is_empty());
    }
}
