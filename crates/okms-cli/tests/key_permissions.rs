//! Secret hygiene: reading a private key or passphrase file that other users can read works
//! but warns, naming the file and the `chmod 600` that fixes it; a 0600 file reads silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Sandbox, stderr_of};

const KEY: &str = include_str!("fixtures/client.key");

fn write_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn world_readable_key_warns_with_the_fix() {
    let sb = Sandbox::new();
    let key = sb.path("key.pem");
    write_mode(&key, KEY, 0o644);
    let out = sb.cmd().args(["key", "show", "key.pem"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("warning"), "{err}");
    assert!(
        err.contains("key.pem can be read by other users (mode 0644)"),
        "{err}"
    );
    assert!(err.contains("chmod 600 key.pem"), "{err}");
    // The warning never shows key material.
    assert!(!err.contains("BEGIN"), "{err}");
    // Nothing was changed on disk: a warning only.
    assert_eq!(sb.mode("key.pem"), 0o644);
}

#[test]
fn group_readable_key_used_for_a_csr_warns() {
    let sb = Sandbox::new();
    write_mode(&sb.path("key.pem"), KEY, 0o640);
    let out = sb
        .cmd()
        .args([
            "csr", "new", "--key", "key.pem", "--cn", "app1", "--out", "req.csr",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("mode 0640") && err.contains("chmod 600 key.pem"),
        "{err}"
    );
    assert!(sb.path("req.csr").exists());
}

#[test]
fn owner_only_key_reads_silently() {
    let sb = Sandbox::new();
    write_mode(&sb.path("key.pem"), KEY, 0o600);
    let out = sb.cmd().args(["key", "show", "key.pem"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
    // Owner-writable/executable bits and other users' write-only bits are not about reading.
    write_mode(&sb.path("key.pem"), KEY, 0o700);
    let out = sb.cmd().args(["key", "show", "key.pem"]).output().unwrap();
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
}

#[test]
fn readable_passphrase_file_warns_and_names_it() {
    let sb = Sandbox::new();
    write_mode(
        &sb.path("pass.txt"),
        "correct horse battery staple\n",
        0o600,
    );
    let out = sb
        .cmd()
        .args([
            "key",
            "new",
            "--encrypt",
            "--passphrase-file",
            "pass.txt",
            "--out",
            "enc.pem",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
    // The key okms-cli wrote is 0600; only the passphrase file is exposed.
    std::fs::set_permissions(sb.path("pass.txt"), std::fs::Permissions::from_mode(0o604)).unwrap();
    let out = sb
        .cmd()
        .args(["key", "show", "enc.pem", "--passphrase-file", "pass.txt"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("passphrase file pass.txt can be read by other users (mode 0604)"),
        "{err}"
    );
    assert!(err.contains("chmod 600 pass.txt"), "{err}");
    assert!(!err.contains("enc.pem can be read"), "{err}");
    assert!(!err.contains("correct horse"), "{err}");
}

#[test]
fn stdin_is_not_checked() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["key", "show", "-"])
        .write_stdin(KEY)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
}
