//! `credential renew --broker` against the emulator through an in-process okms-broker (its
//! HTTPS server over its engine): a host with no API credential (no ovh.conf, no OVH_*, HOME
//! an empty directory) renews a file key and a token key; the hook runs after the swap and
//! before the confirm; a refused proof leaves the old pair deployed and its successor
//! abandoned; a failed hook leaves the new pair unconfirmed and the next run confirms it; the
//! systemd unit in contrib/ runs it with OKMS_RENEW_FLAGS="--broker ..."; a deployed pair the
//! broker revoked unconfirmed gives way to the previous pair, which is then renewed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use common::{Sandbox, stderr_of, stdout_of};
use okms_api::broker::{BrokerUrl, read_renew_answer, renew_request};
use okms_api::{
    Auth, Client, ClientIdentity, Config, Endpoint, MtlsConnector, ReconcileOptions,
    ReqwestConnector, ReqwestTransport, SecretString, TokioClock, Transport, WaitPolicy,
};
use okms_broker::audit::AuditLog;
use okms_broker::engine::{Engine, EngineOptions};
use okms_broker::policy::Policy;
use okms_broker::server::{ServeOptions, Server, ServerIdentity};
use okms_csr::{Certificate, CsrBuilder, ExposeSecret as _, KeyAlgorithm, KeyFormat, PrivateKey};
use okms_emulator::{CredentialPhase, RunningEmulator};
use okms_test_support::{PIN, TOKEN};
use online_common::{AuthMode, cli, emulator, json_ok};

/// The broker's answer for a successor is only made once it is READY; the emulator's delays
/// are short, so a run takes seconds.
struct Rig {
    emu: RunningEmulator,
    s: Sandbox,
    /// The broker's base URL.
    url: String,
    /// Where the test wrote the CA of the broker's TLS certificate.
    broker_ca: PathBuf,
    /// An empty HOME for the host: no ovh.conf to find.
    home: tempfile::TempDir,
    _broker: std::thread::JoinHandle<()>,
}

impl Rig {
    fn new() -> Rig {
        Rig::with_grace("24h")
    }

