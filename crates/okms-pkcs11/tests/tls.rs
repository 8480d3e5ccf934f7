//! `TlsSigningKey`: real TLS 1.2 and 1.3 handshakes on 127.0.0.1 against a rustls server that
//! requires a client certificate, with the client's signature made on a SoftHSM2 token.
//! The server records the scheme it verified, so each test knows which token mechanism ran.

#![cfg(feature = "rustls")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Env, PIN, TOKEN, with_token};
use okms_csr::{CsrBuilder, KeyAlgorithm};
use okms_pkcs11::{
    Error, HashAlg, Module, Pin, Pkcs11Uri, SignatureKind, TlsSigningKey, TokenSigner,
};
use okms_test_support::interop::{self, Openssl};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::{CertifiedKey, SigningKey, SingleCertAndKey};
use rustls::version::{TLS12, TLS13};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme, SupportedProtocolVersion};

/// The test CA and a server certificate for localhost / 127.0.0.1, in `dir`.
fn make_ca_and_server(openssl: Openssl, dir: &Path) {
    openssl.test_ca(dir, "ca");
    openssl.ec_key_and_csr(dir, "server");
    openssl.issue(
        dir,
        "ca",
        "server",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    );
}

/// A client certificate for the token key: CSR signed on the token, issued by the test CA.
fn client_cert(
    openssl: Openssl,
    dir: &Path,
    name: &str,
    signer: &TokenSigner,
) -> CertificateDer<'static> {
    let csr = CsrBuilder::new(format!("CN={name}").parse().unwrap())
        .build(signer)
        .unwrap();
    std::fs::write(dir.join(format!("{name}.csr")), csr.to_pem()).unwrap();
    openssl.issue(
        dir,
        "ca",
        name,
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
    );
    pem_cert(dir, &format!("{name}.pem"))
}

fn pem_cert(dir: &Path, file: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(dir.join(file)).unwrap()
}

/// The standard WebPKI client verifier, offering only `only` (if set) and recording the
/// scheme of each handshake signature it checks.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ClientCertVerifier>,
    only: Option<Vec<SignatureScheme>>,
    used: Mutex<Vec<SignatureScheme>>,
}

impl ClientCertVerifier for Recording {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.used.lock().unwrap().push(dss.scheme);
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.used.lock().unwrap().push(dss.scheme);
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let all = self.inner.supported_verify_schemes();
        match &self.only {
            Some(only) => all.into_iter().filter(|s| only.contains(s)).collect(),
            None => all,
        }
    }
}

/// One handshake with `version`, the client presenting `cert` and signing with `key`; the
/// server offers `only` (or all it verifies). Ok: the scheme the server verified.
fn handshake(
    dir: &Path,
    cert: &CertificateDer<'static>,
    key: Arc<dyn SigningKey>,
    version: &'static SupportedProtocolVersion,
    only: Option<&[SignatureScheme]>,
) -> Result<SignatureScheme, String> {
    // Deprecated since rustls 0.23.48 only for lacking post-quantum key exchange, which this
    // loopback server does not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pem_cert(dir, "ca.pem")).unwrap();
    let roots = Arc::new(roots);
    let inner = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots.clone(),
        provider.clone(),
    )
    .build()
    .unwrap();
    let verifier = Arc::new(Recording {
        inner,
        only: only.map(<[SignatureScheme]>::to_vec),
        used: Mutex::new(Vec::new()),
    });
    let server_cfg = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_client_cert_verifier(verifier.clone())
        .with_single_cert(
            vec![pem_cert(dir, "server.pem")],
            PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap(),
        )
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || -> Result<Vec<CertificateDer<'static>>, String> {
        let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let conn = rustls::ServerConnection::new(Arc::new(server_cfg)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf)
            .map_err(|e| format!("server: {e}"))?;
        tls.write_all(b"pong\n")
            .map_err(|e| format!("server: {e}"))?;
        tls.flush().ok();
        let peer = tls.conn.peer_certificates().unwrap_or_default().to_vec();
        tls.conn.send_close_notify();
        tls.flush().ok();
        Ok(peer)
    });

    let certified = CertifiedKey::new(vec![cert.clone()], key);
    let client_cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let conn = rustls::ClientConnection::new(
        Arc::new(client_cfg),
        ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let client = (|| -> std::io::Result<()> {
        tls.write_all(b"ping\n")?;
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf)?;
        assert_eq!(&buf, b"pong\n");
        Ok(())
    })();
    drop(tls);
    let peer = server.join().unwrap();
    let peer = match (client, peer) {
        (Ok(()), Ok(peer)) => peer,
        (c, s) => return Err(format!("client: {c:?}; server: {s:?}")),
    };
    assert_eq!(peer.first(), Some(cert), "the server saw our certificate");
    let used = verifier.used.lock().unwrap().clone();
    assert_eq!(used.len(), 1, "one handshake signature: {used:?}");
    Ok(used[0])
}

