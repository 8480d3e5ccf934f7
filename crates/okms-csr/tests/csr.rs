//! CSR building, parsing and inspection without external tools.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_csr::{
    Csr, CsrBuilder, CsrSigner, DistinguishedName, Error, KeyAlgorithm, PrivateKey, PublicKey,
    Result, SubjectAltName,
};

#[test]
fn build_parse_verify_inspect() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sans: Vec<SubjectAltName> = [
        "dns:app1.example.com",
        "ip:192.0.2.1",
        "email:ops@example.com",
        "uri:urn:example:app1",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let csr = CsrBuilder::new("CN=app1,O=Example\\, Inc.,C=FR".parse().unwrap())
        .sans(sans.clone())
        .build(&key)
        .unwrap();
    csr.verify().unwrap();
    assert_eq!(csr.subject(), "CN=app1,O=Example\\, Inc.,C=FR");
    assert_eq!(csr.sans(), sans);
    assert_eq!(csr.public_key(), key.public_key());
    let info = csr.info();
    assert_eq!(info.key_algorithm, "ecdsa-p256");
    assert_eq!(info.key_bits, 256);
    assert_eq!(info.signature_algorithm, "ecdsa-with-SHA256");
    assert!(info.signature_valid);
    assert_eq!(
        info.public_key_sha256,
        key.public_key().fingerprint_sha256()
    );
    assert_eq!(
        info.sans,
        vec![
            "dns:app1.example.com",
            "ip:192.0.2.1",
            "email:ops@example.com",
            "uri:urn:example:app1"
        ]
    );

    let again = Csr::from_pem(&csr.to_pem()).unwrap();
    assert_eq!(again, csr);
    assert_eq!(Csr::parse(csr.to_der()).unwrap(), csr);
    assert_eq!(Csr::parse(csr.to_pem().as_bytes()).unwrap(), csr);
    // Hedged ECDSA nonces: the same key and content sign to different bytes, both valid, so
    // a fault in one signing can never be paired with a good signature under the same nonce.
    let twice = CsrBuilder::new("CN=app1,O=Example\\, Inc.,C=FR".parse().unwrap())
        .sans(sans)
        .build(&key)
        .unwrap();
    assert_ne!(twice.to_der(), csr.to_der());
    twice.verify().unwrap();
    csr.verify().unwrap();
    assert_eq!(twice.subject(), csr.subject());
    assert_eq!(twice.public_key(), csr.public_key());
}

#[test]
fn tampered_csr_fails_verification() {
    for alg in [KeyAlgorithm::EcdsaP384, KeyAlgorithm::Rsa2048] {
        let key = PrivateKey::generate(alg).unwrap();
        let csr = CsrBuilder::new(DistinguishedName::common_name("app1").unwrap())
            .build(&key)
            .unwrap();
        let mut der = csr.to_der().to_vec();
        // Flip a byte of the common name ("app1" -> "bpp1").
        let pos = der.windows(4).position(|w| w == b"app1").unwrap();
        der[pos] = b'b';
        let bad = Csr::from_der(&der).unwrap();
        assert!(matches!(bad.verify(), Err(Error::BadSignature(_))), "{alg}");
        assert!(!bad.info().signature_valid);
    }
}

/// A signer whose public key does not match its private key.
struct Liar {
    key: PrivateKey,
    other: PublicKey,
}

impl CsrSigner for Liar {
    fn algorithm(&self) -> KeyAlgorithm {
        self.key.algorithm()
    }
    fn public_key(&self) -> Result<PublicKey> {
        Ok(self.other.clone())
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.key.sign(message)
    }
}

#[test]
fn mismatched_signer_is_caught_at_build() {
    let liar = Liar {
        key: PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        other: PrivateKey::generate(KeyAlgorithm::EcdsaP256)
            .unwrap()
            .public_key(),
    };
    let err = CsrBuilder::new("CN=x".parse().unwrap())
        .build(&liar)
        .unwrap_err();
    assert!(matches!(err, Error::Signing(_)), "{err}");
}