    /// A rig whose broker revokes a successor still unconfirmed after `grace`.
    fn with_grace(grace: &str) -> Rig {
        let emu = emulator();
        let s = Sandbox::new();
        let server_ca = okms_emulator::Ca::generate().unwrap();
        let broker_ca = s.write("broker-ca.pem", server_ca.cert_pem());
        let (cert_der, key_der) = server_ca.issue_server_certificate().unwrap();
        let cert_pem = Certificate::from_der(&cert_der).unwrap().to_pem();
        let key = PrivateKey::import(&key_der, None).unwrap();
        let key_pem = key.to_pem(KeyFormat::Pkcs8).unwrap();
        let identity =
            ServerIdentity::from_pem(cert_pem.as_bytes(), key_pem.expose_secret().as_bytes())
                .unwrap();
        let yaml = format!(
            "version: 1\ndomains:\n  - okms_id: {}\n    credentials: [\"web-*\"]\n    validity_days: 30\n    min_renew_interval: 0s\n    grace: {grace}\n",
            emu.okms_id()
        );
        let policy = Arc::new(Policy::from_yaml(&yaml, Path::new("policy.yaml")).unwrap());
        let info = emu.info();
        let config = Config::new(
            Endpoint::parse(&info.api_url).unwrap(),
            Auth::ApplicationKey {
                application_key: info.application_key.clone(),
                application_secret: SecretString::from(info.application_secret.clone()),
                consumer_key: SecretString::from(info.consumer_key.clone()),
            },
        );
        // The broker's audit lines go to a file, not the test's output.
        let audit = AuditLog::append_to(&s.path("audit.log")).unwrap();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let broker = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let client =
                    Client::with_transport(config, ReqwestTransport::new().unwrap(), TokioClock);
                let settle = WaitPolicy::with_timeout(Duration::from_secs(20));
                let options = EngineOptions {
                    api_concurrency: 8,
                    settle: settle.clone(),
                    reconcile: ReconcileOptions {
                        settle,
                        recheck_delay: Duration::from_millis(300),
                    },
                };
                let engine = Engine::start(client, policy.clone(), options)
                    .await
                    .unwrap();
                let mut serve = ServeOptions::new("127.0.0.1:0", identity, policy);
                serve.audit = audit;
                let server = Server::bind(Arc::new(engine), serve).await.unwrap();
                port_tx.send(server.local_addr().port()).unwrap();
                server.run().await;
            });
        });
        let port = port_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Rig {
            emu,
            s,
            url: format!("https://localhost:{port}"),
            broker_ca,
            home: tempfile::tempdir().unwrap(),
            _broker: broker,
        }
    }

    /// The admin's side (API credentials): the READY credential `name` for `name.csr`, its
    /// certificate written to `name.cert`; returns its id.
    fn create(&self, name: &str, extra: &mut Command) -> String {
        let v = json_ok(
            extra
                .args(["--json", "credential", "create", "--csr"])
                .arg(format!("{name}.csr"))
                .args(["--name", name, "--root", "--validity", "30", "--cert-out"])
                .arg(format!("{name}.cert")),
        );
        v["credential"]["id"].as_str().unwrap().to_owned()
    }

    /// A file pair `name.cert`/`name.key` of a READY credential; returns its id.
    fn file_pair(&self, name: &str) -> String {
        self.s
            .key_and_csr(&format!("{name}.key"), &format!("{name}.csr"), "ecdsa-p256");
        self.create(name, &mut cli(&self.s, &self.emu, AuthMode::Signature))
    }

    /// The host's side: okms-cli with no API credential at all (every OVH_* and OKMS_*
    /// variable removed, HOME an empty directory).
    fn host(&self) -> Command {
        let mut c = self.s.cmd();
        online_common::bare_env(&mut c, &self.s);
        c.env("HOME", self.home.path());
        c
    }

    /// `credential renew --broker` of `name.cert` with `key`.
    fn renew(&self, mut c: Command, name: &str, key: &str, extra: &[&str]) -> std::process::Output {
        c.args(["credential", "renew", "--cert"])
            .arg(format!("{name}.cert"))
            .args(["--key", key, "--broker", &self.url, "--broker-ca"])
            .arg(&self.broker_ca)
            .args(extra)
            .output()
            .unwrap()
    }

    /// The live (not deleting or deleted) credentials named `name`.
    fn live(&self, name: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .emu
            .credentials()
            .into_iter()
            .filter(|c| {
                c.name == name
                    && !matches!(
                        c.phase,
                        CredentialPhase::Deleting | CredentialPhase::Deleted
                    )
            })
            .map(|c| c.id.to_string())
            .collect();
        ids.sort();
        ids
    }

    /// The credential id a certificate file names.
    fn id_of(&self, cert: &str) -> String {
        let pem = self.s.read_string(cert);
        okms_lifecycle::credential_id(&Certificate::from_pem(&pem).unwrap())
            .unwrap()
            .to_string()
    }

    /// `credential check` of the deployed pair (with the test's API access: only to find the
    /// endpoint and CA).
    fn works(&self, mut c: Command, cert: &str, key: &str, extra: &[&str]) -> bool {
        let out = c
            .args(["credential", "check", "--cert", cert, "--key", key])
            .args(extra)
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!("credential check failed: {}", stderr_of(&out));
        }
        out.status.success()
    }

    /// A hook script that records what it saw: the deployed certificate's credential, and
    /// whether the old credential was still live (asked with the admin's API access, which
    /// the renewing process itself never has).
    fn recording_hook(&self, name: &str, fail: bool) -> PathBuf {
        let info = self.emu.info();
        let script = format!(
            "#!/bin/sh\ncp \"$OKMS_RENEW_CERT\" hook-saw.cert\nOVH_ENDPOINT='{}' OVH_APPLICATION_KEY='{}' OVH_APPLICATION_SECRET='{}' OVH_CONSUMER_KEY='{}' HOME='{}' '{}' --json credential get \"$OKMS_RENEW_OLD_ID\" --okms-id \"$OKMS_ID\" > hook-old.json\n{}\n",
            info.api_url,
            info.application_key,
            info.application_secret,
            info.consumer_key,
            self.s.dir.path().display(),
            env!("CARGO_BIN_EXE_okms-cli"),
            if fail { "exit 3" } else { "exit 0" }
        );
        let path = self.s.write(name, script);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        path
    }
}

