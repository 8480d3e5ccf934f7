//! Key generation, export and re-import without external tools.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_csr::ExposeSecret as _;
use okms_csr::{Error, KeyAlgorithm, KeyFormat, Passphrase, PrivateKey, same_public_key};
use std::str::FromStr;

/// A deterministic test RNG (xorshift; NOT secure, only for reproducible tests).
struct TestRng(u64);

impl rand_core::TryRng for TestRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Ok(self.0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for TestRng {}

#[test]
fn algorithm_names_round_trip() {
    for alg in KeyAlgorithm::ALL {
        assert_eq!(KeyAlgorithm::from_str(alg.as_str()).unwrap(), alg);
        assert_eq!(alg.to_string(), alg.as_str());
    }
    assert_eq!(KeyAlgorithm::default(), KeyAlgorithm::EcdsaP256);
    assert_eq!(
        "RSA-3072".parse::<KeyAlgorithm>().unwrap(),
        KeyAlgorithm::Rsa3072
    );
    let err = "ed25519".parse::<KeyAlgorithm>().unwrap_err().to_string();
    assert!(
        err.contains("ed25519") && err.contains("ecdsa-p256"),
        "{err}"
    );
    assert!(KeyAlgorithm::Rsa2048.is_rsa() && !KeyAlgorithm::EcdsaP521.is_rsa());
    assert_eq!(KeyAlgorithm::EcdsaP521.key_bits(), 521);
}

#[test]
fn export_import_round_trip_every_format() {
    // RSA-4096 is covered by the openssl interop tests; keep this one quick.
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::EcdsaP521,
        KeyAlgorithm::Rsa2048,
    ] {
        let key = PrivateKey::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        assert_eq!(key.public_key().algorithm().unwrap(), alg);
        for fmt in [KeyFormat::Pkcs8, KeyFormat::Traditional] {
            let pem = key.to_pem(fmt).unwrap();
            assert!(!PrivateKey::is_encrypted(pem.expose_secret().as_bytes()));
            let back = PrivateKey::import(pem.expose_secret().as_bytes(), None).unwrap();
            assert_eq!(back.public_key(), key.public_key(), "{alg} {fmt:?}");
            // A passphrase given for an unencrypted key is simply not needed.
            let back =
                PrivateKey::import(pem.expose_secret().as_bytes(), Some(&Passphrase::from("x")))
                    .unwrap();
            assert!(same_public_key(&back.public_key(), &key.public_key()));
        }
        let pass = Passphrase::from("pässwörd");
        let enc = key.to_encrypted_pem(&pass).unwrap();
        assert!(PrivateKey::is_encrypted(enc.expose_secret().as_bytes()));
        assert!(matches!(
            PrivateKey::import(enc.expose_secret().as_bytes(), None),
            Err(Error::PassphraseRequired)
        ));
        assert!(matches!(
            PrivateKey::import(
                enc.expose_secret().as_bytes(),
                Some(&Passphrase::from("password"))
            ),
            Err(Error::WrongPassphrase)
        ));
        let back = PrivateKey::import(enc.expose_secret().as_bytes(), Some(&pass)).unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }
}

#[test]
fn seeded_rng_gives_reproducible_keys() {
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP521,
        KeyAlgorithm::Rsa2048,
    ] {
        let a = PrivateKey::generate_with_rng(alg, &mut TestRng(42)).unwrap();
        let b = PrivateKey::generate_with_rng(alg, &mut TestRng(42)).unwrap();
        let c = PrivateKey::generate_with_rng(alg, &mut TestRng(43)).unwrap();
        assert_eq!(a.public_key(), b.public_key(), "{alg}");
        assert_ne!(a.public_key(), c.public_key(), "{alg}");
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let pem = key.to_pem(KeyFormat::Pkcs8).unwrap();
    let body: String = pem.expose_secret().lines().nth(1).unwrap().to_string();
    let dbg = format!("{key:?} {pem:?}");
    assert!(!dbg.contains(&body[..20]), "{dbg}");
    assert!(
        dbg.contains("<redacted>") && dbg.contains("ecdsa") || dbg.contains("EcdsaP256"),
        "{dbg}"
    );
    let pass = Passphrase::from("hunter2");
    assert_eq!(format!("{pass:?}"), "SecretBox<str>([REDACTED])");
    assert_eq!(pass.expose_secret(), "hunter2");
    let p = okms_csr::escape::unescape(pem.expose_secret(), None).unwrap();
    assert!(p.is_private_key());
    assert!(!format!("{p:?}").contains(&body[..20]));
}

