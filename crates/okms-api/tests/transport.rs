//! The reqwest transport against local servers on 127.0.0.1: exact bytes on the wire, size
//! limit, timeouts, refused connections, no redirects, and the mutual-TLS check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use okms_api::kms::{DataPlaneOutcome, MtlsCheck, check_mtls};
use okms_api::{
    Auth, Client, ClientKey, Config, Endpoint, Error, ReqwestTransport, TokioClock, Transport,
    TransportErrorKind,
};
use okms_test_support::interop::{self, Openssl};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// Reads one HTTP/1.1 request (headers + Content-Length body) and returns it as text.
async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> String {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = s.read(&mut tmp).await.unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse::<usize>().unwrap())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut tmp).await.unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&tmp[..n]);
            }
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Serves `answer` to one connection and returns the request it received.
async fn serve_once(answer: Vec<u8>) -> (String, tokio::task::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let h = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let req = read_request(&mut s).await;
        s.write_all(&answer).await.unwrap();
        s.shutdown().await.ok();
        req
    });
    (base, h)
}

fn http_answer(status: &str, headers: &[&str], body: &str) -> Vec<u8> {
    let mut s = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.push_str(body);
    s.into_bytes()
}

#[tokio::test]
async fn client_over_reqwest_sends_exact_signed_bytes() {
    let answer = http_answer("200 OK", &["Content-Type: application/json"], "1457018875");
    let (base, time_server) = serve_once(answer).await;
    let cfg = Config::new(
        Endpoint::parse(&format!("{base}/1.0")).unwrap(),
        Auth::AccessToken {
            access_token: "T0KEN".into(),
        },
    );
    let client = Client::with_transport(cfg, ReqwestTransport::new().unwrap(), TokioClock);
    assert_eq!(client.auth_time().await.unwrap(), 1457018875);
    let req = time_server.await.unwrap();
    assert!(req.starts_with("GET /1.0/auth/time HTTP/1.1\r\n"), "{req}");
    assert!(
        !req.to_ascii_lowercase().contains("authorization"),
        "unauthenticated: {req}"
    );

    let answer = http_answer(
        "404 Not Found",
        &[
            "Content-Type: application/json",
            "X-Ovh-QueryID: EU.local-1",
        ],
        r#"{"class":"Client::NotFound","message":"nope"}"#,
    );
    let (base, server) = serve_once(answer).await;
    let cfg = Config::new(
        Endpoint::parse(&format!("{base}/1.0")).unwrap(),
        Auth::AccessToken {
            access_token: "T0KEN".into(),
        },
    );
    let client = Client::with_transport(cfg, ReqwestTransport::new().unwrap(), TokioClock);
    let e = client.me().await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.query_id(), Some("EU.local-1"));
    let req = server.await.unwrap();
    assert!(req.starts_with("GET /v1/me HTTP/1.1\r\n"), "{req}");
    assert!(req.contains("authorization: Bearer T0KEN\r\n"), "{req}");
}

#[tokio::test]
async fn post_body_arrives_byte_for_byte() {
    let (base, server) = serve_once(http_answer("200 OK", &[], "{}")).await;
    let body = br#"{"a":"b","c":"d"}"#.to_vec();
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("{base}/x"))
        .header("content-type", "application/json")
        .body(body.clone())
        .unwrap();
    let resp = ReqwestTransport::new().unwrap().send(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let got = server.await.unwrap();
    assert!(got.ends_with(r#"{"a":"b","c":"d"}"#), "{got}");
}

#[tokio::test]
async fn oversized_answers_are_refused() {
    let big = "x".repeat(2000);
    let t = ReqwestTransport::builder()
        .max_response_bytes(1000)
        .build()
        .unwrap();
    // With a Content-Length.
    let (base, _s) = serve_once(http_answer("200 OK", &[], &big)).await;
    let e = t.send(get(&format!("{base}/big"))).await.unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::ResponseTooLarge);
    // Without one (body until close).
    let mut raw = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    raw.extend_from_slice(big.as_bytes());
    let (base, _s) = serve_once(raw).await;
    let e = t.send(get(&format!("{base}/big"))).await.unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::ResponseTooLarge);
    // At the limit is fine.
    let (base, _s) = serve_once(http_answer("200 OK", &[], &"y".repeat(1000))).await;
    assert_eq!(
        t.send(get(&format!("{base}/ok")))
            .await
            .unwrap()
            .body()
            .len(),
        1000
    );
}

fn get(url: &str) -> http::Request<Vec<u8>> {
    http::Request::builder().uri(url).body(Vec::new()).unwrap()
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let e = ReqwestTransport::new()
        .unwrap()
        .send(get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::Connect, "{e}");
    assert!(!e.may_have_reached_server());
}

