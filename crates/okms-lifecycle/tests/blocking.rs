//! A renewal with no async runtime on the calling thread: okms-api's blocking client and
//! connector, every future driven by `block_on`. The proof used to go through reqwest whatever
//! the caller gave, and panicked here with "there is no reactor running".

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use okms_api::blocking::{BlockingClock, UreqConnector, UreqTransport, block_on};
use okms_api::kms::PropagationWait;
use okms_api::{
    Auth, Client, Config, Credential, CredentialRequest, Endpoint, IdentityUrn, Plate,
    ReconcileOptions, SecretString, WaitPolicy,
};
use okms_csr::{CsrBuilder, ExposeSecret as _, KeyAlgorithm, KeyFormat, PrivateKey};
use okms_emulator::{EmulatorConfig, RunningEmulator};
use okms_lifecycle::{Plan, holds_key};

fn key_and_csr() -> (PrivateKey, String) {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = CsrBuilder::new("CN=blocking".parse().unwrap())
        .build(&key)
        .unwrap();
    (key, csr.to_pem())
}

#[test]
fn a_renewal_runs_on_a_thread_with_no_runtime() {
    // The emulator serves from a thread of its own; this thread has no runtime.
    let emu = RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(200),
        delete_delay: Duration::from_millis(200),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let info = emu.info().clone();
    let config = Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: SecretString::from(info.application_secret.clone()),
            consumer_key: SecretString::from(info.consumer_key.clone()),
        },
    );
    let client = Client::with_transport(config, UreqTransport::new().unwrap(), BlockingClock);
    let settle = WaitPolicy::with_timeout(Duration::from_secs(20));

    let root = IdentityUrn::root_account(Plate::Eu, &info.nic).unwrap();
    let (_, csr) = key_and_csr();
    let request = CredentialRequest::from_csr("blocking", vec![root.into_string()], csr);
    let old = block_on(client.create_credential(info.okms_id, &request)).unwrap();
    let old = block_on(client.wait_until_ready(info.okms_id, old.credential.id, &settle)).unwrap();

    let (key, csr) = key_and_csr();
    let plan = block_on(Plan::for_credential(&client, info.okms_id, old.id, csr)).unwrap();
    let holds_new_key = holds_key(key.public_key());
    let is_ours = |c: &Credential| holds_new_key(c.certificate_pem.as_deref()?);
    let created =
        block_on(plan.create(&client, &is_ours, &ReconcileOptions::default(), &|_| {})).unwrap();
    let ready = block_on(created.wait_ready(&client, &settle)).unwrap();
    let key_pem = key.to_pem(KeyFormat::Pkcs8).unwrap();
    let proved = block_on(ready.prove_within(
        &UreqConnector::new(),
        &info.kms_url,
        SecretString::from(key_pem.expose_secret().to_owned()).into(),
        Some(info.ca_pem.clone()),
        client.clock(),
        PropagationWait::default(),
        |_| {},
    ))
    .unwrap();
    let renewed = block_on(proved.finish(&client, false)).unwrap();
    assert_eq!(renewed.old_id, old.id);
    assert!(renewed.old_revoked);
    // The saga's endpoint lookup goes through the same blocking client.
    assert_eq!(
        block_on(okms_lifecycle::rest_endpoint(&client, info.okms_id)).unwrap(),
        info.kms_url
    );
}
