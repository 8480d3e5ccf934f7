//! The engine against the emulator, in process (no server): renew, repeat, confirm, abandon,
//! status, and the API calls a renewal costs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{csr, engine, engine_with, gone, host, live_named, peer_of, phase, policy, snapshot};
use okms_api::broker::{AbandonRequest, ConfirmRequest, RefusalCode, RenewRequest};
use okms_broker::service::{RenewKind, Service};
use okms_csr::Certificate;
use okms_emulator::CredentialPhase;

#[tokio::test]
async fn renew_makes_a_ready_successor_with_the_old_template_and_the_policy_validity() {
    let emu = common::emulator();
    let (engine, _) = engine(&emu).await;
    let old = host(&emu, "web-01").await;
    let (key, csr) = csr();

    let handled = engine.renew(old.peer(), RenewRequest { csr }).await;
    let (answer, kind) = handled.result.unwrap();
    assert_eq!(kind, RenewKind::Created);
    assert_eq!(answer.previous_credential_id, old.id);
    assert_eq!(answer.okms_id, emu.okms_id());
    assert_eq!(answer.ca_pem, emu.info().ca_pem);
    assert!(answer.rest_endpoint.is_some());

    let new = snapshot(&emu, answer.credential_id);
    let before = snapshot(&emu, old.id);
    assert_eq!(new.phase, CredentialPhase::Ready);
    assert_eq!(new.name, "web-01");
    assert_eq!(new.identity_urns, before.identity_urns);
    assert_eq!(new.description.as_deref(), Some("front end"));
    assert_eq!(
        (new.expired_at - new.created_at).whole_days(),
        30,
        "the policy's validity"
    );
    let cert = Certificate::from_pem(&answer.certificate_pem).unwrap();
    assert_eq!(
        cert.public_key(),
        key.public_key(),
        "the certificate holds the CSR's key"
    );
    assert_eq!(answer.not_after, cert.not_after());
    let confirm_by = new.created_at + time::Duration::HOUR;
    assert!(
        (answer.confirm_by - confirm_by).abs() < time::Duration::SECOND,
        "{answer:?}"
    );
    assert_eq!(
        phase(&emu, old.id),
        CredentialPhase::Ready,
        "the old one stays until confirm"
    );

    assert_eq!(handled.audit.client_credential_id, Some(old.id));
    assert_eq!(handled.audit.new_credential_id, Some(answer.credential_id));
    assert!(
        handled
            .audit
            .client_fingerprint
            .as_ref()
            .is_some_and(|f| f.len() == 64)
    );
    assert!(handled.audit.new_fingerprint.is_some());
    assert!(handled.audit.api_calls >= 3, "{:?}", handled.audit);
}

#[tokio::test]
async fn a_successor_revoked_by_hand_does_not_make_another_csr_a_conflict() {
    let emu = common::emulator();
    let (engine, _) = engine(&emu).await;
    let old = host(&emu, "web-01").await;
    let (first, _) = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap();
    // An operator revokes the pending successor with the API, behind the broker's back.
    let (admin, _) = common::counting_client(&emu);
    admin
        .delete_credential(emu.okms_id(), first.credential_id)
        .await
        .unwrap();

    let (key, csr_pem) = csr();
    let (second, kind) = engine
        .renew(old.peer(), RenewRequest { csr: csr_pem })
        .await
        .result
        .unwrap();
    assert_eq!(kind, RenewKind::Created);
    assert_ne!(second.credential_id, first.credential_id);
    let cert = Certificate::from_pem(&second.certificate_pem).unwrap();
    assert_eq!(cert.public_key(), key.public_key());
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
}

#[tokio::test]
async fn a_renewal_with_its_confirm_costs_at_most_six_api_calls() {
    // With no READY delay, as the benchmark runs: each poll for READY would be one more.
    let emu = common::emulator_with_ready_delay(Duration::ZERO);
    let (engine, sent) = engine(&emu).await;
    let old = host(&emu, "web-01").await;
    // The first signed call syncs the clock (/auth/time) once per client: not the renewal's.
    let _ = engine.status(old.peer()).await;
    let before = sent.load(Ordering::SeqCst);

    let (answer, _) = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap();
    let confirmed = engine
        .confirm(peer_of(&answer.certificate_pem), ConfirmRequest::default())
        .await;
    assert_eq!(confirmed.result.unwrap().revoked, vec![old.id]);
    let calls = sent.load(Ordering::SeqCst) - before;
    assert!(calls <= 6, "{calls} API calls for renew + confirm");
}

