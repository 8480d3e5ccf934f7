//! Interop with Python `cryptography`: it loads our CSRs (signature valid, same subject,
//! SANs and public key) and our private keys in every export format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_csr::ExposeSecret as _;
use okms_csr::{CsrBuilder, KeyAlgorithm, KeyFormat, Passphrase, PrivateKey};
use okms_test_support::interop;

const SCRIPT: &str = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

csr = x509.load_pem_x509_csr(open("req.pem", "rb").read())
assert csr.is_signature_valid, "signature invalid"
pub = csr.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
assert pub == open("pub.der", "rb").read(), "public key differs"
san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
assert san.get_values_for_type(x509.DNSName) == ["app1.example.com"], san
assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["2001:db8::1"], san
assert san.get_values_for_type(x509.RFC822Name) == ["ops@example.com"], san
assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["https://example.com/app1"], san
print(csr.subject.rfc4514_string())
print(csr.signature_hash_algorithm.name)
for name, pw in [("k8.pem", None), ("trad.pem", None), ("enc.pem", b"s3cret pass")]:
    key = serialization.load_pem_private_key(open(name, "rb").read(), password=pw)
    kp = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert kp == pub, name
"#;

#[test]
fn python_cryptography_accepts_every_algorithm() {
    let Some(python) = interop::python_cryptography("python_cryptography_accepts_every_algorithm")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("check.py"), SCRIPT).unwrap();
    for alg in KeyAlgorithm::ALL {
        let key = PrivateKey::generate(alg).unwrap();
        let csr = CsrBuilder::new("CN=app1,O=Example,C=FR".parse().unwrap())
            .sans(
                [
                    "dns:app1.example.com",
                    "ip:2001:db8::1",
                    "email:ops@example.com",
                    "uri:https://example.com/app1",
                ]
                .iter()
                .map(|s| s.parse().unwrap()),
            )
            .build(&key)
            .unwrap();
        std::fs::write(d.join("req.pem"), csr.to_pem()).unwrap();
        std::fs::write(d.join("pub.der"), key.public_key().spki_der()).unwrap();
        std::fs::write(
            d.join("k8.pem"),
            key.to_pem(KeyFormat::Pkcs8).unwrap().expose_secret(),
        )
        .unwrap();
        std::fs::write(
            d.join("trad.pem"),
            key.to_pem(KeyFormat::Traditional).unwrap().expose_secret(),
        )
        .unwrap();
        let enc = key
            .to_encrypted_pem(&Passphrase::from("s3cret pass"))
            .unwrap();
        std::fs::write(d.join("enc.pem"), enc.expose_secret()).unwrap();
        let out = python.ok(d, &["check.py"]);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("CN=app1,O=Example,C=FR"), "{alg}");
        let hash = match alg {
            KeyAlgorithm::EcdsaP384 => "sha384",
            KeyAlgorithm::EcdsaP521 => "sha512",
            _ => "sha256",
        };
        assert_eq!(lines.next(), Some(hash), "{alg}");
    }
}