#[test]
fn subject_errors_name_the_attribute() {
    let cases = [
        ("", "empty"),
        ("CN=", "CN has an empty value"),
        ("C=France,CN=x", "C=\"France\""),
        ("C=fr", "C=\"fr\""),
        ("XX=1", "unknown attribute type \"XX\""),
        ("CN=app1,foo", "\"foo\" is not of the form"),
        ("CN=a\\", "lone backslash"),
        ("CN=a\\q", "invalid escape"),
        ("serialNumber=a_b", "serialNumber"),
    ];
    for (input, needle) in cases {
        let err = input.parse::<DistinguishedName>().unwrap_err().to_string();
        assert!(err.contains(needle), "{input:?}: {err}");
    }
    let long = format!("CN={}", "a".repeat(65));
    assert!(
        long.parse::<DistinguishedName>()
            .unwrap_err()
            .to_string()
            .contains("limit is 64")
    );
}

#[test]
fn subject_round_trips_through_display() {
    for s in [
        "CN=app1",
        "CN=app1,O=Example,C=FR",
        "CN=a\\+b\\,c\\;d\\<e\\>f\\\"g\\\\h\\=i,OU=x+OU=y",
        "CN=\\#hash\\ ,L=Zürich",
        "emailAddress=ops@example.com,CN=x,DC=example,DC=com",
        "1.2.3.4=#0c0378797a,CN=x",
    ] {
        let dn: DistinguishedName = s.parse().unwrap();
        let shown = dn.to_string();
        let again: DistinguishedName = shown.parse().unwrap();
        assert_eq!(again, dn, "{s} -> {shown}");
    }
    let dn: DistinguishedName = "cn=app1, o=Example ,c=FR".parse().unwrap();
    assert_eq!(dn.to_string(), "CN=app1,O=Example,C=FR");
}

#[test]
fn san_parsing() {
    assert_eq!(
        "dns:a.example".parse::<SubjectAltName>().unwrap(),
        SubjectAltName::Dns("a.example".into())
    );
    assert_eq!(
        "IP:::1".parse::<SubjectAltName>().unwrap().to_string(),
        "ip:::1"
    );
    for (bad, needle) in [
        ("a.example", "no type prefix"),
        ("dns:", "empty"),
        ("ip:300.1.1.1", "not an IPv4 or IPv6"),
        ("dns:bad name", "not a valid DNS name"),
        ("email:nobody", "not a valid e-mail"),
        ("uri:no-scheme", "absolute"),
        ("x400:foo", "unknown type"),
    ] {
        let err = bad.parse::<SubjectAltName>().unwrap_err().to_string();
        assert!(err.contains(needle), "{bad}: {err}");
    }
    // Variants built directly are validated at build time.
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let err = CsrBuilder::new("CN=x".parse().unwrap())
        .san(SubjectAltName::Dns("bad name".into()))
        .build(&key)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidSan(_)));
}

/// An error quotes at most 64 characters of a value and says how long it was: a pasted file as a
/// SAN or a subject makes a one-line error.
#[test]
fn errors_quote_long_values_cut() {
    let long = "x".repeat(100_000);
    let messages = [
        long.parse::<okms_csr::SubjectAltName>()
            .unwrap_err()
            .to_string(),
        format!("dns:{long}")
            .parse::<okms_csr::SubjectAltName>()
            .unwrap_err()
            .to_string(),
        format!("CN=a,{long}")
            .parse::<okms_csr::DistinguishedName>()
            .unwrap_err()
            .to_string(),
        format!("{long}=a")
            .parse::<okms_csr::DistinguishedName>()
            .unwrap_err()
            .to_string(),
    ];
    for m in messages {
        assert!(m.len() < 300, "{} bytes: {m:.200}", m.len());
        assert!(m.contains("characters"), "{m}");
    }
}
