//! The renewal saga against the emulator with a key home in memory: a failure at each step,
//! and what is deployed and live after it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{client, emulator, gone, key_pem, old_credential, phase, settle};
use okms_api::{ClientKey, Credential, ReconcileOptions, ReqwestConnector, Uuid, WaitPolicy};
use okms_csr::{Certificate, CsrBuilder, KeyAlgorithm, PrivateKey, same_public_key};
use okms_emulator::{CredentialPhase, FaultKind, FaultSpec, RunningEmulator};
use okms_lifecycle::{
    Cause, DeployError, DeployedPair, Endpoint, Error, KeyFate, KeyHome, Progress, Recognizer,
    RenewalFailure, RenewalRequest, Step, StopReason, renew, renew_until,
};

/// Where a test home fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailAt {
    Nowhere,
    MakeKey,
    SignCsr,
    CheckCertificate,
    ProofKey,
    DeployUndone,
    DeployStuck,
    Discard,
}

/// A home in memory: the "deployed" certificate is a string.
struct TestHome {
    fail: FailAt,
    made: u32,
    discarded: u32,
    deployed_cert: Option<String>,
}

impl TestHome {
    fn failing(fail: FailAt) -> Self {
        TestHome {
            fail,
            made: 0,
            discarded: 0,
            deployed_cert: None,
        }
    }

    fn fails(&self, at: FailAt) -> Result<(), String> {
        if self.fail == at {
            Err(format!("{at:?} failed"))
        } else {
            Ok(())
        }
    }
}

impl KeyHome for TestHome {
    type Key = PrivateKey;
    type Deployed = String;
    type Error = String;

    async fn make_key(&mut self) -> Result<PrivateKey, String> {
        self.fails(FailAt::MakeKey)?;
        self.made += 1;
        Ok(PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap())
    }

    async fn sign_csr(&mut self, key: &PrivateKey) -> Result<String, String> {
        self.fails(FailAt::SignCsr)?;
        let csr = CsrBuilder::new("CN=renewed".parse().unwrap())
            .build(key)
            .map_err(|e| e.to_string())?;
        Ok(csr.to_pem())
    }

    fn recognizer(&self, key: &PrivateKey) -> Recognizer {
        okms_lifecycle::holds_key(key.public_key())
    }

    fn check_certificate(&self, key: &PrivateKey, _: Uuid, pem: &str) -> Result<(), String> {
        self.fails(FailAt::CheckCertificate)?;
        let cert = Certificate::from_pem(pem).map_err(|e| e.to_string())?;
        if same_public_key(&cert.public_key(), &key.public_key()) {
            Ok(())
        } else {
            Err("not our key".to_owned())
        }
    }

    async fn proof_key(&mut self, key: &mut PrivateKey) -> Result<ClientKey, String> {
        self.fails(FailAt::ProofKey)?;
        Ok(key_pem(key).into())
    }

    async fn deploy(&mut self, _: &PrivateKey, pem: &str) -> Result<String, DeployError<String>> {
        match self.fail {
            FailAt::DeployUndone => Err(DeployError::Undone("disk full".to_owned())),
            FailAt::DeployStuck => Err(DeployError::Stuck("rename failed".to_owned())),
            _ => {
                self.deployed_cert = Some(pem.to_owned());
                Ok("deployed".to_owned())
            }
        }
    }

    async fn discard(&mut self, _: PrivateKey) -> Result<(), String> {
        self.fails(FailAt::Discard)?;
        self.discarded += 1;
        Ok(())
    }
}

fn request(emu: &RunningEmulator, old: &Credential) -> RenewalRequest {
    let info = emu.info();
    RenewalRequest {
        okms_id: info.okms_id,
        old_id: old.id,
        validity: None,
        keep_old: false,
        settle: settle(),
        reconcile: ReconcileOptions::default(),
        endpoint: Endpoint::Given(info.kms_url.clone()),
        ca_pem: Some(info.ca_pem.clone()),
        proof_wait: okms_api::kms::PropagationWait::default(),
    }
}

type Outcome = Result<okms_lifecycle::Renewal<String>, RenewalFailure<String, String>>;

/// Renews `old` with `home`, the hook failing when `hook_fails`; returns the outcome and the
/// progress seen.
async fn run(
    emu: &RunningEmulator,
    home: &mut TestHome,
    request: &RenewalRequest,
    hook_fails: bool,
) -> (Outcome, Vec<Progress>) {
    let client = client(emu);
    let seen = Mutex::new(Vec::new());
    let on_progress = |p: &Progress| seen.lock().unwrap().push(p.clone());
    let hook = |_: Uuid, _: &String| {
        if hook_fails {
            Err("hook exited with 1".to_owned())
        } else {
            Ok(())
        }
    };
    let connector = ReqwestConnector::new();
    let saga = renew(&client, &connector, home, request, hook, &on_progress);
    // A broker drives renewals from a multi-threaded runtime: the saga must be Send when its
    // home is.
    is_send(&saga);
    let outcome = saga.await;
    (outcome, seen.into_inner().unwrap())
}

