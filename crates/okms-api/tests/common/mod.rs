//! Fakes shared by the integration tests: an in-memory transport and a manual clock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use okms_api::{BoxFuture, Clock, Transport, TransportError, TransportErrorKind};

pub type Reply = Result<http::Response<Vec<u8>>, TransportError>;

/// Answers `/auth/time` with `server_time` (when set) and everything else from a script;
/// records every request it sees.
#[derive(Default)]
pub struct FakeTransport {
    pub server_time: Mutex<Option<i64>>,
    pub script: Mutex<VecDeque<Reply>>,
    pub requests: Mutex<Vec<http::Request<Vec<u8>>>>,
}

impl FakeTransport {
    pub fn new() -> Arc<Self> {
        Arc::new(FakeTransport::default())
    }

    pub fn with_time(t: i64) -> Arc<Self> {
        let f = FakeTransport::default();
        *f.server_time.lock().unwrap() = Some(t);
        Arc::new(f)
    }

    pub fn push(&self, r: Reply) {
        self.script.lock().unwrap().push_back(r);
    }

    pub fn push_json(&self, status: u16, body: &str) {
        self.push(Ok(json(status, body, &[])));
    }

    /// Requests other than `/auth/time`.
    pub fn api_requests(&self) -> Vec<http::Request<Vec<u8>>> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| !r.uri().path().ends_with("/auth/time"))
            .map(clone)
            .collect()
    }

    pub fn all_requests(&self) -> Vec<http::Request<Vec<u8>>> {
        self.requests.lock().unwrap().iter().map(clone).collect()
    }
}

pub fn clone(r: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut c = http::Request::new(r.body().clone());
    *c.method_mut() = r.method().clone();
    *c.uri_mut() = r.uri().clone();
    *c.headers_mut() = r.headers().clone();
    c
}

pub fn json(status: u16, body: &str, headers: &[(&str, &str)]) -> http::Response<Vec<u8>> {
    let mut b = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

pub fn transport_err(kind: TransportErrorKind) -> Reply {
    Err(TransportError::new(kind, "simulated"))
}

impl Transport for FakeTransport {
    fn send(&self, request: http::Request<Vec<u8>>) -> BoxFuture<'_, Reply> {
        let time = *self.server_time.lock().unwrap();
        let is_time = request.uri().path().ends_with("/auth/time");
        self.requests.lock().unwrap().push(request);
        let reply = match (is_time, time) {
            (true, Some(t)) => Ok(json(200, &t.to_string(), &[])),
            _ => self.script.lock().unwrap().pop_front().unwrap_or_else(|| {
                Err(TransportError::new(
                    TransportErrorKind::Other,
                    "script exhausted",
                ))
            }),
        };
        Box::pin(async move { reply })
    }
}

/// A clock that only moves when told to, or when something sleeps on it.
pub struct FakeClock {
    pub now: Mutex<SystemTime>,
    pub sleeps: Mutex<Vec<Duration>>,
}

impl FakeClock {
    pub fn at(unix: u64) -> Arc<Self> {
        Arc::new(FakeClock {
            now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(unix)),
            sleeps: Mutex::new(Vec::new()),
        })
    }

    pub fn advance(&self, d: Duration) {
        *self.now.lock().unwrap() += d;
    }

    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'_, ()> {
        self.sleeps.lock().unwrap().push(d);
        self.advance(d);
        Box::pin(async {})
    }
}

pub const AK: &str = "TDPKJdwZwAQPwKX2";
pub const AS: &str = "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk";
pub const CK: &str = "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY";
pub const OKMS: &str = "e90c5841-f39e-4983-8596-62ff0c538b6b";
pub const CRED: &str = "f18b5e0d-75b8-40a3-9b0e-71ffe5ff03cb";

pub fn okms() -> okms_api::Uuid {
    OKMS.parse().unwrap()
}

pub fn cred_id() -> okms_api::Uuid {
    CRED.parse().unwrap()
}

pub fn credential_json(status: &str, cert: Option<&str>) -> String {
    let cert = cert
        .map(|c| format!(",\"certificatePEM\":{}", serde_json::to_string(c).unwrap()))
        .unwrap_or_default();
    format!(
        r#"{{"id":"{CRED}","name":"John Smith","description":"My access credential","identityURNs":["urn:v1:eu:identity:user:xx1111-ovh/john.smith"],"status":"{status}","fromCSR":false,"certificateType":"ECDSA","createdAt":"2024-04-04T12:26:28.856619+02:00","expiredAt":"2025-04-04T12:26:28.856619+02:00"{cert}}}"#
    )
}

pub fn app_key_config(endpoint: &str) -> okms_api::Config {
    okms_api::Config::new(
        okms_api::Endpoint::parse(endpoint).unwrap(),
        okms_api::Auth::ApplicationKey {
            application_key: AK.into(),
            application_secret: AS.into(),
            consumer_key: CK.into(),
        },
    )
}
