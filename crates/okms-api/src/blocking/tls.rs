//! ureq over this crate's rustls configuration, so that the blocking transport trusts what the
//! reqwest one trusts (the platform's roots plus an extra CA) and can present a client
//! certificate whose key signs elsewhere ([`ClientKey::Signer`](crate::ClientKey::Signer)),
//! which ureq's own TLS settings cannot express.
//!
//! ureq's connector seam is in its `unversioned` module (outside its semver promise): this file
//! is all that touches it.

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    TcpConnector, Transport as UreqIo, TransportAdapter,
};

use super::UreqTransport;
use crate::error::Error;
use crate::mtls::MtlsConnector;
use crate::tls::{ClientIdentity, client_config, parse_certificates};

/// [`MtlsConnector`] over ureq: a blocking [`UreqTransport`] presenting the client certificate.
#[derive(Debug, Clone, Copy, Default)]
pub struct UreqConnector {
    max_response_bytes: Option<usize>,
}

impl UreqConnector {
    /// The default timeouts and answer limit of [`UreqTransport::new`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Transports refusing answers longer than `max_response_bytes`.
    #[must_use]
    pub fn with_limit(max_response_bytes: usize) -> Self {
        UreqConnector {
            max_response_bytes: Some(max_response_bytes),
        }
    }
}

impl MtlsConnector for UreqConnector {
    type Transport = UreqTransport;

    fn connect(
        &self,
        identity: ClientIdentity,
        extra_ca_pem: Option<&str>,
    ) -> Result<UreqTransport, Error> {
        let roots = match extra_ca_pem {
            Some(pem) => parse_certificates(pem, "the CA file")?,
            None => Vec::new(),
        };
        let transport = UreqTransport::over(rustls_config(&roots, Some(&identity))?);
        Ok(match self.max_response_bytes {
            Some(limit) => transport.with_limit(limit),
            None => transport,
        })
    }
}

/// [`client_config`] for an HTTP/1.1-only client.
pub(super) fn rustls_config(
    extra_roots: &[CertificateDer<'static>],
    identity: Option<&ClientIdentity>,
) -> Result<ClientConfig, Error> {
    let mut config = client_config(extra_roots, identity)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// An agent whose TLS is `tls`, behind ureq's own TCP and proxy connectors.
pub(super) fn agent(config: ureq::config::Config, tls: ClientConfig) -> ureq::Agent {
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(PresetRustls {
                config: Arc::new(tls),
            });
    ureq::Agent::with_parts(config, connector, DefaultResolver::default())
}

/// Wraps an https connection in TLS with a fixed rustls configuration.
#[derive(Debug)]
struct PresetRustls {
    config: Arc<ClientConfig>,
}

impl<In: UreqIo> Connector<In> for PresetRustls {
    type Out = Either<In, TlsIo>;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(plain) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || plain.is_tls() {
            return Ok(Some(Either::A(plain)));
        }
        let host = details
            .uri
            .authority()
            .map(|a| a.host().trim_start_matches('[').trim_end_matches(']'))
            .ok_or(ureq::Error::Tls("the URL has no host"))?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| ureq::Error::Tls("the URL's host is not a valid TLS server name"))?;
        let mut conn = ClientConnection::new(self.config.clone(), name)?;
        let mut sock = TransportAdapter::new(plain.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        // A refused handshake (untrusted server, client certificate refused by the server)
        // is a rustls error: kept as such, so that it reads as "not sent".
        conn.complete_io(&mut sock).map_err(|e| {
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                Some(tls) => ureq::Error::Rustls(tls.clone()),
                None => ureq::Error::Io(e),
            }
        })?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsIo {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// An established TLS connection as ureq's transport.
struct TlsIo {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl std::fmt::Debug for TlsIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIo").finish_non_exhaustive()
    }
}

impl UreqIo for TlsIo {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
