//! The HTTPS side: accepting connections (TLS handshake within a bound, client certificates
//! checked against the policy domains' CAs), serving each over HTTP/1.1 with
//! [`routes`](self::routes) within the request limits, reloading the policy on SIGHUP,
//! reconciling periodically, and shutting down gracefully on SIGTERM or SIGINT.

mod metrics;
mod routes;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use self::routes::{Conn, Shared};
pub use self::tls::ServerIdentity;
use crate::audit::AuditLog;
use crate::error::Error;
use crate::policy::Policy;
use crate::service::{PeerCertificate, Service};

/// Requests handled at once by default; beyond, 503 with `Retry-After`.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 512;
/// Open connections at most by default (each costs TLS buffers): past it, a new connection is
/// closed at once and its host retries.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Time for a TLS handshake, and for a request's head and then its body, by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a shutdown waits for requests in flight by default.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest time between two reconciliation passes.
pub const MAX_RECONCILE_PERIOD: Duration = Duration::from_secs(300);

/// How to serve.
#[derive(Debug)]
pub struct ServeOptions {
    /// The address to listen on (`host:port`).
    pub listen: String,
    /// The broker's certificate and key.
    pub identity: ServerIdentity,
    /// The policy in force at start (it sets the reconciliation period).
    pub policy: Arc<Policy>,
    /// The file SIGHUP re-reads; `None`: SIGHUP reloads nothing.
    pub policy_file: Option<PathBuf>,
    /// Where audit lines go.
    pub audit: AuditLog,
    /// Requests handled at once; beyond, 503.
    pub max_in_flight: usize,
    /// Connections open at once (handshaking, idle or busy); past it, new ones are closed.
    pub max_connections: usize,
    /// Time for the TLS handshake, then for a request's head, then for its body.
    pub request_timeout: Duration,
    /// How long a shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Time between reconciliation passes; `None`: min(shortest grace / 4, 5 min).
    pub reconcile_every: Option<Duration>,
}

impl ServeOptions {
    /// Options with the defaults: audit to standard error, SIGHUP re-reads nothing.
    pub fn new(listen: impl Into<String>, identity: ServerIdentity, policy: Arc<Policy>) -> Self {
        ServeOptions {
            listen: listen.into(),
            identity,
            policy,
            policy_file: None,
            audit: AuditLog::stderr(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            reconcile_every: None,
        }
    }
}

/// A bound server, not yet accepting.
pub struct Server<S: Service> {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared<S>>,
    control: Arc<Control>,
    identity: ServerIdentity,
    policy_file: Option<PathBuf>,
    request_timeout: Duration,
    shutdown_timeout: Duration,
    fixed_reconcile_period: Option<Duration>,
    connections: Arc<Semaphore>,
}

/// What the running server's tasks and its [`ServerHandle`]s share.
struct Control {
    tls: RwLock<Arc<ServerConfig>>,
    reconcile_period_ms: AtomicU64,
    reload: Notify,
    shutdown: watch::Sender<bool>,
}

/// Drives a running server from outside: reload and shutdown (what SIGHUP and SIGTERM do).
#[derive(Clone)]
pub struct ServerHandle {
    control: Arc<Control>,
}

impl ServerHandle {
    /// Re-reads the policy file, as SIGHUP does.
    pub fn reload(&self) {
        self.control.reload.notify_one();
    }