#[test]
fn fingerprint_is_lowercase_sha256_hex() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let fp = key.public_key().fingerprint_sha256();
    assert_eq!(fp.len(), 64);
    assert!(
        fp.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let pem = key.public_key().to_pem();
    assert!(
        pem.starts_with("-----BEGIN PUBLIC KEY-----\n")
            && pem.ends_with("-----END PUBLIC KEY-----\n")
    );
}

#[test]
fn garbage_input_gives_errors_not_panics() {
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"hello".to_vec(),
        vec![0x30],
        vec![0x30, 0x80],
        vec![0x30, 0x03, 0x02, 0x01, 0x00],
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
        b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n".to_vec(),
        b"-----BEGIN PRIVATE KEY-----\nMAA=\n".to_vec(),
        b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n".to_vec(),
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"
            .to_vec(),
        vec![0xff; 100],
    ];
    for input in inputs {
        let err = PrivateKey::import(&input, Some(&Passphrase::from("x"))).unwrap_err();
        assert!(!err.to_string().is_empty());
        let _ = PrivateKey::is_encrypted(&input);
        let _ = okms_csr::Csr::parse(&input);
        let _ = okms_csr::Certificate::parse(&input);
    }
    let err = PrivateKey::import(
        b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("CERTIFICATE") && err.contains("no private key"),
        "{err}"
    );
}

/// okms-csr writes ECDSA keys with the public key it already holds instead of letting the
/// curve crates derive it again; the bytes must be exactly what those crates write.
#[test]
fn ecdsa_keys_are_written_exactly_as_the_curve_crates_write_them() {
    use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};

    fn der_of(pem: &str) -> Vec<u8> {
        let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
        der
    }
    for seed in 1..=16 {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::EcdsaP521,
        ] {
            let key = PrivateKey::generate_with_rng(alg, &mut TestRng(seed)).unwrap();
            let pkcs8 = der_of(key.to_pem(KeyFormat::Pkcs8).unwrap().expose_secret());
            let sec1 = der_of(key.to_pem(KeyFormat::Traditional).unwrap().expose_secret());
            let (pkcs8_ref, sec1_ref) = match alg {
                KeyAlgorithm::EcdsaP256 => {
                    let k = p256::SecretKey::from_pkcs8_der(&pkcs8).unwrap();
                    (k.to_pkcs8_der().unwrap(), k.to_sec1_der().unwrap())
                }
                KeyAlgorithm::EcdsaP384 => {
                    let k = p384::SecretKey::from_pkcs8_der(&pkcs8).unwrap();
                    (k.to_pkcs8_der().unwrap(), k.to_sec1_der().unwrap())
                }
                _ => {
                    let k = p521::SecretKey::from_pkcs8_der(&pkcs8).unwrap();
                    (k.to_pkcs8_der().unwrap(), k.to_sec1_der().unwrap())
                }
            };
            assert_eq!(pkcs8, pkcs8_ref.as_bytes(), "{alg} PKCS#8, seed {seed}");
            assert_eq!(sec1, sec1_ref.as_slice(), "{alg} SEC1, seed {seed}");
        }
    }
}