#[tokio::test]
async fn connection_dropped_after_the_request_may_have_reached_the_server() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let _h = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let _ = read_request(&mut s).await;
        drop(s);
    });
    let e = ReqwestTransport::new()
        .unwrap()
        .send(get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::Io, "{e}");
    assert!(e.may_have_reached_server());
}

#[test]
fn client_and_its_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}
    let cfg = Config::new(
        Endpoint::default(),
        Auth::AccessToken {
            access_token: "t".into(),
        },
    );
    let client = Client::new(cfg).unwrap();
    send_sync(&client);
    send(client.list_credentials(common::okms()));
    send(client.create_credential(
        common::okms(),
        &okms_api::CredentialRequest::new("n", vec![]),
    ));
    send(client.wait_until_ready(
        common::okms(),
        common::cred_id(),
        &okms_api::WaitPolicy::default(),
    ));
    let dyn_transport: Box<dyn Transport> = Box::new(ReqwestTransport::new().unwrap());
    let _ = Client::with_transport(
        Config::new(
            Endpoint::default(),
            Auth::AccessToken {
                access_token: "t".into(),
            },
        ),
        dyn_transport,
        TokioClock,
    );
}

#[tokio::test]
async fn silent_server_times_out() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let _h = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let _ = read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let t = ReqwestTransport::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let e = t.send(get(&format!("http://{addr}/"))).await.unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::Timeout, "{e}");
    assert!(e.may_have_reached_server());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (base, _s) = serve_once(http_answer(
        "302 Found",
        &["Location: http://127.0.0.1:1/elsewhere"],
        "",
    ))
    .await;
    let resp = ReqwestTransport::new()
        .unwrap()
        .send(get(&format!("{base}/")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
}

// ---- mutual TLS ----

/// What the skip message names when openssl, which issues the test certificates, is missing.
const OPENSSL_FOR: &str = "the mutual-TLS tests (openssl issues their certificates)";

/// The test CA `ca` (made once per directory) and a leaf it issues: `{leaf}.key` (SEC1 key as
/// OVHcloud returns) and `{leaf}.pem`, with the openssl extension lines `ext`.
fn make_pki(openssl: Openssl, dir: &Path, ca: &str, leaf: &str, ext: &str) {
    openssl.test_ca(dir, ca);
    openssl.ec_key_and_csr(dir, leaf);
    openssl.issue(dir, ca, leaf, ext);
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap()
}

async fn mtls_server(dir: &Path, okms_id: &str) -> (String, tokio::task::JoinHandle<()>) {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(okms_api::tls::ring_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(read(dir, "ca.pem").as_bytes()).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain = vec![CertificateDer::from_pem_slice(read(dir, "server.pem").as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(read(dir, "server.key").as_bytes()).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://localhost:{}", l.local_addr().unwrap().port());
    let expected_path = format!("GET /api/{okms_id}/v1/servicekey?max=10 HTTP/1.1");
    let h = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let expected_path = expected_path.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let req = read_request(&mut tls).await;
                let answer = if req.starts_with(&expected_path) {
                    http_answer(
                        "200 OK",
                        &["Content-Type: application/json"],
                        r#"{"objects_list":[],"is_truncated":false}"#,
                    )
                } else {
                    http_answer(
                        "404 Not Found",
                        &[],
                        r#"{"error_id":"x","error_code":20480,"errors":["no route"],"request_id":"r"}"#,
                    )
                };
                write_all(&mut tls, &answer).await;
            });
        }
    });
    (url, h)
}

async fn write_all<S: AsyncWrite + Unpin>(s: &mut S, b: &[u8]) {
    s.write_all(b).await.ok();
    s.shutdown().await.ok();
}