    /// Stops accepting and finishes the requests in flight, as SIGTERM does.
    pub fn shutdown(&self) {
        self.control.shutdown.send_replace(true);
    }
}

impl<S: Service> Server<S> {
    /// Binds the address and builds the TLS configuration from the service's domain CAs.
    ///
    /// # Errors
    /// [`Error::Tls`] when the certificate, key or CAs cannot be used, [`Error::Listen`] when
    /// the address cannot be bound.
    pub async fn bind(service: Arc<S>, options: ServeOptions) -> Result<Server<S>, Error> {
        let tls = tls::server_config(&options.identity, &service.client_cas())?;
        let listen_error = |source| Error::Listen {
            addr: options.listen.clone(),
            source,
        };
        let listener = TcpListener::bind(&options.listen)
            .await
            .map_err(listen_error)?;
        let local_addr = listener.local_addr().map_err(listen_error)?;
        let period = options
            .reconcile_every
            .unwrap_or_else(|| reconcile_period(&options.policy));
        let (shutdown, _) = watch::channel(false);
        Ok(Server {
            listener,
            local_addr,
            shared: Arc::new(Shared {
                service,
                metrics: metrics::ServerMetrics::default(),
                audit: options.audit,
                in_flight: Semaphore::new(options.max_in_flight),
                request_timeout: options.request_timeout,
            }),
            control: Arc::new(Control {
                tls: RwLock::new(tls),
                reconcile_period_ms: AtomicU64::new(as_millis(period)),
                reload: Notify::new(),
                shutdown,
            }),
            identity: options.identity,
            policy_file: options.policy_file,
            request_timeout: options.request_timeout,
            shutdown_timeout: options.shutdown_timeout,
            fixed_reconcile_period: options.reconcile_every,
            connections: Arc::new(Semaphore::new(options.max_connections.max(1))),
        })
    }