/// An embedder's broken generator must give an error, not a predictable key and not a hang
/// (the curve crates loop forever on an all-zero generator on their own).
#[test]
fn a_broken_random_generator_is_an_error_not_a_hang() {
    /// Returns the same 32 bytes on every draw.
    struct Cycle([u8; 32]);
    impl rand_core::TryRng for Cycle {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(u32::from_le_bytes([
                self.0[0], self.0[1], self.0[2], self.0[3],
            ]))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(u64::from(self.try_next_u32()?) << 32 | u64::from(self.try_next_u32()?))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for (i, b) in dst.iter_mut().enumerate() {
                *b = self.0[i % 32];
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Cycle {}

    let mut pattern = [0u8; 32];
    for (i, b) in pattern.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    for alg in KeyAlgorithm::ALL {
        // xorshift seeded with 0 stays 0 forever.
        for (what, result) in [
            ("zero", PrivateKey::generate_with_rng(alg, &mut TestRng(0))),
            (
                "cycle",
                PrivateKey::generate_with_rng(alg, &mut Cycle(pattern)),
            ),
        ] {
            match result {
                Err(Error::KeyGeneration(msg)) => {
                    assert!(
                        msg.contains("random number generator is broken"),
                        "{alg} {what}: {msg}"
                    )
                }
                other => panic!("{alg} {what}: {:?}", other.map(|k| k.algorithm())),
            }
        }
    }
}

/// The test RNG with every fill passed through `tamper`: a broken generator of a chosen kind.
struct Tampered(TestRng, fn(&mut [u8]));

impl rand_core::TryRng for Tampered {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        self.0.try_next_u32()
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0.try_next_u64()
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.try_fill_bytes(dst)?;
        (self.1)(dst);
        Ok(())
    }
}
impl rand_core::TryCryptoRng for Tampered {}

/// A generator that fills only the start of each buffer (8 good bytes, then zeros) would give
/// a P-256 key with 64 bits of entropy: every block of every draw is checked, not the first.
#[test]
fn a_half_filling_random_generator_is_an_error() {
    let half_fill: fn(&mut [u8]) = |dst| {
        if let Some(rest) = dst.get_mut(8..) {
            rest.fill(0);
        }
    };
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::EcdsaP521,
    ] {
        match PrivateKey::generate_with_rng(alg, &mut Tampered(TestRng(7), half_fill)) {
            Err(Error::KeyGeneration(msg)) => assert!(msg.contains("broken"), "{alg}: {msg}"),
            other => panic!("{alg}: {:?}", other.map(|k| k.algorithm())),
        }
    }
}

/// A generator whose output the curve crate keeps rejecting (every P-521 draw starts with
/// 0xFF, above the group order) must end with an error instead of looping forever.
#[test]
fn a_biased_random_generator_ends() {
    let high_first_byte: fn(&mut [u8]) = |dst| {
        if let Some(b) = dst.first_mut() {
            *b = 0xFF;
        }
    };
    let mut rng = Tampered(TestRng(9), high_first_byte);
    match PrivateKey::generate_with_rng(KeyAlgorithm::EcdsaP521, &mut rng) {
        Err(Error::KeyGeneration(msg)) => assert!(msg.contains("draws"), "{msg}"),
        // p521 0.14 rejects such scalars; if a later version masked the high bits instead,
        // this generator would no longer be a test of the bound.
        other => panic!("{:?}", other.map(|k| k.algorithm())),
    }
}

#[test]
fn a_key_written_in_the_layout_it_was_read_in_reads_back_in_that_layout() {
    use okms_csr::{KeyEncoding, KeyLayout, KeyProtection};
    let pass = Passphrase::from("renewal passphrase");
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
        let key = PrivateKey::generate(alg).unwrap();
        for protection in [
            KeyProtection::Plain(KeyFormat::Pkcs8),
            KeyProtection::Plain(KeyFormat::Traditional),
            KeyProtection::EncryptedPkcs8,
        ] {
            for encoding in [KeyEncoding::Pem, KeyEncoding::Der] {
                let layout = KeyLayout {
                    protection,
                    encoding,
                };
                let bytes = key.to_layout(layout, Some(&pass)).unwrap();
                assert_eq!(PrivateKey::layout_of(&bytes).unwrap(), layout, "{alg:?}");
                let back = PrivateKey::import(&bytes, Some(&pass)).unwrap();
                assert!(same_public_key(&back.public_key(), &key.public_key()));
            }
        }
    }
    let encrypted = KeyLayout {
        protection: KeyProtection::EncryptedPkcs8,
        encoding: KeyEncoding::Pem,
    };
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    assert!(matches!(
        key.to_layout(encrypted, None),
        Err(Error::PassphraseRequired)
    ));
}
