//! The broker's HTTPS side against a fake service: what a host without a certificate, with a
//! malformed, oversized or slow request, or with a saturated broker gets; metrics; audit
//! lines; SIGHUP's reload; graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fake::{Fake, client_identity, install_provider, start};
use okms_api::broker::{
    BrokerRefusal, CONFIRM_PATH, HEALTH_PATH, MAX_REQUEST_BYTES, METRICS_PATH, RENEW_PATH,
    RefusalCode, STATUS_PATH,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

const CSR: &str = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";

async fn body(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn health_and_metrics_need_no_certificate() {
    let broker = start(Fake::default(), |_| {}).await;
    let client = broker.client(None);
    let health = client.get(broker.at(HEALTH_PATH)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap().trim(), "ok");

    let authenticated = broker.authenticated();
    let resp = authenticated
        .post(broker.at(RENEW_PATH))
        .json(&json!({"csr": CSR}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);

    let metrics = client.get(broker.at(METRICS_PATH)).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    for needle in [
        "okms_broker_requests_total{route=\"/v1/renew\",status=\"201\"} 1",
        "okms_broker_requests_total{route=\"/healthz\",status=\"200\"} 1",
        "okms_broker_requests_in_flight 1",
        "okms_broker_requests_saturated_total 0",
        "okms_broker_request_duration_seconds_count{route=\"/v1/renew\"} 1",
        "fake_service_metric 1",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

#[tokio::test]
async fn every_v1_route_without_a_client_certificate_is_forbidden() {
    let broker = start(Fake::default(), |_| {}).await;
    let client = broker.client(None);
    for (method, route) in [
        (reqwest::Method::POST, RENEW_PATH),
        (reqwest::Method::POST, CONFIRM_PATH),
        (reqwest::Method::GET, STATUS_PATH),
    ] {
        let resp = client
            .request(method, broker.at(route))
            .json(&json!({"csr": CSR}))
            .send()
            .await
            .unwrap();
        let (status, v) = body(resp).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{route}: {v}");
        assert_eq!(v["error"], "forbidden", "{v}");
    }
    assert!(broker.fake.renews.lock().unwrap().is_empty());
}

#[tokio::test]
async fn renew_hands_the_service_the_presented_certificate() {
    let broker = start(Fake::default(), |_| {}).await;
    let identity = client_identity(&broker.client_ca);
    let resp = broker
        .client(Some(&identity))
        .post(broker.at(RENEW_PATH))
        .json(&json!({"csr": CSR}))
        .send()
        .await
        .unwrap();
    // The renewed certificate's connection has nothing left to do (the confirm comes with
    // the new one): it is closed rather than held idle.
    assert_eq!(
        resp.headers().get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
    let (status, v) = body(resp).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let answer: okms_api::broker::RenewAnswer = serde_json::from_value(v).unwrap();
    assert_eq!(answer.okms_id.to_string(), fake::OKMS_ID);
    let renews = broker.fake.renews.lock().unwrap();
    let presented = okms_csr::Certificate::from_pem(&identity.0).unwrap();
    assert_eq!(renews[0].0.0, presented.to_der());
    assert_eq!(renews[0].1, CSR);
}

#[tokio::test]
async fn a_field_the_route_does_not_take_is_refused_by_name() {
    let broker = start(Fake::default(), |_| {}).await;
    let client = broker.authenticated();
    for (route, body_json, field) in [
        (RENEW_PATH, json!({"csr": CSR, "name": "root"}), "name"),
        (RENEW_PATH, json!({"csr": CSR, "validity": 365}), "validity"),
        (
            RENEW_PATH,
            json!({"csr": CSR, "identityURNs": ["urn:x"]}),
            "identityURNs",
        ),
        (CONFIRM_PATH, json!({"revoke": "all"}), "revoke"),
    ] {
        let resp = client
            .post(broker.at(route))
            .json(&body_json)
            .send()
            .await
            .unwrap();
        let (status, v) = body(resp).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"], "bad_request", "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{v}"
        );
    }
    let resp = client
        .post(broker.at(RENEW_PATH))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(broker.fake.renews.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_body_over_the_limit_is_too_large() {
    let broker = start(Fake::default(), |_| {}).await;
    let client = broker.authenticated();
    let big = json!({ "csr": "A".repeat(17 * 1024) }).to_string();
    assert!(big.len() > MAX_REQUEST_BYTES);
    let resp = client
        .post(broker.at(RENEW_PATH))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    let (status, v) = body(resp).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["error"], "too_large");
    // Without Content-Length (chunked), the limit holds while reading.
    let identity = client_identity(&broker.client_ca);
    let mut conn = raw_tls(&broker, Some(&identity)).await;
    conn.write_all(
        b"POST /v1/renew HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .await
    .unwrap();
    for _ in 0..17 {
        let chunk = format!("400\r\n{}\r\n", "A".repeat(1024));
        if conn.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let answer = read_answer(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(broker.fake.renews.lock().unwrap().is_empty());
}

/// What the broker wrote before closing the connection (or within 5 s).
async fn read_answer(conn: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(n) = conn.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn unknown_routes_and_methods_are_refused() {
    let broker = start(Fake::default(), |_| {}).await;
    let client = broker.authenticated();
    let (status, v) = body(client.get(broker.at("/v2/renew")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "not_found");
    let (status, v) = body(client.get(broker.at(RENEW_PATH)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{v}");
    assert!(v["message"].as_str().unwrap().contains("POST"), "{v}");
}

#[tokio::test]
async fn a_refusal_carries_its_status_code_and_retry_after() {
    let fake = Fake::default();
    *fake.refusal.lock().unwrap() = Some(BrokerRefusal {
        status: 429,
        code: RefusalCode::RateLimited,
        message: "renewed 5 min ago".to_string(),
        retry_after: Some(Duration::from_millis(3300)),
    });
    let broker = start(fake, |_| {}).await;
    let resp = broker
        .authenticated()
        .post(broker.at(RENEW_PATH))
        .json(&json!({"csr": CSR}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "4");
    let (_, v) = body(resp).await;
    assert_eq!(
        v,
        json!({"error": "rate_limited", "message": "renewed 5 min ago"})
    );
}

#[tokio::test]
async fn a_saturated_broker_answers_503_with_retry_after() {
    let gate = Arc::new(Semaphore::new(0));
    let fake = Fake {
        gate: Some(gate.clone()),
        ..Fake::default()
    };
    let broker = start(fake, |o| o.max_in_flight = 2).await;
    let client = broker.authenticated();
    let mut held = Vec::new();
    for _ in 0..2 {
        let request = client
            .post(broker.at(RENEW_PATH))
            .json(&json!({"csr": CSR}));
        held.push(tokio::spawn(request.send()));
    }
    // Wait until both are inside the service.
    let deadline = Instant::now() + Duration::from_secs(10);
    while broker.fake.entered.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "requests never reached the service"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resp = client
        .post(broker.at(RENEW_PATH))
        .json(&json!({"csr": CSR}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    let (_, v) = body(resp).await;
    assert_eq!(v["error"], "unavailable");
    gate.add_permits(2);
    for h in held {
        assert_eq!(h.await.unwrap().unwrap().status(), StatusCode::CREATED);
    }
    let metrics = broker
        .client(None)
        .get(broker.at(METRICS_PATH))
        .send()
        .await;
    let text = metrics.unwrap().text().await.unwrap();
    assert!(
        !text.contains("okms_broker_requests_saturated_total 0"),
        "{text}"
    );
    assert!(
        text.contains("okms_broker_requests_total{route=\"/v1/renew\",status=\"503\"} 1"),
        "{text}"
    );
}

/// A TLS connection to the broker that the test drives byte by byte.
async fn raw_tls(
    broker: &fake::Running,
    identity: Option<&(String, String)>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    install_provider();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(
            broker.server_ca.cert_der().to_vec(),
        ))
        .unwrap();
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            use rustls_pki_types::pem::PemObject;
            let chain =
                vec![rustls_pki_types::CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
            let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(broker.addr).await.unwrap();
    connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_slow_client_blocks_nobody_and_is_cut_after_the_timeout() {
    let broker = start(Fake::default(), |o| {
        o.request_timeout = Duration::from_secs(1);
        o.max_in_flight = 1;
    })
    .await;
    // Half a request head, then silence.
    let mut slow = raw_tls(&broker, None).await;
    slow.write_all(b"POST /v1/renew HTTP/1.1\r\nHost: localhost\r\nContent-Le")
        .await
        .unwrap();
    slow.flush().await.unwrap();
    let started = Instant::now();
    let resp = broker
        .client(None)
        .get(broker.at(HEALTH_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(900));
    // The slow connection is closed once the timeout passes.
    let mut buf = Vec::new();
    let cut = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    assert!(cut.is_ok(), "the slow connection stayed open");
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn a_slow_body_is_cut_with_408_and_frees_its_slot() {
    let broker = start(Fake::default(), |o| {
        o.request_timeout = Duration::from_secs(1);
        o.max_in_flight = 1;
    })
    .await;
    let identity = client_identity(&broker.client_ca);
    // The head and half the body, then silence.
    let mut conn = raw_tls(&broker, Some(&identity)).await;
    conn.write_all(
        b"POST /v1/renew HTTP/1.1\r\nHost: localhost\r\nContent-Length: 200\r\n\r\n{\"csr\": \"-----BEGIN",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let answer = read_answer(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""error":"timeout""#), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    let resp = broker
        .client(Some(&identity))
        .post(broker.at(RENEW_PATH))
        .json(&json!({"csr": CSR}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn audit_lines_are_json_without_pem_and_only_the_owner_reads_them() {
    let broker = start(Fake::default(), |_| {}).await;
    let client = broker.authenticated();
    client
        .post(broker.at(RENEW_PATH))
        .json(&json!({"csr": CSR}))
        .send()
        .await
        .unwrap();
    client
        .post(broker.at(RENEW_PATH))
        .json(&json!({"csr": CSR, "name": "x"}))
        .send()
        .await
        .unwrap();
    broker
        .client(None)
        .get(broker.at(STATUS_PATH))
        .send()
        .await
        .unwrap();
    let text = std::fs::read_to_string(&broker.audit_file).unwrap();
    assert!(!text.contains("-----BEGIN"), "{text}");
    assert!(!text.contains("MIIB"), "{text}");
    let lines = broker.audit_lines();
    let requests: Vec<&Value> = lines.iter().filter(|l| l.get("route").is_some()).collect();
    assert_eq!(requests.len(), 3, "{text}");
    assert_eq!(requests[0]["status"], 201);
    assert_eq!(requests[0]["outcome"], "created");
    assert_eq!(requests[0]["apiCalls"], 3);
    assert_eq!(requests[0]["apiQueryIds"][0], "EU.fake.1");
    assert_eq!(requests[0]["okmsId"], fake::OKMS_ID);
    assert_eq!(requests[0]["clientCertificate"], true);
    assert_eq!(requests[1]["outcome"], "bad_request");
    assert_eq!(requests[2]["outcome"], "forbidden");
    assert_eq!(requests[2]["clientCertificate"], false);
    assert!(requests[2]["durationMs"].as_f64().is_some());
    // The request's time in API calls and waiting for the API, apart from the broker's own.
    assert!(requests[0]["apiMs"].as_f64().is_some(), "{text}");
    assert!(requests[0]["apiWaitMs"].as_f64().is_some(), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&broker.audit_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn reconcile_runs_at_start_and_periodically() {
    let broker = start(Fake::default(), |o| {
        o.reconcile_every = Some(Duration::from_millis(100));
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while broker.fake.reconciles.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "reconcile did not repeat");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        broker
            .audit_lines()
            .iter()
            .any(|l| l["event"] == "reconcile")
    );
}

#[tokio::test]
async fn reload_keeps_the_old_policy_when_the_new_one_is_bad_and_trusts_new_cas() {
    let broker = start(Fake::default(), |_| {}).await;
    // A bad policy: refused, logged, the service not told.
    std::fs::write(&broker.policy_file, "version: 1\ndomains: []\n").unwrap();
    broker.handle.reload();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !broker
        .audit_lines()
        .iter()
        .any(|l| l["event"] == "reload-refused")
    {
        assert!(Instant::now() < deadline, "no reload-refused line");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(broker.fake.reloads.load(Ordering::SeqCst), 0);
    let line = broker
        .audit_lines()
        .into_iter()
        .find(|l| l["event"] == "reload-refused")
        .unwrap();
    assert!(line["error"].as_str().unwrap().contains("line 2"), "{line}");

    // A good one whose domain has another CA: new connections trust it.
    let other_ca = okms_emulator::Ca::generate().unwrap();
    *broker.fake.cas_after_reload.lock().unwrap() = Some(vec![other_ca.cert_pem().to_string()]);
    let newcomer = client_identity(&other_ca);
    let before = broker
        .client(Some(&newcomer))
        .get(broker.at(STATUS_PATH))
        .send()
        .await;
    assert!(
        before.is_err() || before.unwrap().status() == StatusCode::FORBIDDEN,
        "a certificate of an unknown CA was served"
    );
    std::fs::write(&broker.policy_file, fake::policy_yaml()).unwrap();
    broker.handle.reload();
    while broker.fake.reloads.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "no reload");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = broker
        .client(Some(&newcomer))
        .get(broker.at(STATUS_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_finishes_the_requests_in_flight() {
    let gate = Arc::new(Semaphore::new(0));
    let fake = Fake {
        gate: Some(gate.clone()),
        ..Fake::default()
    };
    let broker = start(fake, |_| {}).await;
    let request = broker
        .authenticated()
        .post(broker.at(RENEW_PATH))
        .json(&json!({"csr": CSR}))
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.handle.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    gate.add_permits(1);
    let resp = in_flight.await.unwrap().unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    tokio::time::timeout(Duration::from_secs(5), broker.task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(broker.addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn connections_past_the_bound_are_closed_at_once() {
    let broker = start(Fake::default(), |o| o.max_connections = 2).await;
    let _first = raw_tls(&broker, None).await;
    let _second = raw_tls(&broker, None).await;
    // The third is accepted and closed before any handshake.
    let mut third = tokio::net::TcpStream::connect(broker.addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    drop((_first, _second));
    // Room again once they close.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let health = broker.client(None).get(broker.at(HEALTH_PATH)).send().await;
        if let Ok(r) = health {
            assert_eq!(r.status(), StatusCode::OK);
            let metrics = broker
                .client(None)
                .get(broker.at(METRICS_PATH))
                .send()
                .await;
            let text = metrics.unwrap().text().await.unwrap();
            assert!(
                !text.contains("okms_broker_connections_refused_total 0"),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the bound never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_timeout() {
    let broker = start(Fake::default(), |o| {
        o.request_timeout = Duration::from_secs(1);
    })
    .await;
    // After the handshake, silence: it must not hold its connection slot for ever.
    let mut idle = raw_tls(&broker, None).await;
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "an idle connection stayed open");
    // And a raw TCP connection that never starts the handshake.
    let mut raw = tokio::net::TcpStream::connect(broker.addr).await.unwrap();
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut byte)).await;
    assert!(
        closed.is_ok(),
        "a connection without a handshake stayed open"
    );
    // And a kept-alive one after its request was answered.
    let mut kept = raw_tls(&broker, None).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 64];
    let n = kept.read(&mut first).await.unwrap();
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    let started = Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), kept.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "an idle kept-alive connection stayed open");
    assert!(started.elapsed() >= Duration::from_millis(500));
}
