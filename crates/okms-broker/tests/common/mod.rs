//! What the engine tests share: an emulator, a counting API client, hosts with credentials,
//! a policy, and readings of the emulator's credential list.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use okms_api::{
    Auth, BoxFuture, Client, Config, CredentialRequest, Endpoint, IdentityUrn, Plate,
    ReconcileOptions, ReqwestTransport, SecretString, TokioClock, Transport, TransportError, Uuid,
    WaitPolicy,
};
use okms_broker::engine::{Engine, EngineOptions};
use okms_broker::policy::{DomainPolicy, NamePattern, Policy};
use okms_broker::service::PeerCertificate;
use okms_csr::{Certificate, CsrBuilder, KeyAlgorithm, PrivateKey};
use okms_emulator::{CredentialPhase, CredentialSnapshot, EmulatorConfig, RunningEmulator};

/// Counts the HTTP requests the client sends (retries included) and the most it had in
/// flight at once.
#[derive(Clone)]
pub struct Counting {
    inner: ReqwestTransport,
    pub sent: Arc<AtomicU64>,
    in_flight: Arc<AtomicU64>,
    pub peak: Arc<AtomicU64>,
}

impl Transport for Counting {
    fn send(
        &self,
        request: okms_api::http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<okms_api::http::Response<Vec<u8>>, TransportError>> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            let answer = self.inner.send(request).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            answer
        })
    }
}

pub type TestEngine = Engine<Counting, TokioClock>;

pub fn emulator() -> RunningEmulator {
    emulator_with_ready_delay(Duration::from_millis(200))
}

pub fn emulator_with_ready_delay(ready_delay: Duration) -> RunningEmulator {
    RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay,
        delete_delay: Duration::from_millis(200),
        ..EmulatorConfig::default()
    })
    .unwrap()
}

pub fn config(emu: &RunningEmulator) -> Config {
    let info = emu.info();
    Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: SecretString::from(info.application_secret.clone()),
            consumer_key: SecretString::from(info.consumer_key.clone()),
        },
    )
}

/// A client whose requests are counted in the returned counter.
pub fn counting_client(emu: &RunningEmulator) -> (Client<Counting, TokioClock>, Arc<AtomicU64>) {
    let transport = Counting {
        inner: ReqwestTransport::new().unwrap(),
        sent: Arc::new(AtomicU64::new(0)),
        in_flight: Arc::new(AtomicU64::new(0)),
        peak: Arc::new(AtomicU64::new(0)),
    };
    let sent = transport.sent.clone();
    (
        Client::with_transport(config(emu), transport, TokioClock),
        sent,
    )
}

/// The policy for the emulator's domain: `web-*`, 30 days, every algorithm, grace `grace`,
/// no rate limit.
pub fn policy(okms_id: Uuid, grace: Duration) -> DomainPolicy {
    DomainPolicy {
        okms_id,
        credentials: vec![NamePattern::new_unchecked("web-*")],
        validity_days: Some(30),
        key_algorithms: KeyAlgorithm::ALL.to_vec(),
        renew_before_days: None,
        grace,
        min_renew_interval: Duration::ZERO,
    }
}

pub fn options() -> EngineOptions {
    EngineOptions {
        api_concurrency: 8,
        settle: WaitPolicy::with_timeout(Duration::from_secs(20)),
        reconcile: ReconcileOptions {
            settle: WaitPolicy::with_timeout(Duration::from_secs(20)),
            recheck_delay: Duration::from_millis(300),
        },
    }
}

pub async fn engine_with(
    emu: &RunningEmulator,
    domain: DomainPolicy,
) -> (TestEngine, Arc<AtomicU64>) {
    let (engine, transport) = engine_with_options(emu, domain, options()).await;
    (engine, transport.sent)
}

/// An engine and (a clone of) its client's transport, to read its counters.
pub async fn engine_with_options(
    emu: &RunningEmulator,
    domain: DomainPolicy,
    options: EngineOptions,
) -> (TestEngine, Counting) {
    let (client, _) = counting_client(emu);
    let transport = client.transport().clone();
    let policy = Arc::new(Policy {
        domains: vec![domain],
    });
    (
        Engine::start(client, policy, options).await.unwrap(),
        transport,
    )
}

pub async fn engine(emu: &RunningEmulator) -> (TestEngine, Arc<AtomicU64>) {
    engine_with(emu, policy(emu.okms_id(), Duration::from_secs(3600))).await
}

pub fn new_key(alg: KeyAlgorithm) -> (PrivateKey, String) {
    let key = PrivateKey::generate(alg).unwrap();
    let csr = CsrBuilder::new("CN=renewed".parse().unwrap())
        .build(&key)
        .unwrap();
    (key, csr.to_pem())
}

pub fn csr() -> (PrivateKey, String) {
    new_key(KeyAlgorithm::EcdsaP256)
}

/// A host: its key and its READY credential, as the admin made it (name, identities,
/// description, 60 days).
pub struct Host {
    pub key: PrivateKey,
    pub id: Uuid,
    pub certificate_pem: String,
}

impl Host {
    pub fn peer(&self) -> PeerCertificate {
        peer_of(&self.certificate_pem)
    }
}

pub fn peer_of(pem: &str) -> PeerCertificate {
    PeerCertificate(Certificate::from_pem(pem).unwrap().to_der().to_vec())
}

pub async fn host(emu: &RunningEmulator, name: &str) -> Host {
    let info = emu.info();
    let (client, _) = counting_client(emu);
    let (key, csr) = csr();
    let root = IdentityUrn::root_account(Plate::Eu, &info.nic).unwrap();
    let req = CredentialRequest::from_csr(name, vec![root.into_string()], csr)
        .with_validity(60)
        .with_description("front end");
    let created = client.create_credential(info.okms_id, &req).await.unwrap();
    let ready = client
        .wait_until_ready(
            info.okms_id,
            created.credential.id,
            &WaitPolicy::with_timeout(Duration::from_secs(20)),
        )
        .await
        .unwrap();
    Host {
        key,
        id: ready.id,
        certificate_pem: ready.certificate_pem.unwrap(),
    }
}

pub fn snapshot(emu: &RunningEmulator, id: Uuid) -> CredentialSnapshot {
    emu.credentials().into_iter().find(|c| c.id == id).unwrap()
}

pub fn phase(emu: &RunningEmulator, id: Uuid) -> CredentialPhase {
    snapshot(emu, id).phase
}

pub fn gone(p: CredentialPhase) -> bool {
    matches!(p, CredentialPhase::Deleting | CredentialPhase::Deleted)
}

/// Credentials of `name` neither going nor gone.
pub fn live_named(emu: &RunningEmulator, name: &str) -> Vec<Uuid> {
    emu.credentials()
        .into_iter()
        .filter(|c| c.name == name && !gone(c.phase))
        .map(|c| c.id)
        .collect()
}

/// The emulator's credentials as (id, phase), to compare before and after a refused request.
pub fn state(emu: &RunningEmulator) -> Vec<(Uuid, CredentialPhase)> {
    emu.credentials()
        .into_iter()
        .map(|c| (c.id, c.phase))
        .collect()
}
