#![doc = include_str!("../README.md")]

mod auth;
mod ca;
mod config;
mod credentials;
mod domains;
mod error;
mod error_answers;
mod faults;
pub mod iam;
mod keys;
mod kmip;
mod kms;
mod me;
mod oauth2;
mod pagination;
mod routes;
mod server;
pub mod signature;
mod state;
mod urn;
mod wire;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use serde::Serialize;
use time::OffsetDateTime;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use uuid::Uuid;

pub use ca::{CA_SUBJECT, Ca, OID_MS_UPN};
pub use config::{ApiCredentials, ClientAuth, EmulatorConfig};
/// The emulator's own identity-URN check (its reading of the API's rule), public so that a
/// differential fuzz target can hold it against okms-api's independent one.
pub use credentials::MAX_CSR_LEN;
pub use error::{Error, Result};
pub use faults::{FaultKind, FaultSpec, RoutePattern};
pub use iam::{IamSeed, SeedGroup, SeedServiceAccount, SeedUser};
pub use state::Phase as CredentialPhase;
pub use urn::{MAX_URN_LEN, check_urn as check_identity_urn};

use state::{Settings, Shared};

/// What a client needs to talk to a running emulator. Serialises to the CLI's start-up line.
#[derive(Clone, Serialize)]
pub struct EmulatorInfo {
    /// API endpoint, ending in `/1.0` (usable as `OVH_ENDPOINT`).
    pub api_url: String,
    /// The OKMS domain's REST endpoint (HTTPS, client certificates).
    pub kms_url: String,
    /// The domain's KMIP endpoint, `host:port` (TTLV over mutual TLS, as `kmipEndpoint`).
    pub kmip_endpoint: String,
    /// PEM file of the emulator CA (trust it for `kms_url`; it also issues access certificates).
    pub ca_file: PathBuf,
    /// The OKMS domain id.
    pub okms_id: Uuid,
    /// The account's NIC handle.
    pub nic: String,
    /// Application key.
    pub application_key: String,
    /// Application secret.
    pub application_secret: String,
    /// Consumer key.
    pub consumer_key: String,
    /// OAuth2 client id.
    pub client_id: String,
    /// OAuth2 client secret.
    pub client_secret: String,
    /// The OAuth2 token URL (OVHcloud's is on another host; here it is on the API port).
    pub oauth2_token_url: String,
    /// The CA certificate itself, PEM.
    #[serde(skip)]
    pub ca_pem: String,
    /// Address the API side listens on.
    #[serde(skip)]
    pub api_addr: SocketAddr,
    /// Address the KMS side listens on.
    #[serde(skip)]
    pub kms_addr: SocketAddr,
}

impl std::fmt::Debug for EmulatorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorInfo")
            .field("api_url", &self.api_url)
            .field("kms_url", &self.kms_url)
            .field("kmip_endpoint", &self.kmip_endpoint)
            .field("ca_file", &self.ca_file)
            .field("okms_id", &self.okms_id)
            .field("nic", &self.nic)
            .field("application_key", &self.application_key)
            .field("application_secret", &"<redacted>")
            .field("consumer_key", &"<redacted>")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Drop for EmulatorInfo {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.application_secret.zeroize();
        self.consumer_key.zeroize();
        self.client_secret.zeroize();
    }
}

/// One credential as the emulator knows it, including deleted ones and ones whose creation
/// answer was lost to a `drop-after` fault.
#[derive(Clone, Debug)]
pub struct CredentialSnapshot {
    /// Credential id (= certificate serial).
    pub id: Uuid,
    /// Its domain.
    pub okms_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Identity URNs.
    pub identity_urns: Vec<String>,
    /// Where it is in its life right now.
    pub phase: CredentialPhase,
    /// Whether it was created from a CSR.
    pub from_csr: bool,
    /// `"ECDSA"` or `"RSA"`.
    pub certificate_type: &'static str,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry time.
    pub expired_at: OffsetDateTime,
    /// The issued certificate (available here even while CREATING).
    pub certificate_pem: String,
    /// The request that created it was answered by a dropped connection.
    pub answer_lost: bool,
}

/// Entry point.
#[derive(Debug, Clone, Copy)]
pub struct Emulator;

