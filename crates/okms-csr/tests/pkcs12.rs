//! PKCS#12: the files we write open in openssl and Python `cryptography` with the algorithms
//! promised (PBES2/AES-256 and a SHA-256 MAC, or 3DES/SHA-1 when legacy), key matching the
//! certificate and chain included; files openssl writes open here; bad input is named.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_csr::{
    Certificate, Error, Passphrase, Pkcs12Bundle, Pkcs12Encryption, PrivateKey, looks_like_pkcs12,
    same_public_key,
};
use okms_test_support::interop::{self, Openssl};
use std::path::Path;

const PASS: &str = "correct horse battery staple";

/// A CA `ca.pem` and a leaf `leaf.key` / `leaf.pem` it issued, made by openssl in `dir`.
fn openssl_pki(openssl: Openssl, dir: &Path) -> (PrivateKey, Certificate, Certificate) {
    openssl.test_ca(dir, "ca");
    openssl.ec_key_and_csr(dir, "leaf");
    openssl.issue(dir, "ca", "leaf", "extendedKeyUsage=clientAuth\n");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    (
        PrivateKey::import(&read("leaf.key"), None).unwrap(),
        Certificate::parse(&read("leaf.pem")).unwrap(),
        Certificate::parse(&read("ca.pem")).unwrap(),
    )
}

fn write_p12(dir: &Path, name: &str, passphrase: Option<&str>, enc: Pkcs12Encryption) -> Vec<u8> {
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let bundle = Pkcs12Bundle::new(
        PrivateKey::import(&read("leaf.key"), None).unwrap(),
        Certificate::parse(&read("leaf.pem")).unwrap(),
        vec![Certificate::parse(&read("ca.pem")).unwrap()],
    )
    .unwrap();
    let pass = passphrase.map(Passphrase::from);
    let der = bundle.to_der(pass.as_ref(), enc).unwrap().to_vec();
    std::fs::write(dir.join(name), &der).unwrap();
    der
}

#[test]
fn openssl_reads_our_pkcs12_with_pbes2_aes256_and_a_sha256_mac() {
    let Some(openssl) = interop::openssl("okms-csr's PKCS#12 tests") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, cert, _) = openssl_pki(openssl, d);
    write_p12(d, "out.p12", Some(PASS), Pkcs12Encryption::Pbes2Aes256);
    let passin = format!("pass:{PASS}");
    let out = openssl.output(
        d,
        &[
            "pkcs12", "-info", "-nodes", "-in", "out.p12", "-passin", &passin,
        ],
    );
    let info = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{info}");
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(
        info.contains("PBES2, PBKDF2, AES-256-CBC") && info.contains("PRF hmacWithSHA256"),
        "{info}"
    );
    assert!(!info.contains("3-KeyTripleDES"), "{info}");
    assert!(
        info.contains("subject=CN = leaf") && info.contains("subject=CN = ca"),
        "{info}"
    );
    // The key openssl extracts is ours, and matches the certificate.
    openssl.ok(
        d,
        &[
            "pkcs12", "-in", "out.p12", "-passin", &passin, "-nocerts", "-nodes", "-out", "k.pem",
        ],
    );
    let extracted = PrivateKey::import(&std::fs::read(d.join("k.pem")).unwrap(), None).unwrap();
    assert!(same_public_key(&extracted.public_key(), &key.public_key()));
    assert!(same_public_key(&extracted.public_key(), &cert.public_key()));
}

