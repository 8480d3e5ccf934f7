//! The grace rule and convergence: an unconfirmed successor is revoked once its grace has
//! passed; a restarted engine answers a repeated CSR with the pending successor; two replicas
//! racing for one host converge to one credential.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{csr, engine, engine_with, gone, host, live_named, peer_of, phase, policy};
use okms_api::broker::{ConfirmRequest, RefusalCode, RenewRequest};
use okms_broker::service::{RenewKind, Service};
use okms_emulator::CredentialPhase;

#[tokio::test]
async fn a_successor_past_its_grace_is_revoked_and_the_previous_kept() {
    let emu = common::emulator();
    let grace = Duration::from_secs(2);
    let (engine, _) = engine_with(&emu, policy(emu.okms_id(), grace)).await;
    let old = host(&emu, "web-01").await;
    let (answer, _) = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap();

    let young = engine.reconcile().await.unwrap();
    assert_eq!(young.pending, 1);
    assert!(young.expired_unconfirmed.is_empty());
    assert_eq!(phase(&emu, answer.credential_id), CredentialPhase::Ready);

    tokio::time::sleep(grace + Duration::from_millis(500)).await;
    let report = engine.reconcile().await.unwrap();
    assert_eq!(report.expired_unconfirmed, vec![answer.credential_id]);
    assert_eq!(report.pending, 0);
    assert!(gone(phase(&emu, answer.credential_id)));
    assert_eq!(
        phase(&emu, old.id),
        CredentialPhase::Ready,
        "the host keeps its pair"
    );
    let status = engine.status(old.peer()).await.result.unwrap();
    assert_eq!(status.pending_successor, None);

    // Its certificate no longer confirms anything.
    let late = engine
        .confirm(peer_of(&answer.certificate_pem), ConfirmRequest::default())
        .await;
    assert_eq!(late.result.unwrap_err().code, RefusalCode::Forbidden);
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
}

#[tokio::test]
async fn a_restarted_engine_answers_a_repeated_csr_with_the_pending_successor() {
    let emu = common::emulator();
    let old = host(&emu, "web-01").await;
    let (_, csr_pem) = csr();
    let first = {
        let (engine, _) = engine(&emu).await;
        let renewed = engine
            .renew(
                old.peer(),
                RenewRequest {
                    csr: csr_pem.clone(),
                },
            )
            .await;
        renewed.result.unwrap().0
    };
    let count = emu.credentials().len();

    let (restarted, _) = engine(&emu).await;
    let report = restarted.reconcile().await.unwrap();
    assert_eq!(report.pending, 1);
    let (again, kind) = restarted
        .renew(old.peer(), RenewRequest { csr: csr_pem })
        .await
        .result
        .unwrap();
    assert_eq!(kind, RenewKind::Repeated);
    assert_eq!(again.credential_id, first.credential_id);
    assert_eq!(again.certificate_pem, first.certificate_pem);
    assert_eq!(
        again.confirm_by, first.confirm_by,
        "the grace runs from its creation"
    );
    assert_eq!(emu.credentials().len(), count, "no second credential");

    let other = restarted
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap_err();
    assert_eq!(other.code, RefusalCode::Conflict);

    // Killed again between answer and confirm: a third engine confirms with no state at all.
    let (third, _) = engine(&emu).await;
    let confirmed = third
        .confirm(peer_of(&again.certificate_pem), ConfirmRequest::default())
        .await
        .result
        .unwrap();
    assert_eq!(confirmed.revoked, vec![old.id]);
    assert_eq!(live_named(&emu, "web-01"), vec![first.credential_id]);
}

#[tokio::test]
async fn two_replicas_racing_for_one_host_converge_to_one_credential() {
    let emu = common::emulator();
    let old = host(&emu, "web-01").await;
    let (a, _) = engine(&emu).await;
    let (b, _) = engine(&emu).await;
    let (_, csr_pem) = csr();

    // The host's request reaches both (a retry through a load balancer while the first
    // attempt still runs): neither replica knows of the other's successor.
    let (from_a, from_b) = tokio::join!(
        a.renew(
            old.peer(),
            RenewRequest {
                csr: csr_pem.clone()
            }
        ),
        b.renew(old.peer(), RenewRequest { csr: csr_pem }),
    );
    let (from_a, _) = from_a.result.unwrap();
    let (from_b, _) = from_b.result.unwrap();
    assert_eq!(from_a.previous_credential_id, old.id);
    assert_eq!(from_b.previous_credential_id, old.id);

    // The host deploys A's answer and confirms through B: the confirmed one wins.
    let confirmed = b
        .confirm(peer_of(&from_a.certificate_pem), ConfirmRequest::default())
        .await
        .result
        .unwrap();
    assert!(confirmed.revoked.contains(&old.id));
    for engine in [&a, &b] {
        let report = engine.reconcile().await.unwrap();
        assert_eq!(report.pending, 0);
    }
    assert_eq!(live_named(&emu, "web-01"), vec![from_a.credential_id]);
}