enum Stopper {
    Tasks {
        shutdown: watch::Sender<bool>,
        tasks: Vec<JoinHandle<()>>,
        temp_dir: Option<PathBuf>,
    },
    Thread {
        shutdown: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
    Stopped,
}

/// A started emulator. Dropping it stops it (and removes its temporary directory).
pub struct RunningEmulator {
    info: EmulatorInfo,
    shared: Arc<Shared>,
    auth: Arc<auth::AuthPolicy>,
    stopper: Stopper,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

fn random_string(len: usize, alphabet: &[u8]) -> Result<String> {
    let mut raw = vec![0u8; len];
    getrandom::fill(&mut raw).map_err(Error::Random)?;
    // With 62 symbols the modulo is slightly biased; irrelevant for test credentials.
    Ok(raw
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect())
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

fn random_credentials() -> Result<ApiCredentials> {
    Ok(ApiCredentials {
        application_key: random_string(16, ALNUM)?,
        application_secret: random_string(32, ALNUM)?,
        consumer_key: random_string(32, ALNUM)?,
        client_id: random_string(16, HEX)?,
        client_secret: random_string(32, ALNUM)?,
    })
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn private_dir(path: &Path) -> Result<()> {
    std::fs::create_dir(path).map_err(io_err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(io_err(path))?;
    }
    Ok(())
}

async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(Error::NonLoopback { addr });
    }
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

/// The emulator's own clock route on the API listener (not an OVHcloud route): `GET` answers
/// `{"now","nowEpochSeconds","offsetSeconds"}`. Kept out of `routes.rs`'s literals, which
/// `schema_conformance.rs` reads as the OVHcloud routes it must check against the schema.
pub const CLOCK_ROUTE: &str = "/_emulator/clock";
/// `POST {"seconds": N}` here moves the emulator's clock forward by N seconds (as
/// [`RunningEmulator::advance_clock`]) and answers like [`CLOCK_ROUTE`]; a negative, fractional
/// or too large N gets 400 naming `seconds`.
pub const CLOCK_ADVANCE_ROUTE: &str = "/_emulator/clock/advance";

/// Longest delay, lifetime or skew accepted: far beyond any test, short enough that date
/// arithmetic cannot overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 366 * 86_400);

fn validate(config: &EmulatorConfig) -> Result<()> {
    if config.default_page_size == 0 || config.max_page_size == 0 {
        return Err(Error::Config("page sizes must be at least 1".to_owned()));
    }
    for (name, d) in [
        ("ready delay", config.ready_delay),
        ("KMS propagation delay", config.kms_propagation),
        ("delete delay", config.delete_delay),
        ("token lifetime", config.token_ttl),
        ("maximum clock skew", config.max_clock_skew),
    ] {
        if d > MAX_DURATION {
            return Err(Error::Config(format!(
                "the {name} of {} s is too long (at most {} s)",
                d.as_secs(),
                MAX_DURATION.as_secs()
            )));
        }
    }
    if config.clock_skew_secs.unsigned_abs() > MAX_DURATION.as_secs() {
        return Err(Error::Config(format!(
            "the clock skew of {} s is too large (at most ±{} s)",
            config.clock_skew_secs,
            MAX_DURATION.as_secs()
        )));
    }
    Ok(())
}

impl Emulator {
    /// Starts both sides on the current tokio runtime and returns once they accept
    /// connections.
    pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator> {
        for addr in [config.listen, config.kms_listen, config.kmip_listen] {
            if !addr.ip().is_loopback() {
                return Err(Error::NonLoopback { addr });
            }
        }
        validate(&config)?;
        config.iam.validate()?;
        let auth = Arc::new(auth::AuthPolicy::new(&config)?);
        let api_listener = bind(config.listen).await?;
        let kms_listener = bind(config.kms_listen).await?;
        let kmip_listener = bind(config.kmip_listen).await?;
        let kmip_endpoint = kmip_listener
            .local_addr()
            .map_err(|source| Error::Bind {
                addr: config.kmip_listen,
                source,
            })?
            .to_string();
        let api_addr = api_listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let kms_addr = kms_listener.local_addr().map_err(|source| Error::Bind {
            addr: config.kms_listen,
            source,
        })?;

        let ca = tokio::task::spawn_blocking(ca::Ca::generate)
            .await
            .map_err(|e| Error::Runtime(std::io::Error::other(e)))??;
        let tls = kms::tls_config(&ca, config.kms_client_auth)?;

        let (dir, temp_dir) = match &config.state_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(io_err(d))?;
                (d.clone(), None)
            }
            None => {
                let d = std::env::temp_dir().join(format!(
                    "okms-emulator-{}-{}",
                    std::process::id(),
                    random_string(8, HEX)?
                ));
                private_dir(&d)?;
                (d.clone(), Some(d))
            }
        };
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.cert_pem()).map_err(io_err(&ca_file))?;