impl Rig {
    /// What a run killed between the broker's answer and the swap leaves behind: a successor
    /// at the broker (asked for with `name`'s deployed pair) for a new key, returned with it.
    fn pending_successor(&self, name: &str) -> (String, PrivateKey) {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let csr = CsrBuilder::new("CN=interrupted".parse().unwrap())
            .build(&key)
            .unwrap()
            .to_pem();
        let identity = ClientIdentity {
            cert_pem: self.s.read_string(&format!("{name}.cert")),
            key: self.s.read_string(&format!("{name}.key")).into(),
        };
        let ca = std::fs::read_to_string(&self.broker_ca).unwrap();
        let url = BrokerUrl::parse(&self.url).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let id = rt.block_on(async {
            let transport = ReqwestConnector::new()
                .connect(identity, Some(&ca))
                .unwrap();
            let answer = transport
                .send(renew_request(&url, &csr).unwrap())
                .await
                .unwrap();
            read_renew_answer(&answer).unwrap().credential_id
        });
        (id.to_string(), key)
    }
}

#[test]
fn a_leftover_new_key_has_its_successor_abandoned_then_the_renewal_starts_over() {
    let rig = Rig::new();
    let old_id = rig.file_pair("web-5");
    let (pending, key) = rig.pending_successor("web-5");
    let pem = key.to_pem(KeyFormat::Pkcs8).unwrap();
    let leftover = rig.s.write("web-5.key.new", pem.expose_secret());
    std::fs::set_permissions(
        &leftover,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let mut both = vec![old_id.clone(), pending.clone()];
    both.sort();
    assert_eq!(rig.live("web-5"), both);

    let out = rig.renew(rig.host(), "web-5", "web-5.key", &["--force"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("the key of credential {pending}")),
        "{err}"
    );
    assert!(!rig.s.exists("web-5.key.new"));
    let new_id = rig.id_of("web-5.cert");
    assert!(new_id != old_id && new_id != pending);
    // The interrupted run's successor is revoked, the old credential too: one at rest.
    assert_eq!(rig.live("web-5"), vec![new_id]);
    let admin = cli(&rig.s, &rig.emu, AuthMode::Signature);
    assert!(rig.works(admin, "web-5.cert", "web-5.key", &[]));
}

#[test]
fn a_successor_whose_key_is_gone_is_abandoned_and_the_next_run_renews() {
    let rig = Rig::new();
    let old_id = rig.file_pair("web-6");
    // Its key is not kept anywhere: as if KEY.new had been removed by hand.
    let (pending, _) = rig.pending_successor("web-6");
    let out = rig.renew(rig.host(), "web-6", "web-6.key", &["--force"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains(&format!("successor {pending}")), "{err}");
    assert!(err.contains("run the renewal again"), "{err}");
    assert_eq!(rig.live("web-6"), vec![old_id.clone()]);
    assert!(!rig.s.exists("web-6.key.new"));

    let out = rig.renew(rig.host(), "web-6", "web-6.key", &["--force"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let new_id = rig.id_of("web-6.cert");
    assert_eq!(rig.live("web-6"), vec![new_id]);
}

/// The unit's ExecStart, as systemd runs it: `${VAR}` replaced, `$VAR` split on whitespace.
fn exec_start(env: &[(&str, &str)]) -> Vec<String> {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/systemd/okms-cli-renew.service"),
    )
    .unwrap();
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the unit has an ExecStart");
    let value = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| *v)
            .to_owned()
    };
    let mut words = Vec::new();
    for word in line.split_whitespace() {
        if let Some(name) = word.strip_prefix("${").and_then(|w| w.strip_suffix('}')) {
            words.push(value(name));
        } else if let Some(name) = word.strip_prefix('$') {
            words.extend(value(name).split_whitespace().map(str::to_owned));
        } else {
            words.push(word.to_owned());
        }
    }
    words
}

#[test]
fn the_timer_unit_renews_a_file_key_through_the_broker_with_no_api_credential() {
    let rig = Rig::new();
    let old_id = rig.file_pair("web-1");
    let hook = rig.recording_hook("hook.sh", false);
    let flags = format!(
        "--broker {} --broker-ca {} --force --json --exec {}",
        rig.url,
        rig.broker_ca.display(),
        hook.display()
    );
    let words = exec_start(&[
        ("OKMS_CERT", "web-1.cert"),
        ("OKMS_KEY", "web-1.key"),
        ("OKMS_RENEW_FLAGS", &flags),
    ]);
    assert_eq!(words[0], "/usr/bin/okms-cli", "{words:?}");
    assert!(
        std::fs::read_dir(rig.home.path()).unwrap().next().is_none(),
        "HOME is empty"
    );
    let out = rig.host().args(&words[1..]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_id = rig.id_of("web-1.cert");
    assert_eq!(report["renewed"], true, "{report}");
    assert_eq!(report["old_id"], old_id.as_str());
    assert_eq!(report["new_id"], new_id.as_str());
    assert_eq!(report["old_revoked"], true);
    assert_eq!(report["live"], serde_json::json!([new_id]));
    // At rest, one credential for the name: the new one; the old pair kept as .bak.
    assert_eq!(rig.live("web-1"), vec![new_id.clone()]);
    assert_eq!(rig.id_of("web-1.cert.bak"), old_id);
    assert!(!rig.s.exists("web-1.key.new") && !rig.s.exists("web-1.cert.revoke"));
    assert_eq!(rig.s.mode("web-1.key") & 0o777, 0o600);
    // The hook ran after the swap (it saw the new certificate) and before the confirm (the
    // old credential was still READY then).
    assert_eq!(rig.s.read("hook-saw.cert"), rig.s.read("web-1.cert"));
    let seen: serde_json::Value = serde_json::from_slice(&rig.s.read("hook-old.json")).unwrap();
    assert_eq!(seen["credential"]["status"], "READY", "{seen}");
    let admin = cli(&rig.s, &rig.emu, AuthMode::Signature);
    assert!(rig.works(admin, "web-1.cert", "web-1.key", &[]));

    // Not due any more: nothing is asked of the broker, nothing changes.
    let out = rig.renew(rig.host(), "web-1", "web-1.key", &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).contains("is not due until"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(rig.live("web-1"), vec![new_id]);
}

#[test]
fn a_refused_proof_leaves_the_old_pair_and_abandons_the_successor() {
    let rig = Rig::new();
    let old_id = rig.file_pair("web-2");
    let before = rig.s.read("web-2.cert");
    // Nothing listens there: the proof cannot succeed, so the pair must not be deployed.
    let out = rig.renew(
        rig.host(),
        "web-2",
        "web-2.key",
        &[
            "--force",
            "--kms-url",
            "https://127.0.0.1:9",
            "--propagation-wait",
            "0",
        ],
    );
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains("was revoked"), "{err}");
    assert!(err.contains("the old pair is unchanged"), "{err}");
    assert_eq!(rig.s.read("web-2.cert"), before);
    assert!(!rig.s.exists("web-2.key.new") && !rig.s.exists("web-2.cert.new"));
    // The successor was abandoned at once (not left to the broker's grace period).
    assert_eq!(rig.live("web-2"), vec![old_id]);
    let admin = cli(&rig.s, &rig.emu, AuthMode::Signature);
    assert!(rig.works(admin, "web-2.cert", "web-2.key", &[]));
}

#[test]
fn a_failed_hook_leaves_the_new_pair_unconfirmed_and_the_next_run_confirms_it() {
    let rig = Rig::new();
    let old_id = rig.file_pair("web-3");
    let failing = rig.recording_hook("failing.sh", true);
    let failing = failing.to_str().unwrap();
    let out = rig.renew(
        rig.host(),
        "web-3",
        "web-3.key",
        &["--force", "--exec", failing],
    );
    assert_eq!(out.status.code(), Some(9), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("run the renewal again"),
        "{}",
        stderr_of(&out)
    );
    let new_id = rig.id_of("web-3.cert");
    assert_ne!(new_id, old_id);
    assert!(rig.s.exists("web-3.cert.revoke"));
    // Both live: the broker revokes the old one only on the confirm.
    let mut both = vec![old_id.clone(), new_id.clone()];
    both.sort();
    assert_eq!(rig.live("web-3"), both);

    // The next run, not due: it runs the hook again, then confirms.
    let working = rig.recording_hook("working.sh", false);
    let out = rig.renew(
        rig.host(),
        "web-3",
        "web-3.key",
        &["--exec", working.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("confirmed"), "{}", stderr_of(&out));
    assert!(!rig.s.exists("web-3.cert.revoke"));
    assert_eq!(rig.live("web-3"), vec![new_id]);
}

/// Revokes a credential with the admin's API access.
fn revoke_as_admin(rig: &Rig, id: &str) {
    let okms = rig.emu.okms_id().to_string();
    let out = cli(&rig.s, &rig.emu, AuthMode::Signature)
        .args(["credential", "delete", id, "--okms-id", &okms, "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn a_deployed_pair_revoked_unconfirmed_is_replaced_by_the_previous_pair_then_renewed() {
    // The broker's own revocation: a grace of two seconds, reconciled every second.
    let rig = Rig::with_grace("2s");
    let old_id = rig.file_pair("web-5");
    let old_key = rig.s.read_string("web-5.key");
    let failing = rig.recording_hook("failing.sh", true);
    let out = rig.renew(
        rig.host(),
        "web-5",
        "web-5.key",
        &["--force", "--exec", failing.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(9), "{}", stderr_of(&out));
    let revoked_id = rig.id_of("web-5.cert");
    let revoked_cert = rig.s.read_string("web-5.cert");
    let revoked_key = rig.s.read_string("web-5.key");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while rig.live("web-5") != vec![old_id.clone()] {
        assert!(
            std::time::Instant::now() < deadline,
            "the broker did not revoke the unconfirmed successor {revoked_id} after its grace"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The next run, on its timer: no human step. (--force stands for "due": the first run
    // renewed early only because of it.)
    let working = rig.recording_hook("working.sh", false);
    let out = rig.renew(
        rig.host(),
        "web-5",
        "web-5.key",
        &["--force", "--exec", working.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains(&format!("credential {old_id}, is in place again")),
        "{}",
        stderr_of(&out)
    );
    // Renewed from the previous pair: a third credential, the only live one of the name.
    let new_id = rig.id_of("web-5.cert");
    assert!(new_id != old_id && new_id != revoked_id);
    assert_eq!(rig.live("web-5"), vec![new_id]);
    // Nothing lost: the revoked pair is kept aside, the previous one is the backup again.
    assert_eq!(rig.s.read_string("web-5.cert.revoked"), revoked_cert);
    assert_eq!(rig.s.read_string("web-5.key.revoked"), revoked_key);
    assert_eq!(rig.s.read_string("web-5.key.bak"), old_key);
    assert!(!rig.s.exists("web-5.cert.revoke"));
    assert!(rig.works(
        cli(&rig.s, &rig.emu, AuthMode::Signature),
        "web-5.cert",
        "web-5.key",
        &[]
    ));
}

#[test]
fn a_revoked_deployed_pair_is_not_replaced_by_a_previous_pair_that_is_not_live_either() {
    let rig = Rig::new();
    let old_id = rig.file_pair("web-6");
    let failing = rig.recording_hook("failing.sh", true);
    let out = rig.renew(
        rig.host(),
        "web-6",
        "web-6.key",
        &["--force", "--exec", failing.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(9), "{}", stderr_of(&out));
    let revoked_id = rig.id_of("web-6.cert");
    revoke_as_admin(&rig, &revoked_id);
    revoke_as_admin(&rig, &old_id);
    let before: Vec<String> = ["web-6.cert", "web-6.key", "web-6.cert.bak", "web-6.key.bak"]
        .iter()
        .map(|f| rig.s.read_string(f))
        .collect();

    let out = rig.renew(rig.host(), "web-6", "web-6.key", &[]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("credential {old_id}) either")),
        "{err}"
    );
    assert!(err.contains("put the previous pair back"), "{err}");
    let after: Vec<String> = ["web-6.cert", "web-6.key", "web-6.cert.bak", "web-6.key.bak"]
        .iter()
        .map(|f| rig.s.read_string(f))
        .collect();
    assert_eq!(before, after, "no file may move");
    assert!(!rig.s.exists("web-6.cert.revoked"));
    assert!(rig.s.exists("web-6.cert.revoke"));
}

#[test]
fn a_token_key_renews_through_the_broker_and_a_set_ovh_variable_is_ignored() {
    let Some(module) = okms_test_support::softhsm_module(
        okms_pkcs11::SOFTHSM2_HINT_PATHS,
        "the PKCS#11 broker renewal test",
    ) else {
        return;
    };
    let rig = Rig::new();
    let hsm = tempfile::tempdir().unwrap();
    let conf = okms_test_support::init_token_dir(hsm.path());
    rig.s.write("pin.txt", format!("{PIN}\n"));
    let token = |mut c: Command| {
        c.env("SOFTHSM2_CONF", &conf)
            .env("OKMS_PKCS11_MODULE", &module);
        c
    };
    let uri = format!("pkcs11:token={TOKEN};object=web-4");
    token(rig.s.cmd())
        .args(["key", "new", "--algorithm", "ecdsa-p256", "--pkcs11", &uri])
        .args(["--pin-file", "pin.txt"])
        .assert()
        .success();
    token(rig.s.cmd())
        .args(["csr", "new", "--key", &uri, "--cn", "web-4"])
        .args(["--pin-file", "pin.txt", "--out", "web-4.csr"])
        .assert()
        .success();
    let old_id = rig.create("web-4", &mut cli(&rig.s, &rig.emu, AuthMode::Signature));

    // OVH_* variables that point nowhere: a broker run reads none of them.
    let mut host = token(rig.host());
    host.env("OVH_ENDPOINT", "https://127.0.0.1:9/1.0")
        .env("OVH_APPLICATION_KEY", "not-used")
        .env("OVH_APPLICATION_SECRET", "not-used")
        .env("OVH_CONSUMER_KEY", "not-used");
    let out = rig.renew(host, "web-4", &uri, &["--pin-file", "pin.txt", "--force"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let new_id = rig.id_of("web-4.cert");
    assert_ne!(new_id, old_id);
    assert_eq!(rig.live("web-4"), vec![new_id]);
    assert!(!rig.s.exists("web-4.cert.revoke"));
    let check = token(cli(&rig.s, &rig.emu, AuthMode::Signature));
    assert!(rig.works(check, "web-4.cert", &uri, &["--pin-file", "pin.txt"]));
}

#[test]
fn help_says_a_broker_run_reads_no_api_credential() {
    let out = common::okms()
        .args(["credential", "renew", "--help"])
        .output()
        .unwrap();
    // Words as a reader sees them, whatever the wrapping.
    let help = stdout_of(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(help.contains("--broker <URL>"), "{help}");
    assert!(help.contains("No API credential is read"), "{help}");
    assert!(
        help.contains("OVH_* variables that are set are ignored"),
        "{help}"
    );
    assert!(help.contains("--broker-ca <PATH>"), "{help}");
}
