//! `cert export --p12` and `.p12` files given as keys, checked as a user would: openssl and
//! Python `cryptography` read the file (key matching the certificate, chain included,
//! PBES2/AES-256 unless `--legacy`), mode 0600, never over an existing file; bad input named,
//! with its exit code, and nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Sandbox, stderr_of, stdout_of};
use okms_test_support::interop::{self, Openssl};

const PASS: &str = "correct horse battery staple";

/// `ca.pem`, and `leaf.key` / `leaf.pem` issued by it, in the sandbox; `None` after a skip.
fn pki(sb: &Sandbox) -> Option<Openssl> {
    let openssl = interop::openssl("okms-cli's PKCS#12 tests")?;
    let d = sb.dir.path();
    openssl.test_ca(d, "ca");
    openssl.ec_key_and_csr(d, "leaf");
    openssl.issue(d, "ca", "leaf", "extendedKeyUsage=clientAuth\n");
    Some(openssl)
}

fn export(sb: &Sandbox, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["cert", "export", "--cert", "leaf.pem", "--key", "leaf.key"];
    args.extend_from_slice(extra);
    sb.cmd().env("P12PASS", PASS).args(&args).output().unwrap()
}

fn openssl_info(openssl: Openssl, sb: &Sandbox, file: &str, pass: &str) -> String {
    let passin = format!("pass:{pass}");
    let out = openssl.output(
        sb.dir.path(),
        &["pkcs12", "-info", "-nodes", "-in", file, "-passin", &passin],
    );
    let text = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(out.status.success(), "{text}");
    text
}