fn is_send<T: Send>(_: &T) {}

/// Credentials other than `old`.
fn others(emu: &RunningEmulator, old: Uuid) -> Vec<(Uuid, CredentialPhase)> {
    emu.credentials()
        .into_iter()
        .filter(|c| c.id != old)
        .map(|c| (c.id, c.phase))
        .collect()
}

async fn setup() -> (RunningEmulator, Credential) {
    let emu = emulator();
    let old = old_credential(&emu, &client(&emu)).await;
    (emu, old)
}

#[tokio::test]
async fn a_renewal_deploys_the_proved_pair_and_revokes_the_old_credential_last() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::Nowhere);
    let (outcome, seen) = run(&emu, &mut home, &request(&emu, &old), false).await;
    let renewal = outcome.unwrap();
    let new_id = renewal.renewed.new.id;
    assert_eq!(renewal.deployed, "deployed");
    assert!(renewal.renewed.old_revoked);
    assert!(gone(phase(&emu, old.id)));
    assert_eq!(phase(&emu, new_id), CredentialPhase::Ready);
    assert_eq!(
        home.deployed_cert.as_deref(),
        renewal.renewed.new.certificate_pem.as_deref()
    );
    assert_eq!(home.discarded, 0);
    let (steps, events): (Vec<Progress>, Vec<Progress>) = seen
        .into_iter()
        .partition(|p| matches!(p, Progress::Step(_)));
    assert_eq!(
        events,
        vec![
            Progress::KeyMade,
            Progress::Created { new_id },
            Progress::Proved { new_id },
            Progress::Deployed { new_id },
        ]
    );
    // One progress line per step, the old credential read before the key is made.
    let want: Vec<Progress> = [
        Step::ReadOld,
        Step::NewKey,
        Step::Create,
        Step::WaitReady,
        Step::Prove,
        Step::Deploy,
        Step::Hook,
        Step::RevokeOld,
    ]
    .into_iter()
    .map(Progress::Step)
    .collect();
    assert_eq!(steps, want);
}

#[tokio::test]
async fn a_stop_while_waiting_for_ready_revokes_the_new_credential_and_discards_its_key() {
    let emu = common::emulator_with_ready_delay(Duration::from_secs(3));
    let old = old_credential(&emu, &client(&emu)).await;
    let mut home = TestHome::failing(FailAt::Nowhere);
    let client = client(&emu);
    let created = tokio::sync::Notify::new();
    let on_progress = |p: &Progress| {
        if matches!(p, Progress::Created { .. }) {
            created.notify_one();
        }
    };
    let stop = async {
        created.notified().await;
        StopReason::Interrupted
    };
    let hook = |_: Uuid, _: &String| Ok(());
    let request = request(&emu, &old);
    let outcome = renew_until(
        &client,
        &ReqwestConnector::new(),
        &mut home,
        &request,
        hook,
        &on_progress,
        stop,
    )
    .await;
    let failure = outcome.unwrap_err();
    let RenewalFailure::Abandoned {
        new_id,
        cause: Cause::Lifecycle(Error::Stopped { reason, .. }),
        revoked: Ok(()),
        new_key: KeyFate::Discarded,
    } = failure
    else {
        panic!("expected a stopped, abandoned renewal, got {failure:?}");
    };
    assert_eq!(reason, StopReason::Interrupted);
    assert!(gone(phase(&emu, new_id)));
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
    assert_eq!((home.made, home.discarded), (1, 1));
    assert!(home.deployed_cert.is_none());
}

#[tokio::test]
async fn no_key_means_nothing_created_and_nothing_to_discard() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::MakeKey);
    let (outcome, _) = run(&emu, &mut home, &request(&emu, &old), false).await;
    let failure = outcome.unwrap_err();
    assert!(matches!(
        &failure,
        RenewalFailure::NotCreated {
            cause: Cause::Home(_),
            new_key: KeyFate::NeverMade,
            name: None,
        }
    ));
    assert_eq!(failure.deployed_pair(), DeployedPair::Old);
    assert_eq!(failure.new_live(), None);
    assert!(others(&emu, old.id).is_empty());
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
}

#[tokio::test]
async fn an_unsigned_csr_discards_the_key_before_any_call() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::SignCsr);
    let (outcome, _) = run(&emu, &mut home, &request(&emu, &old), false).await;
    assert!(matches!(
        outcome.unwrap_err(),
        RenewalFailure::NotCreated {
            cause: Cause::Home(_),
            new_key: KeyFate::Discarded,
            ..
        }
    ));
    assert_eq!((home.made, home.discarded), (1, 1));
    assert!(others(&emu, old.id).is_empty());
}

