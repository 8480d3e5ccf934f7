//! Interop with the openssl CLI: our keys and CSRs open and verify there; keys openssl
//! writes in every supported format import here and sign CSRs openssl verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_csr::ExposeSecret as _;
use okms_csr::{
    CsrBuilder, DistinguishedName, Error, KeyAlgorithm, KeyFormat, Passphrase, PrivateKey,
    PublicKey, same_public_key,
};
use okms_test_support::interop::{self, Openssl};
use std::path::Path;

const PASS: &str = "correct horse battery staple";

fn subject() -> DistinguishedName {
    "CN=app1,OU=Ops,O=Example,C=FR".parse().unwrap()
}

/// Builds a CSR with `key`, writes it, and has openssl verify it.
fn csr_verified_by_openssl(openssl: Openssl, dir: &Path, key: &PrivateKey, name: &str) {
    let csr = CsrBuilder::new(subject())
        .san("dns:app1.example.com".parse().unwrap())
        .san("ip:192.0.2.7".parse().unwrap())
        .build(key)
        .unwrap();
    std::fs::write(dir.join(name), csr.to_pem()).unwrap();
    openssl.verify_csr(dir, name);
    // Also a CSR without SANs: no attributes at all.
    let bare = CsrBuilder::new(subject()).build(key).unwrap();
    let bare_name = format!("bare-{name}");
    std::fs::write(dir.join(&bare_name), bare.to_pem()).unwrap();
    openssl.verify_csr(dir, &bare_name);
    // openssl -text prints "Requested Extensions:" even when there are none; the ASN.1 dump
    // shows whether the attribute is really there.
    let bare_dump = openssl.text(dir, &["asn1parse", "-in", &bare_name]);
    assert!(
        !bare_dump.contains("Extension Request"),
        "extensionRequest present without SANs:\n{bare_dump}"
    );
    let dump = openssl.text(dir, &["asn1parse", "-in", name]);
    assert!(dump.contains("Extension Request"), "{dump}");
}

#[test]
fn every_algorithm_csr_and_key_export_open_in_openssl() {
    let Some(openssl) = interop::openssl("every_algorithm_csr_and_key_export_open_in_openssl")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for alg in KeyAlgorithm::ALL {
        let key = PrivateKey::generate(alg).unwrap();
        let ours = key.public_key();
        csr_verified_by_openssl(openssl, d, &key, &format!("{alg}.csr"));

        let text = String::from_utf8(
            openssl.ok(d, &["req", "-noout", "-text", "-in", &format!("{alg}.csr")]),
        )
        .unwrap();
        let expected_sig = match alg {
            KeyAlgorithm::EcdsaP256 => "ecdsa-with-SHA256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-with-SHA384",
            KeyAlgorithm::EcdsaP521 => "ecdsa-with-SHA512",
            _ => "sha256WithRSAEncryption",
        };
        assert!(text.contains(expected_sig), "{alg}: {text}");
        assert!(
            text.contains("DNS:app1.example.com") && text.contains("IP Address:192.0.2.7"),
            "{text}"
        );

        for (fmt, file, label) in [
            (KeyFormat::Pkcs8, "k8.pem", "PRIVATE KEY"),
            (
                KeyFormat::Traditional,
                "trad.pem",
                if alg.is_rsa() {
                    "RSA PRIVATE KEY"
                } else {
                    "EC PRIVATE KEY"
                },
            ),
        ] {
            let pem = key.to_pem(fmt).unwrap();
            assert!(
                pem.expose_secret()
                    .starts_with(&format!("-----BEGIN {label}-----\n")),
                "{alg} {fmt:?}"
            );
            std::fs::write(d.join(file), pem.expose_secret()).unwrap();
            let der = openssl.public_key_der(d, file, None);
            assert!(
                same_public_key(&ours, &PublicKey::from_spki_der(&der).unwrap()),
                "{alg} {fmt:?}"
            );
            assert_eq!(
                der,
                ours.spki_der(),
                "{alg} {fmt:?}: SPKI DER differs from openssl's"
            );
        }
        let enc = key.to_encrypted_pem(&Passphrase::from(PASS)).unwrap();
        assert!(
            enc.expose_secret()
                .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
        );
        std::fs::write(d.join("enc.pem"), enc.expose_secret()).unwrap();
        let der = openssl.public_key_der(d, "enc.pem", Some(PASS));
        assert_eq!(der, ours.spki_der(), "{alg}: encrypted export");
        let wrong = openssl.output(
            d,
            &["pkey", "-in", "enc.pem", "-passin", "pass:nope", "-noout"],
        );
        assert!(
            !wrong.status.success(),
            "openssl opened our encrypted key with a wrong passphrase"
        );
    }
}