        let okms_id = config.okms_id.unwrap_or_else(Uuid::new_v4);
        let mut domains = vec![okms_id];
        domains.extend((0..config.extra_domains).map(|_| Uuid::new_v4()));
        let credentials = match config.credentials.clone() {
            Some(c) => c,
            None => random_credentials()?,
        };
        let api_base = format!("http://{api_addr}");
        let kms_url = format!("https://{kms_addr}");
        let info = EmulatorInfo {
            api_url: format!("{api_base}/1.0"),
            kms_url: kms_url.clone(),
            kmip_endpoint: kmip_endpoint.clone(),
            ca_file,
            okms_id,
            nic: config.nic.clone(),
            application_key: credentials.application_key.clone(),
            application_secret: credentials.application_secret.clone(),
            consumer_key: credentials.consumer_key.clone(),
            client_id: credentials.client_id.clone(),
            client_secret: credentials.client_secret.clone(),
            oauth2_token_url: format!("{api_base}/auth/oauth2/token"),
            ca_pem: ca.cert_pem().to_owned(),
            api_addr,
            kms_addr,
        };
        let settings = Settings {
            ready_delay: config.ready_delay,
            kms_propagation: config.kms_propagation,
            delete_delay: config.delete_delay,
            token_ttl: config.token_ttl,
            max_clock_skew: config.max_clock_skew,
            default_page_size: config.default_page_size,
            max_page_size: config.max_page_size,
            nic: config.nic.clone(),
            region: config.region.clone(),
            domains,
            pci_dss_domains: config.pci_dss_domains.clone(),
            credentials,
            kms_url,
            kmip_endpoint,
            iam: config.iam.clone(),
        };
        let shared = Shared::new(
            settings,
            ca,
            config.seed,
            config.faults.clone(),
            config.clock_skew_secs,
        );
        let (shutdown, rx) = watch::channel(false);
        let kmip = kmip::serve(kmip_listener, shared.clone(), rx.clone())?;
        let tasks = vec![
            tokio::spawn(kmip),
            tokio::spawn(server::serve_api(
                api_listener,
                shared.clone(),
                routes::api(shared.clone(), auth.clone()),
                rx.clone(),
            )),
            tokio::spawn(server::serve_kms(
                kms_listener,
                tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
                shared.clone(),
                routes::kms(shared.clone()),
                rx,
            )),
        ];
        Ok(RunningEmulator {
            info,
            shared,
            auth,
            stopper: Stopper::Tasks {
                shutdown,
                tasks,
                temp_dir,
            },
        })
    }
}

/// The tokio runtime the emulator serves on when it owns one (its binary and
/// [`RunningEmulator::spawn_in_thread`]): two workers answer a test's requests, and leave the
/// other cores to the test itself.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

