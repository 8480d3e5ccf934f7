//! Helpers shared by the okms-cli integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The binary under test, with a predictable environment (no colour, no OKMS_ID).
pub fn okms() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_okms-cli"));
    c.env("NO_COLOR", "1")
        .env_remove("OKMS_ID")
        .env_remove("OVH_ENDPOINT");
    c
}

/// A scratch directory the CLI runs in.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `okms()` running in this directory.
    pub fn cmd(&self) -> Command {
        let mut c = okms();
        c.current_dir(self.dir.path());
        c
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    pub fn read_string(&self, name: &str) -> String {
        String::from_utf8(self.read(name)).unwrap()
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    pub fn mode(&self, name: &str) -> u32 {
        std::fs::metadata(self.path(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    /// Every file under the sandbox (recursively) with its content: compared before and after a
    /// failing command to prove it wrote nothing and changed nothing.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    out.insert(
                        p.strip_prefix(root).unwrap().to_path_buf(),
                        b"<dir>".to_vec(),
                    );
                    walk(&p, root, out);
                } else {
                    let content = std::fs::read(&p).unwrap_or_else(|_| b"<unreadable>".to_vec());
                    out.insert(p.strip_prefix(root).unwrap().to_path_buf(), content);
                }
            }
        }
        let mut m = BTreeMap::new();
        walk(self.dir.path(), self.dir.path(), &mut m);
        m
    }

    /// Generates a key with the CLI and returns its file name.
    pub fn key(&self, name: &str, alg: &str) -> String {
        self.cmd()
            .args(["key", "new", "--algorithm", alg, "--out", name])
            .assert()
            .success();
        name.to_owned()
    }

    /// Generates a key and a CSR with the CLI.
    pub fn key_and_csr(&self, key: &str, csr: &str, alg: &str) {
        self.cmd()
            .args([
                "csr",
                "new",
                "--algorithm",
                alg,
                "--key-out",
                key,
                "--cn",
                "app1",
                "--out",
                csr,
            ])
            .assert()
            .success();
    }
}

/// stderr of a finished command as text.
pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout of a finished command as text.
pub fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the tests run as root (who ignores directory permissions).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Whether script(1) is here to make a pseudo-terminal; says so loudly when it is not.
pub fn have_script(what: &str) -> bool {
    let ok = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        okms_test_support::skip(&format!("script(1) not found; {what} was not tested"));
    }
    ok
}

/// Runs `okms-cli ARGS` in `dir` on a pseudo-terminal made by script(1), with `input` typed in
/// and `env` set (a `None` value removes the variable). Returns the exit code and everything
/// the terminal showed.
pub fn on_tty(
    dir: &Path,
    args: &str,
    input: &str,
    env: &[(&str, Option<&std::ffi::OsStr>)],
) -> (Option<i32>, String) {
    use std::io::Write;
    use std::process::Stdio;
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_okms-cli"));
    let mut command = std::process::Command::new("script");
    command
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        match v {
            Some(v) => command.env(k, v),
            None => command.env_remove(k),
        };
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}