#[tokio::test]
async fn an_unreadable_old_credential_stops_before_any_key_is_made() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::Nowhere);
    let mut req = request(&emu, &old);
    req.old_id = Uuid::from_u128(7);
    let (outcome, _) = run(&emu, &mut home, &req, false).await;
    let failure = outcome.unwrap_err();
    match &failure {
        RenewalFailure::NotCreated {
            cause: Cause::Lifecycle(e),
            new_key: KeyFate::NeverMade,
            name: None,
        } => assert_eq!(e.step(), Some(Step::ReadOld)),
        other => panic!("expected NotCreated at ReadOld, got {other:?}"),
    }
    // Read first (issue 19, item 4): no key to make and throw away for a credential that
    // cannot be renewed.
    assert_eq!(home.made, 0);
    assert!(others(&emu, old.id).is_empty());
}

#[tokio::test]
async fn a_refused_create_discards_the_key_and_names_the_credential() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::Nowhere);
    let mut req = request(&emu, &old);
    req.validity = Some(400);
    let (outcome, _) = run(&emu, &mut home, &req, false).await;
    match outcome.unwrap_err() {
        RenewalFailure::NotCreated {
            cause: Cause::Lifecycle(e),
            new_key: KeyFate::Discarded,
            name,
        } => {
            assert_eq!(e.step(), Some(Step::Create));
            assert_eq!(name.as_deref(), Some("web-01"));
        }
        other => panic!("expected NotCreated at Create, got {other:?}"),
    }
    assert!(others(&emu, old.id).is_empty());
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
}

/// Checks an abandoned renewal: the new credential revoked, its key discarded, the old pair
/// deployed and live; returns the cause.
fn assert_abandoned(
    emu: &RunningEmulator,
    old: &Credential,
    home: &TestHome,
    failure: RenewalFailure<String, String>,
) -> Cause<String> {
    assert_eq!(failure.deployed_pair(), DeployedPair::Old);
    assert_eq!(failure.new_live(), None);
    let RenewalFailure::Abandoned {
        new_id,
        cause,
        revoked,
        new_key,
    } = failure
    else {
        panic!("expected Abandoned, got {failure:?}");
    };
    revoked.unwrap();
    assert!(matches!(new_key, KeyFate::Discarded));
    assert_eq!(home.discarded, 1);
    assert!(gone(phase(emu, new_id)), "the new credential is revoked");
    assert_eq!(phase(emu, old.id), CredentialPhase::Ready);
    assert!(home.deployed_cert.is_none());
    cause
}

#[tokio::test]
async fn a_credential_not_ready_in_time_is_revoked_or_its_key_kept() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::Nowhere);
    let mut req = request(&emu, &old);
    // READY comes after 200 ms and the saga waits for nothing: the wait times out, and the
    // revocation (which waits as long) finds the credential still CREATING, which the API
    // refuses to delete. The key must then stay: the credential will become READY.
    req.settle = WaitPolicy::with_timeout(Duration::ZERO);
    let (outcome, _) = run(&emu, &mut home, &req, false).await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.deployed_pair(), DeployedPair::Old);
    let new_id = failure.new_live().unwrap();
    match &failure {
        RenewalFailure::Abandoned {
            cause: Cause::Lifecycle(wait),
            revoked: Err(revoke),
            new_key: KeyFate::Kept,
            ..
        } => {
            assert_eq!(wait.step(), Some(Step::WaitReady));
            assert_eq!(revoke.step(), Some(Step::RevokeNew));
        }
        other => panic!("expected a WaitReady failure keeping the key, got {other:?}"),
    }
    assert_eq!(home.discarded, 0);
    assert!(!gone(phase(&emu, new_id)));
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
}

#[tokio::test]
async fn a_certificate_that_does_not_hold_the_key_is_revoked() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::CheckCertificate);
    let (outcome, _) = run(&emu, &mut home, &request(&emu, &old), false).await;
    let cause = assert_abandoned(&emu, &old, &home, outcome.unwrap_err());
    assert!(matches!(cause, Cause::Home(_)));
}

#[tokio::test]
async fn a_key_unusable_for_the_proof_is_revoked() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::ProofKey);
    let (outcome, _) = run(&emu, &mut home, &request(&emu, &old), false).await;
    let cause = assert_abandoned(&emu, &old, &home, outcome.unwrap_err());
    assert!(matches!(cause, Cause::Home(_)));
}

