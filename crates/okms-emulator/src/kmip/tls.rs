//! TLS of the KMIP endpoint: a client certificate is mandatory and, beyond chaining to the
//! emulator CA, must be that of a READY access credential. Unlike the REST side, which answers
//! a refused certificate with a JSON error, KMIP clients expect the handshake itself to fail,
//! so the check lives in the certificate verifier and its refusal is a TLS alert naming why
//! (expired, revoked, unknown, or not propagated to this node yet).

use std::sync::Arc;

use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
    client::danger::HandshakeSignatureValid,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime},
    server::{
        WebPkiClientVerifier,
        danger::{ClientCertVerified, ClientCertVerifier},
    },
};
use uuid::Uuid;

use crate::{
    error::{Error, Result},
    state::{Phase, Shared},
};

/// Why a certificate is not accepted right now, or the domain it opens.
pub(super) fn live_domain(
    shared: &Shared,
    leaf: &[u8],
) -> std::result::Result<Uuid, CertificateError> {
    let now = shared.now();
    let st = shared.lock();
    let Some(rec) = st
        .credentials
        .iter()
        .find(|c| c.certificate_der.as_slice() == leaf)
    else {
        return Err(CertificateError::ApplicationVerificationFailure);
    };
    match rec.phase(now, &shared.settings) {
        // As on the REST side, a node the new certificate has not reached yet does not know
        // it (`--kms-propagation-ms`): an access_denied alert, which a client may retry.
        Phase::Ready if !rec.propagated(now, &shared.settings) => {
            Err(CertificateError::ApplicationVerificationFailure)
        }
        Phase::Ready => Ok(rec.okms_id),
        Phase::Creating => Err(CertificateError::NotValidYet),
        Phase::Expired => Err(CertificateError::Expired),
        Phase::Deleting | Phase::Deleted => Err(CertificateError::Revoked),
    }
}

#[derive(Debug)]
struct LiveCredentialVerifier {
    chain: Arc<dyn ClientCertVerifier>,
    shared: Arc<Shared>,
}

impl ClientCertVerifier for LiveCredentialVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.chain.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .chain
            .verify_client_cert(end_entity, intermediates, now)?;
        live_domain(&self.shared, end_entity.as_ref())
            .map_err(rustls::Error::InvalidCertificate)?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

/// The KMIP endpoint's TLS configuration: a server certificate from the emulator CA and the
/// live-credential client verifier.
pub(super) fn server_config(shared: Arc<Shared>) -> Result<ServerConfig> {
    let provider = crate::kms::ring_provider();
    let (cert_der, key_der) = shared.ca.issue_server_certificate()?;
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(shared.ca.cert_der().to_vec()))
        .map_err(Error::Tls)?;
    let chain = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(Error::ClientVerifier)?;
    let verifier = Arc::new(LiveCredentialVerifier { chain, shared });
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec()));
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(cert_der)], key)
        .map_err(Error::Tls)
}
