//! Helpers for the online tests: an in-process okms-emulator and commands wired to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::time::Duration;

use assert_cmd::Command;
use okms_emulator::{EmulatorConfig, RunningEmulator};

use crate::common::Sandbox;

/// How the CLI authenticates against the emulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// Application key + secret + consumer key (`$1$` signatures).
    Signature,
    /// OAuth2 client credentials (service account).
    OAuth2,
}

/// An emulator with short delays, for tests.
pub fn emulator() -> RunningEmulator {
    emulator_with(|_| {})
}

/// An emulator with short delays, adjusted by `f`.
pub fn emulator_with(f: impl FnOnce(&mut EmulatorConfig)) -> RunningEmulator {
    let mut config = EmulatorConfig {
        ready_delay: Duration::from_millis(200),
        delete_delay: Duration::from_millis(200),
        ..EmulatorConfig::default()
    };
    f(&mut config);
    RunningEmulator::spawn_in_thread(config).unwrap()
}

/// The CLI in the sandbox, configured for `emu` through OVH_* variables and OKMS_ID, with no
/// ovh.conf of the machine or the user in the way.
pub fn cli(s: &Sandbox, emu: &RunningEmulator, mode: AuthMode) -> Command {
    let mut c = s.cmd();
    bare_env(&mut c, s);
    let info = emu.info();
    c.env("OVH_ENDPOINT", &info.api_url)
        .env("OKMS_ID", info.okms_id.to_string())
        .env("OKMS_CA_FILE", &info.ca_file);
    match mode {
        AuthMode::Signature => {
            c.env("OVH_APPLICATION_KEY", &info.application_key)
                .env("OVH_APPLICATION_SECRET", &info.application_secret)
                .env("OVH_CONSUMER_KEY", &info.consumer_key);
        }
        AuthMode::OAuth2 => {
            c.env("OVH_CLIENT_ID", &info.client_id)
                .env("OVH_CLIENT_SECRET", &info.client_secret);
        }
    }
    c
}

/// Removes every OVH_*/OKMS_* variable and points HOME at the sandbox.
pub fn bare_env(c: &mut Command, s: &Sandbox) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("OVH_") || k.starts_with("OKMS_") {
            c.env_remove(k);
        }
    }
    c.env("HOME", s.dir.path());
}

/// Runs and parses stdout as JSON, asserting success.
pub fn json_ok(c: &mut Command) -> serde_json::Value {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "command failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The public-key fingerprint of a key or certificate file, through the CLI.
pub fn fingerprint(s: &Sandbox, what: &str, path: &str) -> String {
    let v = json_ok(s.cmd().args(["--json", what, "show", path]));
    v["public_key_sha256"].as_str().unwrap().to_owned()
}

/// The CLI binary started (not waited for) in the sandbox, configured for `emu` as [`cli`]
/// configures it, with stdout and stderr piped: for tests that signal or kill it mid-run.
pub fn spawn(s: &Sandbox, emu: &RunningEmulator, args: &[&str]) -> std::process::Child {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_okms-cli"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("OVH_") || k.starts_with("OKMS_") {
            cmd.env_remove(k);
        }
    }
    let info = emu.info();
    cmd.current_dir(s.dir.path())
        .env("HOME", s.dir.path())
        .env("OVH_ENDPOINT", &info.api_url)
        .env("OVH_APPLICATION_KEY", &info.application_key)
        .env("OVH_APPLICATION_SECRET", &info.application_secret)
        .env("OVH_CONSUMER_KEY", &info.consumer_key)
        .env("OKMS_CA_FILE", &info.ca_file)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` (`TERM`, `INT`, `KILL`) to `child`.
pub fn send_signal(child: &std::process::Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// `credential create` of the 30-day root credential `svc` from `svc.csr`, written to
/// `svc.cert` (`--json`): the deployed pair the renewal and CA tests start from.
pub const CREATE_SVC: &[&str] = &[
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
];