#[tokio::test]
async fn a_failed_proof_is_revoked() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::Nowhere);
    let mut req = request(&emu, &old);
    // Without the emulator's CA, the handshake fails.
    req.ca_pem = None;
    let (outcome, _) = run(&emu, &mut home, &req, false).await;
    match assert_abandoned(&emu, &old, &home, outcome.unwrap_err()) {
        Cause::Lifecycle(e) => assert_eq!(e.step(), Some(Step::Prove)),
        other => panic!("expected Prove, got {other:?}"),
    }
}

#[tokio::test]
async fn a_deployment_undone_is_revoked() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::DeployUndone);
    let (outcome, _) = run(&emu, &mut home, &request(&emu, &old), false).await;
    let cause = assert_abandoned(&emu, &old, &home, outcome.unwrap_err());
    assert!(matches!(cause, Cause::Home(e) if e == "disk full"));
}

#[tokio::test]
async fn a_deployment_stuck_half_way_keeps_both_credentials_live() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::DeployStuck);
    let (outcome, _) = run(&emu, &mut home, &request(&emu, &old), false).await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.deployed_pair(), DeployedPair::Partly);
    let new_id = failure.new_live().unwrap();
    assert!(matches!(failure, RenewalFailure::HalfDeployed { .. }));
    assert_eq!(phase(&emu, new_id), CredentialPhase::Ready);
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
    assert_eq!(home.discarded, 0, "either key may be in use");
}

#[tokio::test]
async fn a_failed_hook_keeps_the_old_credential_live_beside_the_deployed_new_one() {
    let (emu, old) = setup().await;
    let mut home = TestHome::failing(FailAt::Nowhere);
    let (outcome, _) = run(&emu, &mut home, &request(&emu, &old), true).await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.deployed_pair(), DeployedPair::New);
    let new_id = failure.new_live().unwrap();
    assert!(matches!(
        &failure,
        RenewalFailure::HookFailed { deployed, .. } if deployed == "deployed"
    ));
    assert_eq!(phase(&emu, new_id), CredentialPhase::Ready);
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
    assert!(home.deployed_cert.is_some());
}

fn refuse_deletes(emu: &RunningEmulator) {
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::Status(503))
            .route(&format!(
                "DELETE:/v2/okms/resource/{}/credential/*",
                emu.okms_id()
            ))
            .unwrap(),
    ]);
}

#[tokio::test]
async fn an_old_credential_that_cannot_be_revoked_is_reported_with_the_new_pair_deployed() {
    let (emu, old) = setup().await;
    refuse_deletes(&emu);
    let mut home = TestHome::failing(FailAt::Nowhere);
    let (outcome, _) = run(&emu, &mut home, &request(&emu, &old), false).await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.deployed_pair(), DeployedPair::New);
    let new_id = failure.new_live().unwrap();
    match &failure {
        RenewalFailure::OldNotRevoked { cause, .. } => {
            assert_eq!(cause.step(), Some(Step::RevokeOld));
        }
        other => panic!("expected OldNotRevoked, got {other:?}"),
    }
    assert_eq!(phase(&emu, new_id), CredentialPhase::Ready);
    assert_eq!(phase(&emu, old.id), CredentialPhase::Ready);
}

#[tokio::test]
async fn a_new_credential_that_cannot_be_revoked_keeps_its_key() {
    let (emu, old) = setup().await;
    refuse_deletes(&emu);
    let mut home = TestHome::failing(FailAt::CheckCertificate);
    let (outcome, _) = run(&emu, &mut home, &request(&emu, &old), false).await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.deployed_pair(), DeployedPair::Old);
    let new_id = failure.new_live().unwrap();
    match &failure {
        RenewalFailure::Abandoned {
            revoked: Err(e),
            new_key: KeyFate::Kept,
            ..
        } => assert!(matches!(
            e,
            Error::Api {
                step: Step::RevokeNew,
                ..
            }
        )),
        other => panic!("expected an Abandoned keeping the key, got {other:?}"),
    }
    assert_eq!(home.discarded, 0);
    assert_eq!(phase(&emu, new_id), CredentialPhase::Ready);
}

#[tokio::test]
async fn a_key_that_cannot_be_discarded_is_reported() {
    let (emu, old) = setup().await;
    let mut home = TestHome {
        fail: FailAt::Discard,
        ..TestHome::failing(FailAt::Nowhere)
    };
    let mut req = request(&emu, &old);
    req.ca_pem = None;
    let (outcome, _) = run(&emu, &mut home, &req, false).await;
    match outcome.unwrap_err() {
        RenewalFailure::Abandoned {
            new_id,
            revoked: Ok(()),
            new_key: KeyFate::DiscardFailed(e),
            ..
        } => {
            assert_eq!(e, "Discard failed");
            assert!(gone(phase(&emu, new_id)));
        }
        other => panic!("expected a failed discard, got {other:?}"),
    }
}