/// Runs `body` on a fresh token (see `common::with_token`) with a directory holding the test
/// CA and the server certificate. Skipped loudly without openssl, which issues them.
fn with_token_and_pki(test: &str, body: impl FnOnce(&Env, Openssl, &Path)) {
    let Some(openssl) =
        interop::openssl("the PKCS#11 TLS tests (openssl issues their certificates)")
    else {
        return;
    };
    with_token(test, |env| {
        let dir = tempfile::tempdir().unwrap();
        make_ca_and_server(openssl, dir.path());
        body(env, openssl, dir.path());
    });
}

fn uri(s: &str) -> Pkcs11Uri {
    s.parse().unwrap()
}

/// A new logged-in session's signer for the key labelled `label`, generated first if asked.
fn signer(env: &Env, alg: KeyAlgorithm, label: &str, generate: bool) -> TokenSigner {
    let module = Module::load(&env.module).unwrap();
    let key_uri = uri(&format!("pkcs11:token={TOKEN};object={label}"));
    let token = module
        .login(
            &module.select_token(&key_uri).unwrap(),
            Some(&Pin::from(PIN)),
        )
        .unwrap();
    if generate {
        token.generate_key(alg, label, None, &key_uri).unwrap();
    }
    token.into_signer(&key_uri).unwrap()
}

#[test]
fn tls_ecdsa_on_token() {
    with_token_and_pki("tls_ecdsa_on_token", |env, openssl, d| {
        for (alg, scheme) in [
            (
                KeyAlgorithm::EcdsaP256,
                SignatureScheme::ECDSA_NISTP256_SHA256,
            ),
            (
                KeyAlgorithm::EcdsaP384,
                SignatureScheme::ECDSA_NISTP384_SHA384,
            ),
        ] {
            let label = format!("tls-{alg}");
            let s = signer(env, alg, &label, true);
            let cert = client_cert(openssl, d, &label, &s);
            let key = TlsSigningKey::new(s);
            assert_eq!(
                key.schemes(),
                vec![scheme],
                "{alg}: the curve's own hash only"
            );
            let key = key.into_arc();
            assert!(
                CertifiedKey::new(vec![cert.clone()], key.clone())
                    .keys_match()
                    .is_ok()
            );
            for version in [&TLS13, &TLS12] {
                let used = handshake(d, &cert, key.clone(), version, None)
                    .unwrap_or_else(|e| panic!("{alg} {version:?}: {e}"));
                assert_eq!(used, scheme, "{alg} {version:?}");
            }
        }

        // P-521: offered as ecdsa_secp521r1_sha512 only (ring cannot verify it, so no
        // handshake here), and a wrong hash is refused before the token is asked.
        let s = signer(env, KeyAlgorithm::EcdsaP521, "tls-p521", true);
        assert!(!s.supports(SignatureKind::Ecdsa(HashAlg::Sha256)));
        let e = s
            .sign_with(SignatureKind::Ecdsa(HashAlg::Sha256), b"x")
            .unwrap_err();
        assert!(matches!(e, Error::UnsupportedKey(_)), "{e}");
        let e = s
            .sign_with(SignatureKind::RsaPss(HashAlg::Sha512), b"x")
            .unwrap_err();
        assert!(matches!(e, Error::UnsupportedKey(_)), "{e}");
        assert_eq!(
            TlsSigningKey::new(s).schemes(),
            vec![SignatureScheme::ECDSA_NISTP521_SHA512]
        );

        // A certificate for another key: rustls sees the mismatch, and the server refuses
        // the handshake signed by the token key.
        let other = signer(env, KeyAlgorithm::EcdsaP256, "tls-ecdsa-p256", false);
        let p384_cert = pem_cert(d, "tls-ecdsa-p384.pem");
        let key = TlsSigningKey::new(other).into_arc();
        let e = CertifiedKey::new(vec![p384_cert.clone()], key.clone())
            .keys_match()
            .unwrap_err();
        assert!(
            matches!(
                e,
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)
            ),
            "{e}"
        );
        assert!(handshake(d, &p384_cert, key, &TLS13, None).is_err());
    });
}