impl RunningEmulator {
    /// Starts the emulator on its own tokio runtime in a background thread, for synchronous
    /// tests and tools. Returns once it accepts connections; dropping the value stops it.
    pub fn spawn_in_thread(config: EmulatorConfig) -> Result<RunningEmulator> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("okms-emulator".to_owned())
            .spawn(move || {
                let rt = match runtime() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(Error::Runtime(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match Emulator::start(config).await {
                        Ok(emu) => {
                            let handle = (emu.info.clone(), emu.shared.clone(), emu.auth.clone());
                            if ready_tx.send(Ok(handle)).is_err() {
                                return;
                            }
                            // Either an explicit stop or the owner going away ends the wait.
                            let _ = stop_rx.await;
                            emu.shutdown().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(Error::Runtime)?;
        match ready_rx.recv() {
            Ok(Ok((info, shared, auth))) => Ok(RunningEmulator {
                info,
                shared,
                auth,
                stopper: Stopper::Thread {
                    shutdown: Some(stop_tx),
                    thread: Some(thread),
                },
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(Error::ThreadStopped(
                    "the runtime thread exited without a result".to_owned(),
                ))
            }
        }
    }

    /// Connection details (URLs, CA file, credentials).
    pub fn info(&self) -> &EmulatorInfo {
        &self.info
    }

    /// API endpoint, ending in `/1.0`.
    pub fn api_url(&self) -> &str {
        &self.info.api_url
    }

    /// The KMS endpoint.
    pub fn kms_url(&self) -> &str {
        &self.info.kms_url
    }

    /// The main OKMS domain id.
    pub fn okms_id(&self) -> Uuid {
        self.info.okms_id
    }

    /// All domains (main first).
    pub fn domains(&self) -> Vec<Uuid> {
        self.shared.settings.domains.clone()
    }

    /// Every credential ever created, in creation order, with its current phase.
    pub fn credentials(&self) -> Vec<CredentialSnapshot> {
        let now = self.shared.now();
        self.shared
            .lock()
            .credentials
            .iter()
            .map(|c| CredentialSnapshot {
                id: c.id,
                okms_id: c.okms_id,
                name: c.name.clone(),
                description: c.description.clone(),
                identity_urns: c.identity_urns.clone(),
                phase: c.phase(now, &self.shared.settings),
                from_csr: c.from_csr,
                certificate_type: match c.certificate_type {
                    wire::CertificateType::Ecdsa => "ECDSA",
                    wire::CertificateType::Rsa => "RSA",
                },
                created_at: c.created_at,
                expired_at: c.expired_at,
                certificate_pem: c.certificate_pem.clone(),
                answer_lost: c.answer_lost,
            })
            .collect()
    }

    /// Each injected fault with how many times it has fired since the faults were last set
    /// (in the order given; a latency fault counts the requests it delayed).
    pub fn fault_counts(&self) -> Vec<(FaultSpec, u64)> {
        self.shared.fault_counts()
    }

    /// Replaces the injected faults (the seeded generator keeps going).
    pub fn set_faults(&self, faults: Vec<FaultSpec>) {
        self.shared.replace_faults(faults);
    }

    /// Sets the server clock's offset from real time, in seconds (what `/auth/time` reports
    /// and what `X-Ovh-Timestamp` is checked against).
    /// Values beyond ±[`MAX_DURATION`] are clamped.
    pub fn set_clock_skew(&self, secs: i64) {
        let max = i64::try_from(MAX_DURATION.as_secs()).unwrap_or(i64::MAX);
        self.shared.lock().clock_skew_secs = secs.clamp(-max, max);
    }

    /// Replaces the IAM actions refused to every API caller (see
    /// [`EmulatorConfig::deny_actions`]); an empty list refuses nothing.
    ///
    /// # Errors
    /// [`Error::Config`] naming a malformed pattern; the previous list then stays.
    pub fn set_denied_actions(&self, patterns: Vec<String>) -> Result<()> {
        self.auth.set_denied_actions(patterns)
    }

    /// Changes the identity URN every API caller acts as (None: the account's root identity,
    /// allowed everything). A URN that is not an identity URN is still stored as given, so
    /// that tests can see how a stranger is refused; it matches no seeded identity.
    pub fn set_api_caller_identity(&self, urn: Option<String>) {
        self.shared.lock().api_caller = urn;
    }

    /// Changes the identity URN OAuth2 callers act as (see [`IamSeed::oauth2_caller`]); None:
    /// the same as every other caller.
    pub fn set_oauth2_caller_identity(&self, urn: Option<String>) {
        self.shared.lock().oauth2_caller = urn;
    }

    /// The stored IAM policies, as `GET /v2/iam/policy/{policyId}` answers them
    /// (`iam.policy.Response`), in creation order.
    pub fn policies(&self) -> Vec<serde_json::Value> {
        let owner = &self.shared.settings.nic;
        self.shared
            .lock()
            .policies
            .iter()
            .map(|p| p.to_json(owner))
            .collect()
    }

    /// Moves the emulator's clock forward, for tests of expiry without waiting: credential
    /// lifecycles, token expiry and certificate expiry checks all follow. The TLS layer still
    /// checks certificate dates against real time, so a credential created after a jump has a
    /// not-yet-valid certificate: jump after creating. The total offset is capped at
    /// [`MAX_DURATION`].
    pub fn advance_clock(&self, by: Duration) {
        let mut st = self.shared.lock();
        st.time_offset = st.time_offset.saturating_add(by).min(MAX_DURATION);
    }

    /// Stops both sides and waits for them (async version of drop).
    pub async fn shutdown(mut self) {
        if let Stopper::Tasks {
            shutdown,
            tasks,
            temp_dir,
        } = std::mem::replace(&mut self.stopper, Stopper::Stopped)
        {
            let _ = shutdown.send(true);
            for t in tasks {
                let _ = t.await;
            }
            if let Some(d) = temp_dir {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.stopper, Stopper::Stopped) {
            Stopper::Tasks {
                shutdown,
                tasks,
                temp_dir,
            } => {
                let _ = shutdown.send(true);
                for t in tasks {
                    t.abort();
                }
                if let Some(d) = temp_dir {
                    let _ = std::fs::remove_dir_all(d);
                }
            }
            Stopper::Thread {
                mut shutdown,
                mut thread,
            } => {
                if let Some(tx) = shutdown.take() {
                    let _ = tx.send(());
                }
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
            Stopper::Stopped => {}
        }
    }
}
