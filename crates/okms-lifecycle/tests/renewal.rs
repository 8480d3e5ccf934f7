//! The renewal state machine against the emulator: what is live after each path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

mod common;

use common::{client, emulator, gone, holds, key_and_csr, key_pem, old_credential, phase, settle};
use okms_api::{ReconcileOptions, ReqwestConnector, Uuid};
use okms_csr::Certificate;
use okms_emulator::{CredentialPhase, FaultKind, FaultSpec};
use okms_lifecycle::{Error, Plan, Step};

#[tokio::test]
async fn a_full_renewal_keeps_the_template_proves_the_new_pair_and_revokes_the_old() {
    let emu = emulator();
    let client = client(&emu);
    let info = emu.info().clone();
    let old = old_credential(&emu, &client).await;
    let (key, csr) = key_and_csr();

    let plan = Plan::for_credential(&client, info.okms_id, old.id, csr)
        .await
        .unwrap();
    assert_eq!(plan.request().name, "web-01");
    assert_eq!(plan.request().description.as_deref(), Some("front end"));
    assert_eq!(plan.request().identity_urns, old.identity_urns);
    assert_eq!(plan.request().validity, Some(30));

    let is_ours = holds(&key);
    let created = plan
        .create(&client, &is_ours, &ReconcileOptions::default(), &|_| {})
        .await
        .unwrap();
    assert_ne!(created.new_id(), old.id);
    let ready = created.wait_ready(&client, &settle()).await.unwrap();
    let proved = ready
        .prove(
            &ReqwestConnector::new(),
            &info.kms_url,
            key_pem(&key).into(),
            Some(info.ca_pem.clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        phase(&emu, old.id),
        CredentialPhase::Ready,
        "old untouched before finish"
    );

    let renewed = proved.finish(&client, false).await.unwrap();
    assert!(renewed.old_revoked);
    assert!(gone(phase(&emu, old.id)), "old revoked last");
    assert_eq!(phase(&emu, renewed.new.id), CredentialPhase::Ready);
    let cert = Certificate::from_pem(renewed.new.certificate_pem.as_deref().unwrap()).unwrap();
    assert_eq!(cert.credential_id(), Some(renewed.new.id.to_string()));
}

#[tokio::test]
async fn keep_old_leaves_both_live() {
    let emu = emulator();
    let client = client(&emu);
    let info = emu.info().clone();
    let old = old_credential(&emu, &client).await;
    let (key, csr) = key_and_csr();
    let plan = Plan::for_credential(&client, info.okms_id, old.id, csr)
        .await
        .unwrap();
    let created = plan
        .create(&client, &holds(&key), &ReconcileOptions::default(), &|_| {})
        .await
        .unwrap();
    let ready = created.wait_ready(&client, &settle()).await.unwrap();
    let proved = ready
        .prove(
            &ReqwestConnector::new(),
            &info.kms_url,
            key_pem(&key).into(),
            Some(info.ca_pem.clone()),
        )
        .await
        .unwrap();
    let renewed = proved.finish(&client, true).await.unwrap();
    assert!(!renewed.old_revoked);
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
    assert_eq!(phase(&emu, renewed.new.id), CredentialPhase::Ready);
}

#[tokio::test]
async fn a_failed_proof_is_reported_and_abandoning_revokes_only_the_new_credential() {
    let emu = emulator();
    let client = client(&emu);
    let info = emu.info().clone();
    let old = old_credential(&emu, &client).await;
    let (key, csr) = key_and_csr();
    let (other_key, _) = key_and_csr();
    let plan = Plan::for_credential(&client, info.okms_id, old.id, csr)
        .await
        .unwrap();
    let created = plan
        .create(&client, &holds(&key), &ReconcileOptions::default(), &|_| {})
        .await
        .unwrap();
    let ready = created.wait_ready(&client, &settle()).await.unwrap();
    let err = ready
        .prove(
            &ReqwestConnector::new(),
            &info.kms_url,
            key_pem(&other_key).into(),
            Some(info.ca_pem.clone()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                step: Step::Prove,
                ..
            }
        ),
        "a key that does not match the certificate fails the proof: {err:?}"
    );
    let new_id = ready.abandon(&client, &settle()).await.unwrap();
    assert!(
        gone(phase(&emu, new_id)),
        "the undeployed new credential is revoked"
    );
    assert_eq!(
        phase(&emu, old.id),
        CredentialPhase::Ready,
        "the old one keeps working"
    );
}

