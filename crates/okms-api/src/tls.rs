//! rustls client configuration with the `ring` provider (no OpenSSL, no aws-lc C build):
//! the client identity of mutual TLS, the domain's CA, and [`client_config`] for an embedder
//! who writes an [`MtlsConnector`](crate::MtlsConnector) over another HTTP client.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{ServerName, UnixTime};
use rustls::sign::{CertifiedKey, SigningKey, SingleCertAndKey};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::types::{Domain, KmsEndpoint};

/// A client certificate chain (PEM) and the private key that goes with it.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// Certificate (chain), PEM.
    pub cert_pem: String,
    /// The private key, or what signs for it.
    pub key: ClientKey,
}

/// The private key of a client certificate.
///
/// Most callers hold the key as PEM text. A key that must not leave a hardware token (an
/// HSM, a smart card) is passed as a rustls [`SigningKey`] instead: rustls asks it to sign
/// the handshake and the key itself never crosses this crate. This crate does not know
/// where such a key lives (the adapter for PKCS#11 tokens is in `okms-pkcs11`, feature
/// `rustls`).
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientKey {
    /// Private key (PKCS#8, SEC1 or PKCS#1), PEM.
    Pem(SecretString),
    /// A key held elsewhere that signs through rustls. If it offers no TLS 1.3 signature
    /// scheme for its key type (an RSA key without PSS), the connection is limited to TLS 1.2.
    Signer(Arc<dyn SigningKey>),
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientKey::Pem(_) => f.write_str("ClientKey::Pem([redacted])"),
            ClientKey::Signer(k) => f.debug_tuple("ClientKey::Signer").field(k).finish(),
        }
    }
}

impl From<SecretString> for ClientKey {
    fn from(pem: SecretString) -> Self {
        ClientKey::Pem(pem)
    }
}

impl From<String> for ClientKey {
    fn from(pem: String) -> Self {
        ClientKey::Pem(pem.into())
    }
}

impl From<&str> for ClientKey {
    fn from(pem: &str) -> Self {
        ClientKey::Pem(pem.into())
    }
}

impl From<Arc<dyn SigningKey>> for ClientKey {
    fn from(key: Arc<dyn SigningKey>) -> Self {
        ClientKey::Signer(key)
    }
}

/// The signature schemes TLS 1.3 allows for a client's `CertificateVerify`.
const TLS13_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP521_SHA512,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::ED25519,
];

/// The *ring* provider this crate's TLS uses (no C build, unlike aws-lc-rs), for an embedder
/// building its own rustls configuration next to [`client_config`].
///
/// rustls 0.23.48 deprecates `ring::default_provider` because *ring* has no post-quantum key
/// exchange, not because it is unsound; rustls 0.24 moves it to the `rustls-ring` crate. This
/// is the one place that calls it, so that the move touches one line.
pub fn ring_provider() -> CryptoProvider {
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
}

fn tls_err(
    reason: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::Tls {
        reason: reason.into(),
        source: Some(Box::new(source)),
    }
}

/// Parses every `CERTIFICATE` block of `pem`; `what` names the input in errors.
pub fn parse_certificates(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(format!("cannot read {what} as PEM certificates"), e))?;
    if certs.is_empty() {
        return Err(Error::Tls {
            reason: format!("{what} holds no -----BEGIN CERTIFICATE----- block"),
            source: None,
        });
    }
    Ok(certs)
}

/// A domain's CA for one of its KMS endpoints, as the API gave it, checked to be PEM
/// certificates: what a mutual-TLS connection to that endpoint trusts.
#[derive(Debug, Clone)]
pub struct DomainCa {
    /// The domain as the API described it (with its CAs).
    pub domain: Domain,
    /// The endpoint whose server certificate the CA signs.
    pub endpoint: KmsEndpoint,
    /// The CA certificate(s), PEM, exactly as the API gave them.
    pub pem: String,
    /// How many certificates `pem` holds (at least one).
    pub certificates: usize,
}

impl DomainCa {
    /// Picks `endpoint`'s CA out of `domain` (read with `publicCA=true`).
    ///
    /// # Errors
    /// [`Error::BadDomainCa`] when the field is absent or is not PEM certificates.
    pub fn from_domain(domain: Domain, endpoint: KmsEndpoint) -> Result<Self, Error> {
        let field = endpoint.ca_field();
        let bad = |reason: String| Error::BadDomainCa {
            okms_id: domain.id,
            field,
            reason,
        };
        let Some(pem) = domain.public_ca_for(endpoint).map(str::to_owned) else {
            return Err(bad("the answer has no such field".into()));
        };
        let certificates = parse_certificates(&pem, field)
            .map_err(|e| match e {
                Error::Tls { reason, .. } => bad(reason),
                other => other,
            })?
            .len();
        Ok(DomainCa {
            domain,
            endpoint,
            pem,
            certificates,
        })
    }
}

