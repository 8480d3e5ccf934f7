//! What the renewal tests share: an emulator, a client of it, keys and an old credential.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use okms_api::{
    Auth, Client, Config, Credential, CredentialRequest, Endpoint, IdentityUrn, Plate,
    SecretString, Uuid, WaitPolicy,
};
use okms_csr::{CsrBuilder, ExposeSecret as _, KeyAlgorithm, KeyFormat, PrivateKey};
use okms_emulator::{CredentialPhase, EmulatorConfig, RunningEmulator};

pub fn emulator() -> RunningEmulator {
    RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(200),
        delete_delay: Duration::from_millis(200),
        ..EmulatorConfig::default()
    })
    .unwrap()
}

/// An emulator whose new credentials stay CREATING for `ready_delay`.
pub fn emulator_with_ready_delay(ready_delay: Duration) -> RunningEmulator {
    RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay,
        delete_delay: Duration::from_millis(200),
        ..EmulatorConfig::default()
    })
    .unwrap()
}

pub fn client(emu: &RunningEmulator) -> Client {
    let info = emu.info();
    Client::new(Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: SecretString::from(info.application_secret.clone()),
            consumer_key: SecretString::from(info.consumer_key.clone()),
        },
    ))
    .unwrap()
}

pub fn key_and_csr() -> (PrivateKey, String) {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = CsrBuilder::new("CN=renewed".parse().unwrap())
        .build(&key)
        .unwrap();
    (key, csr.to_pem())
}

pub fn key_pem(key: &PrivateKey) -> SecretString {
    SecretString::from(
        key.to_pem(KeyFormat::Pkcs8)
            .unwrap()
            .expose_secret()
            .to_owned(),
    )
}

pub fn holds(key: &PrivateKey) -> impl Fn(&Credential) -> Option<bool> + Send + Sync + use<> {
    let holds_key = okms_lifecycle::holds_key(key.public_key());
    move |c: &Credential| holds_key(c.certificate_pem.as_deref()?)
}

/// An old credential, READY, with a 30-day validity and a description.
pub async fn old_credential(emu: &RunningEmulator, client: &Client) -> Credential {
    let info = emu.info();
    let (_, csr) = key_and_csr();
    let root = IdentityUrn::root_account(Plate::Eu, &info.nic).unwrap();
    let req = CredentialRequest::from_csr("web-01", vec![root.into_string()], csr)
        .with_validity(30)
        .with_description("front end");
    let created = client.create_credential(info.okms_id, &req).await.unwrap();
    client
        .wait_until_ready(info.okms_id, created.credential.id, &settle())
        .await
        .unwrap()
}

pub fn settle() -> WaitPolicy {
    WaitPolicy::with_timeout(Duration::from_secs(20))
}

pub fn phase(emu: &RunningEmulator, id: Uuid) -> CredentialPhase {
    emu.credentials()
        .into_iter()
        .find(|c| c.id == id)
        .map(|c| c.phase)
        .unwrap()
}

pub fn gone(p: CredentialPhase) -> bool {
    matches!(p, CredentialPhase::Deleting | CredentialPhase::Deleted)
}
