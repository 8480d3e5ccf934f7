//! A program with no async runtime (feature `ureq`): a blocking [`Transport`] on `ureq`, a
//! [`Clock`] whose waits block the thread, and [`block_on`] to run the [`Client`](crate::Client)'s
//! futures on the calling thread.
//!
//! ```no_run
//! use okms_api::blocking::{BlockingClock, UreqTransport, block_on};
//! use okms_api::{Client, Config, ConfigOverrides, ConfigSources};
//!
//! # fn main() -> Result<(), okms_api::Error> {
//! let config = Config::load(&ConfigOverrides::default(), &ConfigSources::standard())?;
//! let client = Client::with_transport(config, UreqTransport::new()?, BlockingClock);
//! for domain in block_on(client.list_domains())? {
//!     println!("{}  {}", domain.id, domain.region);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The data-plane proof of a certificate runs the same way, over a transport from
//! [`UreqConnector`]: `block_on(kms::check_with(&check.connect(&UreqConnector::new())?, ...))`.

mod tls;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, SystemTime};

pub use self::tls::UreqConnector;
use crate::clock::Clock;
use crate::error::Error;
use crate::transport::{
    BoxFuture, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Transport,
    TransportError, TransportErrorKind,
};

/// A blocking [`Transport`] on `ureq` over rustls (ring provider, the platform's trust roots):
/// the exchange happens when the future of [`Transport::send`] is polled, on the polling
/// thread, so drive it with [`block_on`] (or any executor that may block), never on the worker
/// threads of an async runtime.
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
    max_response_bytes: u64,
}

impl UreqTransport {
    /// The platform's trust roots and no client certificate; 10 s to connect, 30 s in all,
    /// answers up to 4 MiB, as the default reqwest transport.
    ///
    /// # Errors
    /// [`Error::Tls`] when the TLS configuration cannot be built.
    pub fn new() -> Result<Self, Error> {
        Ok(Self::over(tls::rustls_config(&[], None)?))
    }

    /// This transport, refusing answers longer than `max_response_bytes`.
    #[must_use]
    pub fn with_limit(mut self, max_response_bytes: usize) -> Self {
        self.max_response_bytes = u64::try_from(max_response_bytes).unwrap_or(u64::MAX);
        self
    }

    fn over(tls: rustls::ClientConfig) -> Self {
        let config = ureq::Agent::config_builder()
            // The client reads the API's error bodies (status, class, message): a 4xx or 5xx
            // is an answer, not a transport failure.
            .http_status_as_error(false)
            // A redirect would send the signed headers to another URL.
            .max_redirects(0)
            .timeout_connect(Some(DEFAULT_CONNECT_TIMEOUT))
            .timeout_global(Some(DEFAULT_TIMEOUT))
            .build();
        UreqTransport {
            agent: tls::agent(config, tls),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES as u64,
        }
    }

    /// Sends `request` exactly as built and reads the whole answer, on this thread.
    ///
    /// # Errors
    /// A [`TransportError`] whose kind says whether the request can have reached the server.
    pub fn send_blocking(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let (parts, body) = request.into_parts();
        // ureq refuses a body, even an empty one, on a GET or a DELETE.
        let answer = if body.is_empty() {
            self.agent.run(http::Request::from_parts(parts, ()))
        } else {
            self.agent.run(http::Request::from_parts(parts, body))
        };
        let (parts, mut body) = answer.map_err(transport_error)?.into_parts();
        let body = body
            .with_config()
            .limit(self.max_response_bytes)
            .read_to_vec()
            .map_err(transport_error)?;
        Ok(http::Response::from_parts(parts, body))
    }
}

impl Transport for UreqTransport {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<http::Response<Vec<u8>>, TransportError>> {
        Box::pin(async move { self.send_blocking(request) })
    }
}

/// Sorts ureq's failures by what the client must know: whether the request can have reached
/// the server (a create POST is resent only when it cannot) and whether a retry may help.
fn transport_error(e: ureq::Error) -> TransportError {
    let kind = match &e {
        ureq::Error::Rustls(rustls::Error::InvalidCertificate(_)) => {
            TransportErrorKind::UntrustedServer
        }
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Tls(_)
        | ureq::Error::Rustls(_) => TransportErrorKind::Connect,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            TransportErrorKind::Connect
        }
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::Io(_) | ureq::Error::Protocol(_) | ureq::Error::BodyStalled => {
            TransportErrorKind::Io
        }
        ureq::Error::BodyExceedsLimit(_) => TransportErrorKind::ResponseTooLarge,
        _ => TransportErrorKind::Other,
    };
    let message = crate::transport::message_with_causes(&e);
    match e {
        // The rustls error itself as the cause, so that its alert or certificate problem can
        // be read from the `source()` chain (ureq's error does not expose it).
        ureq::Error::Rustls(tls) => TransportError::new(kind, message).with_source(tls),
        e => TransportError::new(kind, message).with_source(e),
    }
}

/// The system clock; a wait blocks the thread that polls it.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockingClock;

impl Clock for BlockingClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move { thread::sleep(duration) })
    }
}

/// Wakes the thread parked in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread: the smallest executor, enough for a
/// [`Client`](crate::Client) over [`UreqTransport`] and [`BlockingClock`], whose futures do
/// their work on the polling thread. A future that waits on another thread (a timer or a
/// socket of an async runtime) is woken as usual, but a Tokio-based future needs its runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}