#[test]
fn tls_rsa_on_token() {
    with_token_and_pki("tls_rsa_on_token", |env, openssl, d| {
        let s = signer(env, KeyAlgorithm::Rsa2048, "tls-rsa", true);
        let cert = client_cert(openssl, d, "tls-rsa", &s);
        let key = TlsSigningKey::new(s);
        // SoftHSM2 has CKM_RSA_PKCS_PSS: PSS first, PKCS#1 v1.5 after.
        assert_eq!(
            key.schemes(),
            vec![
                SignatureScheme::RSA_PSS_SHA256,
                SignatureScheme::RSA_PSS_SHA384,
                SignatureScheme::RSA_PSS_SHA512,
                SignatureScheme::RSA_PKCS1_SHA256,
                SignatureScheme::RSA_PKCS1_SHA384,
                SignatureScheme::RSA_PKCS1_SHA512,
            ]
        );
        let key = key.into_arc();
        let pss = [SignatureScheme::RSA_PSS_SHA384];
        let pkcs1 = [SignatureScheme::RSA_PKCS1_SHA512];
        let cases: [(
            &'static SupportedProtocolVersion,
            Option<&[SignatureScheme]>,
            _,
        ); 4] = [
            (&TLS13, None, SignatureScheme::RSA_PSS_SHA256),
            (&TLS12, None, SignatureScheme::RSA_PSS_SHA256),
            (&TLS13, Some(&pss), SignatureScheme::RSA_PSS_SHA384),
            (&TLS12, Some(&pkcs1), SignatureScheme::RSA_PKCS1_SHA512),
        ];
        for (version, only, want) in cases {
            let used = handshake(d, &cert, key.clone(), version, only)
                .unwrap_or_else(|e| panic!("{version:?} {only:?}: {e}"));
            assert_eq!(used, want, "{version:?} {only:?}");
        }
        // TLS 1.3 never uses PKCS#1 v1.5 for a handshake signature: no certificate is sent
        // and the server, which requires one, refuses.
        assert!(handshake(d, &cert, key, &TLS13, Some(&pkcs1)).is_err());

        // The same through the single-part mechanisms over a digest made here
        // (CKM_RSA_PKCS_PSS, CKM_RSA_PKCS with the DigestInfo), as on tokens without the
        // hashing ones.
        let mut raw = signer(env, KeyAlgorithm::Rsa2048, "tls-rsa", false);
        raw.force_raw_rsa_pkcs();
        let key = TlsSigningKey::new(raw).into_arc();
        for (version, only, want) in [
            (&TLS13, Some(&pss[..]), SignatureScheme::RSA_PSS_SHA384),
            (&TLS12, Some(&pkcs1[..]), SignatureScheme::RSA_PKCS1_SHA512),
        ] {
            let used = handshake(d, &cert, key.clone(), version, only)
                .unwrap_or_else(|e| panic!("raw {version:?} {only:?}: {e}"));
            assert_eq!(used, want);
        }
    });
}
