//! BrokerIssuer's calls against a scripted broker (no network, a clock that does not wait):
//! 429 and 503 are waited out for their Retry-After (capped, plus jitter), a lost answer is
//! sent again, and a refusal that waiting cannot fix, or one past the bound, is returned.
//! The whole renewal through a real broker is okms-cli's tests/renew_broker.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use okms_api::broker::{BrokerUrl, RefusalCode};
use okms_api::kms::PropagationWait;
use okms_api::{
    BoxFuture, ClientIdentity, Clock, MtlsConnector, Transport, TransportError, TransportErrorKind,
    Uuid,
};
use okms_lifecycle::{BrokerIssuer, BrokerRequest, BrokerRetry, Error, Progress};

/// One scripted outcome of a request.
enum Reply {
    Answer(u16, Option<u64>, &'static str),
    Lost(TransportErrorKind),
}

/// A request as the broker saw it: its path, the certificate presented, its body.
type Seen = (String, String, Vec<u8>);

/// A broker that answers from a script and records what it was sent, and by whom.
#[derive(Clone, Default)]
struct Scripted {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    sent: Arc<Mutex<Vec<Seen>>>,
    presented: Arc<Mutex<Option<String>>>,
}

impl Transport for Scripted {
    fn send(
        &self,
        request: okms_api::http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<okms_api::http::Response<Vec<u8>>, TransportError>> {
        let who = self.presented.lock().unwrap().clone().unwrap_or_default();
        self.sent.lock().unwrap().push((
            request.uri().path().to_owned(),
            who,
            request.body().clone(),
        ));
        let reply = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .expect("a scripted reply");
        Box::pin(async move {
            match reply {
                Reply::Lost(kind) => Err(TransportError::new(kind, "scripted")),
                Reply::Answer(status, retry_after, body) => {
                    let mut b = okms_api::http::Response::builder().status(status);
                    if let Some(s) = retry_after {
                        b = b.header("retry-after", s.to_string());
                    }
                    Ok(b.body(body.as_bytes().to_vec()).unwrap())
                }
            }
        })
    }
}

impl MtlsConnector for Scripted {
    type Transport = Scripted;