    /// The address it listens on (the port, when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle to reload or stop it once running.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            control: self.control.clone(),
        }
    }

    /// Serves until [`ServerHandle::shutdown`], then lets the requests in flight finish
    /// (within the shutdown timeout).
    pub async fn run(self) {
        let mut shutdown = self.control.shutdown.subscribe();
        let reconciler = tokio::spawn(reconcile_loop(
            self.shared.clone(),
            self.control.clone(),
            shutdown.clone(),
        ));
        let reloader = tokio::spawn(reload_loop(
            self.shared.clone(),
            self.control.clone(),
            self.identity.clone(),
            self.policy_file.clone(),
            self.fixed_reconcile_period,
        ));
        let mut connections = JoinSet::new();
        let connection_shutdown = shutdown.clone();
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                accepted = self.listener.accept() => {
                    // A failed accept (out of descriptors) is the host's problem; keep going.
                    let Ok((stream, peer_addr)) = accepted else { continue };
                    // Full: closing at once costs less than holding a connection nobody serves.
                    let Ok(slot) = self.connections.clone().try_acquire_owned() else {
                        self.shared.metrics.connection_refused();
                        continue;
                    };
                    connections.spawn(serve_connection(
                        slot,
                        stream,
                        peer_addr,
                        self.shared.clone(),
                        self.current_tls(),
                        self.request_timeout,
                        connection_shutdown.clone(),
                    ));
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(self.listener);
        reloader.abort();
        let drained = tokio::time::timeout(self.shutdown_timeout, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            connections.abort_all();
        }
        let _ = reconciler.await;
    }

    fn current_tls(&self) -> Arc<ServerConfig> {
        self.control
            .tls
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Binds, then serves until SIGTERM or SIGINT; SIGHUP re-reads `options.policy_file`.
///
/// # Errors
/// As [`Server::bind`]; [`Error::Listen`] when the signal handlers cannot be installed.
pub async fn serve<S: Service>(service: Arc<S>, options: ServeOptions) -> Result<(), Error> {
    let listen = options.listen.clone();
    let server = Server::bind(service, options).await?;
    eprintln!("okms-broker: listening on {}", server.local_addr());
    let handle = server.handle();
    let signals = signals::install(&listen)?;
    let watcher = tokio::spawn(signals.forward(handle));
    server.run().await;
    watcher.abort();
    Ok(())
}

mod signals {
    //! SIGHUP → reload, SIGTERM/SIGINT → shutdown.

    use tokio::signal::unix::{Signal, SignalKind, signal};

    use super::ServerHandle;
    use crate::error::Error;

    pub(super) struct Signals {
        hangup: Signal,
        terminate: Signal,
        interrupt: Signal,
    }

    pub(super) fn install(listen: &str) -> Result<Signals, Error> {
        let make = |kind| {
            signal(kind).map_err(|source| Error::Listen {
                addr: listen.to_string(),
                source,
            })
        };
        Ok(Signals {
            hangup: make(SignalKind::hangup())?,
            terminate: make(SignalKind::terminate())?,
            interrupt: make(SignalKind::interrupt())?,
        })
    }

    impl Signals {
        pub(super) async fn forward(mut self, handle: ServerHandle) {
            loop {
                tokio::select! {
                    _ = self.hangup.recv() => handle.reload(),
                    _ = self.terminate.recv() => break,
                    _ = self.interrupt.recv() => break,
                }
            }
            handle.shutdown();
        }
    }
}

async fn serve_connection<S: Service>(
    _slot: OwnedSemaphorePermit,
    stream: TcpStream,
    peer_addr: SocketAddr,
    shared: Arc<Shared<S>>,
    tls: Arc<ServerConfig>,
    timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let accepted = tokio::time::timeout(timeout, TlsAcceptor::from(tls).accept(stream)).await;
    // A failed or slow handshake (an untrusted client certificate, a scanner) just ends.
    let Ok(Ok(tls_stream)) = accepted else { return };
    let peer_certificate = tls_stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| PeerCertificate(leaf.as_ref().to_vec()));
    let conn = Conn {
        peer_addr,
        peer_certificate,
    };
    let service = hyper::service::service_fn(move |request| {
        routes::handle(shared.clone(), conn.clone(), request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(64 * 1024);
    let connection = builder.serve_connection(TokioIo::new(tls_stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = shutdown.wait_for(|stop| *stop) => {}
    }
    // Finish the request in flight, then close; the caller bounds the wait.
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// min(shortest grace / 4, 5 min), at least a second.
fn reconcile_period(policy: &Policy) -> Duration {
    (policy.shortest_grace() / 4).clamp(Duration::from_secs(1), MAX_RECONCILE_PERIOD)
}

fn as_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn reconcile_loop<S: Service>(
    shared: Arc<Shared<S>>,
    control: Arc<Control>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let started = Instant::now();
        let result = tokio::select! {
            result = shared.service.reconcile() => result,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        shared.audit.reconcile(&result, started.elapsed());
        let period = Duration::from_millis(control.reconcile_period_ms.load(Ordering::Relaxed));
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

async fn reload_loop<S: Service>(
    shared: Arc<Shared<S>>,
    control: Arc<Control>,
    identity: ServerIdentity,
    policy_file: Option<PathBuf>,
    fixed_reconcile_period: Option<Duration>,
) {
    loop {
        control.reload.notified().await;
        let Some(path) = &policy_file else { continue };
        let started = Instant::now();
        let outcome = reload(&shared, &control, &identity, path, fixed_reconcile_period).await;
        if let Err(e) = &outcome {
            eprintln!(
                "okms-broker: the policy was not reloaded, the previous one stays in force: {}",
                e.with_causes()
            );
        }
        shared
            .audit
            .reload(outcome.as_ref().err(), started.elapsed());
    }
}

async fn reload<S: Service>(
    shared: &Shared<S>,
    control: &Control,
    identity: &ServerIdentity,
    path: &std::path::Path,
    fixed_reconcile_period: Option<Duration>,
) -> Result<(), Error> {
    let policy = Arc::new(Policy::load(path)?);
    shared.service.reload(policy.clone()).await?;
    // New connections verify client certificates against the new domains' CAs.
    let tls = tls::server_config(identity, &shared.service.client_cas())?;
    *control
        .tls
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = tls;
    let period = fixed_reconcile_period.unwrap_or_else(|| reconcile_period(&policy));
    control
        .reconcile_period_ms
        .store(as_millis(period), Ordering::Relaxed);
    Ok(())
}
