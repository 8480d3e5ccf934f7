//! `cargo xtask examples`: builds okms-lifecycle's embedding examples, checks that the blocking
//! one has no Tokio runtime, reqwest or hyper in its dependency tree, then runs each against
//! `okms-emulator` on 127.0.0.1 with the usual `OVH_*`/`OKMS_ID` environment and checks that
//! it exits 0 and leaves its key file mode 0600 beside a certificate.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;

use crate::tasks::demo::{EmulatorInfo, start_emulator};
use crate::util::{cargo, output_of, run_command, target_dir, workspace_root};

/// Options of `cargo xtask examples`.
#[derive(ClapArgs)]
pub struct Args {
    /// How long the emulator keeps new credentials CREATING, in milliseconds.
    #[arg(long, default_value_t = 300)]
    ready_delay_ms: u64,
}

/// One example and the cargo features it is built with.
struct Example {
    name: &'static str,
    features: &'static [&'static str],
}

const EXAMPLES: [Example; 2] = [
    Example {
        name: "embed_async",
        features: &[],
    },
    Example {
        name: "embed_blocking",
        features: &["--no-default-features", "--features", "ureq"],
    },
];

/// What a program with no async runtime must not pull in (tokio's `sync` alone is no runtime).
const RUNTIME_MARKS: [&str; 5] = [
    "reqwest v",
    "hyper v",
    "tokio feature \"rt\"",
    "tokio feature \"rt-multi-thread\"",
    "tokio feature \"time\"",
];

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    run_command(cargo().args(["build", "--locked", "-p", "okms-emulator"]))?;
    for example in &EXAMPLES {
        run_command(
            cargo()
                .args(["build", "--locked", "-p", "okms-lifecycle", "--example"])
                .arg(example.name)
                .args(example.features),
        )?;
    }
    check_no_runtime()?;

    let bin = target_dir().join("debug");
    let (_emulator, info) = start_emulator(&bin.join("okms-emulator"), args.ready_delay_ms)?;
    for example in &EXAMPLES {
        let scratch = tempfile::tempdir().context("could not create a scratch directory")?;
        let program = bin.join("examples").join(example.name);
        run_example(&program, &info, scratch.path())
            .with_context(|| format!("example {} failed", example.name))?;
        println!("example {}: ok", example.name);
    }
    Ok(())
}

/// The blocking example's features resolve to no HTTP client runtime: what an embedder
/// without Tokio gets.
fn check_no_runtime() -> Result<()> {
    let mut tree = cargo();
    tree.current_dir(workspace_root()).args([
        "tree",
        "--locked",
        "-p",
        "okms-lifecycle",
        "--no-default-features",
        "--features",
        "ureq",
        "-e",
        "normal,features",
        "--prefix",
        "none",
    ]);
    let tree = output_of(&mut tree)?;
    let found: Vec<&str> = tree
        .lines()
        .filter(|line| RUNTIME_MARKS.iter().any(|mark| line.starts_with(mark)))
        .collect();
    if !found.is_empty() {
        bail!(
            "okms-lifecycle --no-default-features --features ureq pulls in a runtime: {}",
            found.join(", ")
        );
    }
    println!("okms-lifecycle with ureq: no reqwest, hyper or Tokio runtime in its tree");
    Ok(())
}

fn run_example(program: &Path, info: &EmulatorInfo, dir: &Path) -> Result<()> {
    let mut command = Command::new(program);
    command
        .arg(dir)
        .env("OVH_ENDPOINT", &info.api_url)
        .env("OVH_APPLICATION_KEY", &info.application_key)
        .env("OVH_APPLICATION_SECRET", &info.application_secret)
        .env("OVH_CONSUMER_KEY", &info.consumer_key)
        .env("OKMS_ID", &info.okms_id)
        .env_remove("OVH_CLIENT_ID")
        .env_remove("OVH_CLIENT_SECRET")
        .env_remove("OVH_ACCESS_TOKEN");
    run_command(&mut command)?;

    let key = dir.join("embedded.key");
    let mode = key_mode(&key)?;
    if mode != 0o600 {
        bail!("{} has mode {mode:o}, not 600", key.display());
    }
    let cert = std::fs::read_to_string(dir.join("embedded.crt"))
        .context("the example wrote no certificate")?;
    if !cert.starts_with("-----BEGIN CERTIFICATE-----") {
        bail!("embedded.crt is not a PEM certificate");
    }
    Ok(())
}

#[cfg(unix)]
fn key_mode(key: &Path) -> Result<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(key).with_context(|| format!("no key file {}", key.display()))?;
    Ok(meta.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn key_mode(key: &Path) -> Result<u32> {
    std::fs::metadata(key).with_context(|| format!("no key file {}", key.display()))?;
    // Only Unix has modes to check; the example relies on the directory's ACL elsewhere.
    Ok(0o600)
}
