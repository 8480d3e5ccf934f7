//! CSRs that openssl makes: we verify and inspect them, and reject weak signatures clearly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_csr::{Csr, Error, KeyAlgorithm, PrivateKey};
use okms_test_support::interop;

#[test]
fn openssl_csrs_verify_here() {
    let Some(openssl) = interop::openssl("openssl_csrs_verify_here") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [(&str, &[&str], &str, &str); 8] = [
        (
            "p256",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "ecdsa-p256",
            "ecdsa-with-SHA256",
        ),
        // openssl signs P-384 with SHA-256 by default.
        (
            "p384",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "ecdsa-p384",
            "ecdsa-with-SHA256",
        ),
        (
            "p521",
            &[
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-521",
                "-sha512",
            ],
            "ecdsa-p521",
            "ecdsa-with-SHA512",
        ),
        (
            "p256-384",
            &[
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-sha384",
            ],
            "ecdsa-p256",
            "ecdsa-with-SHA384",
        ),
        (
            "rsa",
            &["-newkey", "rsa:2048"],
            "rsa-2048",
            "sha256WithRSAEncryption",
        ),
        (
            "rsa384",
            &["-newkey", "rsa:2048", "-sha384"],
            "rsa-2048",
            "sha384WithRSAEncryption",
        ),
        (
            "rsa512",
            &["-newkey", "rsa:2048", "-sha512"],
            "rsa-2048",
            "sha512WithRSAEncryption",
        ),
        (
            "rsa224",
            &["-newkey", "rsa:2048", "-sha224"],
            "rsa-2048",
            "sha224WithRSAEncryption",
        ),
    ];
    for (name, opts, alg, sig) in cases {
        let file = format!("{name}.csr");
        let mut args = vec![
            "req",
            "-new",
            "-nodes",
            "-keyout",
            "k.pem",
            "-subj",
            "/C=FR/O=Example/CN=app1",
            "-out",
            &file,
        ];
        args.extend_from_slice(opts);
        openssl.ok(d, &args);
        let csr = Csr::parse(&std::fs::read(d.join(&file)).unwrap()).unwrap();
        csr.verify().unwrap_or_else(|e| panic!("{name}: {e}"));
        let info = csr.info();
        assert_eq!(info.key_algorithm, alg, "{name}");
        assert_eq!(info.signature_algorithm, sig, "{name}");
        assert_eq!(csr.subject(), "CN=app1,O=Example,C=FR");
        let key = PrivateKey::import(&std::fs::read(d.join("k.pem")).unwrap(), None).unwrap();
        assert_eq!(key.public_key(), csr.public_key(), "{name}");
    }
    let _ = KeyAlgorithm::ALL;
}

#[test]
fn weak_or_unsupported_csrs_are_explained() {
    let Some(openssl) = interop::openssl("weak_or_unsupported_csrs_are_explained") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl.ok(
        d,
        &[
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-subj", "/CN=old",
            "-sha1", "-out", "sha1.csr",
        ],
    );
    let csr = Csr::parse(&std::fs::read(d.join("sha1.csr")).unwrap()).unwrap();
    match csr.verify() {
        Err(Error::UnsupportedSignatureAlgorithm(m)) => assert!(
            m.contains("sha1WithRSAEncryption") && m.contains("insecure"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    openssl.ok(
        d,
        &[
            "req", "-new", "-newkey", "ed25519", "-nodes", "-keyout", "ed.pem", "-subj", "/CN=ed",
            "-out", "ed.csr",
        ],
    );
    let csr = Csr::parse(&std::fs::read(d.join("ed.csr")).unwrap()).unwrap();
    let info = csr.info();
    assert_eq!(info.key_algorithm, "ed25519 (unsupported)");
    assert!(!info.signature_valid);
    assert!(csr.verify().unwrap_err().to_string().contains("Ed25519"));
}
