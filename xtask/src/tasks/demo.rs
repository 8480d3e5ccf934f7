//! `cargo xtask demo`: starts `okms-emulator` and walks the whole air-gapped flow with
//! `okms-cli`, printing every command and its output, so a newcomer sees the product work
//! without an OVHcloud account.
//!
//! Two directories stand for two machines: `air-gapped/` holds the private key and never sends
//! anything but the request file; `connected/` talks to the API. Only public material (the
//! request file, the certificate) crosses between them, as it would on a USB stick.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use serde::Deserialize;

use crate::util::{cargo, run_command, target_dir, without_api_credentials};

/// Options of `cargo xtask demo`.
#[derive(ClapArgs)]
pub struct Args {
    /// Work in this directory (created; must be empty or absent) and keep it afterwards.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Build and run release binaries.
    #[arg(long)]
    release: bool,
    /// How long the emulator keeps new credentials CREATING, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    ready_delay_ms: u64,
    /// Show the renewal broker instead: a host with no API credential renews through
    /// okms-broker.
    #[arg(long)]
    broker: bool,
}

/// The JSON line `okms-emulator` prints once it accepts connections.
#[derive(Deserialize)]
pub(crate) struct EmulatorInfo {
    pub(crate) api_url: String,
    pub(crate) kms_url: String,
    pub(crate) ca_file: PathBuf,
    pub(crate) okms_id: String,
    pub(crate) nic: String,
    pub(crate) application_key: String,
    pub(crate) application_secret: String,
    pub(crate) consumer_key: String,
}

/// Kills the emulator however the demo ends.
pub(crate) struct EmulatorProcess(Child);

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        // SIGTERM first: the emulator's clean shutdown is part of what the demo shows works.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        if self.0.wait().is_err() {
            let _ = self.0.kill();
        }
    }
}

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    if args.broker {
        return super::demo_broker::run(args.dir.as_deref(), args.release, args.ready_delay_ms);
    }
    let profile = if args.release { "release" } else { "debug" };
    let mut build = cargo();
    build.args(["build", "--locked", "-p", "okms-cli", "-p", "okms-emulator"]);
    if args.release {
        build.arg("--release");
    }
    run_command(&mut build)?;
    let bin_dir = target_dir().join(profile);
    let cli = bin_dir.join("okms-cli");
    let emulator_bin = bin_dir.join("okms-emulator");

    let (_temp, work) = work_dir(args.dir.as_deref())?;
    let air_gapped = work.join("air-gapped");
    let connected = work.join("connected");
    fs::create_dir_all(&air_gapped)?;
    fs::create_dir_all(&connected)?;

    banner("start the emulator: a local OVHcloud API and OKMS domain on 127.0.0.1");
    let (emulator, info) = start_emulator(&emulator_bin, args.ready_delay_ms)?;
    println!(
        "api_url={}  kms_url={}  okms_id={}",
        info.api_url, info.kms_url, info.okms_id
    );

    let okms = |host: &Path| {
        let mut command = Command::new(&cli);
        command.current_dir(host);
        without_api_credentials(&mut command);
        command
    };
    let online = |host: &Path| {
        let mut command = okms(host);
        command
            .env("OVH_ENDPOINT", &info.api_url)
            .env("OVH_APPLICATION_KEY", &info.application_key)
            .env("OVH_APPLICATION_SECRET", &info.application_secret)
            .env("OVH_CONSUMER_KEY", &info.consumer_key)
            .env("OKMS_ID", &info.okms_id);
        command
    };

    banner("[air-gapped host] generate the private key; it never leaves this host");
    step(okms(&air_gapped).args([
        "key",
        "new",
        "--algorithm",
        "ecdsa-p256",
        "--out",
        "domain.key",
    ]))?;
    step(okms(&air_gapped).args([
        "csr",
        "new",
        "--key",
        "domain.key",
        "--cn",
        "my-app",
        "--out",
        "client.csr",
    ]))?;
    step(okms(&air_gapped).args(["csr", "show", "client.csr"]))?;

    banner("[air-gapped host] write the request file: the only thing carried out");
    step(okms(&air_gapped).args([
        "request",
        "new",
        "--csr",
        "client.csr",
        "--name",
        "demo-app",
        "--root",
        "--nic",
        &info.nic,
        "--region",
        "eu",
        "--validity",
        "30",
        "--out",
        "request.json",
    ]))?;
    carry(&air_gapped, &connected, "request.json")?;

    banner("[connected host] who am I, which domains");
    step(online(&connected).arg("whoami"))?;
    step(online(&connected).args(["domain", "list"]))?;

    banner("[connected host] submit the request, wait until READY, write the certificate");
    step(online(&connected).args([
        "credential",
        "create",
        "--request",
        "request.json",
        "--cert-out",
        "client.cert",
    ]))?;
    step(online(&connected).args(["credential", "list"]))?;
    carry(&connected, &air_gapped, "client.cert")?;

    banner("[host holding the key] inspect the certificate and prove it works (mutual TLS)");
    step(okms(&air_gapped).args(["cert", "show", "client.cert"]))?;
    step(okms(&air_gapped).args(["csr", "verify", "client.csr", "--key", "domain.key"]))?;
    let ca = info.ca_file.to_string_lossy().into_owned();
    step(okms(&air_gapped).args([
        "credential",
        "check",
        "--cert",
        "client.cert",
        "--key",
        "domain.key",
        "--kms-url",
        &info.kms_url,
        "--ca",
        &ca,
    ]))?;
    if Command::new("curl").arg("--version").output().is_ok() {
        let url = format!(
            "{}/api/{}/v1/servicekey",
            info.kms_url.trim_end_matches('/'),
            info.okms_id
        );
        step(Command::new("curl").current_dir(&air_gapped).args([
            "--silent",
            "--show-error",
            "--fail",
            "--cert",
            "client.cert",
            "--key",
            "domain.key",
            "--cacert",
            &ca,
            &url,
        ]))?;
        println!();
    }

    banner("[connected host] the quick path: OVHcloud generates the key (not PCI-DSS covered)");
    step(online(&connected).args([
        "credential",
        "create",
        "--name",
        "quick-app",
        "--root",
        "--key-out",
        "quick.key",
        "--cert-out",
        "quick.cert",
    ]))?;

    drop(emulator);
    banner("done");
    match &args.dir {
        Some(dir) => println!("files kept in {}", dir.display()),
        None => println!("(run with --dir PATH to keep the files)"),
    }
    Ok(())
}

