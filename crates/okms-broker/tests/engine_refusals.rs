//! Escalation creates nothing: certificates the broker does not serve are refused (403) and
//! unusable CSRs (400), each with the emulator's credential list unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{csr, engine, engine_with, host, new_key, policy, state};
use okms_api::broker::{RefusalCode, RenewRequest};
use okms_broker::service::{PeerCertificate, Service};
use okms_csr::{Certificate, Csr, CsrBuilder, KeyAlgorithm};
use okms_emulator::{EmulatorConfig, RunningEmulator};

/// Renews with `peer` and `csr`, expects a refusal with `status` and `code`, and that the
/// emulator's credentials did not change; returns the message and the audit's reason.
async fn refused<S: Service>(
    emu: &RunningEmulator,
    engine: &S,
    peer: PeerCertificate,
    csr: String,
    (status, code): (u16, RefusalCode),
) -> (String, String) {
    let before = state(emu);
    let handled = engine.renew(peer, RenewRequest { csr }).await;
    let refusal = handled.result.unwrap_err();
    assert_eq!(
        (refusal.status, refusal.code),
        (status, code),
        "{refusal:?}"
    );
    assert_eq!(state(emu), before, "a refused renew changes nothing");
    (refusal.message, handled.audit.detail.unwrap_or_default())
}

const FORBIDDEN: (u16, RefusalCode) = (403, RefusalCode::Forbidden);
const BAD_CSR: (u16, RefusalCode) = (400, RefusalCode::BadCsr);

#[tokio::test]
async fn certificates_the_broker_does_not_serve_are_forbidden_and_nothing_is_made() {
    let emu = common::emulator();
    let (engine, _) = engine(&emu).await;
    let (client, _) = common::counting_client(&emu);

    let revoked = host(&emu, "web-revoked").await;
    client
        .delete_credential(emu.okms_id(), revoked.id)
        .await
        .unwrap();
    let (message, detail) = refused(&emu, &engine, revoked.peer(), csr().1, FORBIDDEN).await;
    assert!(
        detail.contains("not READY") || detail.contains("does not exist"),
        "{detail}"
    );
    assert!(
        !message.contains(&revoked.id.to_string()),
        "the host learns nothing: {message}"
    );

    let other_name = host(&emu, "db-1").await;
    let (_, detail) = refused(&emu, &engine, other_name.peer(), csr().1, FORBIDDEN).await;
    assert!(detail.contains("\"db-1\""), "{detail}");

    let ca = Certificate::from_pem(&emu.info().ca_pem).unwrap();
    let not_okms = PeerCertificate(ca.to_der().to_vec());
    let (_, detail) = refused(&emu, &engine, not_okms, csr().1, FORBIDDEN).await;
    assert!(
        detail.contains("serial") || detail.contains("no OKMS domain"),
        "{detail}"
    );

    let garbage = PeerCertificate(b"not a certificate".to_vec());
    refused(&emu, &engine, garbage, csr().1, FORBIDDEN).await;

    // Confirm and status refuse the same certificates.
    let confirm = engine.confirm(revoked.peer(), Default::default()).await;
    assert_eq!(confirm.result.unwrap_err().code, RefusalCode::Forbidden);
    let status = engine.status(other_name.peer()).await;
    assert_eq!(status.result.unwrap_err().code, RefusalCode::Forbidden);
}

#[tokio::test]
async fn an_expired_credential_is_forbidden() {
    let emu = common::emulator();
    let old = host(&emu, "web-01").await;
    emu.advance_clock(Duration::from_secs(61 * 86_400));
    // Started after the jump: its client syncs its signatures to the emulator's new time.
    let (engine, _) = engine(&emu).await;
    let (_, detail) = refused(&emu, &engine, old.peer(), csr().1, FORBIDDEN).await;
    assert!(detail.contains("EXPIRED"), "{detail}");
}

#[tokio::test]
async fn another_domain_is_forbidden() {
    let emu = RunningEmulator::spawn_in_thread(EmulatorConfig {
        extra_domains: 1,
        ready_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let other_domain = emu.domains()[1];
    assert_ne!(other_domain, emu.okms_id());
    let (engine, _) = engine_with(&emu, policy(other_domain, Duration::from_secs(60))).await;
    let old = host(&emu, "web-01").await;
    let (_, detail) = refused(&emu, &engine, old.peer(), csr().1, FORBIDDEN).await;
    assert!(detail.contains("not in the broker's policy"), "{detail}");
}

#[tokio::test]
async fn unusable_csrs_are_refused_naming_what_is_wrong_and_nothing_is_made() {
    let emu = common::emulator();
    let mut only_p256 = policy(emu.okms_id(), Duration::from_secs(60));
    only_p256.key_algorithms = vec![KeyAlgorithm::EcdsaP256];
    let (engine, _) = engine_with(&emu, only_p256).await;
    let old = host(&emu, "web-01").await;

    let same_key = CsrBuilder::new("CN=again".parse().unwrap())
        .build(&old.key)
        .unwrap()
        .to_pem();
    let (message, _) = refused(&emu, &engine, old.peer(), same_key, BAD_CSR).await;
    assert!(message.contains("reuses the current key"), "{message}");

    let good = Csr::from_pem(&csr().1).unwrap();
    let mut der = good.to_der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let tampered = Csr::from_der(&der).unwrap().to_pem();
    let (message, _) = refused(&emu, &engine, old.peer(), tampered, BAD_CSR).await;
    assert!(message.contains("signature"), "{message}");

    let (message, _) = refused(&emu, &engine, old.peer(), "hello".into(), BAD_CSR).await;
    assert!(message.contains("not PEM"), "{message}");

    let not_a_csr = old.certificate_pem.clone();
    let (message, _) = refused(&emu, &engine, old.peer(), not_a_csr, BAD_CSR).await;
    assert!(message.contains("not a CSR"), "{message}");

    let p384 = new_key(KeyAlgorithm::EcdsaP384).1;
    let (message, _) = refused(&emu, &engine, old.peer(), p384, BAD_CSR).await;
    assert!(
        message.contains("ecdsa-p384") && message.contains("allowed: ecdsa-p256"),
        "{message}"
    );
}
