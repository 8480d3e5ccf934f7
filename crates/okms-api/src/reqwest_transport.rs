//! The default transport: reqwest (async) over rustls with the `ring` provider.

use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::error::Error;
use crate::tls::{ClientIdentity, client_config};
use crate::trace::{HttpExchange, HttpObserver, SharedObserver};
use crate::transport::{
    BoxFuture, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Transport,
    TransportError, TransportErrorKind,
};

/// Settings for [`ReqwestTransport`].
#[derive(Debug, Clone)]
pub struct ReqwestTransportBuilder {
    connect_timeout: Duration,
    timeout: Duration,
    max_response_bytes: usize,
    extra_roots: Vec<CertificateDer<'static>>,
    identity: Option<ClientIdentity>,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        ReqwestTransportBuilder {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            extra_roots: Vec::new(),
            identity: None,
        }
    }
}

impl ReqwestTransportBuilder {
    /// Connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Whole-request timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Largest answer body accepted.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// Trusts the CA certificates in `pem` besides the platform's roots.
    pub fn add_root_pem(mut self, pem: &str) -> Result<Self, Error> {
        self.extra_roots
            .extend(crate::tls::parse_certificates(pem, "the CA file")?);
        Ok(self)
    }

    /// Presents this client certificate (mutual TLS).
    pub fn identity(mut self, identity: ClientIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Builds the transport.
    pub fn build(self) -> Result<ReqwestTransport, Error> {
        let tls = client_config(&self.extra_roots, self.identity.as_ref())?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            // A redirect would re-send signed headers to another URL; never follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Tls {
                reason: "cannot build the HTTP client".into(),
                source: Some(Box::new(e)),
            })?;
        Ok(ReqwestTransport {
            client,
            max_response_bytes: self.max_response_bytes,
            observer: None,
        })
    }
}

/// An async [`Transport`] over reqwest. Needs a Tokio runtime; never blocks.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    max_response_bytes: usize,
    observer: Option<SharedObserver>,
}

impl ReqwestTransport {
    /// Default settings: platform roots, 10 s connect, 30 s total, 4 MiB answers.
    pub fn new() -> Result<Self, Error> {
        ReqwestTransport::builder().build()
    }

    /// A builder.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// Wraps an existing reqwest client (its TLS and timeouts are the caller's business).
    pub fn from_client(client: reqwest::Client, max_response_bytes: usize) -> Self {
        ReqwestTransport {
            client,
            max_response_bytes,
            observer: None,
        }
    }

    /// This transport, telling `observer` of every exchange (see [`crate::trace`]).
    #[must_use]
    pub fn with_observer(mut self, observer: std::sync::Arc<dyn HttpObserver>) -> Self {
        self.observer = Some(SharedObserver(observer));
        self
    }

    async fn observed_exchange(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let Some(SharedObserver(observer)) = &self.observer else {
            return self.exchange(request).await;
        };
        let method = request.method().to_string();
        let path = request.uri().path().to_owned();
        let body = request.body().clone();
        let started = std::time::Instant::now();
        let answer = self.exchange(request).await;
        let (status, response_body) = match &answer {
            Ok(r) => (Some(r.status().as_u16()), Some(r.body().as_slice())),
            Err(_) => (None, None),
        };
        observer.exchanged(&HttpExchange::new(
            &method,
            &path,
            status,
            started.elapsed(),
            &body,
            response_body,
        ));
        answer
    }

    async fn exchange(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let req = reqwest::Request::try_from(request).map_err(|e| {
            TransportError::new(TransportErrorKind::Other, "cannot convert the request")
                .with_source(e)
        })?;
        let mut resp = self.client.execute(req).await.map_err(map_err)?;
        let limit = self.max_response_bytes;
        if let Some(len) = resp.content_length()
            && len > limit as u64
        {
            return Err(too_large(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(map_err)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        let mut out = http::Response::new(body);
        *out.status_mut() = resp.status();
        *out.version_mut() = resp.version();
        *out.headers_mut() = std::mem::take(resp.headers_mut());
        Ok(out)
    }
}

impl Transport for ReqwestTransport {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<http::Response<Vec<u8>>, TransportError>> {
        Box::pin(self.observed_exchange(request))
    }
}

fn too_large(limit: usize) -> TransportError {
    TransportError::new(
        TransportErrorKind::ResponseTooLarge,
        format!("the answer is larger than {limit} bytes"),
    )
}

fn map_err(e: reqwest::Error) -> TransportError {
    let kind = if crate::tls::is_untrusted_server(&e) {
        TransportErrorKind::UntrustedServer
    } else if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_request() || e.is_body() || e.is_decode() {
        TransportErrorKind::Io
    } else {
        TransportErrorKind::Other
    };
    // The causes (refused, certificate unknown, …) are said and stay reachable through
    // `source()`.
    let message = crate::transport::message_with_causes(&e);
    TransportError::new(kind, message).with_source(e)
}
