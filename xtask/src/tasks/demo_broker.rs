//! `cargo xtask demo --broker`: the renewal broker's story against okms-emulator, every
//! command printed. An operator gives `okms-broker` the API credentials, a policy and a TLS
//! certificate; creates a host's first credential once; from then on the host, which holds no
//! API credential at all, renews through the broker, proves its new pair, and the broker
//! revokes the old one on the host's confirm. A host asking for more (another name) is refused
//! and nothing is created.
//!
//! The broker's TLS certificate comes from a throw-away CA made with openssl. The helpers
//! here also serve `cargo xtask bench --broker`.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::demo::{EmulatorInfo, banner, start_emulator, step, work_dir};
use crate::util::{cargo, output_of, run_command, target_dir, without_api_credentials};

/// The binaries of a broker run: built once.
pub(crate) struct Binaries {
    pub(crate) cli: PathBuf,
    pub(crate) broker: PathBuf,
    pub(crate) emulator: PathBuf,
}

/// Builds okms-cli, okms-broker and okms-emulator.
pub(crate) fn build(release: bool) -> Result<Binaries> {
    let mut command = cargo();
    command.args([
        "build",
        "--locked",
        "-p",
        "okms-cli",
        "-p",
        "okms-broker",
        "-p",
        "okms-emulator",
    ]);
    if release {
        command.arg("--release");
    }
    run_command(&mut command)?;
    let dir = target_dir().join(if release { "release" } else { "debug" });
    Ok(Binaries {
        cli: dir.join("okms-cli"),
        broker: dir.join("okms-broker"),
        emulator: dir.join("okms-emulator"),
    })
}

/// In `dir`: a CA (`broker-ca.pem`, what hosts pass as `--broker-ca`) and the broker's
/// certificate for 127.0.0.1 (`broker.pem`, `broker.key`), made with openssl.
pub(crate) fn tls_files(dir: &Path) -> Result<()> {
    let openssl = |args: &[&str]| -> Result<()> {
        output_of(Command::new("openssl").args(args).current_dir(dir))
            .map(drop)
            .context(
                "openssl makes the broker's demo certificate: install it (apt-get install openssl)",
            )
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "broker-ca.key",
                "-subj",
                "/CN=demo broker CA",
                "-days",
                "2",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
                "-out",
                "broker-ca.pem",
            ],
        ]
        .concat(),
    )?;
    openssl(
        &[
            &["req", "-new"][..],
            &ec,
            &[
                "-keyout",
                "broker.key",
                "-subj",
                "/CN=localhost",
                "-out",
                "broker.csr",
            ],
        ]
        .concat(),
    )?;
    fs::write(
        dir.join("broker.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "broker.csr",
        "-CA",
        "broker-ca.pem",
        "-CAkey",
        "broker-ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "broker.ext",
        "-out",
        "broker.pem",
    ])
}

/// A policy for the emulator's domain letting `pattern` renew.
pub(crate) fn write_policy(
    dir: &Path,
    okms_id: &str,
    pattern: &str,
    extra: &str,
) -> Result<PathBuf> {
    let path = dir.join("policy.yaml");
    fs::write(
        &path,
        format!(
            "version: 1\ndomains:\n  - okms_id: {okms_id}\n    credentials: [\"{pattern}\"]\n{extra}"
        ),
    )?;
    Ok(path)
}

/// A loopback address free now.
pub(crate) fn free_addr() -> Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A running okms-broker, stopped with SIGTERM however the task ends.
pub(crate) struct BrokerProcess {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl BrokerProcess {
    /// `https://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if self.child.wait().is_err() {
            let _ = self.child.kill();
        }
    }
}

