//! Every `okms-cli` command in the top README's shell blocks and its "Every command" table runs
//! as printed: the offline ones for real, the online ones against okms-emulator (the API
//! settings mapped through `OVH_*`, `OKMS_ID` and `OKMS_CA_FILE`; nothing reaches the internet).
//!
//! Each command runs in a fresh directory holding what the README's earlier steps made (a key,
//! its CSR, a request, a certificate the emulator issued for the key), minus the files the
//! command writes. What cannot be literal is substituted, and only that: placeholders (`ID`,
//! `<POLICY_ID>`), the public KMS URL and CA file of the no-credentials example, a system path
//! for the Prometheus file, the reload hook, and `--yes` where the README says a script needs
//! it (a prompt has no terminal here). `P12_PASS`, which the PKCS#12 commands read, is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::path::Path;

use common::{Sandbox, stderr_of};
use online_common::{AuthMode, cli, emulator, json_ok};

const README: &str = include_str!("../../../README.md");

/// The passphrase the README's PKCS#12 commands read from `P12_PASS`.
const P12_PASS: &str = "readme-p12-passphrase-Wq3";

/// The `okms-cli` command lines of the README: shell-block lines (continuations joined,
/// comments dropped) and the table's backticked commands (but `...` elisions).
fn readme_commands() -> Vec<String> {
    let mut commands: Vec<String> = okms_test_support::markdown::shell_commands(README)
        .into_iter()
        .map(|c| c.line)
        .filter(|line| line.starts_with("okms-cli "))
        .collect();
    for line in README.lines().filter(|l| l.starts_with('|')) {
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 && span.starts_with("okms-cli ") && !span.contains("...") {
                commands.push(span.to_owned());
            }
        }
    }
    commands
}

