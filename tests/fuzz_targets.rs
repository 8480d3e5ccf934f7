//! The bodies of the fuzz targets, shared by `fuzz/` (cargo-fuzz, nightly) and by the corpus
//! replay test `tests/fuzz_corpus_replay.rs` (stable `cargo test`).
//!
//! Each `pub fn NAME(data: &[u8])` is one target. It must never panic on its own: the only
//! panics are the `assert!`s of invariants (round trips, parse -> serialize -> parse equality,
//! redaction, agreement between the client and the emulator), which libFuzzer reports as
//! crashes and the replay test as failures. Input that the code under test refuses is fine;
//! refusing it with an empty message is not.
//!
//! [`TARGETS`] lists every target by name; the replay test and `cargo xtask fuzz` use it.
// Invariant violations are reported by panicking: that is what a fuzz target is for.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;
use std::sync::OnceLock;

use okms_api::sans_io::{self, ApiRequest, RequestAuth, ops};
use okms_api::{
    AuthDetails, CreatedCredential, Credential, CredentialRequest, Domain, Endpoint, ExposeSecret,
    Me, SecretString, Uuid,
};
use okms_csr::escape::{self, KNOWN_LABELS};
use okms_csr::{
    Certificate, Csr, CsrBuilder, DistinguishedName, KeyFormat, Passphrase, PrivateKey, PublicKey,
    SubjectAltName,
};

