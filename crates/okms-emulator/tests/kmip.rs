//! The KMIP endpoint: an independent client (PyKMIP) runs the usual first calls of an
//! appliance, and hostile bytes are refused with a bounded read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::Command,
    sync::Arc,
    time::Duration,
};

use common::*;
use okms_kmip::{Item, Operation, Outcome, ProtocolVersion, Request, ResultReason, Value, payload};
use reqwest::{Method, StatusCode};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned, pki_types::ServerName};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn connect(emu: &okms_emulator::RunningEmulator, cert: &str, key: &str) -> Tls {
    install_provider();
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(emu.info().ca_pem.as_bytes()).unwrap())
        .unwrap();
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    let tcp = TcpStream::connect(&emu.info().kmip_endpoint).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let conn = ClientConnection::new(
        Arc::new(config),
        ServerName::try_from("127.0.0.1").unwrap().to_owned(),
    )
    .unwrap();
    StreamOwned::new(conn, tcp)
}

fn read_answer(tls: &mut Tls) -> std::io::Result<okms_kmip::Response> {
    let mut header = [0u8; okms_kmip::HEADER_LEN];
    tls.read_exact(&mut header)?;
    let mut message = vec![0u8; okms_kmip::message_len(&header).unwrap()];
    message[..8].copy_from_slice(&header);
    tls.read_exact(&mut message[8..])?;
    Ok(okms_kmip::Response::decode(&message).unwrap())
}

fn invalid_message_answer(emu: &okms_emulator::RunningEmulator, bytes: &[u8]) -> String {
    let (_, cert, key) = ready_credential(emu);
    let mut tls = connect(emu, &cert, &key);
    tls.write_all(bytes).unwrap();
    tls.flush().unwrap();
    let answer = read_answer(&mut tls).unwrap();
    let Some(Outcome::Failure { reason, message }) = answer.batch.first().map(|b| &b.outcome)
    else {
        panic!("not a failure: {answer:?}");
    };
    assert_eq!(*reason, ResultReason::InvalidMessage);
    // And the server closed the connection after it.
    let mut rest = Vec::new();
    assert!(matches!(tls.read_to_end(&mut rest), Ok(0) | Err(_)));
    message.clone()
}

