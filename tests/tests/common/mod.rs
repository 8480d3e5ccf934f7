//! Shared by the end-to-end tests: the okms-cli binary, an emulator, and the environment that
//! points okms-cli at it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use okms_emulator::{EmulatorConfig, RunningEmulator};

/// The okms-cli binary of this workspace.
///
/// `cargo test --workspace` (what `cargo xtask test` runs) has already built it; building it
/// again from here would compile its dependencies a second time with other features. Only when
/// it is missing or older than the sources (`cargo test -p okms-e2e-tests` after an edit) is
/// it built here.
pub fn okms_cli() -> Command {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        workspace_binary(
            "okms-cli",
            &[
                "okms-cli",
                "okms-api",
                "okms-csr",
                "okms-pkcs11",
                "okms-lifecycle",
            ],
        )
    });
    let mut command = Command::new(bin);
    okms_test_support::without_api_credentials(&mut command);
    // No ~/.ovh.conf of the developer's may leak into a test.
    command.env("HOME", std::env::temp_dir().join("okms-e2e-no-home"));
    command
}

/// An emulator on 127.0.0.1 with a short CREATING phase.
pub fn emulator() -> RunningEmulator {
    RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(300),
        delete_delay: Duration::from_millis(200),
        ..EmulatorConfig::default()
    })
    .expect("start the emulator")
}

/// How a test authenticates okms-cli against the emulator.
#[derive(Clone, Copy, Debug)]
pub enum AuthMethod {
    /// Application key, secret and consumer key (`$1$` signatures).
    Signature,
    /// OAuth2 client credentials (a service account).
    OAuth2,
}

/// okms-cli, pointed at `emulator` with `auth`, running in `dir`.
pub fn online(emulator: &RunningEmulator, auth: AuthMethod, dir: &Path) -> Command {
    let info = emulator.info();
    let mut command = okms_cli();
    command
        .current_dir(dir)
        .env("OVH_ENDPOINT", &info.api_url)
        .env("OKMS_ID", info.okms_id.to_string());
    match auth {
        AuthMethod::Signature => command
            .env("OVH_APPLICATION_KEY", &info.application_key)
            .env("OVH_APPLICATION_SECRET", &info.application_secret)
            .env("OVH_CONSUMER_KEY", &info.consumer_key),
        AuthMethod::OAuth2 => command
            .env("OVH_CLIENT_ID", &info.client_id)
            .env("OVH_CLIENT_SECRET", &info.client_secret),
    };
    command
}

/// Runs `command`, failing the test with its output unless it exits 0; returns stdout.
pub fn ok(command: &mut Command) -> String {
    ok_with_stderr(command).0
}

/// [`ok`], returning stdout and stderr.
pub fn ok_with_stderr(command: &mut Command) -> (String, String) {
    let output = command.output().expect("run okms-cli");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

/// Waits up to five seconds for the KMS to refuse a deleted credential: `accepted` runs the
/// mutual-TLS check and says whether it still got in.
pub fn until_refused(mut accepted: impl FnMut() -> bool) {
    for _ in 0..50 {
        if !accepted() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the KMS still accepts a deleted credential");
}

/// The mode bits of a file.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The binary `package` of this workspace (same-named), built when missing or older than the
/// sources of `crates` (see [`okms_cli`]).
pub fn workspace_binary(package: &str, crates: &[&str]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let bin = target.join(profile).join(package);
    if !is_fresh(&bin, &root, crates) {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "-q", "-p", package, "--bin", package]);
        if profile == "release" {
            build.arg("--release");
        }
        let status = build.status().expect("cargo build");
        assert!(status.success(), "building {package} failed");
    }
    bin
}

/// Whether `bin` exists and is newer than every source file of `crates`.
fn is_fresh(bin: &Path, root: &Path, crates: &[&str]) -> bool {
    fn newest(path: &Path, newest_seen: &mut std::time::SystemTime) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                newest(&entry.path(), newest_seen);
            }
        } else if let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) {
            *newest_seen = (*newest_seen).max(modified);
        }
    }
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return false;
    };
    let mut sources = std::time::SystemTime::UNIX_EPOCH;
    for krate in crates {
        newest(&root.join("crates").join(krate).join("src"), &mut sources);
        newest(
            &root.join("crates").join(krate).join("Cargo.toml"),
            &mut sources,
        );
    }
    newest(&root.join("Cargo.lock"), &mut sources);
    built >= sources
}

/// What one bounded run of a command gave.
#[derive(Debug)]
pub struct Ran {
    /// Exit code; `None` when killed by a signal (or by the time limit).
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
    /// Whether the time limit was reached and the process killed.
    pub timed_out: bool,
}

impl Ran {
    /// Exit 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `command` with its output captured (in files, so no pipe can fill up), killing it if
/// it runs longer than `limit`: a hang becomes a test failure instead of a stuck test run.
pub fn run_bounded(command: &mut Command, limit: Duration) -> Ran {
    use std::io::{Read, Seek};
    let mut out = tempfile::tempfile().expect("temporary file for stdout");
    let mut err = tempfile::tempfile().expect("temporary file for stderr");
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .expect("start okms-cli");
    let start = std::time::Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for okms-cli") {
            break s;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("reap okms-cli");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read = |f: &mut std::fs::File| {
        let mut v = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut v).unwrap();
        String::from_utf8_lossy(&v).into_owned()
    };
    Ran {
        code: status.code(),
        stdout: read(&mut out),
        stderr: read(&mut err),
        timed_out,
    }
}
