//! API faults during create, READY and delete (5xx, 429, lost answers): after okms-api's
//! retries and reconciliation, no orphan and no duplicate; an outage that outlasts them is a
//! 503 with Retry-After, and the host's retry with the same CSR picks up what was made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Host, TestEngine, csr, engine, gone, host, live_named, peer_of, phase};
use okms_api::broker::{ConfirmRequest, RefusalCode, RenewRequest};
use okms_broker::service::{RenewKind, Service};
use okms_emulator::{CredentialPhase, FaultKind, FaultSpec, RunningEmulator};

fn create_route(emu: &RunningEmulator) -> String {
    format!("POST:/v2/okms/resource/{}/credential", emu.okms_id())
}

fn credential_route(emu: &RunningEmulator, method: &str) -> String {
    format!("{method}:/v2/okms/resource/{}/credential/*", emu.okms_id())
}

/// Renews and confirms `old` with faults on, and checks that exactly the new credential of
/// its name is live afterwards.
async fn renew_and_confirm(emu: &RunningEmulator, engine: &TestEngine, old: &Host) {
    let (answer, _) = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap();
    let confirmed = engine
        .confirm(peer_of(&answer.certificate_pem), ConfirmRequest::default())
        .await
        .result
        .unwrap();
    assert_eq!(confirmed.revoked, vec![old.id]);
    assert!(gone(phase(emu, old.id)));
    assert_eq!(
        live_named(emu, "web-01"),
        vec![answer.credential_id],
        "no orphan, no duplicate"
    );
}

#[tokio::test]
async fn server_errors_throttling_and_lost_answers_leave_one_credential() {
    let faults = |emu: &RunningEmulator| {
        vec![
            // The first create: 503 (not processed), then throttled, then processed with its
            // answer lost; okms-api resends or adopts.
            FaultSpec::new(FaultKind::Status(503))
                .route(&create_route(emu))
                .unwrap()
                .times(1),
            FaultSpec::new(FaultKind::TooManyRequests {
                retry_after_secs: 1,
            })
            .route(&create_route(emu))
            .unwrap()
            .skip(1)
            .times(1),
            FaultSpec::new(FaultKind::DropAfterProcessing)
                .route(&create_route(emu))
                .unwrap()
                .skip(2)
                .times(1),
            // The waits for READY and the reads: server errors, retried.
            FaultSpec::new(FaultKind::ServerError)
                .route(&credential_route(emu, "GET"))
                .unwrap()
                .skip(1)
                .times(2),
            // The confirm's DELETE: processed, answer lost; retried, found DELETING.
            FaultSpec::new(FaultKind::DropAfterProcessing)
                .route(&credential_route(emu, "DELETE"))
                .unwrap()
                .times(1),
        ]
    };
    let emu = common::emulator();
    let old = host(&emu, "web-01").await;
    let (engine, _) = engine(&emu).await;
    emu.set_faults(faults(&emu));
    renew_and_confirm(&emu, &engine, &old).await;
    let fired: u64 = emu.fault_counts().iter().map(|(_, n)| n).sum();
    assert!(fired >= 4, "{:?}", emu.fault_counts());
}

#[tokio::test]
async fn a_lost_create_answer_is_adopted_not_duplicated() {
    let emu = common::emulator();
    let old = host(&emu, "web-01").await;
    let (engine, _) = engine(&emu).await;
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::DropAfterProcessing)
            .route(&create_route(&emu))
            .unwrap()
            .times(1),
    ]);
    let count = emu.credentials().len();
    renew_and_confirm(&emu, &engine, &old).await;
    assert_eq!(
        emu.credentials().len(),
        count + 1,
        "one POST processed, adopted"
    );
    assert!(emu.credentials().iter().any(|c| c.answer_lost));
}

#[tokio::test]
async fn an_outage_during_ready_is_503_and_the_retry_picks_up_the_successor() {
    let emu = common::emulator();
    let old = host(&emu, "web-01").await;
    let (engine, _) = engine(&emu).await;
    let (_, csr_pem) = csr();
    // The authentication's GET passes; every later read of a credential fails.
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::Status(503))
            .route(&credential_route(&emu, "GET"))
            .unwrap()
            .skip(1)
            .times(1000),
    ]);
    let handled = engine
        .renew(
            old.peer(),
            RenewRequest {
                csr: csr_pem.clone(),
            },
        )
        .await;
    let refusal = handled.result.unwrap_err();
    assert_eq!(
        (refusal.status, refusal.code),
        (503, RefusalCode::Unavailable)
    );
    assert!(refusal.retry_after.is_some());
    let made = handled.audit.new_credential_id.unwrap();
    assert!(!handled.audit.api_query_ids.is_empty() || handled.audit.detail.is_some());

    emu.set_faults(vec![]);
    let count = emu.credentials().len();
    let (answer, kind) = engine
        .renew(old.peer(), RenewRequest { csr: csr_pem })
        .await
        .result
        .unwrap();
    assert_eq!((answer.credential_id, kind), (made, RenewKind::Repeated));
    assert_eq!(emu.credentials().len(), count, "no duplicate");
    assert_eq!(phase(&emu, made), CredentialPhase::Ready);
}

#[tokio::test]
async fn an_api_outage_before_anything_is_made_is_503_and_makes_nothing() {
    let emu = common::emulator();
    let old = host(&emu, "web-01").await;
    let (engine, _) = engine(&emu).await;
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::Status(502))
            .route(&credential_route(&emu, "GET"))
            .unwrap()
            .times(1000),
    ]);
    let count = emu.credentials().len();
    let refusal = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap_err();
    assert_eq!(
        (refusal.status, refusal.code),
        (503, RefusalCode::Unavailable)
    );
    assert_eq!(emu.credentials().len(), count);
}