/// A fuzz target body.
pub type Target = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/corpus/` and the file under
/// `fuzz/fuzz_targets/`) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("pem_unescape", pem_unescape),
    ("pem_escape_roundtrip", pem_escape_roundtrip),
    ("key_import", key_import),
    ("csr_parse_verify", csr_parse_verify),
    ("certificate_inspect", certificate_inspect),
    ("dn_parse", dn_parse),
    ("request_file_parse", request_file_parse),
    ("api_response_decode", api_response_decode),
    ("ovh_conf_parse", ovh_conf_parse),
    ("emulator_signature_check", emulator_signature_check),
    ("identity_urn_agreement", identity_urn_agreement),
    ("iam_answer_decode", iam_answer_decode),
    ("p12_parse", p12_parse),
    ("kmip_ttlv_decode", kmip_ttlv_decode),
    ("broker_policy_parse", broker_policy_parse),
];

/// The passphrase of the encrypted keys in the `key_import` seed corpus.
pub const SEED_PASSPHRASE: &str = "okms-fuzz";

/// A fixed P-256 key (test fixture, not a secret) to sign CSRs in targets that need one.
const FIXTURE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdVRxUJwOB9aIi/mt
L6mTCG/IN5LEDF0ltEZ2/XYzGP6hRANCAAS1uP5BrhtM/wK2UPWNgnyFZvrjJgmj
/dH2sT4zdHM4MurndUN9o7g1TXu07lxClcbdIn27Rm+qFkYeqqD5aM1T
-----END PRIVATE KEY-----
";

fn fixture_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::import(FIXTURE_KEY.as_bytes(), None).expect("fixture key"))
}

/// An error must say something.
fn check_message(e: &impl std::fmt::Display) {
    assert!(!e.to_string().trim().is_empty(), "an error with no message");
}

/// An error built from a server answer: it says something, and okms-api's own message holds
/// no control character (a hostile answer must not drive the user's terminal). Its causes
/// (serde_json, uuid) may quote one raw character of the input: okms-cli escapes every
/// diagnostic line it prints (`output.rs`, `printable`).
fn check_server_error(e: &(dyn std::error::Error + 'static)) {
    check_message(&e);
    let shown = e.to_string();
    assert!(
        !shown.chars().any(char::is_control),
        "an error text holds control characters (terminal injection): {shown:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// PEM escaping

/// `escape::unescape` on any text: without a field name, or with the field name given before
/// a NUL byte (`FIELD\0INPUT`). Whatever it accepts is normalized PEM that is a fixed point of
/// `unescape`, survives `escape` -> `unescape`, and reads back the same from a JSON string
/// and from a JSON object field.
pub fn pem_unescape(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (field, input) = match text.split_once('\0') {
        Some((f, i)) => (Some(f), i),
        None => (None, text),
    };
    let pem = match escape::unescape(input, field) {
        Ok(p) => p,
        Err(e) => {
            check_message(&e);
            return;
        }
    };
    let s = pem.as_str();
    assert!(
        s.starts_with("-----BEGIN "),
        "normalized PEM starts with BEGIN"
    );
    assert!(
        s.ends_with("-----\n"),
        "normalized PEM ends with a boundary and LF"
    );
    assert!(!s.contains('\r'), "normalized PEM has no CR");
    assert!(!s.contains("\n\n"), "normalized PEM has no empty line");
    assert!(KNOWN_LABELS.contains(&pem.label()), "label {}", pem.label());
    assert!(s.starts_with(&format!("-----BEGIN {}-----\n", pem.label())));
    assert_eq!(
        pem.is_private_key(),
        pem.label().contains("PRIVATE KEY"),
        "is_private_key agrees with the label"
    );
    for line in s.lines() {
        assert!(line.len() <= 64 || line.starts_with("-----"), "64 columns");
    }
    // Fixed point.
    let again = escape::unescape(s, None).expect("normalized PEM is accepted again");
    assert_eq!(again.as_str(), s);
    assert_eq!(again.label(), pem.label());
    // escape -> unescape.
    let escaped = escape::escape(s).expect("normalized PEM escapes");
    assert!(
        !escaped.contains('\n') && !escaped.contains('\r'),
        "one line"
    );
    assert_eq!(escaped, s.replace('\n', "\\n"));
    assert_eq!(
        escape::unescape(&escaped, None).expect("escaped").as_str(),
        s
    );
    // Escaping the raw input (no field) gives the same as escaping its normalized form.
    if field.is_none() {
        assert_eq!(escape::escape(input).expect("input accepted"), escaped);
    }
    // As a JSON string and as a JSON object field.
    let quoted = serde_json::to_string(s).expect("JSON string");
    assert_eq!(escape::unescape(&quoted, None).expect("quoted").as_str(), s);
    let object = serde_json::json!({ "certificatePEM": s, "id": "x" }).to_string();
    assert_eq!(
        escape::unescape(&object, Some("certificatePEM"))
            .expect("object field")
            .as_str(),
        s
    );
    assert_eq!(escape::unescape(&object, None).expect("object").as_str(), s);
    // The Debug form never shows the text.
    let debug = format!("{pem:?}");
    assert!(
        !debug.contains("-----BEGIN"),
        "Debug of Pem shows the PEM: {debug}"
    );
}

/// Builds normalized PEM from arbitrary bytes (first byte: the label, the rest: the DER) and
/// checks `unescape(x) == x` and `unescape(escape(x)) == x`.
pub fn pem_escape_roundtrip(data: &[u8]) {
    use base64ct::{Base64, Encoding};
    let Some((&which, der)) = data.split_first() else {
        return;
    };
    if der.is_empty() {
        return;
    }
    let label = KNOWN_LABELS[usize::from(which) % KNOWN_LABELS.len()];
    let b64 = Base64::encode_string(der);
    let mut x = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        x.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        x.push('\n');
    }
    x.push_str(&format!("-----END {label}-----\n"));
    let pem = escape::unescape(&x, None).expect("normalized PEM is accepted");
    assert_eq!(pem.as_str(), x, "unescape(x) == x");
    assert_eq!(pem.label(), label);
    let escaped = escape::escape(&x).expect("normalized PEM escapes");
    assert_eq!(
        escape::unescape(&escaped, None)
            .expect("escaped PEM is accepted")
            .as_str(),
        x,
        "unescape(escape(x)) == x"
    );
    // What people paste: CRLF line endings and surrounding blank lines.
    let crlf = format!("\r\n{}\r\n", x.replace('\n', "\r\n"));
    assert_eq!(escape::unescape(&crlf, None).expect("CRLF").as_str(), x);
}

// ---------------------------------------------------------------------------------------------
// Keys

/// `Pkcs12Bundle::from_der` on any bytes, with no passphrase and with [`SEED_PASSPHRASE`].
/// Bytes that do not look like PKCS#12 are refused as such; a bundle that opens has a key
/// matching its certificate, and writes and reads back to the same key and certificates.
pub fn p12_parse(data: &[u8]) {
    let looks = okms_csr::looks_like_pkcs12(data);
    let pass = Passphrase::from(SEED_PASSPHRASE);
    for passphrase in [None, Some(&pass)] {
        match okms_csr::Pkcs12Bundle::from_der(data, passphrase) {
            Ok(bundle) => {
                assert!(looks, "opened bytes that do not look like PKCS#12");
                let key = bundle.key().public_key();
                assert!(okms_csr::same_public_key(
                    &key,
                    &bundle.certificate().public_key()
                ));
                let der = bundle
                    .to_der(Some(&pass), okms_csr::Pkcs12Encryption::Pbes2Aes256)
                    .unwrap();
                let again = okms_csr::Pkcs12Bundle::from_der(&der, Some(&pass)).unwrap();
                assert_eq!(again.key().public_key(), key);
                assert_eq!(again.certificate().to_der(), bundle.certificate().to_der());
                assert_eq!(again.chain().len(), bundle.chain().len());
            }
            Err(e) => {
                check_message(&e);
                if !looks {
                    assert!(matches!(e, okms_csr::Error::NotPkcs12(_)), "{e:?}");
                }
            }
        }
    }
}

/// `PrivateKey::import` on any bytes, without a passphrase and with [`SEED_PASSPHRASE`]. An
/// imported key exports and re-imports to the same public key in every format it supports,
/// signs a CSR that verifies, and never shows itself in `Debug`.
pub fn key_import(data: &[u8]) {
    let encrypted = PrivateKey::is_encrypted(data);
    let plain = PrivateKey::import(data, None);
    match &plain {
        Ok(key) => {
            assert!(!encrypted, "is_encrypted but imported without a passphrase");
            check_key(key);
        }
        Err(e) => {
            check_message(e);
            if encrypted {
                assert!(
                    matches!(e, okms_csr::Error::PassphraseRequired),
                    "encrypted key without passphrase: {e:?}"
                );
            }
        }
    }
    let pass = Passphrase::from(SEED_PASSPHRASE);
    match PrivateKey::import(data, Some(&pass)) {
        Ok(key) => {
            if let Ok(p) = &plain {
                assert_eq!(
                    p.public_key(),
                    key.public_key(),
                    "passphrase changed the key"
                );
            } else {
                assert!(
                    encrypted,
                    "a passphrase made an unencrypted input importable"
                );
            }
            check_key(&key);
        }
        Err(e) => {
            check_message(&e);
            assert!(
                plain.is_err(),
                "a passphrase made an importable key fail: {e:?}"
            );
        }
    }
}

fn check_key(key: &PrivateKey) {
    let alg = key.algorithm();
    let public = key.public_key();
    assert_eq!(public.algorithm().expect("own public key"), alg);
    assert_eq!(
        PublicKey::from_spki_der(public.spki_der()).expect("SPKI re-reads"),
        public
    );
    for format in [KeyFormat::Pkcs8, KeyFormat::Traditional] {
        let pem = key.to_pem(format).expect("an imported key exports");
        let back =
            PrivateKey::import(pem.expose_secret().as_bytes(), None).expect("export re-imports");
        assert_eq!(back.algorithm(), alg);
        assert_eq!(back.public_key(), public, "{format:?} round trip");
        if format == KeyFormat::Pkcs8 {
            // Redaction: no line of the key's base64 appears in Debug.
            let debug = format!("{key:?}");
            for line in pem
                .expose_secret()
                .lines()
                .filter(|l| !l.starts_with("-----"))
            {
                assert!(
                    !debug.contains(line),
                    "Debug of PrivateKey shows key material"
                );
            }
        }
    }
    let csr = CsrBuilder::new(DistinguishedName::common_name("fuzz").expect("CN"))
        .build(key)
        .expect("an imported key signs a CSR");
    csr.verify().expect("the CSR of an imported key verifies");
    assert_eq!(csr.public_key(), public);
}

// ---------------------------------------------------------------------------------------------
// CSRs and certificates

/// `Csr::parse` + `verify` on any bytes (PEM or DER). A parsed CSR re-reads from its DER and
/// PEM to the same bytes, its summary agrees with `verify`, and a CSR that verifies was
/// verified over the exact bytes that were signed.
pub fn csr_parse_verify(data: &[u8]) {
    let csr = match Csr::parse(data) {
        Ok(c) => c,
        Err(e) => {
            check_message(&e);
            return;
        }
    };
    let der = csr.to_der().to_vec();
    let from_pem = Csr::parse(csr.to_pem().as_bytes()).expect("our PEM re-reads");
    assert_eq!(from_pem.to_der(), der.as_slice(), "PEM round trip");
    let verified = csr.verify();
    if let Err(e) = &verified {
        check_message(e);
    }
    assert_eq!(
        from_pem.verify().is_ok(),
        verified.is_ok(),
        "verify is stable"
    );
    let info = csr.info();
    assert_eq!(info.signature_valid, verified.is_ok());
    assert_eq!(info.subject, csr.subject());
    assert_eq!(info.public_key_sha256.len(), 64);
    assert_eq!(
        info.public_key_sha256,
        csr.public_key().fingerprint_sha256()
    );
    if verified.is_ok() {
        // The signature covers the CertificationRequestInfo exactly as received; verify()
        // checks it over a re-encoding, which must therefore be byte-identical.
        let signed = first_element(&der).expect("a parsed CSR has a first element");
        let req = <x509_cert::request::CertReq as der::Decode>::from_der(&der).expect("CSR");
        let reencoded = der::Encode::to_der(&req.info).expect("re-encode");
        assert_eq!(
            signed,
            reencoded.as_slice(),
            "verified bytes differ from signed bytes"
        );
    }
    for san in csr.sans() {
        let back = SubjectAltName::from_str(&san.to_string())
            .unwrap_or_else(|e| panic!("SAN {san} from a CSR does not re-parse: {e}"));
        assert_eq!(back, san, "SAN display round trip");
    }
    // `csr show` prints these: a hostile CSR must not drive the terminal.
    for text in info.sans.iter().chain([&info.subject]) {
        assert!(
            !text.chars().any(char::is_control),
            "control character in {text:?}"
        );
    }
}

/// The first TLV inside the outer SEQUENCE of `der`, as raw bytes.
fn first_element(der: &[u8]) -> Option<&[u8]> {
    use der::{Decode, Encode, Reader, SliceReader};
    let mut outer = SliceReader::new(der).ok()?;
    der::Header::decode(&mut outer).ok()?;
    let inner_start = usize::try_from(u32::from(outer.position())).ok()?;
    let first = der::Header::peek(&outer).ok()?;
    let first_len = usize::try_from(u32::from(first.encoded_len().ok()?)).ok()?
        + usize::try_from(u32::from(first.length())).ok()?;
    der.get(inner_start..inner_start + first_len)
}

/// `Certificate::parse` and everything `cert inspect` shows, on any bytes. A parsed
/// certificate re-reads to the same DER, its validity check agrees with its dates, and the
/// credential id it reports is a UUID.
pub fn certificate_inspect(data: &[u8]) {
    let cert = match Certificate::parse(data) {
        Ok(c) => c,
        Err(e) => {
            check_message(&e);
            return;
        }
    };
    let der = cert.to_der().to_vec();
    let back = Certificate::parse(cert.to_pem().as_bytes()).expect("our PEM re-reads");
    assert_eq!(back.to_der(), der.as_slice(), "PEM round trip");
    assert_eq!(Certificate::from_der(&der).expect("DER").to_der(), der);
    let info = cert.info();
    assert_eq!(info.subject, cert.subject());
    let serial = cert.serial_hex();
    assert!(
        serial.chars().all(|c| c.is_ascii_hexdigit() || c == ':'),
        "{serial}"
    );
    if let Some(id) = cert.credential_id() {
        assert!(
            Uuid::parse_str(&id).is_ok(),
            "credential id {id:?} is not a UUID"
        );
    }
    let _ = cert.okms_domain();
    let (nb, na) = (cert.not_before(), cert.not_after());
    for t in [nb, na] {
        assert_eq!(
            cert.is_valid_at(t),
            nb <= na,
            "validity bounds are inclusive"
        );
    }
    if let Some(before) = nb.checked_sub(time::Duration::SECOND) {
        assert!(!cert.is_valid_at(before), "valid before notBefore");
    }
    if let Some(after) = na.checked_add(time::Duration::SECOND) {
        assert!(!cert.is_valid_at(after), "valid after notAfter");
    }
    for usage in cert.key_usages().iter().chain(&cert.extended_key_usages()) {
        assert!(!usage.is_empty());
    }
    let _ = cert.public_key().algorithm();
    // `cert show` prints these: a hostile certificate must not drive the terminal.
    for text in info.sans.iter().chain([&info.subject, &cert.issuer()]) {
        assert!(
            !text.chars().any(char::is_control),
            "control character in {text:?}"
        );
    }
}

/// `DistinguishedName::from_str` on any text: what parses prints (RFC 4514) to text that
/// parses to the same name, and a CSR built with it shows that same text.
pub fn dn_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_dn(DistinguishedName::from_str(text));
    check_dn(DistinguishedName::common_name(text));
}

fn check_dn(parsed: okms_csr::Result<DistinguishedName>) {
    let dn = match parsed {
        Ok(dn) => dn,
        Err(e) => {
            check_message(&e);
            return;
        }
    };
    let shown = dn.to_string();
    let again = DistinguishedName::from_str(&shown)
        .unwrap_or_else(|e| panic!("display {shown:?} does not re-parse: {e}"));
    assert_eq!(
        again, dn,
        "DN display round trip changed the name: {shown:?}"
    );
    assert_eq!(again.to_string(), shown);
    let csr = CsrBuilder::new(dn)
        .build(fixture_key())
        .expect("a valid subject builds a CSR");
    assert_eq!(csr.subject(), shown);
    csr.verify().expect("the CSR verifies");
}

// ---------------------------------------------------------------------------------------------
// okms-api

/// `CredentialRequest::from_json`, the reader of the file `okms-cli request new` writes and
/// `credential create --request` sends. What it accepts is valid, serializes to JSON that
/// reads back equal (a fixed point), and becomes a create call whose body is exactly that JSON.
pub fn request_file_parse(data: &[u8]) {
    let req = match CredentialRequest::from_json(data) {
        Ok(r) => r,
        Err(e) => {
            check_message(&e);
            return;
        }
    };
    req.validate()
        .expect("from_json returned a request that does not validate");
    let json = req.to_json().expect("a valid request serializes");
    let back = CredentialRequest::from_json(&json).expect("our JSON reads back");
    assert_eq!(back, req, "JSON round trip");
    assert_eq!(back.to_json().expect("again"), json, "JSON fixed point");
    let okms_id = Uuid::nil();
    let call = ops::create_credential(okms_id, &req).expect("a valid request is sendable");
    assert_eq!(
        call.body.as_deref(),
        Some(json.as_slice()),
        "the body is the file's JSON"
    );
    if let Some(pem) = &req.csr
        && let Ok(csr) = Csr::from_pem(pem)
    {
        let _ = csr.verify();
    }
}

/// The statuses the API answers with, indexed by the second input byte.
const STATUSES: [u16; 14] = [
    200, 201, 204, 400, 401, 403, 404, 409, 429, 460, 500, 502, 503, 504,
];

/// An answer as the `api_response_decode` input describes it.
struct Answer<'a> {
    op: u8,
    status: u16,
    /// Cursor, Retry-After and query-id header values (empty = absent).
    headers: Vec<&'a [u8]>,
    body: &'a [u8],
}

/// Splits `data` into op, status, three header lines and the body.
fn response_parts(data: &[u8]) -> Option<Answer<'_>> {
    let (&op, rest) = data.split_first()?;
    let (&st, rest) = rest.split_first()?;
    let status = STATUSES[usize::from(st) % STATUSES.len()];
    let mut headers = Vec::new();
    let mut rest = rest;
    for _ in 0..3 {
        let end = rest.iter().position(|&b| b == b'\n')?;
        headers.push(&rest[..end]);
        rest = &rest[end + 1..];
    }
    Some(Answer {
        op,
        status,
        headers,
        body: rest,
    })
}

/// Decodes an answer as each operation of the client does: the first byte picks the
/// operation, the second the status, then three header lines (`X-Pagination-Cursor-Next`,
/// `Retry-After`, `X-Ovh-QueryID`; empty = absent) and the body. Typed answers round-trip
/// through their JSON form, error answers always carry a message, and nothing derived from a
/// created credential or a token shows the secret.
pub fn api_response_decode(data: &[u8]) {
    let Some(Answer {
        op,
        status,
        headers,
        body,
    }) = response_parts(data)
    else {
        return;
    };
    let mut b = http::Response::builder().status(status);
    for (name, value) in [
        sans_io::PAGINATION_CURSOR_NEXT,
        "retry-after",
        sans_io::QUERY_ID,
    ]
    .into_iter()
    .zip(&headers)
    {
        if !value.is_empty()
            && let Ok(v) = http::HeaderValue::from_bytes(value)
        {
            b = b.header(name, v);
        }
    }
    let Ok(resp) = b.body(body.to_vec()) else {
        return;
    };
    // Every answer can be an error answer.
    let err = sans_io::parse_error(&resp);
    assert_eq!(err.status, status);
    assert!(!err.message.is_empty(), "an API error with no message");
    check_server_error(&err);
    if let Some(cursor) = sans_io::next_cursor(&resp) {
        assert!(!cursor.is_empty());
        // The cursor goes back to the server in a header: it must be valid as one.
        ops::list_domains(Some(&cursor)).expect("a cursor read from a header is sendable");
    }
    match op % 10 {
        0 => {
            let _ = sans_io::parse_auth_time(&resp);
        }
        1 => roundtrip::<AuthDetails>(&resp, "auth details"),
        2 => roundtrip::<Me>(&resp, "account"),
        3 => roundtrip::<Vec<Domain>>(&resp, "OKMS domain list"),
        4 => roundtrip::<Domain>(&resp, "OKMS domain"),
        5 => roundtrip::<Vec<Credential>>(&resp, "credential list"),
        6 | 7 => roundtrip::<Credential>(&resp, "credential"),
        8 => created_credential(&resp),
        _ => oauth2_token(&resp),
    }
}

fn roundtrip<T>(resp: &http::Response<Vec<u8>>, what: &'static str)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    match sans_io::parse_json::<T>(resp, what) {
        Ok(v) => {
            assert!(resp.status().is_success());
            let json = serde_json::to_vec(&v).expect("a decoded answer serializes");
            let back: T = serde_json::from_slice(&json).expect("our JSON reads back");
            assert_eq!(
                back, v,
                "{what}: parse -> serialize -> parse changed the value"
            );
        }
        Err(e) => check_message(&e),
    }
}

fn created_credential(resp: &http::Response<Vec<u8>>) {
    match sans_io::parse_json_secret::<CreatedCredential>(resp, "created credential") {
        Ok(created) => {
            // Debug must not depend on the private key: compare with a stand-in key.
            let debug = format!("{created:?}");
            let stand_in = CreatedCredential {
                credential: created.credential.clone(),
                private_key_pem: created
                    .private_key_pem
                    .as_ref()
                    .map(|_| SecretString::from("stand-in")),
            };
            assert_eq!(
                debug,
                format!("{stand_in:?}"),
                "Debug shows the private key"
            );
            let json = serde_json::to_vec(&created.credential).expect("serializes");
            let back: Credential = serde_json::from_slice(&json).expect("reads back");
            assert_eq!(back, created.credential);
        }
        Err(e) => {
            check_server_error(&e);
            // A 2xx answer to a create may hold the generated key: never quoted.
            assert_body_not_quoted(resp, &e);
        }
    }
}

/// An error made from a secret-bearing 2xx answer (a created credential, a token) must not
/// quote the body: no line of it appears in the message, the Debug or any cause.
fn assert_body_not_quoted(resp: &http::Response<Vec<u8>>, e: &okms_api::Error) {
    if !resp.status().is_success() {
        return;
    }
    let mut shown = format!("{e} {e:?}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        shown.push_str(&format!(" {c}"));
        cause = c.source();
    }
    if let Ok(body) = std::str::from_utf8(resp.body()) {
        for line in body.lines().filter(|l| l.trim().len() >= 24) {
            assert!(!shown.contains(line.trim()), "the error quotes the body");
        }
    }
}

fn oauth2_token(resp: &http::Response<Vec<u8>>) {
    match okms_api::oauth2::parse_token_response(resp) {
        Ok(token) => {
            assert!(!token.token.expose_secret().is_empty());
            let debug = format!("{token:?}");
            let stand_in = okms_api::oauth2::AccessToken {
                token: SecretString::from("stand-in"),
                expires_in: token.expires_in,
            };
            assert_eq!(debug, format!("{stand_in:?}"), "Debug shows the token");
            let renew = token.renew_after();
            assert!(renew <= okms_api::oauth2::MAX_TOKEN_LIFETIME);
        }
        Err(e) => {
            check_server_error(&e);
            assert_body_not_quoted(resp, &e);
        }
    }
}

/// `okms_api::parse_ovh_conf` on any text: parsing is deterministic, and when every section,
/// key and value is plain text the map survives writing it back as INI and parsing again.
pub fn ovh_conf_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let map = match okms_api::parse_ovh_conf(text) {
        Ok(m) => m,
        Err(e) => {
            check_message(&e);
            return;
        }
    };
    assert_eq!(okms_api::parse_ovh_conf(text).expect("deterministic"), map);
    let plain = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-./:@".contains(c) || extra.contains(&c))
    };
    // ':' and '=' separate a key from its value in INI: plain in sections and values only.
    let key_ok = |k: &str| plain(k, &[]) && !k.contains(':');
    let all_plain = map.iter().all(|(section, props)| {
        plain(section, &[]) && props.iter().all(|(k, v)| key_ok(k) && plain(v, &[]))
    });
    if all_plain {
        let mut written = String::new();
        for (section, props) in &map {
            written.push_str(&format!("[{section}]\n"));
            for (k, v) in props {
                written.push_str(&format!("{k}={v}\n"));
            }
        }
        let back = okms_api::parse_ovh_conf(&written).expect("written INI parses");
        assert_eq!(back, map, "INI round trip of {written:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The emulator's `$1$` check

/// The spec's test credentials (revoked; spec §4.1).
fn spec_credentials() -> okms_emulator::ApiCredentials {
    okms_emulator::ApiCredentials {
        application_key: "TDPKJdwZwAQPwKX2".into(),
        application_secret: "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk".into(),
        consumer_key: "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY".into(),
        client_id: "0123456789abcdef".into(),
        client_secret: "not-used-here".into(),
    }
}

/// The emulator's `signature::verify` on any request. Input: lines `METHOD`, `URL`,
/// `TIMESTAMP`, `SIGNATURE`, `SERVER_TIME` then the body. The emulator accepts a signature
/// only when it is exactly the one okms-api computes over the same method, URL, body and
/// timestamp, accepts okms-api's own signed request (built by `build_request`) within the
/// clock skew, and refuses it with one character changed.
pub fn emulator_signature_check(data: &[u8]) {
    use okms_emulator::signature::{self as sig, Rejection, SignedRequest};
    let mut parts = data.splitn(6, |&b| b == b'\n');
    let mut next = || parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let (Some(method), Some(url), Some(ts_text), Some(received), Some(now_text)) =
        (next(), next(), next(), next(), next())
    else {
        return;
    };
    let body = data
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(4)
        .map_or(&[][..], |(i, _)| &data[i + 1..]);
    let creds = spec_credentials();
    let server_now = now_text.trim().parse::<i64>().unwrap_or(1_457_018_875);
    let max_skew = 300;
    let expected = sig::compute(
        &creds.application_secret,
        &creds.consumer_key,
        method,
        url,
        body,
        ts_text,
    );
    // Client and emulator agree on the signature string.
    if let Ok(ts) = ts_text.parse::<i64>()
        && ts.to_string() == ts_text
    {
        let client = okms_api::signature::sign(
            &creds.application_secret,
            &creds.consumer_key,
            method,
            url,
            body,
            ts,
        );
        assert_eq!(client, expected, "client and emulator sign differently");
    }
    assert_eq!(sig::matches(&expected, received), expected == received);
    let base = SignedRequest {
        application: Some(&creds.application_key),
        consumer: Some(&creds.consumer_key),
        timestamp: Some(ts_text),
        signature: None,
        method,
        url,
        body,
    };
    fn with<'a>(base: SignedRequest<'a>, signature: &'a str) -> SignedRequest<'a> {
        SignedRequest {
            signature: Some(signature),
            ..base
        }
    }
    let verdict = sig::verify(&creds, &with(base, received), server_now, max_skew);
    if verdict.is_ok() {
        assert_eq!(
            received, expected,
            "accepted a signature that is not the expected one"
        );
    }
    match sig::verify(&creds, &with(base, &expected), server_now, max_skew) {
        Ok(()) => {
            let ts = ts_text
                .parse::<i64>()
                .expect("accepted timestamps are integers");
            assert!(ts.saturating_sub(server_now).saturating_abs() <= max_skew);
            // One character changed is refused.
            let mut forged = expected.clone().into_bytes();
            let last = forged.len() - 1;
            forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
            let forged = String::from_utf8(forged).expect("ASCII");
            assert_eq!(
                sig::verify(&creds, &with(base, &forged), server_now, max_skew),
                Err(Rejection::BadSignature)
            );
        }
        Err(Rejection::BadTimestamp | Rejection::ClockSkew { .. }) => {}
        Err(other) => panic!("the expected signature was refused: {other:?}"),
    }
    // Another application or consumer key is refused before the signature is looked at.
    let stranger = SignedRequest {
        consumer: Some("someone-else"),
        ..with(base, &expected)
    };
    assert_eq!(
        sig::verify(&creds, &stranger, server_now, max_skew),
        Err(Rejection::UnknownConsumer)
    );
    client_request_verifies(&creds, method, url, body, server_now);
}

/// okms-api builds and signs a request; the emulator's check accepts exactly that request.
fn client_request_verifies(
    creds: &okms_emulator::ApiCredentials,
    method: &str,
    path: &str,
    body: &[u8],
    now: i64,
) {
    let Ok(method) = http::Method::from_bytes(method.as_bytes()) else {
        return;
    };
    if !path.starts_with('/') {
        return;
    }
    let endpoint = Endpoint::parse("http://127.0.0.1:8080/1.0").expect("loopback endpoint");
    let call = ApiRequest {
        method,
        body: (!body.is_empty()).then(|| body.to_vec()),
        ..ApiRequest::get(path)
    };
    let secret = SecretString::from(creds.application_secret.clone());
    let consumer = SecretString::from(creds.consumer_key.clone());
    let auth = RequestAuth::Signature {
        application_key: &creds.application_key,
        application_secret: &secret,
        consumer_key: &consumer,
        timestamp: now,
    };
    let Ok(http_req) = sans_io::build_request(&endpoint, &call, &auth) else {
        return;
    };
    let h = http_req.headers();
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    let url = http_req.uri().to_string();
    // What reqwest sends is this URI re-read by the url crate: it must not change, or the
    // server would hash another URL than the one signed.
    let on_wire = url::Url::parse(&url).expect("the request URI is a URL");
    assert_eq!(
        on_wire.as_str(),
        url,
        "the transport would send another URL than signed"
    );
    let signed = okms_emulator::signature::SignedRequest {
        application: get("x-ovh-application"),
        consumer: get("x-ovh-consumer"),
        timestamp: get("x-ovh-timestamp"),
        signature: get("x-ovh-signature"),
        method: http_req.method().as_str(),
        url: &url,
        body: http_req.body(),
    };
    assert_eq!(
        okms_emulator::signature::verify(creds, &signed, now, 300),
        Ok(()),
        "the emulator refuses okms-api's signed request for {url}"
    );
}

/// `identity_urn_agreement`: okms-api's identity-URN check (what `request new` and
/// `credential create` refuse before any call) and the emulator's (what the API side refuses)
/// are two independent readings of the same rule, and must agree on every input: a URN the
/// client lets through must not be refused by the server, and the client must not refuse one
/// the server takes. Each refusal names what is wrong, in one line.
pub fn identity_urn_agreement(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let client = okms_api::IdentityUrn::parse(text);
    let server = okms_emulator::check_identity_urn(text);
    assert_eq!(
        client.is_ok(),
        server.is_ok(),
        "client and emulator disagree on {text:?}: client {client:?}, emulator {server:?}"
    );
    if let (Err(c), Err(s)) = (&client, &server) {
        let c = c.to_string();
        assert!(
            !c.is_empty() && !c.contains('\n') && !s.is_empty() && !s.contains('\n'),
            "refusal of {text:?} is empty or spans lines: client {c:?}, emulator {s:?}"
        );
    }
    if let Ok(urn) = client {
        // What the client keeps is exactly what it was given (no rebuilding, no case change).
        assert_eq!(urn.as_str(), text);
    }
}

/// The IAM side of the client: the first byte picks what is decoded, the rest is a 200 answer's
/// body (or, for the last two operations, text a user typed). Typed answers round-trip through
/// their JSON form; a policy body that validates becomes a sendable request; an action the
/// catalogue accepts is known or a `*` pattern that covers a known action, and a refused one is
/// named in the error; any identity name becomes a request whose path stays one segment.
pub fn iam_answer_decode(data: &[u8]) {
    use okms_api::iam::{
        self, AuthorizeResponse, IamGroup, IamUser, Policy, PolicyBody, ServiceAccount,
    };

    let Some((&op, body)) = data.split_first() else {
        return;
    };
    let Ok(resp) = http::Response::builder().status(200).body(body.to_vec()) else {
        return;
    };
    match op % 9 {
        0 => roundtrip::<Policy>(&resp, "policy"),
        1 => roundtrip::<Vec<Policy>>(&resp, "policy list"),
        2 => roundtrip::<IamUser>(&resp, "user"),
        3 => roundtrip::<IamGroup>(&resp, "group"),
        4 => roundtrip::<ServiceAccount>(&resp, "service account"),
        5 => roundtrip::<AuthorizeResponse>(&resp, "authorization check"),
        6 => {
            let Ok(policy) = serde_json::from_slice::<PolicyBody>(body) else {
                return;
            };
            let now = okms_api::OffsetDateTime::UNIX_EPOCH;
            match policy.validate(now) {
                Ok(()) => {
                    iam::ops::create_policy(&policy, now).expect("a valid policy body is sendable");
                }
                Err(e) => check_message(&e),
            }
        }
        7 => {
            let Ok(action) = std::str::from_utf8(body) else {
                return;
            };
            match iam::actions::check_action(action) {
                Ok(()) => assert!(
                    iam::actions::known_actions().any(|k| iam::actions::pattern_matches(action, k)),
                    "{action:?} accepted but covers no known action"
                ),
                // Quoted with escapes, so a control character cannot drive the terminal, and
                // cut after 64 characters with the length.
                Err(e) => assert!(
                    e.to_string().contains(&okms_api::quote_value(action)),
                    "{e} does not name {action:?}"
                ),
            }
        }
        _ => {
            let Ok(name) = std::str::from_utf8(body) else {
                return;
            };
            for (prefix, request) in [
                ("/v1/me/identity/user/", iam::ops::get_user(name)),
                ("/v1/me/identity/group/", iam::ops::get_group(name)),
                (
                    "/v1/me/api/oauth2/client/",
                    iam::ops::get_service_account(name),
                ),
            ] {
                let segment = request
                    .path
                    .strip_prefix(prefix)
                    .expect("the route's prefix");
                assert!(
                    !segment.contains(['/', '?', '#']),
                    "{name:?} escaped its path segment: {}",
                    request.path
                );
                http::uri::PathAndQuery::from_str(&request.path).expect("a valid request path");
            }
        }
    }
}

/// `kmip_ttlv_decode`: bytes from a KMIP peer (okms-kmip). Decoding never panics and refuses
/// with a message; what decodes re-encodes to the same bytes (TTLV has one encoding per
/// value), the framing length agrees with it, and a request or response that decodes
/// re-encodes to one that decodes the same.
pub fn kmip_ttlv_decode(data: &[u8]) {
    if let Ok(header) = <[u8; okms_kmip::HEADER_LEN]>::try_from(
        data.get(..okms_kmip::HEADER_LEN).unwrap_or_default(),
    ) && let Ok(total) = okms_kmip::message_len(&header)
    {
        assert!(total <= okms_kmip::MAX_MESSAGE_LEN);
    }
    match okms_kmip::decode(data) {
        Ok(item) => {
            assert_eq!(
                okms_kmip::encode(&item).unwrap(),
                data,
                "TTLV re-encodes as read"
            );
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    if let Ok(request) = okms_kmip::Request::decode(data) {
        let again = okms_kmip::Request::decode(&request.encode().unwrap()).unwrap();
        assert_eq!(again, request);
    }
    if let Ok(response) = okms_kmip::Response::decode(data) {
        let again = okms_kmip::Response::decode(&response.encode().unwrap()).unwrap();
        assert_eq!(again, response);
    }
}

// ---------------------------------------------------------------------------------------------
// The renewal broker's policy file

/// `okms_broker::policy::Policy::from_yaml` on any text: a refusal is a policy error naming a
/// line of the file (or 0) with a message; an accepted policy holds only what the checks
/// allow (a domain once, at least one pattern, patterns a credential name could match, days
/// and durations in range, at least one key algorithm) and reads the same twice.
pub fn broker_policy_parse(data: &[u8]) {
    use okms_broker::policy::{MAX_POLICY_DURATION, Policy};

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("policy.yaml");
    let policy = match Policy::from_yaml(text, path) {
        Ok(policy) => policy,
        Err(okms_broker::Error::Policy { line, message, .. }) => {
            check_message(&message);
            // libyaml counts a final line without a newline, and a position just past it.
            assert!(
                line <= text.lines().count() + 2,
                "line {line} of a {}-line file: {message}",
                text.lines().count()
            );
            return;
        }
        Err(other) => panic!("a policy text refused with a non-policy error: {other}"),
    };
    assert!(!policy.domains.is_empty());
    for (i, d) in policy.domains.iter().enumerate() {
        assert!(
            policy.domains[..i].iter().all(|e| e.okms_id != d.okms_id),
            "domain {} twice",
            d.okms_id
        );
        assert!(!d.credentials.is_empty() && !d.key_algorithms.is_empty());
        for p in &d.credentials {
            let p = p.as_str();
            assert!(!p.is_empty() && !p.contains("**"), "{p:?}");
            assert!(p.chars().all(|c| (' '..='~').contains(&c)), "{p:?}");
            let literal: String = p.chars().filter(|&c| c != '*').collect();
            assert!(literal.len() <= okms_api::NAME_MAX, "{p:?}");
            // The pattern with each `*` matching nothing matches.
            assert!(d.allows(&literal), "{p:?} does not match {literal:?}");
        }
        if let Some(v) = d.validity_days {
            assert!((1..=okms_api::VALIDITY_MAX_DAYS).contains(&v));
        }
        if let Some(v) = d.renew_before_days {
            assert!((1..=okms_api::VALIDITY_MAX_DAYS).contains(&v));
        }
        assert!(!d.grace.is_zero() && d.grace <= MAX_POLICY_DURATION);
        assert!(d.min_renew_interval <= MAX_POLICY_DURATION);
    }
    assert_eq!(
        Policy::from_yaml(text, path).expect("deterministic"),
        policy
    );
}
