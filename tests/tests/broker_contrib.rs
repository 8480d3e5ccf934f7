//! The broker's systemd unit in contrib/: the sandbox issue 22 asks for, the secrets read only
//! through systemd credentials, and, where systemd-analyze exists, a unit systemd accepts with
//! no warning and a low exposure score.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn contrib(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contrib")
        .join(file)
}

fn unit_text() -> String {
    std::fs::read_to_string(contrib("okms-broker.service")).unwrap()
}

/// `key=value` lines of the unit (comments left out), in order.
fn directives(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn value<'a>(directives: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    directives
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn the_unit_sandboxes_the_broker() {
    let text = unit_text();
    let d = directives(&text);
    for (key, expected) in [
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("MemoryDenyWriteExecute", "yes"),
        ("UMask", "0077"),
    ] {
        assert_eq!(value(&d, key), [expected], "{key}= in the unit");
    }
    assert!(
        value(&d, "SystemCallFilter").contains(&"@system-service"),
        "SystemCallFilter=@system-service"
    );
}

#[test]
fn secrets_reach_the_broker_only_as_systemd_credentials() {
    let d = directives(&unit_text());
    let credentials = value(&d, "LoadCredential");
    assert!(
        credentials.contains(&"tls.key:/etc/okms-broker/tls.key"),
        "{credentials:?}"
    );
    assert!(
        credentials.contains(&"ovh.conf:/etc/okms-broker/ovh.conf"),
        "{credentials:?}"
    );
    let exec = value(&d, "ExecStart");
    let exec = exec.first().expect("an ExecStart= line");
    assert!(exec.starts_with("/usr/bin/okms-broker serve "), "{exec}");
    for flag in [
        "--tls-key ${CREDENTIALS_DIRECTORY}/tls.key",
        "--config ${CREDENTIALS_DIRECTORY}/ovh.conf",
        "--policy /etc/okms-broker/policy.yaml",
        "--tls-cert /etc/okms-broker/tls.crt",
        "--listen ",
        "--audit-log /var/log/okms-broker/",
    ] {
        assert!(exec.contains(flag), "ExecStart lacks {flag:?}: {exec}");
    }
    // Nothing else of the broker's is writable: the audit log directory is systemd's.
    assert_eq!(value(&d, "LogsDirectory"), ["okms-broker"]);
    assert!(value(&d, "ReadWritePaths").is_empty());
    assert!(value(&d, "Environment").iter().all(|e| !e.contains("OVH_")));
    assert_eq!(value(&d, "ExecReload"), ["/bin/kill -HUP $MAINPID"]);
}

#[test]
fn systemd_accepts_the_unit_without_warnings_and_rates_it_well_sandboxed() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        okms_test_support::skip_or_fail(
            "systemd-analyze is not installed; install it with `apt-get install systemd` to \
             check contrib/okms-broker.service",
            "OKMS_REQUIRE_ALL",
        );
        return;
    };
    assert!(version.status.success());
    // `verify` wants ExecStart's program to exist: any executable stands in for the broker.
    let dir = tempfile::tempdir().unwrap();
    let stand_in = std::env::current_exe().unwrap();
    let unit = dir.path().join("okms-broker.service");
    std::fs::write(
        &unit,
        unit_text().replace("/usr/bin/okms-broker", stand_in.to_str().unwrap()),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&verify.stderr);
    // An unknown or misspelt directive is only a warning (exit 0): any output fails too.
    assert!(
        verify.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {}\n{stderr}",
        verify.status
    );
    // Exposure 0 (locked down) to 10 (unsandboxed); --threshold is in tenths.
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20"])
        .arg(&unit)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let overall = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_default();
    assert!(
        security.status.success(),
        "systemd-analyze security rates the unit above 2.0: {overall}\n{report}"
    );
}

#[test]
fn the_example_policy_is_one_the_broker_accepts() {
    use okms_broker::policy::Policy;
    let path = contrib("okms-broker.yaml");
    let policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let [domain] = policy.domains.as_slice() else {
        panic!("one domain in the example: {policy:?}");
    };
    assert!(domain.allows("web-17") && domain.allows("db-1") && !domain.allows("db-2"));
    assert_eq!(domain.validity_days, Some(90));
    assert_eq!(domain.renew_before_days, Some(30));
    assert_eq!(domain.grace, std::time::Duration::from_secs(24 * 3600));
    assert_eq!(
        domain.min_renew_interval,
        std::time::Duration::from_secs(3600)
    );
    let algorithms: Vec<&str> = domain.key_algorithms.iter().map(|a| a.as_str()).collect();
    assert_eq!(algorithms, ["ecdsa-p256", "ecdsa-p384", "rsa-3072"]);
    // The unit's reload and the README's set-up name the same file.
    assert!(unit_text().contains("--policy /etc/okms-broker/policy.yaml"));
}