/// Where a demo works: `dir` (which must be empty or absent), or a temporary directory removed
/// when the returned guard drops.
pub(crate) fn work_dir(dir: Option<&Path>) -> Result<(Option<tempfile::TempDir>, PathBuf)> {
    match dir {
        Some(dir) => {
            prepare_empty_dir(dir)?;
            Ok((None, dir.to_path_buf()))
        }
        None => {
            let temp = tempfile::tempdir().context("could not create a temporary directory")?;
            let path = temp.path().to_path_buf();
            Ok((Some(temp), path))
        }
    }
}

pub(crate) fn prepare_empty_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let mut entries =
            fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty; give an empty or new directory to --dir",
                dir.display()
            );
        }
    }
    fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))
}

pub(crate) fn start_emulator(
    bin: &Path,
    ready_delay_ms: u64,
) -> Result<(EmulatorProcess, EmulatorInfo)> {
    let mut child = Command::new(bin)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--kms-listen",
            "127.0.0.1:0",
            "--ready-delay-ms",
            &ready_delay_ms.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {}", bin.display()))?;
    let stdout = child.stdout.take().context("emulator stdout")?;
    let process = EmulatorProcess(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("could not read the emulator's startup line")?;
    let info: EmulatorInfo = serde_json::from_str(&line)
        .with_context(|| format!("unexpected emulator startup line: {line:?}"))?;
    Ok((process, info))
}

pub(crate) fn banner(text: &str) {
    println!("\n==> {text}");
}

/// Runs one demo command, showing it as a user would type it.
pub(crate) fn step(command: &mut Command) -> Result<()> {
    let shown: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| {
            let a = a.to_string_lossy();
            Path::new(a.as_ref())
                .file_name()
                .filter(|_| a.contains("/target/"))
                .map_or_else(|| a.to_string(), |name| name.to_string_lossy().into_owned())
        })
        .collect();
    println!("$ {}", shown.join(" "));
    let status = command
        .status()
        .with_context(|| format!("could not run {}", shown.join(" ")))?;
    if !status.success() {
        bail!("the demo step `{}` failed with {status}", shown.join(" "));
    }
    Ok(())
}

/// Copies public material from one "host" to the other, as a USB stick would.
fn carry(from: &Path, to: &Path, name: &str) -> Result<()> {
    fs::copy(from.join(name), to.join(name)).with_context(|| format!("could not carry {name}"))?;
    println!(
        "(carried {name} from {} to {})",
        from.file_name().unwrap_or_default().to_string_lossy(),
        to.file_name().unwrap_or_default().to_string_lossy()
    );
    Ok(())
}
