//! The transport seam: anything that sends an `http::Request<Vec<u8>>` and returns the answer.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Default connect timeout of the shipped transports.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default whole-request timeout of the shipped transports.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit on an answer's body of the shipped transports.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// A boxed, `Send` future (keeps [`Transport`] object safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends one HTTP request. Implementations do no retries, signing or parsing: the client does.
pub trait Transport: Send + Sync {
    /// Sends `request` exactly as built and returns the full answer.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<http::Response<Vec<u8>>, TransportError>>;
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<http::Response<Vec<u8>>, TransportError>> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<http::Response<Vec<u8>>, TransportError>> {
        (**self).send(request)
    }
}

/// What kind of transport failure happened; decides retries and whether a POST may have landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection was made (DNS, refused, TLS handshake): the request was not sent.
    Connect,
    /// The TLS server certificate was not trusted (unknown CA, wrong name, expired): the
    /// request was not sent, and sending it again will not help.
    UntrustedServer,
    /// A timeout after the connection was made: the server may have processed the request.
    Timeout,
    /// The connection broke while sending or receiving: the server may have processed it.
    Io,
    /// The answer exceeded the size limit.
    ResponseTooLarge,
    /// Anything else (e.g. the request could not be converted).
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "connection failed",
            TransportErrorKind::UntrustedServer => "server certificate not trusted",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection broken",
            TransportErrorKind::ResponseTooLarge => "answer too large",
            TransportErrorKind::Other => "transport error",
        })
    }
}

/// A failure to exchange a request and its answer.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// A new error of `kind`.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether the server may have received (and acted on) the request.
    pub fn may_have_reached_server(&self) -> bool {
        !matches!(
            self.kind,
            TransportErrorKind::Connect | TransportErrorKind::UntrustedServer
        )
    }

    /// Whether retrying an idempotent request could help.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            TransportErrorKind::Connect | TransportErrorKind::Timeout | TransportErrorKind::Io
        )
    }
}

/// `e`'s message followed by those of its causes that it does not already say, `: `-separated:
/// an HTTP client's top error ("error sending request") rarely names its cause ("invalid peer
/// certificate: UnknownIssuer"), which is what the reader needs.
#[cfg(any(feature = "reqwest", feature = "ureq"))]
pub(crate) fn message_with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    message
}
