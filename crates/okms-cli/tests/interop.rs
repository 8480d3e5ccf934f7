//! Interop with openssl: what `okms-cli` writes, openssl reads, and the other way round.
//! Skipped loudly when openssl is missing, unless OKMS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Sandbox, stderr_of, stdout_of};
use okms_test_support::interop;

const ALGORITHMS: [&str; 6] = [
    "ecdsa-p256",
    "ecdsa-p384",
    "ecdsa-p521",
    "rsa-2048",
    "rsa-3072",
    "rsa-4096",
];

#[test]
fn openssl_verifies_every_csr_and_opens_every_key() {
    let Some(openssl) = interop::openssl("the okms-cli openssl interop tests") else {
        return;
    };
    let s = Sandbox::new();
    for alg in ALGORITHMS {
        let key = format!("{alg}.key");
        let csr = format!("{alg}.csr");
        s.cmd()
            .args([
                "csr",
                "new",
                "--algorithm",
                alg,
                "--key-out",
                &key,
                "--subject",
                "CN=app1,O=Example,C=FR",
                "--san",
                "dns:app1.example.com",
                "--out",
                &csr,
            ])
            .assert()
            .success();
        openssl.verify_csr(s.dir.path(), &csr);
        openssl.ok(s.dir.path(), &["pkey", "-noout", "-in", &key]);
        // Same public key in the key, the CSR and `okms-cli key pub`.
        let from_key = openssl.text(s.dir.path(), &["pkey", "-pubout", "-in", &key]);
        let from_csr = openssl.text(s.dir.path(), &["req", "-pubkey", "-noout", "-in", &csr]);
        let ours = stdout_of(&s.cmd().args(["key", "pub", &key]).output().unwrap());
        assert_eq!(from_key, from_csr, "{alg}");
        assert_eq!(from_key, ours, "{alg}");
        // openssl sees the subject and the SAN we asked for.
        let text = openssl.text(s.dir.path(), &["req", "-noout", "-text", "-in", &csr]);
        assert!(
            text.contains("CN = app1") || text.contains("CN=app1"),
            "{alg}: {text}"
        );
        assert!(text.contains("DNS:app1.example.com"), "{alg}: {text}");
    }
}

#[test]
fn openssl_opens_encrypted_and_traditional_keys() {
    let Some(openssl) = interop::openssl("the okms-cli openssl interop tests") else {
        return;
    };
    let s = Sandbox::new();
    s.write("pw", "interop pass\n");
    for alg in ["ecdsa-p256", "ecdsa-p521", "rsa-2048"] {
        let enc = format!("{alg}-enc.key");
        s.cmd()
            .args([
                "key",
                "new",
                "--algorithm",
                alg,
                "--encrypt",
                "--passphrase-file",
                "pw",
                "--out",
                &enc,
            ])
            .assert()
            .success();
        openssl.ok(
            s.dir.path(),
            &["pkey", "-noout", "-in", &enc, "-passin", "file:pw"],
        );
        // And the wrong passphrase is refused by openssl too: the key really is encrypted.
        s.write("bad-pw", "nope\n");
        let bad = openssl.output(
            s.dir.path(),
            &["pkey", "-noout", "-in", &enc, "-passin", "file:bad-pw"],
        );
        assert!(
            !bad.status.success(),
            "{alg}: openssl opened the key with a wrong passphrase"
        );

        let trad = format!("{alg}-trad.key");
        s.cmd()
            .args([
                "key",
                "new",
                "--algorithm",
                alg,
                "--format",
                "traditional",
                "--out",
                &trad,
            ])
            .assert()
            .success();
        openssl.ok(s.dir.path(), &["pkey", "-noout", "-in", &trad]);
    }
}