/// `okms-broker serve` in `dir` (TLS files and `policy.yaml` there), holding the emulator's
/// API credentials; waits until it accepts connections.
pub(crate) fn start_broker(
    bin: &Path,
    dir: &Path,
    info: &EmulatorInfo,
    extra: &[&str],
) -> Result<BrokerProcess> {
    let addr = free_addr()?;
    let mut command = Command::new(bin);
    command
        .current_dir(dir)
        .env("HOME", dir)
        .env("OVH_ENDPOINT", &info.api_url)
        .env("OVH_APPLICATION_KEY", &info.application_key)
        .env("OVH_APPLICATION_SECRET", &info.application_secret)
        .env("OVH_CONSUMER_KEY", &info.consumer_key)
        .args(["serve", "--listen", &addr.to_string()])
        .args(["--tls-cert", "broker.pem", "--tls-key", "broker.key"])
        .args(["--policy", "policy.yaml", "--audit-log", "audit.jsonl"])
        .args(extra)
        .stdin(Stdio::null());
    println!(
        "$ OVH_ENDPOINT=... OVH_APPLICATION_KEY=... okms-broker serve --listen {addr} --tls-cert broker.pem --tls-key broker.key --policy policy.yaml --audit-log audit.jsonl {}",
        extra.join(" ")
    );
    let child = command
        .spawn()
        .with_context(|| format!("could not start {}", bin.display()))?;
    let mut broker = BrokerProcess { child, addr };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = broker.child.try_wait()? {
            bail!("okms-broker exited with {status} before listening");
        }
        if Instant::now() > deadline {
            bail!("okms-broker does not listen on {addr} after 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(broker)
}

/// okms-cli in `dir` with no API credential in its environment (nor a home with an ovh.conf).
pub(crate) fn host_cli(cli: &Path, dir: &Path) -> Command {
    let mut command = Command::new(cli);
    command.current_dir(dir).env("HOME", dir);
    without_api_credentials(&mut command);
    command
}

/// The host in `dir` renewing its pair through the broker at `url` (forced: a fresh
/// certificate is not due yet).
fn renew_through(cli: &Path, dir: &Path, url: &str) -> Command {
    let mut command = host_cli(cli, dir);
    command.args([
        "credential",
        "renew",
        "--broker",
        url,
        "--broker-ca",
        "broker-ca.pem",
        "--cert",
        "client.cert",
        "--key",
        "domain.key",
        "--force",
    ]);
    command
}

/// okms-cli in `dir` with the emulator's API credentials: the operator's.
pub(crate) fn operator_cli(cli: &Path, dir: &Path, info: &EmulatorInfo) -> Command {
    let mut command = host_cli(cli, dir);
    command
        .env("OVH_ENDPOINT", &info.api_url)
        .env("OVH_APPLICATION_KEY", &info.application_key)
        .env("OVH_APPLICATION_SECRET", &info.application_secret)
        .env("OVH_CONSUMER_KEY", &info.consumer_key)
        .env("OKMS_ID", &info.okms_id);
    command
}

/// A host's first pair (`domain.key`, `client.cert`), its credential `name` created by the
/// operator with API access; `show` prints the commands.
pub(crate) fn first_credential(
    cli: &Path,
    dir: &Path,
    info: &EmulatorInfo,
    name: &str,
    show: bool,
) -> Result<()> {
    fs::create_dir_all(dir)?;
    let run = |command: &mut Command| -> Result<()> {
        if show {
            step(command)
        } else {
            output_of(command).map(drop)
        }
    };
    run(host_cli(cli, dir).args([
        "key",
        "new",
        "--algorithm",
        "ecdsa-p256",
        "--out",
        "domain.key",
    ]))?;
    run(host_cli(cli, dir).args([
        "csr",
        "new",
        "--key",
        "domain.key",
        "--cn",
        name,
        "--out",
        "client.csr",
    ]))?;
    run(operator_cli(cli, dir, info).args([
        "credential",
        "create",
        "--name",
        name,
        "--root",
        "--csr",
        "client.csr",
        "--cert-out",
        "client.cert",
    ]))
}

/// Runs the demo.
pub fn run(dir: Option<&Path>, release: bool, ready_delay_ms: u64) -> Result<()> {
    let bins = build(release)?;
    let (_temp, work) = work_dir(dir)?;
    let broker_dir = work.join("broker");
    let host = work.join("host-web-1");
    let stranger = work.join("host-db-9");
    for d in [&broker_dir, &host, &stranger] {
        fs::create_dir_all(d)?;
    }

    banner("start the emulator: a local OVHcloud API and OKMS domain on 127.0.0.1");
    let (_emulator, info) = start_emulator(&bins.emulator, ready_delay_ms)?;
    println!("api_url={}  okms_id={}", info.api_url, info.okms_id);

    banner("[broker] its TLS certificate (from any CA the hosts trust) and its policy");
    tls_files(&broker_dir)?;
    write_policy(
        &broker_dir,
        &info.okms_id,
        "web-*",
        "    validity_days: 30\n    grace: 24h\n",
    )?;
    println!("{}", fs::read_to_string(broker_dir.join("policy.yaml"))?);
    step(
        Command::new(&bins.broker)
            .current_dir(&broker_dir)
            .args(["check-policy", "policy.yaml"]),
    )?;

    banner("[broker] serve: the only process that holds API credentials");
    let broker = start_broker(&bins.broker, &broker_dir, &info, &[])?;
    let ca = broker_dir.join("broker-ca.pem");
    fs::copy(&ca, host.join("broker-ca.pem"))?;
    fs::copy(&ca, stranger.join("broker-ca.pem"))?;

    banner("[operator, once per host] the first credential, created with API access");
    first_credential(&bins.cli, &host, &info, "web-1", true)?;
    first_credential(&bins.cli, &stranger, &info, "db-9", false)?;
    step(operator_cli(&bins.cli, &host, &info).args(["credential", "list"]))?;

    banner("[host web-1] renew through the broker: no ovh.conf, no OVH_* variable");
    step(host_cli(&bins.cli, &host).args(["cert", "show", "client.cert"]))?;
    step(&mut renew_through(&bins.cli, &host, &broker.url()))?;

    banner("[host web-1] the new pair works (mutual TLS to the KMS); the old one is revoked");
    let kms_ca = info.ca_file.to_string_lossy().into_owned();
    step(host_cli(&bins.cli, &host).args([
        "credential",
        "check",
        "--cert",
        "client.cert",
        "--key",
        "domain.key",
        "--kms-url",
        &info.kms_url,
        "--ca",
        &kms_ca,
        "--okms-id",
        &info.okms_id,
    ]))?;
    step(operator_cli(&bins.cli, &host, &info).args(["credential", "list"]))?;

    banner("[host db-9] a name the policy does not list: refused, nothing created");
    let refused = renew_through(&bins.cli, &stranger, &broker.url()).status()?;
    if refused.success() {
        bail!("the broker renewed a credential its policy does not list");
    }
    println!("(refused, as it should be: {refused})");

    banner("[broker] the audit log: one JSON line per request, no key, no secret");
    print!("{}", fs::read_to_string(broker_dir.join("audit.jsonl"))?);

    drop(broker);
    banner("done");
    match dir {
        Some(dir) => println!("files kept in {}", dir.display()),
        None => println!("(run with --dir PATH to keep the files)"),
    }
    Ok(())
}