/// Generates a key with openssl (shell commands in `dir`), imports `file`, signs a CSR that
/// openssl verifies, and checks the public key is the one openssl sees.
fn openssl_key_roundtrip(
    openssl: Openssl,
    dir: &Path,
    cmds: &[&[&str]],
    file: &str,
    passphrase: Option<&str>,
    expected: KeyAlgorithm,
) {
    for cmd in cmds {
        openssl.ok(dir, cmd);
    }
    let bytes = std::fs::read(dir.join(file)).unwrap();
    let pass = passphrase.map(Passphrase::from);
    assert_eq!(
        PrivateKey::is_encrypted(&bytes),
        passphrase.is_some(),
        "{file}: is_encrypted"
    );
    if passphrase.is_some() {
        assert!(
            matches!(
                PrivateKey::import(&bytes, None),
                Err(Error::PassphraseRequired)
            ),
            "{file}"
        );
        let wrong = PrivateKey::import(&bytes, Some(&Passphrase::from("wrong")));
        assert!(
            matches!(wrong, Err(Error::WrongPassphrase)),
            "{file}: {wrong:?}"
        );
    }
    let key = PrivateKey::import(&bytes, pass.as_ref()).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(key.algorithm(), expected, "{file}");
    let der = openssl.public_key_der(dir, file, passphrase);
    assert_eq!(
        key.public_key().spki_der(),
        der.as_slice(),
        "{file}: public key differs"
    );
    csr_verified_by_openssl(openssl, dir, &key, &format!("{file}.csr"));
}

#[test]
fn openssl_ec_keys_in_every_format_import() {
    let Some(openssl) = interop::openssl("openssl_ec_keys_in_every_format_import") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (curve, alg) in [
        ("P-256", KeyAlgorithm::EcdsaP256),
        ("P-384", KeyAlgorithm::EcdsaP384),
        ("P-521", KeyAlgorithm::EcdsaP521),
    ] {
        let base = ["genpkey", "-algorithm", "EC", "-pkeyopt"];
        let curve_opt = format!("ec_paramgen_curve:{curve}");
        let gen_cmd: Vec<&str> = base
            .iter()
            .copied()
            .chain([curve_opt.as_str(), "-out", "ec.pem"])
            .collect();
        // PKCS#8 PEM, and its DER form.
        openssl_key_roundtrip(openssl, d, &[&gen_cmd], "ec.pem", None, alg);
        openssl_key_roundtrip(
            openssl,
            d,
            &[&["pkey", "-in", "ec.pem", "-outform", "DER", "-out", "ec.der"]],
            "ec.der",
            None,
            alg,
        );
        // SEC1 with an EC PARAMETERS block first (ecparam -genkey without -noout).
        let named = match curve {
            "P-256" => "prime256v1",
            "P-384" => "secp384r1",
            _ => "secp521r1",
        };
        openssl_key_roundtrip(
            openssl,
            d,
            &[&[
                "ecparam",
                "-name",
                named,
                "-genkey",
                "-out",
                "sec1params.pem",
            ]],
            "sec1params.pem",
            None,
            alg,
        );
        // Traditional SEC1 PEM and DER.
        openssl_key_roundtrip(
            openssl,
            d,
            &[&["pkey", "-in", "ec.pem", "-traditional", "-out", "sec1.pem"]],
            "sec1.pem",
            None,
            alg,
        );
        openssl_key_roundtrip(
            openssl,
            d,
            &[&["ec", "-in", "ec.pem", "-outform", "DER", "-out", "sec1.der"]],
            "sec1.der",
            None,
            alg,
        );
    }
}