/// Words of a command line as `sh` splits these simple ones (single quotes only).
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in command.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// The files a command writes (after `--out`, `--key-out`, `--cert-out`, `--p12`): removed from its
/// directory, since nothing is written over an existing file.
fn outputs(args: &[String]) -> Vec<String> {
    args.windows(2)
        .filter(|w| {
            matches!(
                w[0].as_str(),
                "--out" | "--key-out" | "--cert-out" | "--p12"
            )
        })
        .map(|w| w[1].clone())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let dest = to.join(entry.file_name());
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

#[test]
fn every_readme_command_runs_as_printed() {
    let commands = readme_commands();
    for needed in [
        "okms-cli request new --csr client.csr --name my-app --root --nic xx1111-ovh --region eu --out request.json",
        "okms-cli credential check --cert client.cert --key domain.key --kms-url",
        "okms-cli domain ca --out okms-ca.pem",
        "okms-cli cert export --p12 client.p12 --cert client.cert --key domain.key --ca okms-ca.pem",
        "okms-cli credential check --cert client.cert --key client.p12",
        "okms-cli credential check --cert client.cert --key domain.key --kmip",
        "okms-cli credential create --csr client.csr --name my-app --root --require-csr",
    ] {
        assert!(
            commands.iter().any(|c| c.starts_with(needed)),
            "the README lost {needed:?}"
        );
    }
    let emu = emulator();
    let info = emu.info();
    // What the README's earlier steps leave: a key, its CSR, a request and a certificate.
    let fixtures = Sandbox::new();
    fixtures.key_and_csr("domain.key", "client.csr", "ecdsa-p256");
    let created = json_ok(
        cli(&fixtures, &emu, AuthMode::Signature)
            .args([
                "--json",
                "credential",
                "create",
                "--name",
                "my-app",
                "--root",
            ])
            .args(["--csr", "client.csr", "--cert-out", "client.cert"]),
    );
    let credential_id = created["credential"]["id"].as_str().unwrap().to_owned();
    // `credential delete ID` revokes another one: the others keep using `client.cert`.
    let spare = json_ok(
        cli(&fixtures, &emu, AuthMode::Signature)
            .args([
                "--json",
                "credential",
                "create",
                "--name",
                "spare",
                "--root",
            ])
            .args(["--csr", "client.csr", "--no-wait"]),
    );
    let spare_id = spare["credential"]["id"].as_str().unwrap().to_owned();
    fixtures
        .cmd()
        .args(["request", "new", "--csr", "client.csr", "--name", "my-app"])
        .args(["--identity", "urn:v1:eu:identity:account:xx1111-ovh"])
        .args(["--out", "request.json"])
        .assert()
        .success();
    let cert = fixtures.read_string("client.cert");
    fixtures.write(
        "answer.json",
        serde_json::json!({ "certificatePEM": cert }).to_string(),
    );
    fixtures.write("kms-ca.pem", &info.ca_pem);
    // What `domain ca --out okms-ca.pem` and `cert export --p12 client.p12` write.
    fixtures.write("okms-ca.pem", &info.ca_pem);
    fixtures
        .cmd()
        .env("P12_PASS", P12_PASS)
        .args([
            "cert",
            "export",
            "--p12",
            "client.p12",
            "--cert",
            "client.cert",
        ])
        .args(["--key", "domain.key", "--ca", "okms-ca.pem"])
        .args(["--passphrase-env", "P12_PASS"])
        .assert()
        .success();
    // A policy, for `iam revoke <POLICY_ID>`.
    cli(&fixtures, &emu, AuthMode::Signature)
        .args(["iam", "grant", "--user", "alice", "--preset", "kms-read"])
        .assert()
        .success();
    // The id of a policy in force now (an earlier `iam revoke` may have removed one).
    let policy_id = || {
        let listed =
            json_ok(cli(&fixtures, &emu, AuthMode::Signature).args(["--json", "iam", "list"]));
        listed["policies"][0]["id"].as_str().unwrap().to_owned()
    };

    let mut ran = 0;
    for command in &commands {
        let mut args: Vec<String> = words(command).into_iter().skip(1).collect();
        for a in &mut args {
            *a = match a.as_str() {
                "ID" if args_names_domain(command) => info.okms_id.to_string(),
                "ID" if command.contains("credential delete") => spare_id.clone(),
                "ID" => credential_id.clone(),
                "<POLICY_ID>" | "POLICY_ID" => policy_id(),
                "https://eu-west-rbx.okms.ovh.net" => info.kms_url.clone(),
                "/var/lib/node_exporter/textfile/okms.prom" => "okms.prom".to_owned(),
                _ => a.clone(),
            };
        }
        if let Some(i) = args.iter().position(|a| a == "--exec") {
            args.truncate(i);
            args.extend(["--exec".to_owned(), "/bin/true".to_owned()]);
        }
        let asks = command.contains("credential delete") || command.contains("iam revoke");
        if asks {
            args.push("--yes".to_owned());
        }
        let s = Sandbox::new();
        copy_dir(fixtures.dir.path(), s.dir.path());
        for written in outputs(&args) {
            let _ = std::fs::remove_file(s.path(&written));
        }
        let out = cli(&s, &emu, AuthMode::Signature)
            .env("P12_PASS", P12_PASS)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README command failed ({:?}): {command}\n{}",
            out.status,
            stderr_of(&out)
        );
        ran += 1;
        // The no-credentials example must need none: run it again with no OVH_* at all.
        if command.contains("--kms-url") {
            let mut bare = s.cmd();
            online_common::bare_env(&mut bare, &s);
            let out = bare.args(&args).output().unwrap();
            assert!(
                out.status.success(),
                "without API credentials: {command}\n{}",
                stderr_of(&out)
            );
        }
    }
    assert!(ran >= 30, "only {ran} README commands found");
}

/// Whether the `ID` in `command` is a domain's (`domain show ID`) rather than a credential's.
fn args_names_domain(command: &str) -> bool {
    command.contains("domain show")
}