#[test]
fn export_writes_a_pbes2_p12_that_openssl_and_python_read_with_the_chain() {
    let sb = Sandbox::new();
    let Some(openssl) = pki(&sb) else { return };
    let out = export(
        &sb,
        &[
            "--p12",
            "out.p12",
            "--ca",
            "ca.pem",
            "--passphrase-env",
            "P12PASS",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.mode("out.p12"), 0o600);
    let stdout = stdout_of(&out);
    assert!(stdout.contains("1 certificate(s)"), "{stdout}");

    let info = openssl_info(openssl, &sb, "out.p12", PASS);
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(info.contains("PBES2, PBKDF2, AES-256-CBC"), "{info}");
    assert!(!info.contains("TripleDES"), "{info}");
    assert!(info.contains("subject=CN = ca"), "{info}");
    // The key in the file is the certificate's.
    let passin = format!("pass:{PASS}");
    let d = sb.dir.path();
    openssl.ok(
        d,
        &[
            "pkcs12", "-in", "out.p12", "-passin", &passin, "-nodes", "-nocerts", "-out", "k.pem",
        ],
    );
    assert_eq!(
        openssl.public_key_der(d, "k.pem", None),
        openssl.public_key_der(d, "leaf.key", None)
    );

    let Some(python) = interop::python_cryptography("okms-cli's PKCS#12 tests") else {
        return;
    };
    let code = format!(
        r#"
from cryptography.hazmat.primitives.serialization import pkcs12, Encoding, PublicFormat
key, cert, chain = pkcs12.load_key_and_certificates(open("out.p12", "rb").read(), b"{PASS}")
spki = lambda k: k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
assert spki(key.public_key()) == spki(cert.public_key())
assert cert.subject.rfc4514_string() == "CN=leaf"
assert [c.subject.rfc4514_string() for c in chain] == ["CN=ca"]
print("ok")
"#
    );
    assert_eq!(python.run(d, &code).trim(), "ok");
}

#[test]
fn legacy_warns_and_is_3des_and_no_chain_is_said() {
    let sb = Sandbox::new();
    let Some(openssl) = pki(&sb) else { return };
    let out = export(
        &sb,
        &[
            "--p12",
            "legacy.p12",
            "--legacy",
            "--passphrase-env",
            "P12PASS",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("warning: --legacy"),
        "{}",
        stderr_of(&out)
    );
    assert!(
        stdout_of(&out).contains("the file holds no CA chain"),
        "{}",
        stdout_of(&out)
    );
    let info = openssl_info(openssl, &sb, "legacy.p12", PASS);
    assert!(info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{info}");
    assert!(info.contains("MAC: sha1"), "{info}");
}

#[test]
fn no_passphrase_only_when_asked_and_never_empty_otherwise() {
    let sb = Sandbox::new();
    let Some(openssl) = pki(&sb) else { return };
    let empty = sb
        .cmd()
        .env("EMPTY", "")
        .args([
            "cert",
            "export",
            "--cert",
            "leaf.pem",
            "--key",
            "leaf.key",
            "--p12",
            "e.p12",
            "--passphrase-env",
            "EMPTY",
        ])
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(3), "{}", stderr_of(&empty));
    assert!(stderr_of(&empty).contains("empty"), "{}", stderr_of(&empty));
    assert!(!sb.exists("e.p12"));

    let out = export(&sb, &["--p12", "open.p12", "--no-passphrase"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("has no passphrase"),
        "{}",
        stderr_of(&out)
    );
    openssl_info(openssl, &sb, "open.p12", "");
    // And it opens as a key with no passphrase source at all.
    let show = sb.cmd().args(["key", "show", "open.p12"]).output().unwrap();
    assert!(show.status.success(), "{}", stderr_of(&show));
}

#[test]
fn refusals_write_nothing_and_say_why() {
    let sb = Sandbox::new();
    if pki(&sb).is_none() {
        return;
    }
    // An existing output is kept.
    sb.write("taken.p12", b"mine");
    let out = export(&sb, &["--p12", "taken.p12", "--passphrase-env", "P12PASS"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert_eq!(sb.read("taken.p12"), b"mine");

    // A key that is not the certificate's.
    let other = sb
        .cmd()
        .args(["key", "new", "--out", "other.key"])
        .output()
        .unwrap();
    assert!(other.status.success(), "{}", stderr_of(&other));
    let out = sb
        .cmd()
        .env("P12PASS", PASS)
        .args([
            "cert",
            "export",
            "--cert",
            "leaf.pem",
            "--key",
            "other.key",
            "--p12",
            "x.p12",
            "--passphrase-env",
            "P12PASS",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("does not match the certificate"),
        "{}",
        stderr_of(&out)
    );
    assert!(!sb.exists("x.p12"));

    // A key on a token never leaves it.
    let out = sb
        .cmd()
        .args([
            "cert",
            "export",
            "--cert",
            "leaf.pem",
            "--key",
            "pkcs11:token=t;object=k",
            "--p12",
            "x.p12",
            "--no-passphrase",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("not extractable"),
        "{}",
        stderr_of(&out)
    );
    assert!(!sb.exists("x.p12"));
}

#[test]
fn a_p12_is_a_key_file_and_bad_ones_are_named() {
    let sb = Sandbox::new();
    if pki(&sb).is_none() {
        return;
    }
    let out = export(&sb, &["--p12", "out.p12", "--passphrase-env", "P12PASS"]);
    assert!(out.status.success(), "{}", stderr_of(&out));

    let run =
        |args: &[&str], pass: &str| sb.cmd().env("P12PASS", pass).args(args).output().unwrap();
    let csr_new = |key: &str, pass: &str| {
        run(
            &[
                "csr",
                "new",
                "--key",
                key,
                "--cn",
                "app1",
                "--out",
                "req.csr",
                "--passphrase-env",
                "P12PASS",
            ],
            pass,
        )
    };
    let ok = run(
        &["key", "show", "out.p12", "--passphrase-env", "P12PASS"],
        PASS,
    );
    assert!(ok.status.success(), "{}", stderr_of(&ok));
    let csr = csr_new("out.p12", PASS);
    assert!(csr.status.success(), "{}", stderr_of(&csr));
    std::fs::remove_file(sb.path("req.csr")).unwrap();

    let wrong = csr_new("out.p12", "not it");
    assert_eq!(wrong.status.code(), Some(3), "{}", stderr_of(&wrong));
    assert!(
        stderr_of(&wrong).contains("wrong passphrase"),
        "{}",
        stderr_of(&wrong)
    );

    let whole = sb.read("out.p12");
    sb.write("cut.p12", &whole[..whole.len() / 2]);
    let cut = csr_new("cut.p12", PASS);
    assert_eq!(cut.status.code(), Some(3), "{}", stderr_of(&cut));
    assert!(stderr_of(&cut).contains("truncated"), "{}", stderr_of(&cut));

    sb.write("fake.p12", sb.read("leaf.pem"));
    let fake = csr_new("fake.p12", PASS);
    assert_eq!(fake.status.code(), Some(3), "{}", stderr_of(&fake));
    assert!(
        stderr_of(&fake).contains("not a PKCS#12 file"),
        "{}",
        stderr_of(&fake)
    );
    assert!(!sb.exists("req.csr"), "a refused input left a CSR behind");
}
