//! Shared by the broker's end-to-end tests: an emulator, a broker process (`okms-broker
//! serve`) with a TLS certificate from a throw-away CA and a policy file, hosts whose first
//! credential okms-cli created with API access, and what a host does afterwards with no API
//! access at all (`credential renew --broker`, `credential check`, raw requests with curl).
//!
//! Requires `crate::common` (declare `mod common;` beside `mod broker_common;`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use okms_emulator::{CredentialPhase, CredentialSnapshot, RunningEmulator};
use okms_test_support::interop::Openssl;

use crate::common::{AuthMethod, Ran, ok, okms_cli, online, run_bounded, workspace_binary};

/// Longest one okms-cli or curl invocation may take before it counts as a hang.
pub const STEP_LIMIT: Duration = Duration::from_secs(120);

/// The okms-broker binary of this workspace (built when stale, as okms-cli is).
pub fn okms_broker_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        workspace_binary(
            "okms-broker",
            &["okms-broker", "okms-api", "okms-csr", "okms-lifecycle"],
        )
    })
}

/// The policy a fleet's broker runs with: `names` of the emulator's main domain.
pub fn policy_yaml(okms_id: &str, names: &[&str], extra: &str) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    format!(
        "version: 1\ndomains:\n  - okms_id: {okms_id}\n    credentials: [{}]\n{extra}",
        names.join(", ")
    )
}

/// A broker, its TLS material and policy, over an emulator; the tests' hosts live in `dir`.
pub struct Fleet {
    /// The emulator (API and KMS) the broker calls.
    pub emulator: RunningEmulator,
    /// Everything on disk: `broker-ca.pem`, `broker.pem`, `broker.key`, `policy.yaml`, one
    /// directory per host.
    pub dir: tempfile::TempDir,
    /// The brokers started (replicas), by index.
    pub brokers: Vec<Broker>,
}

/// One running `okms-broker serve`.
pub struct Broker {
    /// Its address.
    pub addr: SocketAddr,
    /// Its audit log.
    pub audit_log: PathBuf,
    /// Its standard error.
    pub stderr_log: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The process id (while running).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no shutdown, no cleanup, as a crash or an OOM kill.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The audit log's lines as JSON.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(&self.audit_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// What it printed on stderr.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A host: its directory, holding `client.cert` and `domain.key`.
#[derive(Clone, Debug)]
pub struct Host {
    /// The credential name.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
}

impl Host {
    /// The deployed certificate's credential id.
    pub fn credential_id(&self) -> String {
        okms_csr::Certificate::from_pem(&fs::read_to_string(self.dir.join("client.cert")).unwrap())
            .unwrap()
            .credential_id()
            .unwrap()
    }

    /// The deployed certificate, PEM.
    pub fn cert_pem(&self) -> String {
        fs::read_to_string(self.dir.join("client.cert")).unwrap()
    }
}

/// openssl (the broker's TLS certificate), once the pieces these tests drive are there:
/// `okms-broker serve` and `okms-cli credential renew --broker`. `None` after a counted skip
/// (a failure under `OKMS_REQUIRE_ALL=1`, as in CI).
pub fn openssl(tests: &str) -> Option<Openssl> {
    prerequisites(tests, true)
}

/// [`openssl`] for a test of the broker alone (no host renews).
pub fn openssl_broker_only(tests: &str) -> Option<Openssl> {
    prerequisites(tests, false)
}

fn prerequisites(tests: &str, hosts_renew: bool) -> Option<Openssl> {
    let openssl = okms_test_support::interop::openssl(tests)?;
    let serve = Command::new(okms_broker_bin())
        .args(["serve", "--help"])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("--policy"))
        .unwrap_or(false);
    let renew = !hosts_renew
        || okms_cli()
            .args(["credential", "renew", "--help"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("--broker"))
            .unwrap_or(false);
    if serve && renew {
        return Some(openssl);
    }
    okms_test_support::skip_or_fail(
        &format!(
            "{tests} need `okms-broker serve` ({}) and `okms-cli credential renew --broker` ({})",
            if serve { "present" } else { "missing" },
            if renew { "present" } else { "missing" },
        ),
        "OKMS_REQUIRE_ALL",
    );
    None
}

impl Fleet {
    /// An emulator made by `emulator`, a broker TLS certificate for 127.0.0.1 from a new CA
    /// (made with `openssl`), and `policy.yaml` from `policy` (given the main domain's id).
    /// No broker is started yet.
    pub fn new(
        openssl: Openssl,
        emulator: RunningEmulator,
        policy: impl Fn(&str) -> String,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl.test_ca(d, "broker-ca");
        openssl.ec_key_and_csr(d, "broker");
        openssl.issue(
            d,
            "broker-ca",
            "broker",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        );
        fs::write(
            d.join("policy.yaml"),
            policy(&emulator.okms_id().to_string()),
        )
        .unwrap();
        Fleet {
            emulator,
            dir,
            brokers: Vec::new(),
        }
    }

