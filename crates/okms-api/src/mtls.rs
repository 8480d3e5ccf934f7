//! The mutual-TLS seam: what turns a client certificate and key into a [`Transport`] that
//! presents them, so that the data-plane calls ([`crate::kms::check_with`],
//! [`crate::kms::random_with`]) run over whichever HTTP client the embedder chose.

use crate::error::Error;
use crate::tls::ClientIdentity;
use crate::transport::Transport;

/// Builds a [`Transport`] that presents a client certificate (mutual TLS) and trusts the
/// platform's roots plus an optional extra CA.
///
/// [`ReqwestConnector`] (feature `reqwest`, async) and `UreqConnector` (feature `ureq`,
/// blocking) implement it; an embedder with another HTTP client implements it over
/// [`crate::tls::client_config`].
pub trait MtlsConnector: Send + Sync {
    /// The transport the connector builds.
    type Transport: Transport;

    /// A transport presenting `identity` and trusting `extra_ca_pem` (PEM certificates, e.g.
    /// the domain's CA from [`crate::DomainCa`]) besides the platform's roots.
    ///
    /// # Errors
    /// [`Error::Tls`] when the certificate, the key or the CA cannot be read or used together.
    fn connect(
        &self,
        identity: ClientIdentity,
        extra_ca_pem: Option<&str>,
    ) -> Result<Self::Transport, Error>;
}

impl<M: MtlsConnector + ?Sized> MtlsConnector for &M {
    type Transport = M::Transport;

    fn connect(
        &self,
        identity: ClientIdentity,
        extra_ca_pem: Option<&str>,
    ) -> Result<Self::Transport, Error> {
        (**self).connect(identity, extra_ca_pem)
    }
}

#[cfg(feature = "reqwest")]
pub use reqwest_connector::ReqwestConnector;

#[cfg(feature = "reqwest")]
mod reqwest_connector {
    use super::MtlsConnector;
    use crate::error::Error;
    use crate::reqwest_transport::{ReqwestTransport, ReqwestTransportBuilder};
    use crate::tls::ClientIdentity;

    /// [`MtlsConnector`] over reqwest: an async [`ReqwestTransport`] (needs a Tokio runtime
    /// to send).
    #[derive(Debug, Clone, Default)]
    pub struct ReqwestConnector {
        settings: ReqwestTransportBuilder,
    }

    impl ReqwestConnector {
        /// The default timeouts and answer limit of [`ReqwestTransport::new`].
        pub fn new() -> Self {
            Self::default()
        }

        /// Transports with these settings (timeouts, limits, extra roots); the identity and
        /// the CA given to [`MtlsConnector::connect`] are added to them.
        pub fn with_settings(settings: ReqwestTransportBuilder) -> Self {
            ReqwestConnector { settings }
        }
    }

    impl MtlsConnector for ReqwestConnector {
        type Transport = ReqwestTransport;

        fn connect(
            &self,
            identity: ClientIdentity,
            extra_ca_pem: Option<&str>,
        ) -> Result<ReqwestTransport, Error> {
            let mut builder = self.settings.clone().identity(identity);
            if let Some(ca) = extra_ca_pem {
                builder = builder.add_root_pem(ca)?;
            }
            builder.build()
        }
    }
}