#[tokio::test]
async fn the_same_csr_again_gets_the_same_successor_and_another_csr_a_conflict() {
    let emu = common::emulator();
    let (engine, _) = engine(&emu).await;
    let old = host(&emu, "web-01").await;
    let (_, csr_pem) = csr();

    let (first, _) = engine
        .renew(
            old.peer(),
            RenewRequest {
                csr: csr_pem.clone(),
            },
        )
        .await
        .result
        .unwrap();
    let count = emu.credentials().len();
    let (again, kind) = engine
        .renew(old.peer(), RenewRequest { csr: csr_pem })
        .await
        .result
        .unwrap();
    assert_eq!(kind, RenewKind::Repeated);
    assert_eq!(again, first);
    assert_eq!(emu.credentials().len(), count, "no second credential");

    let refused = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap_err();
    assert_eq!((refused.status, refused.code), (409, RefusalCode::Conflict));
    assert!(
        refused.message.contains(&first.credential_id.to_string()),
        "{}",
        refused.message
    );
    assert_eq!(
        emu.credentials().len(),
        count,
        "nothing made for the other CSR"
    );
}

#[tokio::test]
async fn confirm_with_the_new_certificate_revokes_the_old_once() {
    let emu = common::emulator();
    let (engine, _) = engine(&emu).await;
    let old = host(&emu, "web-01").await;
    let (answer, _) = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap();
    let new_peer = peer_of(&answer.certificate_pem);

    let first = engine
        .confirm(new_peer.clone(), ConfirmRequest::default())
        .await;
    let first_answer = first.result.unwrap();
    assert_eq!(first_answer.credential_id, answer.credential_id);
    assert_eq!(first_answer.revoked, vec![old.id]);
    assert_eq!(first.audit.revoked, vec![old.id]);
    assert!(gone(phase(&emu, old.id)));
    assert_eq!(phase(&emu, answer.credential_id), CredentialPhase::Ready);

    let second = engine
        .confirm(
            new_peer,
            ConfirmRequest {
                previous_credential_id: Some(old.id),
            },
        )
        .await;
    assert_eq!(second.result.unwrap().revoked, Vec::<okms_api::Uuid>::new());
    assert_eq!(live_named(&emu, "web-01"), vec![answer.credential_id]);

    // The old certificate no longer renews anything.
    let refused = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap_err();
    assert_eq!(refused.code, RefusalCode::Forbidden);
}

#[tokio::test]
async fn abandon_revokes_the_successor_and_keeps_the_old() {
    let emu = common::emulator();
    let (engine, _) = engine(&emu).await;
    let old = host(&emu, "web-01").await;
    let other = host(&emu, "web-02").await;
    let (answer, _) = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap();
    let request = AbandonRequest {
        credential_id: answer.credential_id,
    };

    // Another host cannot abandon it.
    let refused = engine
        .abandon(other.peer(), request.clone())
        .await
        .result
        .unwrap_err();
    assert_eq!(refused.code, RefusalCode::Forbidden);
    assert_eq!(phase(&emu, answer.credential_id), CredentialPhase::Ready);
    // Nor can a host abandon the certificate it presents.
    let itself = AbandonRequest {
        credential_id: old.id,
    };
    let refused = engine.abandon(old.peer(), itself).await.result.unwrap_err();
    assert_eq!(refused.code, RefusalCode::BadRequest);

    let abandoned = engine
        .abandon(old.peer(), request.clone())
        .await
        .result
        .unwrap();
    assert_eq!(abandoned.revoked, vec![answer.credential_id]);
    assert!(gone(phase(&emu, answer.credential_id)));
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
    let again = engine.abandon(old.peer(), request).await.result.unwrap();
    assert_eq!(again.revoked, Vec::<okms_api::Uuid>::new());

    // With the successor gone, a new CSR makes a new one.
    let (next, kind) = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap();
    assert_eq!(kind, RenewKind::Created);
    assert_ne!(next.credential_id, answer.credential_id);
}

#[tokio::test]
async fn status_says_when_renewal_is_due_and_names_the_pending_successor() {
    let emu = common::emulator();
    let (engine, _) = engine(&emu).await;
    let old = host(&emu, "web-01").await;
    let status = engine.status(old.peer()).await.result.unwrap();
    assert_eq!(status.credential_id, old.id);
    assert_eq!(status.name, "web-01");
    assert!(!status.due);
    assert_eq!(status.pending_successor, None);
    // Two thirds of a 60-day lifetime.
    let cert = Certificate::from_pem(&old.certificate_pem).unwrap();
    assert_eq!(
        status.renew_after,
        cert.not_before() + time::Duration::days(40)
    );

    let (answer, _) = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap();
    let status = engine.status(old.peer()).await.result.unwrap();
    assert_eq!(status.pending_successor, Some(answer.credential_id));

    let mut due_soon = policy(emu.okms_id(), Duration::from_secs(3600));
    due_soon.renew_before_days = Some(60);
    let (strict, _) = engine_with(&emu, due_soon).await;
    assert!(strict.status(old.peer()).await.result.unwrap().due);
}