#[test]
fn legacy_pkcs12_is_3des_with_a_sha1_mac() {
    let Some(openssl) = interop::openssl("okms-csr's PKCS#12 tests") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_pki(openssl, d);
    write_p12(d, "legacy.p12", Some(PASS), Pkcs12Encryption::Legacy);
    let passin = format!("pass:{PASS}");
    let out = openssl.output(
        d,
        &[
            "pkcs12",
            "-info",
            "-nodes",
            "-in",
            "legacy.p12",
            "-passin",
            &passin,
        ],
    );
    let info = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{info}");
    assert!(info.contains("MAC: sha1"), "{info}");
    assert!(info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{info}");
    assert!(!info.contains("AES-256"), "{info}");
}

#[test]
fn python_cryptography_loads_key_certificate_and_chain() {
    let Some(python) = interop::python_cryptography("okms-csr's PKCS#12 tests") else {
        return;
    };
    let Some(openssl) = interop::openssl("okms-csr's PKCS#12 tests") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_pki(openssl, d);
    write_p12(d, "out.p12", Some(PASS), Pkcs12Encryption::Pbes2Aes256);
    write_p12(d, "legacy.p12", Some(PASS), Pkcs12Encryption::Legacy);
    write_p12(d, "open.p12", None, Pkcs12Encryption::Pbes2Aes256);
    let code = format!(
        r#"
from cryptography.hazmat.primitives.serialization import pkcs12, Encoding, PublicFormat
for name, pw in (("out.p12", b"{PASS}"), ("legacy.p12", b"{PASS}"), ("open.p12", None)):
    key, cert, chain = pkcs12.load_key_and_certificates(open(name, "rb").read(), pw)
    spki = lambda k: k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert spki(key.public_key()) == spki(cert.public_key()), name
    assert cert.subject.rfc4514_string() == "CN=leaf", cert.subject
    assert [c.subject.rfc4514_string() for c in chain] == ["CN=ca"], chain
    print(name, "ok")
"#
    );
    let out = python.run(d, &code);
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn a_pkcs12_openssl_writes_reads_back_here() {
    let Some(openssl) = interop::openssl("okms-csr's PKCS#12 tests") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, _, ca) = openssl_pki(openssl, d);
    let passout = format!("pass:{PASS}");
    openssl.ok(
        d,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "leaf.key",
            "-in",
            "leaf.pem",
            "-certfile",
            "ca.pem",
            "-passout",
            &passout,
            "-out",
            "theirs.p12",
        ],
    );
    let bytes = std::fs::read(d.join("theirs.p12")).unwrap();
    assert!(looks_like_pkcs12(&bytes));
    let bundle = Pkcs12Bundle::from_der(&bytes, Some(&Passphrase::from(PASS))).unwrap();
    assert!(same_public_key(
        &bundle.key().public_key(),
        &key.public_key()
    ));
    assert_eq!(bundle.chain().len(), 1);
    assert_eq!(bundle.chain()[0].to_der(), ca.to_der());
}

#[test]
fn wrong_missing_truncated_and_foreign_input_is_named() {
    let Some(openssl) = interop::openssl("okms-csr's PKCS#12 tests") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_pki(openssl, d);
    let der = write_p12(d, "out.p12", Some(PASS), Pkcs12Encryption::Pbes2Aes256);
    let wrong = Pkcs12Bundle::from_der(&der, Some(&Passphrase::from("nope"))).unwrap_err();
    assert!(matches!(wrong, Error::WrongPassphrase), "{wrong}");
    let missing = Pkcs12Bundle::from_der(&der, None).unwrap_err();
    assert!(matches!(missing, Error::PassphraseRequired), "{missing}");

    let truncated =
        Pkcs12Bundle::from_der(&der[..der.len() / 2], Some(&Passphrase::from(PASS))).unwrap_err();
    assert!(
        truncated.to_string().contains("PKCS#12") && truncated.to_string().contains("truncated"),
        "{truncated}"
    );

    let pem_key = std::fs::read(d.join("leaf.key")).unwrap();
    assert!(!looks_like_pkcs12(&pem_key));
    let foreign = Pkcs12Bundle::from_der(&pem_key, None).unwrap_err();
    assert!(matches!(foreign, Error::NotPkcs12(_)), "{foreign}");
    assert!(
        foreign.to_string().contains("not a PKCS#12 file"),
        "{foreign}"
    );

    // An empty passphrase is refused: "none" must be asked for with `None`.
    let bundle = Pkcs12Bundle::from_der(&der, Some(&Passphrase::from(PASS))).unwrap();
    let empty = bundle
        .to_der(Some(&Passphrase::from("")), Pkcs12Encryption::Pbes2Aes256)
        .unwrap_err();
    assert!(empty.to_string().contains("empty"), "{empty}");
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let Some(openssl) = interop::openssl("okms-csr's PKCS#12 tests") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, _) = openssl_pki(openssl, dir.path());
    let other = PrivateKey::generate(okms_csr::KeyAlgorithm::EcdsaP256).unwrap();
    let err = Pkcs12Bundle::new(other, cert, Vec::new()).unwrap_err();
    assert!(matches!(err, Error::KeyCertificateMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("does not match the certificate"),
        "{err}"
    );
}
