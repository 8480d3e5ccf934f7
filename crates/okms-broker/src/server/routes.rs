//! One request: the in-flight bound, routing, the client-certificate requirement of `/v1`,
//! reading and decoding the body within its size and time limits, the service's answer as
//! HTTP, and the request's metrics and audit line.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::{Body as _, Incoming};
use okms_api::broker::{
    ABANDON_PATH, BrokerRefusal, CONFIRM_PATH, HEALTH_PATH, MAX_REQUEST_BYTES, METRICS_PATH,
    RENEW_PATH, RefusalBody, RefusalCode, STATUS_PATH,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use super::metrics::ServerMetrics;
use crate::audit::{AuditLog, RequestLine, millis};
use crate::service::{AuditFacts, Handled, PeerCertificate, RenewKind, Service};

/// What every connection's requests share.
pub(crate) struct Shared<S> {
    pub(crate) service: Arc<S>,
    pub(crate) metrics: ServerMetrics,
    pub(crate) audit: AuditLog,
    pub(crate) in_flight: Semaphore,
    pub(crate) request_timeout: Duration,
}

/// Facts about the connection a request came on.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub(crate) peer_addr: SocketAddr,
    pub(crate) peer_certificate: Option<PeerCertificate>,
}

/// How long a saturated broker asks hosts to wait: short, since requests finish in seconds,
/// and hosts add jitter.
const SATURATED_RETRY_AFTER: Duration = Duration::from_secs(2);

/// An answer and what the audit line says about it.
struct Answer {
    response: Response<Body>,
    outcome: String,
    message: Option<String>,
    facts: AuditFacts,
}

impl Answer {
    fn refusal(refusal: BrokerRefusal, facts: AuditFacts) -> Answer {
        let status =
            StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = json_response(
            status,
            &RefusalBody {
                error: refusal.code,
                message: refusal.message.clone(),
            },
        );
        if let Some(wait) = refusal.retry_after {
            // Whole seconds, at least one: a zero would make hosts retry at once.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        Answer {
            response,
            outcome: code_name(refusal.code),
            message: Some(refusal.message),
            facts,
        }
    }

    fn refuse(status: u16, code: RefusalCode, message: impl Into<String>) -> Answer {
        Answer::refusal(refusal(status, code, message), AuditFacts::default())
    }

    fn ok<T: Serialize>(status: StatusCode, body: &T, outcome: &str, facts: AuditFacts) -> Self {
        Answer {
            response: json_response(status, body),
            outcome: outcome.to_string(),
            message: None,
            facts,
        }
    }

    fn text(body: String, content_type: &'static str) -> Answer {
        let mut response = Response::new(Body::from(body));
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        Answer {
            response,
            outcome: "ok".to_string(),
            message: None,
            facts: AuditFacts::default(),
        }
    }
}

fn refusal(status: u16, code: RefusalCode, message: impl Into<String>) -> BrokerRefusal {
    BrokerRefusal {
        status,
        code,
        message: message.into(),
        retry_after: None,
    }
}

/// The code as the protocol spells it (`bad_request`, ...).
fn code_name(code: RefusalCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".to_string(),
    }
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let (status, bytes) = match serde_json::to_vec(body) {
        Ok(bytes) => (status, bytes),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"error":"internal","message":"the answer could not be encoded"}"#.to_vec(),
        ),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The route's label in metrics and audit lines: a fixed set, whatever path was asked for.
fn route_label(path: &str) -> &'static str {
    [
        RENEW_PATH,
        CONFIRM_PATH,
        ABANDON_PATH,
        STATUS_PATH,
        HEALTH_PATH,
        METRICS_PATH,
    ]
    .into_iter()
    .find(|r| *r == path)
    .unwrap_or("other")
}

/// Answers one request (never an error: every failure is an HTTP answer).
pub(crate) async fn handle<S: Service>(
    shared: Arc<Shared<S>>,
    conn: Conn,
    request: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    let route = route_label(request.uri().path());
    let answer = match shared.in_flight.try_acquire() {
        Ok(_permit) => {
            shared.metrics.started();
            let answer = dispatch(&shared, &conn, route, request).await;
            let took = started.elapsed();
            let own = took
                .saturating_sub(answer.facts.api_time)
                .saturating_sub(answer.facts.api_wait);
            shared
                .metrics
                .finished(route, answer.response.status().as_u16(), took, own);
            answer
        }
        Err(_) => {
            shared.metrics.saturated();
            let mut busy = refusal(
                503,
                RefusalCode::Unavailable,
                "the broker is handling as many requests as it may: retry after Retry-After",
            );
            busy.retry_after = Some(SATURATED_RETRY_AFTER);
            shared.metrics.answered(route, 503, started.elapsed());
            Answer::refusal(busy, AuditFacts::default())
        }
    };
    let status = answer.response.status().as_u16();
    shared.audit.request(&RequestLine {
        time: OffsetDateTime::now_utc(),
        peer: conn.peer_addr.to_string(),
        method: method.as_str(),
        route,
        status,
        outcome: &answer.outcome,
        message: answer.message.as_deref(),
        client_certificate: conn.peer_certificate.is_some(),
        facts: (&answer.facts).into(),
        duration_ms: millis(started.elapsed()),
    });
    Ok(answer.response)
}