/// A rustls client configuration: platform trust roots plus `extra_roots`, optional client
/// certificate, TLS 1.2+, ALPN h2 and http/1.1 (an HTTP/1-only client sets its own ALPN).
///
/// # Errors
/// [`Error::Tls`] when the certificate or key cannot be read or used together, or the trust
/// roots cannot be set up.
pub fn client_config(
    extra_roots: &[CertificateDer<'static>],
    identity: Option<&ClientIdentity>,
) -> Result<ClientConfig, Error> {
    let provider = Arc::new(ring_provider());
    let verifier: Arc<dyn ServerCertVerifier> =
        match rustls_platform_verifier::Verifier::new_with_extra_roots(
            extra_roots.iter().cloned(),
            provider.clone(),
        ) {
            Ok(v) => Arc::new(v),
            // No system roots and no extra CA: plain-http loopback use (tests, an emulator)
            // must still work, so fail only when an https server is actually contacted.
            Err(e) if extra_roots.is_empty() => Arc::new(NoTrustVerifier {
                reason: e.to_string(),
                provider: provider.clone(),
            }),
            Err(e) => {
                return Err(tls_err(
                    "cannot set up certificate verification (trust roots)",
                    e,
                ));
            }
        };
    // A key held elsewhere that cannot sign any TLS 1.3 scheme (RSA without PSS) would make
    // the TLS 1.3 handshake fail with no certificate sent: offer TLS 1.2 only then.
    let tls12_only = matches!(
        identity.map(|id| &id.key),
        Some(ClientKey::Signer(k)) if k.choose_scheme(TLS13_SCHEMES).is_none()
    );
    let builder = ClientConfig::builder_with_provider(provider);
    let builder = if tls12_only {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .map_err(|e| tls_err("no usable TLS versions", e))?
    .dangerous()
    // Not dangerous: this is the platform verifier with the standard WebPKI checks.
    .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let chain = parse_certificates(&id.cert_pem, "the client certificate")?;
            match &id.key {
                ClientKey::Pem(pem) => {
                    let key = PrivateKeyDer::from_pem_slice(pem.expose_secret().as_bytes())
                        .map_err(|e| tls_err("cannot read the client private key as PEM", e))?;
                    builder.with_client_auth_cert(chain, key).map_err(|e| {
                        tls_err("the client certificate and key cannot be used together", e)
                    })?
                }
                ClientKey::Signer(key) => {
                    let certified = CertifiedKey::new(chain, key.clone());
                    match certified.keys_match() {
                        // `Unknown`: the signer does not tell its public key; the server
                        // will refuse the handshake if they differ.
                        Ok(())
                        | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) =>
                            {}
                        Err(e) => {
                            return Err(tls_err(
                                "the client certificate does not hold the signing key's public key",
                                e,
                            ));
                        }
                    }
                    builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)))
                }
            }
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Whether `e` or one of its causes is rustls refusing the server's certificate (reqwest's
/// errors; the ureq transport matches its own error directly).
#[cfg(feature = "reqwest")]
pub(crate) fn is_untrusted_server(e: &(dyn std::error::Error + 'static)) -> bool {
    rustls_cause_is(e, |tls| matches!(tls, rustls::Error::InvalidCertificate(_)))
}

/// Whether `e` or one of its causes is a rustls error that `pred` accepts. An I/O error's
/// `source()` skips the error it wraps (often another I/O error wrapping the rustls one), so
/// the walk goes through `get_ref` there.
pub(crate) fn rustls_cause_is(
    e: &(dyn std::error::Error + 'static),
    pred: impl Fn(&rustls::Error) -> bool,
) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.downcast_ref::<rustls::Error>().is_some_and(&pred) {
            return true;
        }
        cause = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

/// Refuses every server certificate, saying why: used when no trust roots could be loaded.
#[derive(Debug)]
struct NoTrustVerifier {
    reason: String,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NoTrustVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::General(format!(
            "no trusted CA certificates ({}); install the system CA bundle or pass a CA file",
            self.reason
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