#[tokio::test]
async fn a_lost_create_answer_is_adopted_not_duplicated() {
    let emu = emulator();
    let client = client(&emu);
    let info = emu.info().clone();
    let old = old_credential(&emu, &client).await;
    let (key, csr) = key_and_csr();
    let plan = Plan::for_credential(&client, info.okms_id, old.id, csr)
        .await
        .unwrap();
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::DropAfterProcessing)
            .route(&format!(
                "POST:/v2/okms/resource/{}/credential",
                info.okms_id
            ))
            .unwrap()
            .times(1),
    ]);
    let created = plan
        .create(&client, &holds(&key), &ReconcileOptions::default(), &|_| {})
        .await
        .unwrap();
    assert!(
        !created.events().is_empty(),
        "the lost answer was reconciled"
    );
    let named: Vec<_> = emu
        .credentials()
        .into_iter()
        .filter(|c| c.name == "web-01" && !gone(c.phase))
        .collect();
    assert_eq!(
        named.len(),
        2,
        "the old one and exactly one new one: {named:?}"
    );
    let ready = created.wait_ready(&client, &settle()).await.unwrap();
    ready
        .prove(
            &ReqwestConnector::new(),
            &info.kms_url,
            key_pem(&key).into(),
            Some(info.ca_pem.clone()),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_credential_of_another_domain_is_refused_before_anything_is_created() {
    let emu = emulator();
    let client = client(&emu);
    let (_, csr) = key_and_csr();
    let before = emu.credentials().len();
    let err = Plan::for_credential(&client, emu.okms_id(), Uuid::from_u128(7), csr)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                step: Step::ReadOld,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("reading the old credential"),
        "{err}"
    );
    assert_eq!(emu.credentials().len(), before);
}

#[tokio::test]
async fn a_domain_that_refuses_the_new_certificate_is_a_refused_proof_naming_it() {
    let emu = emulator();
    let client = client(&emu);
    let info = emu.info().clone();
    let old = old_credential(&emu, &client).await;
    let (key, csr) = key_and_csr();
    let plan = Plan::for_credential(&client, info.okms_id, old.id, csr)
        .await
        .unwrap()
        .with_validity(1);
    let created = plan
        .create(&client, &holds(&key), &ReconcileOptions::default(), &|_| {})
        .await
        .unwrap();
    let ready = created.wait_ready(&client, &settle()).await.unwrap();
    // The new certificate expires before it is proved: the domain answers, and says no.
    emu.advance_clock(Duration::from_secs(2 * 86_400));
    let err = ready
        .prove(
            &ReqwestConnector::new(),
            &info.kms_url,
            key_pem(&key).into(),
            Some(info.ca_pem.clone()),
        )
        .await
        .unwrap_err();
    match &err {
        Error::ProofRefused { id, answer } => {
            assert_eq!(*id, ready.new_id());
            assert!((400..500).contains(&answer.status), "{err}");
            // Typed, not flattened: the data plane's own error body, to branch on.
            let body = err.data_plane_error().expect("a data-plane error body");
            assert!(body.errors.iter().any(|m| m.contains("expired")), "{err}");
            assert!(body.refuses_the_caller(), "{body:?}");
            assert!(err.to_string().contains("expired"), "{err}");
        }
        other => panic!("expected a refused proof, got {other:?}"),
    }
}

#[tokio::test]
async fn a_lost_revocation_answer_is_not_a_failed_revocation() {
    let emu = emulator();
    let client = client(&emu);
    let info = emu.info().clone();
    let old = old_credential(&emu, &client).await;
    let (key, csr) = key_and_csr();
    let plan = Plan::for_credential(&client, info.okms_id, old.id, csr)
        .await
        .unwrap();
    let created = plan
        .create(&client, &holds(&key), &ReconcileOptions::default(), &|_| {})
        .await
        .unwrap();
    let ready = created.wait_ready(&client, &settle()).await.unwrap();
    let proved = ready
        .prove(
            &ReqwestConnector::new(),
            &info.kms_url,
            key_pem(&key).into(),
            Some(info.ca_pem.clone()),
        )
        .await
        .unwrap();
    // The DELETE is carried out, its answer lost; the client's retry then finds the old
    // credential DELETING or gone.
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::DropAfterProcessing)
            .route(&format!(
                "DELETE:/v2/okms/resource/{}/credential/{}",
                info.okms_id, old.id
            ))
            .unwrap()
            .times(1),
    ]);
    let renewed = proved.finish(&client, false).await.unwrap();
    assert!(renewed.old_revoked);
    assert!(gone(phase(&emu, old.id)));
    assert_eq!(
        emu.fault_counts().iter().map(|(_, n)| n).sum::<u64>(),
        1,
        "the answer was lost once"
    );
}