#[test]
fn openssl_rsa_keys_in_every_format_import() {
    let Some(openssl) = interop::openssl("openssl_rsa_keys_in_every_format_import") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (bits, alg) in [
        ("2048", KeyAlgorithm::Rsa2048),
        ("3072", KeyAlgorithm::Rsa3072),
        ("4096", KeyAlgorithm::Rsa4096),
    ] {
        let bits_opt = format!("rsa_keygen_bits:{bits}");
        openssl_key_roundtrip(
            openssl,
            d,
            &[&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                &bits_opt,
                "-out",
                "rsa.pem",
            ]],
            "rsa.pem",
            None,
            alg,
        );
        if bits == "2048" {
            openssl_key_roundtrip(
                openssl,
                d,
                &[&[
                    "pkey", "-in", "rsa.pem", "-outform", "DER", "-out", "rsa.der",
                ]],
                "rsa.der",
                None,
                alg,
            );
            openssl_key_roundtrip(
                openssl,
                d,
                &[&[
                    "pkey",
                    "-in",
                    "rsa.pem",
                    "-traditional",
                    "-out",
                    "pkcs1.pem",
                ]],
                "pkcs1.pem",
                None,
                alg,
            );
            openssl_key_roundtrip(
                openssl,
                d,
                &[&[
                    "rsa",
                    "-in",
                    "rsa.pem",
                    "-traditional",
                    "-outform",
                    "DER",
                    "-out",
                    "pkcs1.der",
                ]],
                "pkcs1.der",
                None,
                alg,
            );
        }
    }
}

#[test]
fn openssl_encrypted_pkcs8_variants_import() {
    let Some(openssl) = interop::openssl("openssl_encrypted_pkcs8_variants_import") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.pem",
        ],
    );
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.pem",
        ],
    );
    let passout = format!("pass:{PASS}");
    let variants: [(&str, &[&str]); 6] = [
        ("aes256-pbkdf2", &["-v2", "aes-256-cbc"]),
        ("aes128-pbkdf2", &["-v2", "aes-128-cbc"]),
        ("aes256-scrypt", &["-v2", "aes-256-cbc", "-scrypt"]),
        (
            "aes256-sha1prf",
            &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1"],
        ),
        ("des3", &["-v2", "des3"]),
        (
            "aes256-sha512prf",
            &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512"],
        ),
    ];
    for (src, alg) in [
        ("ec.pem", KeyAlgorithm::EcdsaP256),
        ("rsa.pem", KeyAlgorithm::Rsa2048),
    ] {
        for (name, opts) in variants {
            let out = format!("{name}-{src}");
            let mut args: Vec<&str> = vec![
                "pkcs8", "-topk8", "-in", src, "-out", &out, "-passout", &passout,
            ];
            args.extend_from_slice(opts);
            openssl_key_roundtrip(openssl, d, &[&args], &out, Some(PASS), alg);
            // The DER form of the same encrypted key.
            let der_out = format!("{out}.der");
            let passin = passout.clone();
            openssl.ok(
                d,
                &[
                    "pkcs8",
                    "-topk8",
                    "-in",
                    src,
                    "-outform",
                    "DER",
                    "-out",
                    &der_out,
                    "-passout",
                    &passin,
                    "-v2",
                    "aes-256-cbc",
                ],
            );
            openssl_key_roundtrip(openssl, d, &[], &der_out, Some(PASS), alg);
        }
    }
}

fn expect_unsupported(bytes: &[u8], pass: Option<&Passphrase>, needle: &str) {
    match PrivateKey::import(bytes, pass) {
        Ok(k) => panic!("imported {k:?}, expected an error mentioning {needle:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(needle),
                "error {msg:?} does not mention {needle:?}"
            );
        }
    }
}