#[tokio::test]
async fn mutual_tls_check() {
    let Some(openssl) = interop::openssl(OPENSSL_FOR) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_pki(
        openssl,
        d,
        "ca",
        "server",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    );
    make_pki(
        openssl,
        d,
        "ca",
        "client",
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
    );
    make_pki(
        openssl,
        d,
        "otherca",
        "stranger",
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
    );
    assert!(read(d, "client.key").contains("BEGIN EC PRIVATE KEY"));
    let okms_id = common::OKMS;
    let (url, _server) = mtls_server(d, okms_id).await;

    let check = MtlsCheck {
        kms_url: format!("{url}/"),
        okms_id: common::okms(),
        cert_pem: read(d, "client.pem"),
        key: read(d, "client.key").into(),
        ca_pem: Some(read(d, "ca.pem")),
    };
    let r = check_mtls(&check).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(r.is_success(), "{r:?}");
    assert!(matches!(r.outcome, DataPlaneOutcome::ServiceKeys(_)));

    // The server's CA is not trusted without the extra CA.
    let e = check_mtls(&MtlsCheck {
        ca_pem: None,
        ..check.clone()
    })
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e}");

    // A certificate from another CA is refused by the server.
    let e = check_mtls(&MtlsCheck {
        cert_pem: read(d, "stranger.pem"),
        key: read(d, "stranger.key").into(),
        ..check.clone()
    })
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e}");

    // Bad inputs are reported as such, before any connection.
    let e = check_mtls(&MtlsCheck {
        cert_pem: "nope".into(),
        ..check.clone()
    })
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    let e = check_mtls(&MtlsCheck {
        key: "nope".into(),
        ..check.clone()
    })
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    let e = check_mtls(&MtlsCheck {
        kms_url: "http://127.0.0.1:1".into(),
        ..check.clone()
    })
    .await
    .unwrap_err();
    assert!(matches!(e, Error::InvalidUrl { .. }), "{e}");
    // Debug never shows the key.
    assert!(!format!("{check:?}").contains("BEGIN EC PRIVATE KEY"));

    // A key held elsewhere, as a rustls SigningKey (here ring's; okms-pkcs11's for a token).
    use rustls_pki_types::pem::PemObject;
    let signer = |file: &str| -> ClientKey {
        let der =
            rustls_pki_types::PrivateKeyDer::from_pem_slice(read(d, file).as_bytes()).unwrap();
        ClientKey::Signer(rustls::crypto::ring::sign::any_supported_type(&der).unwrap())
    };
    let with_signer = MtlsCheck {
        key: signer("client.key"),
        ..check.clone()
    };
    let r = check_mtls(&with_signer).await.unwrap();
    assert!(r.is_success(), "{r:?}");
    // A signer whose public key is not the certificate's is refused before connecting.
    let e = check_mtls(&MtlsCheck {
        key: signer("stranger.key"),
        ..check.clone()
    })
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    assert!(e.to_string().contains("public key"), "{e}");
}

/// An RSA key that signs only PKCS#1 v1.5, like a token without RSA-PSS.
#[derive(Debug)]
struct Pkcs1Only(Arc<dyn rustls::sign::SigningKey>);

impl rustls::sign::SigningKey for Pkcs1Only {
    fn choose_scheme(
        &self,
        offered: &[rustls::SignatureScheme],
    ) -> Option<Box<dyn rustls::sign::Signer>> {
        use rustls::SignatureScheme as S;
        let pkcs1: Vec<_> = offered
            .iter()
            .copied()
            .filter(|s| {
                matches!(
                    s,
                    S::RSA_PKCS1_SHA256 | S::RSA_PKCS1_SHA384 | S::RSA_PKCS1_SHA512
                )
            })
            .collect();
        self.0.choose_scheme(&pkcs1)
    }

    fn public_key(&self) -> Option<rustls_pki_types::SubjectPublicKeyInfoDer<'_>> {
        self.0.public_key()
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        self.0.algorithm()
    }
}

#[tokio::test]
async fn rsa_signer_without_pss_gets_a_tls12_connection() {
    use rustls_pki_types::pem::PemObject;
    let Some(openssl) = interop::openssl(OPENSSL_FOR) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_pki(
        openssl,
        d,
        "ca",
        "server",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    );
    // An RSA client certificate from the same CA.
    openssl.ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.key",
        ],
    );
    openssl.ok(
        d,
        &[
            "req", "-new", "-key", "rsa.key", "-subj", "/CN=rsa", "-out", "rsa.csr",
        ],
    );
    openssl.issue(
        d,
        "ca",
        "rsa",
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
    );
    let (url, _server) = mtls_server(d, common::OKMS).await;
    let der =
        rustls_pki_types::PrivateKeyDer::from_pem_slice(read(d, "rsa.key").as_bytes()).unwrap();
    let ring_key = rustls::crypto::ring::sign::any_supported_type(&der).unwrap();
    let check = MtlsCheck {
        kms_url: url,
        okms_id: common::okms(),
        cert_pem: read(d, "rsa.pem"),
        key: ClientKey::Signer(ring_key.clone()),
        ca_pem: Some(read(d, "ca.pem")),
    };
    // With PSS, TLS 1.3 as usual.
    assert!(check_mtls(&check).await.unwrap().is_success());
    // Without PSS there is no TLS 1.3 scheme for an RSA client certificate: the server,
    // which speaks TLS 1.3, would get no certificate. okms-api offers TLS 1.2 only then.
    let r = check_mtls(&MtlsCheck {
        key: ClientKey::Signer(Arc::new(Pkcs1Only(ring_key))),
        ..check.clone()
    })
    .await
    .unwrap();
    assert!(r.is_success(), "{r:?}");
}
