//! The server over the real engine, in-process, against the emulator: a host's access
//! certificate (issued by the domain's CA, with OKMS's critical subjectAltName) passes the
//! handshake; status, renew, a repeated renew, confirm with the new certificate; a stranger's
//! certificate is refused in the handshake or with 403, and creates nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use okms_api::broker::{
    CONFIRM_PATH, ConfirmAnswer, RENEW_PATH, RenewAnswer, STATUS_PATH, StatusAnswer,
};
use okms_broker::audit::AuditLog;
use okms_broker::policy::Policy;
use okms_broker::server::{ServeOptions, Server, ServerIdentity};
use okms_csr::{KeyFormat, PrivateKey};
use reqwest::StatusCode;
use serde_json::json;

fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
}

fn key_pem(key: &PrivateKey) -> String {
    okms_csr::ExposeSecret::expose_secret(&key.to_pem(KeyFormat::Pkcs8).unwrap()).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_renews_and_confirms_over_https() {
    let _ = okms_api::tls::ring_provider().install_default();
    let emu = common::emulator();
    let (engine, _) = common::engine(&emu).await;
    let server_ca = okms_emulator::Ca::generate().unwrap();
    let (cert_der, key_der) = server_ca.issue_server_certificate().unwrap();
    let identity = ServerIdentity::from_pem(
        pem("CERTIFICATE", &cert_der).as_bytes(),
        pem("PRIVATE KEY", &key_der).as_bytes(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit_file = dir.path().join("audit.log");
    let policy = Arc::new(Policy {
        domains: vec![common::policy(emu.okms_id(), Duration::from_secs(3600))],
    });
    let mut options = ServeOptions::new("127.0.0.1:0", identity, policy);
    options.audit = AuditLog::append_to(&audit_file).unwrap();
    let server = Server::bind(Arc::new(engine), options).await.unwrap();
    let url = format!("https://localhost:{}", server.local_addr().port());
    let handle = server.handle();
    let task = tokio::spawn(server.run());

    let client = |cert: &str, key: &str| {
        reqwest::Client::builder()
            .tls_certs_only([
                reqwest::Certificate::from_pem(server_ca.cert_pem().as_bytes()).unwrap(),
            ])
            .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    };
    let host = common::host(&emu, "web-1").await;
    let old = client(&host.certificate_pem, &key_pem(&host.key));

    let status = old.get(format!("{url}{STATUS_PATH}")).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    let status: StatusAnswer = status.json().await.unwrap();
    assert_eq!(status.credential_id, host.id);
    assert_eq!(status.name, "web-1");

    let (new_key, csr) = common::csr();
    let renew = old
        .post(format!("{url}{RENEW_PATH}"))
        .json(&json!({ "csr": csr }))
        .send()
        .await
        .unwrap();
    assert_eq!(renew.status(), StatusCode::CREATED);
    let answer: RenewAnswer = renew.json().await.unwrap();
    assert_eq!(answer.previous_credential_id, host.id);
    // The same CSR again (a lost answer): the same successor, 200.
    let again = old
        .post(format!("{url}{RENEW_PATH}"))
        .json(&json!({ "csr": csr }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: RenewAnswer = again.json().await.unwrap();
    assert_eq!(again.credential_id, answer.credential_id);

    let new = client(&answer.certificate_pem, &key_pem(&new_key));
    let confirm = new
        .post(format!("{url}{CONFIRM_PATH}"))
        .json(&json!({ "previousCredentialId": host.id }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), StatusCode::OK);
    let confirmed: ConfirmAnswer = confirm.json().await.unwrap();
    assert_eq!(confirmed.revoked, vec![host.id]);

    // A certificate the domain's CA did not issue: refused, nothing created.
    let before = common::state(&emu);
    let stranger_ca = okms_emulator::Ca::generate().unwrap();
    let key = PrivateKey::generate(okms_csr::KeyAlgorithm::EcdsaP256).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let (stranger_cert, _) = stranger_ca
        .issue_access_certificate(
            host.id,
            emu.okms_id(),
            key.public_key().spki_der(),
            now - time::Duration::hours(1),
            now + time::Duration::days(1),
        )
        .unwrap();
    let (_, csr) = common::csr();
    let refused = client(&stranger_cert, &key_pem(&key))
        .post(format!("{url}{RENEW_PATH}"))
        .json(&json!({ "csr": csr }))
        .send()
        .await;
    if let Ok(resp) = refused {
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(common::state(&emu), before);

    let audit = std::fs::read_to_string(&audit_file).unwrap();
    assert!(!audit.contains("-----BEGIN"), "{audit}");
    assert!(audit.contains(&answer.credential_id.to_string()), "{audit}");
    handle.shutdown();
    task.await.unwrap();
}
