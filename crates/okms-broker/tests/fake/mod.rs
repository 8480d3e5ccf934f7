//! Certificates for the server tests (made by the emulator's CA type, no rcgen), a fake
//! [`Service`] that records what the server hands it, and a started server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use der::pem::LineEnding;
use okms_api::Uuid;
use okms_api::broker::{
    AbandonAnswer, AbandonRequest, BrokerRefusal, ConfirmAnswer, ConfirmRequest, RenewAnswer,
    RenewRequest, StatusAnswer,
};
use okms_broker::Error;
use okms_broker::audit::AuditLog;
use okms_broker::policy::Policy;
use okms_broker::server::{ServeOptions, Server, ServerHandle, ServerIdentity};
use okms_broker::service::{
    AuditFacts, Handled, PeerCertificate, ReconcileReport, RenewKind, Service,
};
use okms_csr::{KeyAlgorithm, KeyFormat, PrivateKey};
use okms_emulator::Ca;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

pub const OKMS_ID: &str = "0b5bc7d9-2f0e-4b1e-9c4e-1d6f3a2b9c8d";

pub fn install_provider() {
    // Deprecated since rustls 0.23.48 only for lacking post-quantum key exchange; the
    // workspace uses ring everywhere.
    let _ = okms_api::tls::ring_provider().install_default();
}

fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, LineEnding::LF, der).unwrap()
}

/// A client certificate (PEM) and its key (PEM) issued by `ca`.
pub fn client_identity(ca: &Ca) -> (String, String) {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let now = OffsetDateTime::now_utc();
    let (cert, _) = ca
        .issue_access_certificate(
            Uuid::new_v4(),
            OKMS_ID.parse().unwrap(),
            key.public_key().spki_der(),
            now - time::Duration::hours(1),
            now + time::Duration::days(30),
        )
        .unwrap();
    let key_pem = key.to_pem(KeyFormat::Pkcs8).unwrap();
    (
        cert,
        okms_csr::ExposeSecret::expose_secret(&key_pem).to_string(),
    )
}

/// The broker's certificate and key files, issued by `ca` for localhost and 127.0.0.1.
pub fn server_files(ca: &Ca, dir: &Path) -> (PathBuf, PathBuf) {
    let (cert_der, key_der) = ca.issue_server_certificate().unwrap();
    let cert = dir.join("server.pem");
    let key = dir.join("server.key");
    std::fs::write(&cert, pem("CERTIFICATE", &cert_der)).unwrap();
    std::fs::write(&key, pem("PRIVATE KEY", &key_der)).unwrap();
    (cert, key)
}

pub fn policy_yaml() -> String {
    format!("version: 1\ndomains:\n  - okms_id: {OKMS_ID}\n    credentials: [\"web-*\"]\n")
}

/// What the fake answers and what it saw.
#[derive(Default)]
pub struct Fake {
    /// The client CAs it reports (PEM).
    pub cas: Mutex<Vec<String>>,
    /// Replaces `cas` on reload.
    pub cas_after_reload: Mutex<Option<Vec<String>>>,
    /// The peers and CSRs renew got.
    pub renews: Mutex<Vec<(PeerCertificate, String)>>,
    /// When set, renew waits for a permit (to hold requests in flight).
    pub gate: Option<Arc<Semaphore>>,
    /// When set, renew answers this refusal.
    pub refusal: Mutex<Option<BrokerRefusal>>,
    /// Renew calls that reached the service (before the gate).
    pub entered: AtomicU32,
    pub reloads: AtomicU32,
    pub reconciles: AtomicU32,
}

fn facts(peer: &PeerCertificate) -> AuditFacts {
    AuditFacts {
        okms_id: Some(OKMS_ID.parse().unwrap()),
        client_fingerprint: Some(format!("{:064x}", peer.0.len())),
        api_query_ids: vec!["EU.fake.1".to_string()],
        api_calls: 3,
        ..AuditFacts::default()
    }
}

