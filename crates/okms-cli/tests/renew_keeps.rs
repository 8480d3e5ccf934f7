//! `credential renew` keeps what it replaces: the new key file is stored as the old one was
//! (structure, PEM or DER, encrypted with the same passphrase), opened with the passphrase
//! sources every key-reading command takes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use common::{Sandbox, stderr_of};
use okms_csr::{
    Certificate, KeyAlgorithm, KeyEncoding, KeyFormat, KeyLayout, KeyProtection, Passphrase,
    PrivateKey, same_public_key,
};
use okms_emulator::RunningEmulator;
use online_common::{AuthMode, CREATE_SVC, cli, emulator, json_ok};

const PASSPHRASE: &str = "correct horse battery staple";

/// Deploys `svc.cert` for a key stored as `layout`, then renews it now with `extra` flags.
fn renew_key_stored_as(
    s: &Sandbox,
    emu: &RunningEmulator,
    alg: KeyAlgorithm,
    layout: KeyLayout,
) -> std::process::Output {
    let pass = Passphrase::from(PASSPHRASE);
    s.write("pass.txt", format!("{PASSPHRASE}\n"));
    let key = PrivateKey::generate(alg).unwrap();
    s.write(
        "svc.key",
        key.to_layout(layout, Some(&pass)).unwrap().as_slice(),
    );
    s.cmd()
        .args([
            "csr", "new", "--key", "svc.key", "--cn", "app1", "--out", "svc.csr",
        ])
        .args(["--passphrase-file", "pass.txt"])
        .assert()
        .success();
    create_svc(s, emu);
    renew_now(s, emu, &["--passphrase-file", "pass.txt"])
}

/// `svc.cert` for `svc.csr`, from a new credential `svc` of 30 days.
fn create_svc(s: &Sandbox, emu: &RunningEmulator) {
    json_ok(cli(s, emu, AuthMode::Signature).args(CREATE_SVC));
}

/// `credential renew --force` of the pair `svc.cert`/`svc.key`.
fn renew_now(s: &Sandbox, emu: &RunningEmulator, extra: &[&str]) -> std::process::Output {
    cli(s, emu, AuthMode::Signature)
        .args([
            "credential",
            "renew",
            "--cert",
            "svc.cert",
            "--key",
            "svc.key",
            "--force",
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn the_new_key_is_stored_as_the_old_one_was() {
    let emu = emulator();
    let pass = Passphrase::from(PASSPHRASE);
    for (alg, protection, encoding) in [
        (
            KeyAlgorithm::EcdsaP256,
            KeyProtection::EncryptedPkcs8,
            KeyEncoding::Pem,
        ),
        (
            KeyAlgorithm::EcdsaP256,
            KeyProtection::Plain(KeyFormat::Traditional),
            KeyEncoding::Pem,
        ),
        (
            KeyAlgorithm::EcdsaP384,
            KeyProtection::Plain(KeyFormat::Pkcs8),
            KeyEncoding::Der,
        ),
        (
            KeyAlgorithm::Rsa2048,
            KeyProtection::Plain(KeyFormat::Traditional),
            KeyEncoding::Der,
        ),
    ] {
        let s = Sandbox::new();
        let layout = KeyLayout {
            protection,
            encoding,
        };
        let out = renew_key_stored_as(&s, &emu, alg, layout);
        assert!(out.status.success(), "{layout:?}: {}", stderr_of(&out));
        let stored = s.read("svc.key");
        assert_eq!(PrivateKey::layout_of(&stored).unwrap(), layout);
        let new_key = PrivateKey::import(&stored, Some(&pass)).unwrap();
        assert_eq!(new_key.algorithm(), alg);
        let cert = Certificate::from_pem(&s.read_string("svc.cert")).unwrap();
        assert!(same_public_key(&cert.public_key(), &new_key.public_key()));
        assert_eq!(
            PrivateKey::layout_of(&s.read("svc.key.bak")).unwrap(),
            layout
        );
    }
}

#[test]
fn an_encrypted_key_without_a_passphrase_source_or_terminal_is_refused_before_any_call() {
    let emu = emulator();
    let s = Sandbox::new();
    let layout = KeyLayout {
        protection: KeyProtection::EncryptedPkcs8,
        encoding: KeyEncoding::Pem,
    };
    assert!(
        renew_key_stored_as(&s, &emu, KeyAlgorithm::EcdsaP256, layout)
            .status
            .success()
    );
    let before = emu.credentials().len();
    let out = renew_now(&s, &emu, &[]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("--passphrase-file"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(emu.credentials().len(), before);
    assert!(!s.exists("svc.key.new"));
}

/// A plain deployed pair.
fn deploy_plain(s: &Sandbox, emu: &RunningEmulator) {
    s.key_and_csr("svc.key", "svc.csr", "ecdsa-p256");
    create_svc(s, emu);
}

#[test]
fn the_new_files_get_the_owner_group_and_mode_of_the_ones_they_replace() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !common::is_root() {
        return; // giving a file away needs root
    }
    let emu = emulator();
    let s = Sandbox::new();
    deploy_plain(&s, &emu);
    for (name, mode) in [("svc.key", 0o640), ("svc.cert", 0o604)] {
        std::os::unix::fs::chown(s.path(name), Some(65534), Some(65534)).unwrap();
        std::fs::set_permissions(s.path(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let out = renew_now(&s, &emu, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    for (name, mode) in [("svc.key", 0o640), ("svc.cert", 0o604)] {
        let m = std::fs::metadata(s.path(name)).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.mode() & 0o777),
            (65534, 65534, mode),
            "{name}"
        );
    }
}

#[test]
fn a_symlinked_pair_stays_symlinked_and_the_files_it_points_to_are_replaced() {
    let emu = emulator();
    let s = Sandbox::new();
    deploy_plain(&s, &emu);
    std::fs::create_dir(s.path("archive")).unwrap();
    for name in ["svc.key", "svc.cert"] {
        std::fs::rename(s.path(name), s.path(&format!("archive/{name}"))).unwrap();
        std::os::unix::fs::symlink(format!("archive/{name}"), s.path(name)).unwrap();
    }
    let out = renew_now(&s, &emu, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    for name in ["svc.key", "svc.cert"] {
        let link = std::fs::symlink_metadata(s.path(name)).unwrap();
        assert!(
            link.file_type().is_symlink(),
            "{name} is no longer a symlink"
        );
        assert!(
            s.exists(&format!("archive/{name}.bak")),
            "{name}: no backup beside the file"
        );
        assert!(
            !s.exists(&format!("{name}.bak")),
            "{name}: backup beside the link"
        );
    }
    let cert = Certificate::from_pem(&s.read_string("svc.cert")).unwrap();
    let key = PrivateKey::import(&s.read("svc.key"), None).unwrap();
    assert!(same_public_key(&cert.public_key(), &key.public_key()));
}