    fn connect(
        &self,
        identity: ClientIdentity,
        _extra_ca_pem: Option<&str>,
    ) -> Result<Scripted, okms_api::Error> {
        *self.presented.lock().unwrap() = Some(identity.cert_pem);
        Ok(self.clone())
    }
}

/// A clock whose sleeps return at once and are recorded.
#[derive(Default)]
struct Waits(Mutex<Vec<Duration>>);

impl Clock for Waits {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        self.0.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

const STATUS_OK: &str = r#"{"credentialId":"00000000-0000-0000-0000-000000000001","okmsId":"00000000-0000-0000-0000-000000000002","name":"web-1","notAfter":"2027-01-01T00:00:00Z","renewAfter":"2026-11-01T00:00:00Z","due":false}"#;

fn request(retry: BrokerRetry) -> BrokerRequest {
    BrokerRequest {
        broker: BrokerUrl::parse("https://broker.example:8443").unwrap(),
        broker_ca_pem: None,
        okms_id: Uuid::from_u128(2),
        old_id: Uuid::from_u128(1),
        old_cert_pem: "OLD CERT".to_owned(),
        old_key: "OLD KEY".into(),
        endpoint: None,
        extra_ca_pem: None,
        proof_wait: PropagationWait::with_bound(Duration::ZERO),
        retry,
    }
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn busy_and_rate_limited_answers_are_waited_out_then_answered() {
    let broker = Scripted::default();
    broker.replies.lock().unwrap().extend([
        Reply::Answer(503, Some(7), r#"{"error":"unavailable","message":"busy"}"#),
        // A Retry-After beyond the cap waits the cap.
        Reply::Answer(
            429,
            Some(3600),
            r#"{"error":"rate_limited","message":"slow down"}"#,
        ),
        Reply::Lost(TransportErrorKind::Io),
        Reply::Answer(200, None, STATUS_OK),
    ]);
    let clock = Waits::default();
    let retry = BrokerRetry {
        max_wait: Duration::from_secs(60),
        budget: Duration::from_secs(600),
        max_attempts: 8,
        seed: 42,
    };
    let issuer = BrokerIssuer::new(&broker, &clock, request(retry));
    let told = Mutex::new(Vec::new());
    let on_progress = |p: &Progress| told.lock().unwrap().push(p.clone());
    let status = run(issuer.status(&on_progress)).unwrap();
    assert_eq!(status.name, "web-1");

    let waits = clock.0.lock().unwrap().clone();
    assert_eq!(waits.len(), 3, "{waits:?}");
    // Retry-After plus at most a quarter of it as jitter; the cap, plus its jitter.
    assert!(waits[0] >= Duration::from_secs(7) && waits[0] <= Duration::from_millis(8750));
    assert!(waits[1] >= Duration::from_secs(60) && waits[1] <= Duration::from_secs(75));
    assert!(waits[2] >= Duration::from_secs(1), "{waits:?}");
    assert_eq!(told.lock().unwrap().len(), 3);
    // Every attempt presented the old certificate, to the status route.
    let sent = broker.sent.lock().unwrap();
    assert_eq!(sent.len(), 4);
    assert!(
        sent.iter()
            .all(|(path, who, _)| path == "/v1/status" && who == "OLD CERT")
    );
}

#[test]
fn a_refusal_waiting_cannot_fix_is_returned_at_once() {
    let broker = Scripted::default();
    broker.replies.lock().unwrap().push_back(Reply::Answer(
        403,
        None,
        r#"{"error":"forbidden","message":"not a READY credential this broker renews"}"#,
    ));
    let clock = Waits::default();
    let issuer = BrokerIssuer::new(&broker, &clock, request(BrokerRetry::default()));
    let err = run(issuer.abandon_successor(Uuid::from_u128(3), &|_| {})).unwrap_err();
    let Error::Api {
        source: okms_api::Error::Broker(refusal),
        ..
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(refusal.code, RefusalCode::Forbidden);
    assert!(clock.0.lock().unwrap().is_empty());
    // The abandon names the successor, presenting the old certificate.
    let sent = broker.sent.lock().unwrap();
    assert_eq!(sent[0].0, "/v1/abandon");
    assert_eq!(
        String::from_utf8_lossy(&sent[0].2),
        r#"{"credentialId":"00000000-0000-0000-0000-000000000003"}"#
    );
}

#[test]
fn waiting_stops_at_the_bound_with_the_last_refusal() {
    let broker = Scripted::default();
    for _ in 0..4 {
        broker.replies.lock().unwrap().push_back(Reply::Answer(
            503,
            Some(30),
            r#"{"error":"unavailable","message":"busy"}"#,
        ));
    }
    let clock = Waits::default();
    let retry = BrokerRetry {
        max_wait: Duration::from_secs(300),
        budget: Duration::from_secs(80),
        max_attempts: 8,
        seed: 7,
    };
    let issuer = BrokerIssuer::new(&broker, &clock, request(retry));
    let confirm = ClientIdentity {
        cert_pem: "NEW CERT".to_owned(),
        key: "NEW KEY".into(),
    };
    let err = run(issuer.confirm_deployed(confirm, Some(Uuid::from_u128(1)), &|_| {})).unwrap_err();
    assert!(
        matches!(&err, Error::Api { source: okms_api::Error::Broker(r), .. } if r.code == RefusalCode::Unavailable),
        "{err:?}"
    );
    // 30 s (+ jitter) twice fits in 80 s; a third would not.
    assert_eq!(clock.0.lock().unwrap().len(), 2);
    let sent = broker.sent.lock().unwrap();
    assert_eq!(sent.len(), 3);
    // The confirm presents the new certificate.
    assert!(
        sent.iter()
            .all(|(path, who, _)| path == "/v1/confirm" && who == "NEW CERT")
    );
}

#[test]
fn an_untrusted_broker_is_not_asked_again() {
    let broker = Scripted::default();
    broker
        .replies
        .lock()
        .unwrap()
        .push_back(Reply::Lost(TransportErrorKind::UntrustedServer));
    let clock = Waits::default();
    let issuer = BrokerIssuer::new(&broker, &clock, request(BrokerRetry::default()));
    let err = run(issuer.status(&|_| {})).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Api {
                source: okms_api::Error::Transport { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(broker.sent.lock().unwrap().len(), 1);
}