#[test]
fn keys_made_by_openssl_sign_csrs_openssl_verifies() {
    let Some(openssl) = interop::openssl("the okms-cli openssl interop tests") else {
        return;
    };
    let s = Sandbox::new();
    let d = s.dir.path();
    s.write("pw", "osslpass\n");
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "p256-pkcs8.key",
        ],
    );
    openssl.ok(
        d,
        &[
            "ecparam",
            "-name",
            "secp384r1",
            "-genkey",
            "-out",
            "p384-sec1.key",
        ],
    );
    openssl.ok(
        d,
        &["genrsa", "-traditional", "-out", "rsa-pkcs1.key", "2048"],
    );
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-aes-256-cbc",
            "-pass",
            "file:pw",
            "-out",
            "p521-enc.key",
        ],
    );
    openssl.ok(
        d,
        &[
            "pkey",
            "-in",
            "p256-pkcs8.key",
            "-outform",
            "DER",
            "-out",
            "p256.der",
        ],
    );
    for key in [
        "p256-pkcs8.key",
        "p384-sec1.key",
        "rsa-pkcs1.key",
        "p521-enc.key",
        "p256.der",
    ] {
        let csr = format!("{key}.csr");
        let out = s
            .cmd()
            .args([
                "csr",
                "new",
                "--key",
                key,
                "--passphrase-file",
                "pw",
                "--cn",
                "from-openssl",
                "--out",
                &csr,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{key}: {}", stderr_of(&out));
        openssl.verify_csr(d, &csr);
        s.cmd()
            .args([
                "csr",
                "verify",
                &csr,
                "--key",
                key,
                "--passphrase-file",
                "pw",
            ])
            .assert()
            .success();
    }
}

#[test]
fn cert_show_reads_an_openssl_certificate_and_checks_the_key() {
    let Some(openssl) = interop::openssl("the okms-cli openssl interop tests") else {
        return;
    };
    let s = Sandbox::new();
    let d = s.dir.path();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    s.key("other.pem", "ecdsa-p256");
    // A certificate shaped like the ones OKMS issues: serial = credential id, domain SAN, clientAuth.
    s.write(
        "ext.cnf",
        "[ext]\nsubjectAltName = critical, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:okms.domain:e90c5841-f39e-4983-8596-62ff0c538b6b\n\
         keyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n",
    );
    openssl.ok(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "c.csr",
            "-key",
            "k.pem",
            "-days",
            "30",
            "-set_serial",
            "0x00F18B5E0D75B840A39B0E71FFE5FF03CB",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "ext",
            "-out",
            "client.cert",
        ],
    );
    let out = s
        .cmd()
        .args(["--json", "cert", "show", "client.cert", "--key", "k.pem"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["credential_id"], "f18b5e0d-75b8-40a3-9b0e-71ffe5ff03cb");
    assert_eq!(v["okms_domain"], "e90c5841-f39e-4983-8596-62ff0c538b6b");
    assert_eq!(v["valid_now"], true);
    assert_eq!(v["key_matches"], true);
    assert!(
        v["extended_key_usages"].to_string().contains("clientAuth"),
        "{v}"
    );

    s.cmd()
        .args(["cert", "show", "client.cert"])
        .assert()
        .success();
    let out = s
        .cmd()
        .args(["cert", "show", "client.cert", "--key", "other.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("does not hold the public key of other.pem"));
}

#[test]
fn python_cryptography_loads_csr_and_key() {
    let Some(python) = interop::python_cryptography("the okms-cli Python interop test") else {
        return;
    };
    let s = Sandbox::new();
    for alg in ["ecdsa-p256", "ecdsa-p384", "rsa-2048"] {
        let key = format!("{alg}.key");
        let csr = format!("{alg}.csr");
        s.key_and_csr(&key, &csr, alg);
        let script = format!(
            "from cryptography import x509\nfrom cryptography.hazmat.primitives import serialization\n\
             c = x509.load_pem_x509_csr(open('{csr}','rb').read())\nassert c.is_signature_valid\n\
             k = serialization.load_pem_private_key(open('{key}','rb').read(), None)\n\
             pub = lambda x: x.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)\n\
             assert pub(k.public_key()) == pub(c.public_key())\nprint('ok')\n"
        );
        python.run(s.dir.path(), &script);
    }
}