    /// The fleet's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The CA that issued the broker's certificate (what hosts pass as `--broker-ca`).
    pub fn broker_ca(&self) -> PathBuf {
        self.path().join("broker-ca.pem")
    }

    /// `okms-broker serve` with `args` added, the API credentials in `OVH_*` and nothing of
    /// the developer's; not started.
    pub fn broker_command(&self, addr: SocketAddr, audit_log: &Path) -> Command {
        let info = self.emulator.info();
        let d = self.path();
        let mut command = Command::new(okms_broker_bin());
        command
            .current_dir(d)
            .env("HOME", d.join("no-home"))
            .env("OVH_ENDPOINT", &info.api_url)
            .env("OVH_APPLICATION_KEY", &info.application_key)
            .env("OVH_APPLICATION_SECRET", &info.application_secret)
            .env("OVH_CONSUMER_KEY", &info.consumer_key)
            .env_remove("OVH_CLIENT_ID")
            .env_remove("OVH_CLIENT_SECRET")
            .env_remove("OKMS_ID")
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--tls-cert")
            .arg(d.join("broker.pem"))
            .arg("--tls-key")
            .arg(d.join("broker.key"))
            .arg("--policy")
            .arg(d.join("policy.yaml"))
            .arg("--audit-log")
            .arg(audit_log);
        command
    }

    /// Starts a broker replica (index = how many were started before) on a free port and
    /// waits until it accepts connections.
    pub fn start_broker(&mut self) -> usize {
        let index = self.brokers.len();
        let addr = free_port();
        let broker = self.spawn_broker(index, addr);
        self.brokers.push(broker);
        index
    }

    /// Starts broker `index` again on its address after [`Broker::kill`] (or a first start
    /// failed), with the same audit log.
    pub fn restart_broker(&mut self, index: usize) {
        let addr = self.brokers[index].addr;
        self.brokers[index].kill();
        let broker = self.spawn_broker(index, addr);
        self.brokers[index] = broker;
    }

    fn spawn_broker(&self, index: usize, addr: SocketAddr) -> Broker {
        let audit_log = self.path().join(format!("audit-{index}.jsonl"));
        let stderr_log = self.path().join(format!("broker-{index}.stderr"));
        let stderr = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_log)
            .unwrap();
        let mut child = self
            .broker_command(addr, &audit_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start okms-broker");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "okms-broker exited ({status}) before listening on {addr}:\n{}",
                    fs::read_to_string(&stderr_log).unwrap_or_default()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "okms-broker does not listen on {addr} after 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker {
            addr,
            audit_log,
            stderr_log,
            child: Some(child),
        }
    }

    /// A host with its first credential `name`: a P-256 key made by okms-cli, its CSR, and the
    /// credential created with API access (as an operator does once per host), the pair in
    /// `hosts/NAME/client.cert` and `domain.key`.
    pub fn new_host(&self, name: &str) -> Host {
        self.new_host_in(name, self.emulator.okms_id())
    }

    /// [`Fleet::new_host`] in another domain of the emulator.
    pub fn new_host_in(&self, name: &str, okms_id: okms_api::Uuid) -> Host {
        let dir = self.path().join("hosts").join(name);
        fs::create_dir_all(&dir).unwrap();
        ok(okms_cli().current_dir(&dir).args([
            "key",
            "new",
            "--algorithm",
            "ecdsa-p256",
            "--out",
            "domain.key",
        ]));
        ok(okms_cli().current_dir(&dir).args([
            "csr",
            "new",
            "--key",
            "domain.key",
            "--cn",
            name,
            "--out",
            "client.csr",
        ]));
        ok(online(&self.emulator, AuthMethod::Signature, &dir)
            .env("OKMS_ID", okms_id.to_string())
            .args([
                "credential",
                "create",
                "--name",
                name,
                "--root",
                "--csr",
                "client.csr",
                "--cert-out",
                "client.cert",
            ]));
        fs::remove_file(dir.join("client.csr")).unwrap();
        Host {
            name: name.to_owned(),
            dir,
        }
    }

    /// okms-cli on `host` with no API credential anywhere (no `OVH_*`, no ovh.conf: its HOME
    /// is empty and its directory holds none).
    pub fn host_cli(&self, host: &Host) -> Command {
        let mut command = okms_cli();
        command.current_dir(&host.dir);
        assert!(!host.dir.join("ovh.conf").exists());
        command
    }

    /// `credential renew --broker` of `host` through broker `index`, `--force`d (a fresh
    /// certificate is not due), with `extra` arguments last.
    pub fn renew_command(&self, host: &Host, index: usize, extra: &[&str]) -> Command {
        let mut command = self.host_cli(host);
        command
            .args(["credential", "renew", "--broker"])
            .arg(self.brokers[index].url())
            .arg("--broker-ca")
            .arg(self.broker_ca())
            .args(["--cert", "client.cert", "--key", "domain.key", "--force"])
            .args(extra);
        command
    }