async fn dispatch<S: Service>(
    shared: &Shared<S>,
    conn: &Conn,
    route: &'static str,
    request: Request<Incoming>,
) -> Answer {
    let method = request.method().clone();
    let expected = match route {
        RENEW_PATH | CONFIRM_PATH | ABANDON_PATH => Method::POST,
        "other" => {
            return Answer::refuse(
                404,
                RefusalCode::NotFound,
                format!(
                    "no route {} {}: the broker serves {RENEW_PATH}, {CONFIRM_PATH}, \
                     {ABANDON_PATH}, {STATUS_PATH}, {HEALTH_PATH} and {METRICS_PATH}",
                    method,
                    request.uri().path()
                ),
            );
        }
        _ => Method::GET,
    };
    if method != expected {
        let mut answer = Answer::refuse(
            405,
            RefusalCode::NotFound,
            format!("{route} takes {expected}, not {method}"),
        );
        if let Ok(allow) = HeaderValue::from_str(expected.as_str()) {
            answer.response.headers_mut().insert(header::ALLOW, allow);
        }
        return answer;
    }
    match route {
        HEALTH_PATH => return Answer::text("ok\n".to_string(), "text/plain; charset=utf-8"),
        METRICS_PATH => {
            let mut out = String::new();
            shared.metrics.write(&mut out);
            shared.service.write_metrics(&mut out);
            return Answer::text(out, "text/plain; version=0.0.4; charset=utf-8");
        }
        _ => {}
    }
    let Some(peer) = conn.peer_certificate.clone() else {
        return Answer::refuse(
            403,
            RefusalCode::Forbidden,
            "no client certificate: call the /v1 routes with the access certificate to renew",
        );
    };
    let service = &shared.service;
    let timeout = shared.request_timeout;
    match route {
        RENEW_PATH => match read_json(request, timeout, "renew").await {
            Ok(body) => closing_when_done(renew_answer(service.renew(peer, body).await)),
            Err(refused) => refused,
        },
        CONFIRM_PATH => match read_json(request, timeout, "confirm").await {
            Ok(body) => closing_when_done(ok_answer(service.confirm(peer, body).await)),
            Err(refused) => refused,
        },
        ABANDON_PATH => match read_json(request, timeout, "abandon").await {
            Ok(body) => ok_answer(service.abandon(peer, body).await),
            Err(refused) => refused,
        },
        _ => ok_answer(service.status(peer).await),
    }
}

/// A renew or confirm answered with success ends what its connection's certificate is for:
/// the host confirms with the new certificate (a new connection), and after a confirm it is
/// done. Closing at once frees the connection's TLS and HTTP buffers instead of holding them
/// idle until the host drops it: with a thousand hosts renewing at once, that is half the
/// connections open at the peak.
fn closing_when_done(mut answer: Answer) -> Answer {
    if answer.response.status().is_success() {
        answer
            .response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    answer
}

fn renew_answer(handled: Handled<(okms_api::broker::RenewAnswer, RenewKind)>) -> Answer {
    match handled.result {
        Ok((answer, RenewKind::Created)) => {
            Answer::ok(StatusCode::CREATED, &answer, "created", handled.audit)
        }
        Ok((answer, RenewKind::Repeated)) => {
            Answer::ok(StatusCode::OK, &answer, "repeated", handled.audit)
        }
        Err(refused) => Answer::refusal(refused, handled.audit),
    }
}

fn ok_answer<T: Serialize>(handled: Handled<T>) -> Answer {
    match handled.result {
        Ok(answer) => Answer::ok(StatusCode::OK, &answer, "ok", handled.audit),
        Err(refused) => Answer::refusal(refused, handled.audit),
    }
}

/// Reads the body (at most [`MAX_REQUEST_BYTES`], within `timeout`) and decodes it as the
/// route's request type, whose unknown fields are refused.
async fn read_json<T: DeserializeOwned>(
    request: Request<Incoming>,
    timeout: Duration,
    what: &str,
) -> Result<T, Answer> {
    let too_large = || {
        Answer::refuse(
            413,
            RefusalCode::TooLarge,
            format!("the body is over {MAX_REQUEST_BYTES} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = match tokio::time::timeout(timeout, read_body(request.into_body())).await {
        Err(_) => {
            let mut answer = Answer::refuse(
                408,
                RefusalCode::Timeout,
                format!("the body did not arrive within {} s", timeout.as_secs_f64()),
            );
            answer
                .response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Err(answer);
        }
        Ok(Err(BodyError::TooLarge)) => return Err(too_large()),
        Ok(Err(BodyError::Broken)) => {
            return Err(Answer::refuse(
                400,
                RefusalCode::BadRequest,
                "the body could not be read",
            ));
        }
        Ok(Ok(bytes)) => bytes,
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        Answer::refuse(
            400,
            RefusalCode::BadRequest,
            format!("the body is not a {what} request: {e}"),
        )
    })
}

enum BodyError {
    TooLarge,
    Broken,
}

async fn read_body(body: Incoming) -> Result<Vec<u8>, BodyError> {
    let mut body = pin!(body);
    let mut bytes = Vec::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > MAX_REQUEST_BYTES {
                return Err(BodyError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}