#[test]
fn unsupported_openssl_keys_are_rejected_with_clear_errors() {
    let Some(openssl) = interop::openssl("unsupported_openssl_keys_are_rejected_with_clear_errors")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl.ok(
        d,
        &["genpkey", "-algorithm", "ED25519", "-out", "ed25519.pem"],
    );
    expect_unsupported(
        &std::fs::read(d.join("ed25519.pem")).unwrap(),
        None,
        "Ed25519",
    );
    openssl.ok(d, &["genpkey", "-algorithm", "ED448", "-out", "ed448.pem"]);
    expect_unsupported(&std::fs::read(d.join("ed448.pem")).unwrap(), None, "Ed448");
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
            "-out",
            "k1.pem",
        ],
    );
    expect_unsupported(&std::fs::read(d.join("k1.pem")).unwrap(), None, "secp256k1");
    openssl.ok(
        d,
        &[
            "ecparam",
            "-name",
            "secp256k1",
            "-genkey",
            "-out",
            "k1sec1.pem",
        ],
    );
    expect_unsupported(
        &std::fs::read(d.join("k1sec1.pem")).unwrap(),
        None,
        "secp256k1",
    );
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-224",
            "-out",
            "p224.pem",
        ],
    );
    expect_unsupported(
        &std::fs::read(d.join("p224.pem")).unwrap(),
        None,
        "supported curves",
    );
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
            "rsa1024.pem",
        ],
    );
    expect_unsupported(
        &std::fs::read(d.join("rsa1024.pem")).unwrap(),
        None,
        "1024 bits",
    );
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2560",
            "-out",
            "rsa2560.pem",
        ],
    );
    expect_unsupported(
        &std::fs::read(d.join("rsa2560.pem")).unwrap(),
        None,
        "2560 bits",
    );
    // Legacy Proc-Type encryption, with the conversion hint.
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.pem",
        ],
    );
    let passout = format!("pass:{PASS}");
    openssl.ok(
        d,
        &[
            "ec",
            "-in",
            "ec.pem",
            "-aes256",
            "-passout",
            &passout,
            "-out",
            "legacy.pem",
        ],
    );
    let legacy = std::fs::read(d.join("legacy.pem")).unwrap();
    assert!(String::from_utf8_lossy(&legacy).contains("Proc-Type: 4,ENCRYPTED"));
    assert!(!PrivateKey::is_encrypted(&legacy));
    let pass = Passphrase::from(PASS);
    expect_unsupported(&legacy, Some(&pass), "openssl pkcs8 -topk8 -v2 aes-256-cbc");
    expect_unsupported(&legacy, None, "Proc-Type");
    // PBES1.
    openssl.ok(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "ec.pem",
            "-v1",
            "PBE-SHA1-3DES",
            "-passout",
            &passout,
            "-out",
            "pkcs12pbe.pem",
        ],
    );
    expect_unsupported(
        &std::fs::read(d.join("pkcs12pbe.pem")).unwrap(),
        Some(&pass),
        "not supported",
    );
}

#[test]
fn odd_but_valid_encodings_are_handled() {
    let Some(openssl) = interop::openssl("odd_but_valid_encodings_are_handled") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "ec.pem",
        ],
    );
    let key = PrivateKey::import(&std::fs::read(d.join("ec.pem")).unwrap(), None).unwrap();
    // A compressed point is the same public key.
    openssl.ok(
        d,
        &[
            "pkey",
            "-in",
            "ec.pem",
            "-pubout",
            "-ec_conv_form",
            "compressed",
            "-outform",
            "DER",
            "-out",
            "pub.der",
        ],
    );
    let compressed = PublicKey::from_spki_der(&std::fs::read(d.join("pub.der")).unwrap()).unwrap();
    assert_ne!(compressed.spki_der(), key.public_key().spki_der());
    assert!(same_public_key(&compressed, &key.public_key()));
    let other = PrivateKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
    assert!(!same_public_key(&compressed, &other.public_key()));
    // PEM public keys parse too.
    openssl.ok(d, &["pkey", "-in", "ec.pem", "-pubout", "-out", "pub.pem"]);
    let from_pem = PublicKey::parse(&std::fs::read(d.join("pub.pem")).unwrap()).unwrap();
    assert_eq!(from_pem, key.public_key());
    // SEC1 without the optional public key.
    openssl.ok(
        d,
        &["ec", "-in", "ec.pem", "-no_public", "-out", "nopub.pem"],
    );
    let nopub = PrivateKey::import(&std::fs::read(d.join("nopub.pem")).unwrap(), None).unwrap();
    assert_eq!(nopub.public_key(), key.public_key());
    // Explicit curve parameters are refused with a hint.
    openssl.ok(
        d,
        &[
            "ec",
            "-in",
            "ec.pem",
            "-param_enc",
            "explicit",
            "-out",
            "explicit.pem",
        ],
    );
    expect_unsupported(
        &std::fs::read(d.join("explicit.pem")).unwrap(),
        None,
        "named curve",
    );
    // A certificate and a key in one file: the key is found.
    openssl.ok(
        d,
        &[
            "req", "-x509", "-key", "ec.pem", "-subj", "/CN=x", "-days", "1", "-out", "cert.pem",
        ],
    );
    let mut bundle = std::fs::read(d.join("cert.pem")).unwrap();
    bundle.extend(std::fs::read(d.join("ec.pem")).unwrap());
    assert_eq!(
        PrivateKey::import(&bundle, None).unwrap().public_key(),
        key.public_key()
    );
    // A DER certificate is not mistaken for an encrypted key.
    openssl.ok(
        d,
        &[
            "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
        ],
    );
    let cert_der = std::fs::read(d.join("cert.der")).unwrap();
    assert!(!PrivateKey::is_encrypted(&cert_der));
    assert!(PrivateKey::import(&cert_der, None).is_err());
    assert!(okms_csr::Certificate::parse(&cert_der).is_ok());
}
