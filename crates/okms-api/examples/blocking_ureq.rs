//! okms-api in a program with no async runtime, over the blocking `ureq` HTTP client: what an
//! embedder does without the `reqwest` feature.
//!
//! Two ways, both shown: drive the sans-IO core by hand (build one request, send it, parse the
//! answer), or give the [`Client`] a blocking [`Transport`] and [`Clock`] and run its futures
//! with a tiny `block_on` (they never wait on anything but the calling thread).
//!
//! ```sh
//! OVH_ENDPOINT=ovh-eu OVH_APPLICATION_KEY=… OVH_APPLICATION_SECRET=… OVH_CONSUMER_KEY=… \
//!   cargo run -p okms-api --no-default-features --example blocking_ureq
//! ```

use std::future::{Future, ready};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, SystemTime};

use okms_api::sans_io::{RequestAuth, build_request, ops, parse_auth_time};
use okms_api::{
    BoxFuture, Client, Clock, Config, ConfigOverrides, ConfigSources, Transport, TransportError,
    TransportErrorKind,
};

/// A blocking [`Transport`] on `ureq`: the exchange happens inside [`Transport::send`], on the
/// calling thread, so drive it with [`block_on`] (or any executor that may block), never on the
/// worker threads of an async runtime.
pub struct UreqTransport {
    agent: ureq::Agent,
    max_response_bytes: u64,
}

impl UreqTransport {
    /// 10 s to connect, 30 s in all, answers up to 4 MiB, as okms-api's default transport.
    pub fn new() -> Self {
        Self::with_limit(4 * 1024 * 1024)
    }

    /// Refuses answers longer than `max_response_bytes`.
    pub fn with_limit(max_response_bytes: u64) -> Self {
        let config = ureq::Agent::config_builder()
            // The client reads the API's error bodies (status, class, message): a 4xx or 5xx
            // is an answer, not a transport failure.
            .http_status_as_error(false)
            // A redirect would send the signed headers to another URL.
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        UreqTransport {
            agent: ureq::Agent::new_with_config(config),
            max_response_bytes,
        }
    }

    /// Sends `request` exactly as the core built it and reads the whole answer.
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

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl Transport for UreqTransport {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<http::Response<Vec<u8>>, TransportError>> {
        Box::pin(ready(self.send_blocking(request)))
    }
}

/// Sorts ureq's failures by what the client must know: whether the request can have reached
/// the server (a create POST is resent only when it cannot) and whether a retry may help.
fn transport_error(e: ureq::Error) -> TransportError {
    let kind = match &e {
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
    TransportError::new(kind, e.to_string()).with_source(e)
}

/// The system clock; waiting blocks the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockingClock;

impl Clock for BlockingClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        thread::sleep(duration);
        Box::pin(ready(()))
    }
}

/// Wakes the thread parked in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread: the smallest executor, enough for a client whose
/// transport and clock do their work on the calling thread.
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(&ConfigOverrides::default(), &ConfigSources::standard())?;
    let transport = UreqTransport::new();

    // 1. The sans-IO core by hand: one request, one answer.
    let request = build_request(&config.endpoint, &ops::auth_time(), &RequestAuth::None)?;
    let server_time = parse_auth_time(&transport.send_blocking(request)?)?;
    println!("server time: {server_time} (Unix seconds)");

    // 2. The client (signing, clock sync, retries, pagination) over the same transport.
    let client = Client::with_transport(config, transport, BlockingClock);
    for domain in block_on(client.list_domains())? {
        println!("{}  {}", domain.id, domain.region);
    }
    Ok(())
}