impl Service for Fake {
    async fn renew(
        &self,
        peer: PeerCertificate,
        request: RenewRequest,
    ) -> Handled<(RenewAnswer, RenewKind)> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            let _permit = gate.acquire().await.unwrap();
        }
        let audit = facts(&peer);
        self.renews.lock().unwrap().push((peer, request.csr));
        if let Some(refusal) = self.refusal.lock().unwrap().clone() {
            return Handled {
                result: Err(refusal),
                audit,
            };
        }
        let now = OffsetDateTime::now_utc();
        Handled {
            result: Ok((
                RenewAnswer {
                    credential_id: Uuid::new_v4(),
                    certificate_pem:
                        "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".to_string(),
                    ca_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
                        .to_string(),
                    not_after: now + time::Duration::days(90),
                    previous_credential_id: Uuid::new_v4(),
                    okms_id: OKMS_ID.parse().unwrap(),
                    rest_endpoint: None,
                    confirm_by: now + time::Duration::days(1),
                },
                RenewKind::Created,
            )),
            audit,
        }
    }

    async fn confirm(&self, peer: PeerCertificate, _: ConfirmRequest) -> Handled<ConfirmAnswer> {
        Handled {
            result: Ok(ConfirmAnswer {
                credential_id: Uuid::new_v4(),
                revoked: vec![Uuid::new_v4()],
            }),
            audit: facts(&peer),
        }
    }

    async fn abandon(&self, peer: PeerCertificate, _: AbandonRequest) -> Handled<AbandonAnswer> {
        Handled {
            result: Ok(AbandonAnswer { revoked: vec![] }),
            audit: facts(&peer),
        }
    }

    async fn status(&self, peer: PeerCertificate) -> Handled<StatusAnswer> {
        let now = OffsetDateTime::now_utc();
        Handled {
            result: Ok(StatusAnswer {
                credential_id: Uuid::new_v4(),
                okms_id: OKMS_ID.parse().unwrap(),
                name: "web-1".to_string(),
                not_after: now,
                renew_after: now,
                due: true,
                pending_successor: None,
            }),
            audit: facts(&peer),
        }
    }

    fn write_metrics(&self, out: &mut String) {
        out.push_str("fake_service_metric 1\n");
    }

    fn client_cas(&self) -> Vec<String> {
        self.cas.lock().unwrap().clone()
    }

    async fn reload(&self, _policy: Arc<Policy>) -> Result<(), Error> {
        self.reloads.fetch_add(1, Ordering::SeqCst);
        if let Some(cas) = self.cas_after_reload.lock().unwrap().take() {
            *self.cas.lock().unwrap() = cas;
        }
        Ok(())
    }

    async fn reconcile(&self) -> Result<ReconcileReport, Error> {
        self.reconciles.fetch_add(1, Ordering::SeqCst);
        Ok(ReconcileReport::default())
    }
}

/// A running broker over a fake service, and what a test needs to call it.
pub struct Running {
    pub url: String,
    pub addr: std::net::SocketAddr,
    pub handle: ServerHandle,
    pub fake: Arc<Fake>,
    pub server_ca: Ca,
    pub client_ca: Ca,
    pub dir: tempfile::TempDir,
    pub audit_file: PathBuf,
    pub policy_file: PathBuf,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts a broker on 127.0.0.1 with `fake` (its CAs set to a fresh client CA) and options
/// changed by `tune`.
pub async fn start(mut fake: Fake, tune: impl FnOnce(&mut ServeOptions)) -> Running {
    install_provider();
    let dir = tempfile::tempdir().unwrap();
    let server_ca = Ca::generate().unwrap();
    let client_ca = Ca::generate().unwrap();
    fake.cas = Mutex::new(vec![client_ca.cert_pem().to_string()]);
    let fake = Arc::new(fake);
    let (cert, key) = server_files(&server_ca, dir.path());
    let policy_file = dir.path().join("policy.yaml");
    std::fs::write(&policy_file, policy_yaml()).unwrap();
    let policy = Arc::new(Policy::load(&policy_file).unwrap());
    let audit_file = dir.path().join("audit.log");
    let mut options = ServeOptions::new(
        "127.0.0.1:0",
        ServerIdentity::load(&cert, &key).unwrap(),
        policy,
    );
    options.audit = AuditLog::append_to(&audit_file).unwrap();
    options.policy_file = Some(policy_file.clone());
    tune(&mut options);
    let server = Server::bind(fake.clone(), options).await.unwrap();
    let addr = server.local_addr();
    let handle = server.handle();
    let task = tokio::spawn(server.run());
    Running {
        url: format!("https://localhost:{}", addr.port()),
        addr,
        handle,
        fake,
        server_ca,
        client_ca,
        dir,
        audit_file,
        policy_file,
        task,
    }
}

impl Running {
    /// A client trusting the broker, presenting `identity` (certificate and key PEM) if any.
    pub fn client(&self, identity: Option<&(String, String)>) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.server_ca.cert_pem().as_bytes()).unwrap();
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(0)
            .tls_certs_only([ca]);
        if let Some((cert, key)) = identity {
            builder = builder
                .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }

    /// A client presenting a fresh certificate of the client CA.
    pub fn authenticated(&self) -> reqwest::Client {
        self.client(Some(&client_identity(&self.client_ca)))
    }

    pub fn at(&self, route: &str) -> String {
        format!("{}{route}", self.url)
    }

    /// Every audit line so far, parsed.
    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit_file)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}
