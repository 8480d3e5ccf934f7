//! PEM <-> JSON string escaping: examples, error messages, and properties.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64ct::{Base64, Encoding};
use okms_csr::escape::{KNOWN_LABELS, escape, unescape};
use proptest::prelude::*;

/// The normalized PEM of `der` under `label` (64-column lines, LF, trailing newline).
fn pem_of(label: &str, der: &[u8]) -> String {
    let b64 = Base64::encode_string(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVFeGFtcGxlMAoGCCqGSM49BAMCMBUx\nEzARBgNVBAMMCkNDTVVzZXJzQ0EwHhcNMjYwMTAxMDAwMDAwWhcNMjcwMTAxMDAw\n-----END CERTIFICATE-----\n";

#[test]
fn escape_examples() {
    let escaped = escape(CERT).unwrap();
    assert!(escaped.starts_with("-----BEGIN CERTIFICATE-----\\nMIIB"));
    assert!(escaped.ends_with("-----END CERTIFICATE-----\\n"));
    assert!(!escaped.contains('\n'));
    // What serde_json would write for the same string, minus the quotes.
    let json = serde_json::to_string(CERT).unwrap();
    assert_eq!(format!("\"{escaped}\""), json);
    // Escaping is idempotent.
    assert_eq!(escape(&escaped).unwrap(), escaped);
}

#[test]
fn unescape_accepts_what_users_paste() {
    let escaped = escape(CERT).unwrap();
    let crlf = CERT.replace('\n', "\r\n");
    let quoted = format!("\"{escaped}\"");
    let object = format!(
        "{{\"id\":\"3f2504e0\",\"name\":\"app1\",\"certificatePEM\":{quoted},\"status\":\"READY\"}}"
    );
    let slashes = escaped.replace('/', "\\/");
    let indented = format!("\n\n   {}\n", CERT.replace('\n', "\n  "));
    for input in [
        CERT.to_string(),
        escaped.clone(),
        crlf,
        quoted,
        object.clone(),
        slashes,
        indented,
        format!("\u{feff}{CERT}"),
    ] {
        let pem = unescape(&input, None).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(pem.as_str(), CERT, "{input:?}");
        assert_eq!(pem.label(), "CERTIFICATE");
        assert!(!pem.is_private_key());
    }
    assert_eq!(
        unescape(&object, Some("certificatePEM")).unwrap().as_str(),
        CERT
    );
}

#[test]
fn unescape_errors_say_what_is_wrong() {
    let object = format!(
        "{{\"id\":\"x\",\"name\":\"app1\",\"certificatePEM\":{}}}",
        serde_json::to_string(CERT).unwrap()
    );
    let cases: Vec<(String, Option<&str>, &str)> = vec![
        (
            object.clone(),
            Some("privateKeyPEM"),
            "field privateKeyPEM not found; fields present: certificatePEM, id, name",
        ),
        (
            "{\"privateKeyPEM\":null}".into(),
            Some("privateKeyPEM"),
            "is null",
        ),
        (
            "{\"a\":1}".into(),
            None,
            "no field of the JSON object holds PEM text; fields present: a",
        ),
        (
            format!(
                "{{\"a\":{0},\"b\":{0}}}",
                serde_json::to_string(CERT).unwrap()
            ),
            None,
            "several fields hold PEM text (a, b)",
        ),
        ("{oops".into(), None, "not valid JSON"),
        ("\"unterminated".into(), None, "not a valid JSON string"),
        ("".into(), None, "empty"),
        ("hello".into(), None, "no PEM block found"),
        (
            CERT.replace("CERTIFICATE", "X509 CRL"),
            None,
            "unexpected PEM label \"X509 CRL\"",
        ),
        (CERT.replace("MIIBszCC", "MIIB*zCC"), None, "invalid base64"),
        (
            CERT.replace("-----END CERTIFICATE-----\n", ""),
            None,
            "no \"-----END CERTIFICATE-----\" line",
        ),
        (CERT.replace("\n", "\\t"), None, "backslash escape"),
        ("[1]".into(), None, "JSON array"),
    ];
    for (input, field, needle) in cases {
        let err = unescape(&input, field).unwrap_err().to_string();
        assert!(err.contains(needle), "{input:?} {field:?}: {err}");
    }
}

#[test]
fn every_known_label_round_trips() {
    for label in KNOWN_LABELS {
        let pem = pem_of(label, &[0x30, 0x03, 0x02, 0x01, 0x00]);
        let back = unescape(&escape(&pem).unwrap(), None).unwrap();
        assert_eq!(back.as_str(), pem);
        assert_eq!(back.label(), label);
        assert_eq!(back.is_private_key(), label.contains("PRIVATE"));
    }
}

proptest! {
    #[test]
    fn unescape_of_escape_is_identity(label_idx in 0..KNOWN_LABELS.len(), der in proptest::collection::vec(any::<u8>(), 1..600), blocks in 1usize..3) {
        let one = pem_of(KNOWN_LABELS[label_idx], &der);
        let pem = one.repeat(blocks);
        let escaped = escape(&pem).unwrap();
        prop_assert!(!escaped.contains('\n'));
        prop_assert_eq!(unescape(&escaped, None).unwrap().as_str().to_string(), pem.clone());
        // The same through a JSON string and a JSON object.
        let json = serde_json::to_string(&pem).unwrap();
        prop_assert_eq!(unescape(&json, None).unwrap().as_str().to_string(), pem.clone());
        let obj = format!("{{\"certificatePEM\":{json},\"id\":\"x\"}}");
        prop_assert_eq!(unescape(&obj, Some("certificatePEM")).unwrap().as_str().to_string(), pem.clone());
        prop_assert_eq!(unescape(&pem.replace('\n', "\r\n"), None).unwrap().as_str().to_string(), pem.clone());
    }

    #[test]
    fn unescape_never_panics(input in ".{0,400}", field in proptest::option::of("[a-zA-Z]{1,12}")) {
        let _ = unescape(&input, field.as_deref());
        let _ = escape(&input);
    }

    #[test]
    fn unescape_never_panics_on_pem_like_input(body in "[A-Za-z0-9+/=\\\\\r\n \"{}:,-]{0,300}", label_idx in 0..KNOWN_LABELS.len()) {
        let label = KNOWN_LABELS[label_idx];
        let input = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        let _ = unescape(&input, None);
        let _ = escape(&input);
        let _ = okms_csr::PrivateKey::import(input.as_bytes(), None);
        let _ = okms_csr::Csr::parse(input.as_bytes());
        let _ = okms_csr::Certificate::parse(input.as_bytes());
    }

    #[test]
    fn import_never_panics_on_random_der(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = okms_csr::PrivateKey::import(&bytes, Some(&okms_csr::Passphrase::from("x")));
        let _ = okms_csr::PrivateKey::is_encrypted(&bytes);
        let _ = okms_csr::Csr::parse(&bytes);
        let _ = okms_csr::Certificate::parse(&bytes);
        let _ = okms_csr::PublicKey::from_spki_der(&bytes);
    }

    #[test]
    fn subject_parser_never_panics(s in ".{0,120}") {
        if let Ok(dn) = s.parse::<okms_csr::DistinguishedName>() {
            // Whatever parses must print in a form that parses back to the same name.
            let again: okms_csr::DistinguishedName = dn.to_string().parse().unwrap();
            prop_assert_eq!(again, dn);
        }
    }
}
