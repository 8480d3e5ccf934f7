//! The READY-lag part of `cargo xtask bench`: how late `credential create` notices a
//! credential that the emulator makes READY after 20 s (the goal: by 22 s, i.e. within
//! max(1 s, 10 % of the wait)).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::tasks::demo::start_emulator;
use crate::util::{cargo, run_command, target_dir};

/// How long the emulator keeps the credential CREATING.
const READY_AFTER: Duration = Duration::from_secs(20);

/// Builds the debug binaries, starts the emulator with a 20 s READY delay, times one
/// `credential create` from a CSR, and prints how long after READY it returned.
pub fn run() -> Result<Duration> {
    run_command(cargo().args(["build", "--locked", "-p", "okms-cli", "-p", "okms-emulator"]))?;
    let bin = target_dir().join("debug");
    let (_emulator, info) = start_emulator(
        &bin.join("okms-emulator"),
        u64::try_from(READY_AFTER.as_millis()).unwrap_or(u64::MAX),
    )?;
    let scratch = tempfile::tempdir().context("could not create a scratch directory")?;
    let cli = |dir: &Path| {
        let mut c = Command::new(bin.join("okms-cli"));
        c.current_dir(dir)
            .env("OVH_ENDPOINT", &info.api_url)
            .env("OVH_APPLICATION_KEY", &info.application_key)
            .env("OVH_APPLICATION_SECRET", &info.application_secret)
            .env("OVH_CONSUMER_KEY", &info.consumer_key)
            .env("OKMS_ID", &info.okms_id)
            .env_remove("OVH_CLIENT_ID")
            .env_remove("OVH_CLIENT_SECRET")
            .env_remove("OVH_ACCESS_TOKEN");
        c
    };
    let dir = scratch.path();
    // In the scratch directory (run_command would run them in the workspace root).
    for args in [
        &["key", "new", "--algorithm", "ecdsa-p256", "--out", "k.key"][..],
        &[
            "csr", "new", "--key", "k.key", "--cn", "lag", "--out", "k.csr",
        ][..],
    ] {
        let status = cli(dir)
            .args(args)
            .status()
            .context("could not run okms-cli")?;
        if !status.success() {
            bail!("okms-cli {} failed with {status}", args.join(" "));
        }
    }
    let mut create = cli(dir);
    create.args([
        "-q",
        "credential",
        "create",
        "--csr",
        "k.csr",
        "--name",
        "lag",
        "--root",
        "--cert-out",
        "k.cert",
    ]);
    // The emulator starts the READY delay when it receives the POST, a few milliseconds after
    // the process starts: the lag measured is at most that much too long.
    let start = Instant::now();
    let status = create.status().context("could not run credential create")?;
    let elapsed = start.elapsed();
    if !status.success() {
        bail!("credential create failed with {status}");
    }
    let lag = elapsed.saturating_sub(READY_AFTER);
    println!(
        "READY after {:.0} s noticed after {:.2} s: lag {:.2} s (goal: at most {:.0} s)",
        READY_AFTER.as_secs_f64(),
        elapsed.as_secs_f64(),
        lag.as_secs_f64(),
        (READY_AFTER / 10).max(Duration::from_secs(1)).as_secs_f64()
    );
    Ok(lag)
}
