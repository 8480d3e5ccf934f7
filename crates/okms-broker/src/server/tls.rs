//! The broker's TLS: its own certificate and key, TLS 1.2 and 1.3 with rustls and *ring*, and
//! client certificates verified against the policy domains' CAs. A client without a
//! certificate completes the handshake (for `/healthz` and `/metrics`); the `/v1` routes
//! refuse it.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::Error;

/// The broker's server certificate chain and key.
pub struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Clone for ServerIdentity {
    fn clone(&self) -> Self {
        ServerIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl ServerIdentity {
    /// Reads the certificate chain (PEM, leaf first) and the private key (PEM: PKCS#8, SEC1
    /// or PKCS#1) from files.
    ///
    /// # Errors
    /// [`Error::Read`] when a file cannot be read, [`Error::Tls`] when it holds no
    /// certificate or key.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<ServerIdentity, Error> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let cert = read(cert_file)?;
        let key = zeroize::Zeroizing::new(read(key_file)?);
        ServerIdentity::from_pem(&cert, &key).map_err(|e| match e {
            Error::Tls(message) => Error::Tls(format!(
                "{message} ({} and {})",
                cert_file.display(),
                key_file.display()
            )),
            other => other,
        })
    }

    /// The certificate chain and key from PEM bytes.
    ///
    /// # Errors
    /// [`Error::Tls`] when there is no certificate or no key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<ServerIdentity, Error> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("the server certificate is not PEM: {e}")))?;
        if chain.is_empty() {
            return Err(Error::Tls(
                "the server certificate file holds no CERTIFICATE block".to_string(),
            ));
        }
        // The key's own parse error could quote key material: say only what was expected.
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| {
            Error::Tls(
                "the server key file holds no PEM private key (PKCS#8, SEC1 or PKCS#1)".to_string(),
            )
        })?;
        Ok(ServerIdentity { chain, key })
    }
}

/// A server configuration whose client verifier trusts `client_cas` (PEM, one or more
/// certificates each).
pub(crate) fn server_config(
    identity: &ServerIdentity,
    client_cas: &[String],
) -> Result<Arc<ServerConfig>, Error> {
    // okms-api's one call of the deprecated *ring* constructor (see there why).
    let provider = Arc::new(okms_api::tls::ring_provider());
    let mut roots = RootCertStore::empty();
    for pem in client_cas {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| Error::Tls(format!("a domain CA is not PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::Tls(format!("a domain CA cannot be used: {e}")))?;
        }
    }
    if roots.is_empty() {
        return Err(Error::Tls(
            "no domain CA to verify client certificates against: the policy's domains \
             gave none"
                .to_string(),
        ));
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| Error::Tls(format!("cannot build the client verifier: {e}")))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| Error::Tls(format!("the server certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