    /// Runs [`Fleet::renew_command`], bounded.
    pub fn renew(&self, host: &Host, index: usize) -> Ran {
        run_bounded(&mut self.renew_command(host, index, &[]), STEP_LIMIT)
    }

    /// `credential check` of the host's deployed pair against the KMS, with no API call.
    pub fn check(&self, host: &Host) -> Ran {
        self.check_with(host, &[])
    }

    /// [`Fleet::check`] making one attempt: a refusal is final at once instead of retried for
    /// the propagation wait (60 s), for tests that expect the KMS to refuse.
    pub fn check_once(&self, host: &Host) -> Ran {
        self.check_with(host, &["--propagation-wait", "0"])
    }

    fn check_with(&self, host: &Host, extra: &[&str]) -> Ran {
        let info = self.emulator.info();
        run_bounded(
            self.host_cli(host)
                .args([
                    "credential",
                    "check",
                    "--cert",
                    "client.cert",
                    "--key",
                    "domain.key",
                    "--kms-url",
                ])
                .arg(&info.kms_url)
                .arg("--ca")
                .arg(&info.ca_file)
                .arg("--okms-id")
                .arg(info.okms_id.to_string())
                .args(extra),
            STEP_LIMIT,
        )
    }

    /// Live (CREATING or READY) credentials named `name`.
    pub fn live(&self, name: &str) -> Vec<CredentialSnapshot> {
        live_credentials(&self.emulator)
            .into_iter()
            .filter(|c| c.name == name)
            .collect()
    }

    /// The host's deployed pair works, it is the one live credential of its name, its
    /// certificate holds the deployed key, and no `domain.key.new` is left.
    pub fn assert_settled(&self, host: &Host) {
        let checked = self.check(host);
        assert!(
            checked.success(),
            "{}: the deployed pair does not work: {checked:?}",
            host.name
        );
        let live = self.live(&host.name);
        let ids: Vec<String> = live.iter().map(|c| c.id.to_string()).collect();
        assert_eq!(
            ids,
            [host.credential_id()],
            "{}: exactly the deployed credential is live",
            host.name
        );
        let cert = okms_csr::Certificate::from_pem(&host.cert_pem()).unwrap();
        let key =
            okms_csr::PrivateKey::import(&fs::read(host.dir.join("domain.key")).unwrap(), None)
                .unwrap();
        assert!(okms_csr::same_public_key(
            &cert.public_key(),
            &key.public_key()
        ));
        assert!(
            !host.dir.join("domain.key.new").exists(),
            "{}: a domain.key.new is left",
            host.name
        );
    }

    /// A raw request to broker `index` with curl, presenting `cert`/`key` (paths relative to
    /// `dir`) when given: `(status, body)`, status 0 when there was no HTTP answer (the
    /// handshake was refused).
    pub fn curl(
        &self,
        index: usize,
        dir: &Path,
        client: Option<(&str, &str)>,
        method: &str,
        route: &str,
        body: Option<&[u8]>,
    ) -> (u16, String) {
        let mut command = Command::new("curl");
        command
            .current_dir(dir)
            .args(["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "60"])
            .arg("--cacert")
            .arg(self.broker_ca())
            .args(["-X", method]);
        if let Some((cert, key)) = client {
            command.args(["--cert", cert, "--key", key]);
        }
        if let Some(body) = body {
            let file = dir.join(".curl-body");
            fs::write(&file, body).unwrap();
            command
                .args(["-H", "content-type: application/json", "--data-binary"])
                .arg(format!("@{}", file.display()));
        }
        command.arg(format!("{}{route}", self.brokers[index].url()));
        let ran = run_bounded(&mut command, STEP_LIMIT);
        let (body, code) = ran.stdout.rsplit_once('\n').unwrap_or(("", &ran.stdout));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }
}

/// curl, needed for the raw requests; `None` after a counted skip.
pub fn curl(tests: &str) -> Option<()> {
    if Command::new("curl").arg("--version").output().is_ok() {
        return Some(());
    }
    okms_test_support::skip_or_fail(
        &format!("curl is not installed; install it with `apt-get install curl` to run {tests}"),
        "OKMS_REQUIRE_INTEROP",
    );
    None
}

/// Every live (CREATING or READY) credential of the emulator.
pub fn live_credentials(emulator: &RunningEmulator) -> Vec<CredentialSnapshot> {
    emulator
        .credentials()
        .into_iter()
        .filter(|c| matches!(c.phase, CredentialPhase::Creating | CredentialPhase::Ready))
        .collect()
}

/// The emulator's credentials as (id, phase): what "nothing created, nothing revoked"
/// compares.
pub fn credential_states(emulator: &RunningEmulator) -> Vec<(String, String)> {
    emulator
        .credentials()
        .into_iter()
        .map(|c| (c.id.to_string(), format!("{:?}", c.phase)))
        .collect()
}

/// A loopback address nobody listens on now.
pub fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Waits up to `limit` for `condition`.
pub fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
