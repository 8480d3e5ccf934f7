//! Damaged input never panics: valid CSRs and keys with random bytes changed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64ct::Encoding;
use okms_csr::ExposeSecret as _;
use okms_csr::{Csr, CsrBuilder, KeyAlgorithm, KeyFormat, PrivateKey};
use proptest::prelude::*;
use std::sync::OnceLock;

struct Samples {
    csrs: Vec<Vec<u8>>,
    keys: Vec<Vec<u8>>,
}

fn samples() -> &'static Samples {
    static S: OnceLock<Samples> = OnceLock::new();
    S.get_or_init(|| {
        let mut csrs = Vec::new();
        let mut keys = Vec::new();
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP521,
            KeyAlgorithm::Rsa2048,
        ] {
            let key = PrivateKey::generate(alg).unwrap();
            let csr = CsrBuilder::new("CN=app1,O=Example,C=FR".parse().unwrap())
                .san("dns:app1.example.com".parse().unwrap())
                .build(&key)
                .unwrap();
            csrs.push(csr.to_der().to_vec());
            for fmt in [KeyFormat::Pkcs8, KeyFormat::Traditional] {
                let pem = key.to_pem(fmt).unwrap();
                // Damage the DER, not the base64, so that the parsers behind it get exercised.
                let body: String = pem
                    .expose_secret()
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect();
                keys.push(base64ct::Base64::decode_vec(&body).unwrap());
            }
        }
        Samples { csrs, keys }
    })
}

fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)]) -> Vec<u8> {
    for (pos, val) in edits {
        if !bytes.is_empty() {
            let i = pos % bytes.len();
            bytes[i] = *val;
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn damaged_csrs_do_not_panic(which in 0usize..3, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>()) {
        let original = &samples().csrs[which];
        let damaged = mutate(original.clone(), &edits);
        if let Ok(csr) = Csr::parse(&damaged) {
            let _ = csr.verify();
            let _ = csr.info();
            let _ = csr.sans();
            let _ = csr.to_pem();
        }
        let truncated = &original[..cut % original.len()];
        prop_assert!(Csr::parse(truncated).is_err());
    }

    #[test]
    fn damaged_keys_do_not_panic(which in 0usize..6, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let damaged = mutate(samples().keys[which].clone(), &edits);
        if let Ok(key) = PrivateKey::import(&damaged, None) {
            let _ = key.to_pem(KeyFormat::Traditional);
        }
    }
}