#[test]
fn non_ttlv_oversized_and_deep_requests_get_invalid_message() {
    let emu = start(fast());
    let http = invalid_message_answer(&emu, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(http.contains("structure"), "{http}");
    let huge = invalid_message_answer(&emu, &[0x42, 0x00, 0x78, 0x01, 0x7F, 0xFF, 0xFF, 0xF8]);
    assert!(huge.contains("larger than"), "{huge}");
    let mut deep = Item::structure(0x42_0079, vec![]);
    for _ in 0..okms_kmip::MAX_DEPTH + 2 {
        deep = Item::structure(0x42_0079, vec![deep]);
    }
    let request = Item::structure(okms_kmip::tag::REQUEST_MESSAGE, vec![deep]);
    let nested = invalid_message_answer(&emu, &okms_kmip::encode(&request).unwrap());
    assert!(nested.contains("nested deeper"), "{nested}");
}

#[test]
fn discover_versions_answers_and_a_revoked_certificate_is_refused_in_the_handshake() {
    let emu = start(fast());
    // The domain advertises the endpoint, as OKMS's `kmipEndpoint` (host:port).
    let (_, domain) = json(signed(
        &emu,
        Method::GET,
        &format!("/v2/okms/resource/{}", emu.okms_id()),
        None,
    ));
    assert_eq!(domain["kmipEndpoint"], emu.info().kmip_endpoint.as_str());
    let (id, cert, key) = ready_credential(&emu);
    let mut tls = connect(&emu, &cert, &key);
    let request = Request::single(
        ProtocolVersion::new(1, 2),
        Operation::DiscoverVersions,
        payload::versions_payload(&[ProtocolVersion::new(2, 0), ProtocolVersion::new(1, 2)]),
    );
    tls.write_all(&request.encode().unwrap()).unwrap();
    let answer = read_answer(&mut tls).unwrap();
    assert_eq!(answer.version, ProtocolVersion::new(1, 2));
    let versions = payload::versions_of(answer.first_payload().unwrap()).unwrap();
    assert_eq!(versions, [ProtocolVersion::new(1, 2)]);
    // An unknown operation is a KMIP error, not a closed connection.
    let mut other = request.clone();
    other.batch[0].operation = Operation::Register;
    tls.write_all(&other.encode().unwrap()).unwrap();
    let answer = read_answer(&mut tls).unwrap();
    assert!(matches!(
        answer.first_payload(),
        Err((ResultReason::OperationNotSupported, _))
    ));

    let path = format!("{}/{id}", cred_path(&emu));
    let (status, _) = json(signed(&emu, Method::DELETE, &path, None));
    assert_eq!(status, StatusCode::OK);
    // Revoked between two messages: the open connection gets a KMIP refusal.
    tls.write_all(&request.encode().unwrap()).unwrap();
    let answer = read_answer(&mut tls).unwrap();
    assert!(matches!(
        answer.first_payload(),
        Err((ResultReason::AuthenticationNotSuccessful, _))
    ));
    // A new connection fails in TLS, with the alert saying why.
    let mut tls = connect(&emu, &cert, &key);
    tls.write_all(&request.encode().unwrap()).unwrap();
    let err = read_answer(&mut tls).unwrap_err();
    assert!(err.to_string().contains("CertificateRevoked"), "{err}");
}

#[test]
fn aes_keys_belong_to_the_domain_not_to_one_certificate() {
    let emu = start(fast());
    let (_, cert, key) = ready_credential(&emu);
    let mut tls = connect(&emu, &cert, &key);
    let create = Request::single(
        ProtocolVersion::new(1, 4),
        Operation::Create,
        vec![
            Item::new(okms_kmip::tag::OBJECT_TYPE, Value::Enumeration(2)),
            payload::KeyAttributes {
                algorithm: Some(payload::AES),
                length: Some(128),
                ..Default::default()
            }
            .to_template(),
        ],
    );
    tls.write_all(&create.encode().unwrap()).unwrap();
    let created = read_answer(&mut tls).unwrap();
    let uid = payload::unique_identifier_of(created.first_payload().unwrap())
        .unwrap()
        .to_owned();
    let get = Request::single(
        ProtocolVersion::new(1, 4),
        Operation::Get,
        payload::unique_identifier_payload(&uid),
    );
    tls.write_all(&get.encode().unwrap()).unwrap();
    let got = read_answer(&mut tls).unwrap();
    assert_eq!(
        payload::key_material_of(got.first_payload().unwrap())
            .unwrap()
            .len(),
        16
    );
    // Another certificate of the same domain sees the key; keys are per domain, not per
    // certificate.
    let (_, cert2, key2) = ready_credential(&emu);
    let mut other = connect(&emu, &cert2, &key2);
    other.write_all(&get.encode().unwrap()).unwrap();
    assert!(read_answer(&mut other).unwrap().first_payload().is_ok());
}

#[test]
fn pykmip_runs_an_appliances_first_calls() {
    let probe = Command::new("python3").args(["-c", "import kmip"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        okms_test_support::skip_or_fail(
            "PyKMIP is not installed (python3 -m pip install pykmip, or .ci/install-test-deps)",
            "OKMS_REQUIRE_INTEROP",
        );
        return;
    }
    let emu = start(fast());
    let (_, cert, key) = ready_credential(&emu);
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, &cert).unwrap();
    std::fs::write(&key_file, &key).unwrap();
    let (host, port) = emu.info().kmip_endpoint.rsplit_once(':').unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kmip_client.py");
    let out = Command::new("python3")
        .arg(script)
        .args([host, port])
        .arg(&cert_file)
        .arg(&key_file)
        .arg(&emu.info().ca_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "PyKMIP failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // PyKMIP asks without listing versions: every version the server speaks, best first.
    assert_eq!(
        v["versions"],
        serde_json::json!(["1.4", "1.3", "1.2", "1.1", "1.0"])
    );
    for op in [
        "CREATE",
        "GET",
        "LOCATE",
        "DESTROY",
        "QUERY",
        "DISCOVER_VERSIONS",
    ] {
        assert!(
            v["operations"].as_array().unwrap().iter().any(|o| o == op),
            "{op} missing: {v}"
        );
    }
    assert_eq!(v["object_types"], serde_json::json!(["SYMMETRIC_KEY"]));
    assert_eq!(
        v["get"],
        serde_json::json!({"algorithm": "AES", "length": 256, "material_len": 32})
    );
    assert_eq!(v["located"], true, "{v}");
    assert_eq!(v["located_aes"], true, "{v}");
    assert_eq!(v["located_after_destroy"], false, "{v}");
    assert_eq!(v["get_after_destroy"], "ResultReason.ITEM_NOT_FOUND", "{v}");
}