#[tokio::test]
async fn a_second_new_successor_within_the_interval_is_rate_limited() {
    let emu = common::emulator();
    let mut limited = policy(emu.okms_id(), Duration::from_secs(3600));
    limited.min_renew_interval = Duration::from_secs(600);
    let (engine, _) = engine_with(&emu, limited).await;
    let old = host(&emu, "web-01").await;
    let (answer, _) = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap();
    let abandon = AbandonRequest {
        credential_id: answer.credential_id,
    };
    engine.abandon(old.peer(), abandon).await.result.unwrap();
    let count = emu.credentials().len();

    let refused = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await
        .result
        .unwrap_err();
    assert_eq!(
        (refused.status, refused.code),
        (429, RefusalCode::RateLimited)
    );
    let after = refused.retry_after.unwrap();
    assert!(
        after > Duration::from_secs(500) && after <= Duration::from_secs(600),
        "{after:?}"
    );
    assert_eq!(emu.credentials().len(), count);

    let mut metrics = String::new();
    engine.write_metrics(&mut metrics);
    for line in [
        "okms_broker_renewals_total{outcome=\"created\"} 1",
        "okms_broker_renewals_total{outcome=\"refused\",code=\"rate_limited\"} 1",
        "okms_broker_abandons_total 1",
        "okms_broker_api_queue_depth 0",
        "okms_broker_pending_successors 0",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
}

#[tokio::test]
async fn concurrent_renewals_stay_within_the_api_concurrency_bound() {
    let emu = common::emulator();
    let mut hosts = Vec::new();
    for i in 0..6 {
        hosts.push(host(&emu, &format!("web-{i}")).await);
    }
    let options = okms_broker::engine::EngineOptions {
        api_concurrency: 2,
        ..common::options()
    };
    let domain = policy(emu.okms_id(), Duration::from_secs(3600));
    let (engine, transport) = common::engine_with_options(&emu, domain, options).await;
    let engine = std::sync::Arc::new(engine);
    let mut renewals = tokio::task::JoinSet::new();
    for h in &hosts {
        let (engine, peer) = (engine.clone(), h.peer());
        renewals.spawn(async move { engine.renew(peer, RenewRequest { csr: csr().1 }).await });
    }
    while let Some(handled) = renewals.join_next().await {
        assert_eq!(handled.unwrap().result.unwrap().1, RenewKind::Created);
    }
    let peak = transport.peak.load(Ordering::SeqCst);
    assert!((1..=2).contains(&peak), "{peak} API requests at once");
    let mut metrics = String::new();
    engine.write_metrics(&mut metrics);
    assert!(
        metrics.contains("okms_broker_api_in_flight 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("okms_broker_pending_successors 6\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn over_an_audited_transport_each_request_names_its_calls_and_query_ids() {
    use okms_broker::engine::{Audited, Engine};
    let emu = common::emulator_with_ready_delay(Duration::ZERO);
    let old = host(&emu, "web-01").await;
    let transport = Audited(okms_api::ReqwestTransport::new().unwrap());
    let client =
        okms_api::Client::with_transport(common::config(&emu), transport, okms_api::TokioClock);
    let policy = okms_broker::policy::Policy {
        domains: vec![policy(emu.okms_id(), Duration::from_secs(3600))],
    };
    let engine = Engine::start(client, std::sync::Arc::new(policy), common::options())
        .await
        .unwrap();

    let renewed = engine
        .renew(old.peer(), RenewRequest { csr: csr().1 })
        .await;
    let (answer, _) = renewed.result.unwrap();
    // GET old, POST, GET until READY: the create lists nothing (its "before" set is the
    // latest shared listing's).
    assert_eq!(renewed.audit.api_calls, 3, "{:?}", renewed.audit);
    assert_eq!(renewed.audit.api_query_ids.len(), 3, "{:?}", renewed.audit);
    assert!(
        renewed.audit.api_time > Duration::ZERO,
        "{:?}",
        renewed.audit
    );
    let confirmed = engine
        .confirm(peer_of(&answer.certificate_pem), ConfirmRequest::default())
        .await;
    assert_eq!(
        confirmed.audit.api_calls, 2,
        "list, DELETE: {:?}",
        confirmed.audit
    );
    let mut ids = renewed.audit.api_query_ids.clone();
    ids.extend(confirmed.audit.api_query_ids.clone());
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "each call its own query id");
}

#[tokio::test]
async fn reload_reads_new_domains_and_keeps_the_old_policy_when_one_is_unreadable() {
    use okms_broker::policy::Policy;
    let emu = okms_emulator::RunningEmulator::spawn_in_thread(okms_emulator::EmulatorConfig {
        extra_domains: 1,
        ..okms_emulator::EmulatorConfig::default()
    })
    .unwrap();
    let (engine, _) = engine(&emu).await;
    assert_eq!(engine.client_cas(), vec![emu.info().ca_pem.clone()]);

    let second = emu.domains()[1];
    let grace = Duration::from_secs(60);
    let both = Policy {
        domains: vec![policy(emu.okms_id(), grace), policy(second, grace)],
    };
    engine.reload(std::sync::Arc::new(both)).await.unwrap();
    assert_eq!(engine.client_cas().len(), 2);

    let unknown = Policy {
        domains: vec![policy(okms_api::Uuid::from_u128(7), grace)],
    };
    assert!(engine.reload(std::sync::Arc::new(unknown)).await.is_err());
    assert_eq!(
        engine.client_cas().len(),
        2,
        "the old policy stays in force"
    );
}

#[tokio::test]
async fn confirms_arriving_together_share_the_domain_listings() {
    use okms_emulator::{FaultKind, FaultSpec};
    let emu = common::emulator_with_ready_delay(Duration::ZERO);
    let (engine, _) = engine(&emu).await;
    let engine = std::sync::Arc::new(engine);
    let mut renewed = Vec::new();
    for i in 0..8 {
        let old = host(&emu, &format!("web-{i:02}")).await;
        let (answer, _) = engine
            .renew(old.peer(), RenewRequest { csr: csr().1 })
            .await
            .result
            .unwrap();
        renewed.push((old.id, answer.certificate_pem));
    }
    // A slow listing: the confirms that arrive while one runs share the next one.
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::Latency(Duration::from_millis(300)))
            .route(&format!(
                "GET:/v2/okms/resource/{}/credential",
                emu.okms_id()
            ))
            .unwrap(),
    ]);
    let mut confirms = tokio::task::JoinSet::new();
    for (old_id, pem) in renewed {
        let engine = engine.clone();
        confirms.spawn(async move {
            let handled = engine
                .confirm(peer_of(&pem), ConfirmRequest::default())
                .await;
            (old_id, handled)
        });
    }
    let mut calls = 0;
    while let Some(done) = confirms.join_next().await {
        let (old_id, handled) = done.unwrap();
        calls += handled.audit.api_calls;
        assert_eq!(handled.result.unwrap().revoked, vec![old_id]);
        assert!(gone(phase(&emu, old_id)));
    }
    // 8 DELETEs, and a listing for each wave of arrivals instead of one per confirm.
    let listings = calls - 8;
    assert!(listings <= 3, "{listings} listings for 8 confirms");
}

