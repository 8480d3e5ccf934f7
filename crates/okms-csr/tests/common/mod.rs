//! Helpers shared by the integration tests: running openssl and Python, skipping loudly when
//! they are missing (unless OKMS_REQUIRE_INTEROP is set, which turns a missing tool into a
//! failure, as CI does).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

fn required() -> bool {
    std::env::var_os("OKMS_REQUIRE_INTEROP").is_some()
}

fn works(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether the openssl CLI is usable; prints a loud skip notice when not.
pub fn have_openssl(test: &str) -> bool {
    if works("openssl", &["version"]) {
        return true;
    }
    assert!(
        !required(),
        "{test}: openssl CLI missing and OKMS_REQUIRE_INTEROP is set"
    );
    eprintln!(
        "!!!!! SKIPPING {test}: the openssl CLI is not installed (set OKMS_REQUIRE_INTEROP=1 to make this fail)"
    );
    false
}

/// Whether Python 3 with `cryptography` is usable; prints a loud skip notice when not.
pub fn have_python(test: &str) -> bool {
    if works("python3", &["-c", "import cryptography"]) {
        return true;
    }
    assert!(
        !required(),
        "{test}: python3 with cryptography missing and OKMS_REQUIRE_INTEROP is set"
    );
    eprintln!(
        "!!!!! SKIPPING {test}: python3 with the cryptography package is not installed (set OKMS_REQUIRE_INTEROP=1 to make this fail)"
    );
    false
}

/// Runs a command in `dir`, feeding `stdin`, and returns its output (whatever the status).
pub fn run_in(dir: &Path, cmd: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs a command that must succeed and returns its stdout.
pub fn ok(dir: &Path, cmd: &str, args: &[&str]) -> Vec<u8> {
    let out = run_in(dir, cmd, args, b"");
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out.stdout
}

/// `openssl req -verify` on a PEM CSR file; panics with openssl's output on failure.
pub fn openssl_verify_csr(dir: &Path, file: &str) {
    let out = run_in(
        dir,
        "openssl",
        &["req", "-verify", "-noout", "-in", file],
        b"",
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && all.contains("verify OK"),
        "openssl req -verify failed for {file}: {all}"
    );
}

/// The DER SPKI openssl derives from a key file.
pub fn openssl_pubkey_der(dir: &Path, key_file: &str, passin: Option<&str>) -> Vec<u8> {
    let mut args = vec!["pkey", "-in", key_file, "-pubout", "-outform", "DER"];
    let pass;
    if let Some(p) = passin {
        pass = format!("pass:{p}");
        args.push("-passin");
        args.push(&pass);
    }
    ok(dir, "openssl", &args)
}