#[tokio::test]
async fn renewals_arriving_together_do_not_each_list_the_domain() {
    use okms_emulator::{FaultKind, FaultSpec};
    let emu = common::emulator_with_ready_delay(Duration::ZERO);
    let (engine, _) = engine(&emu).await;
    let engine = std::sync::Arc::new(engine);
    let mut hosts = Vec::new();
    for i in 0..8 {
        hosts.push(host(&emu, &format!("web-{i:02}")).await);
    }
    // A zero latency fault on the listing route counts the listings.
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::Latency(Duration::ZERO))
            .route(&format!(
                "GET:/v2/okms/resource/{}/credential",
                emu.okms_id()
            ))
            .unwrap(),
    ]);
    let mut renewals = tokio::task::JoinSet::new();
    for old in hosts {
        let engine = engine.clone();
        renewals.spawn(async move {
            let handled = engine
                .renew(old.peer(), RenewRequest { csr: csr().1 })
                .await;
            (old.id, handled)
        });
    }
    while let Some(done) = renewals.join_next().await {
        let (old_id, handled) = done.unwrap();
        let (answer, _) = handled.result.unwrap();
        assert_eq!(answer.previous_credential_id, old_id);
        assert!(handled.audit.api_time > Duration::ZERO);
        assert_eq!(
            phase(&emu, answer.credential_id),
            okms_emulator::CredentialPhase::Ready
        );
    }
    let listings: u64 = emu.fault_counts().iter().map(|(_, n)| n).sum();
    // Each create's "before" set is the latest shared listing, not a listing of its own: the
    // memory a burst holds does not grow as hosts x domain size.
    assert_eq!(listings, 0, "listings for 8 creates");
}
