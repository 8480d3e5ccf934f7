//! Connection handling below axum: accept loops, TLS, and the per-request fault hook. The
//! faults live here because two of them (dropping the connection before or after processing)
//! cannot be expressed as an HTTP response.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{HeaderValue, Request, Response, StatusCode, header},
};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls_pki_types::CertificateDer;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};
use tokio_rustls::TlsAcceptor;
use tower::Service;

use crate::{faults::Action, state::Shared};

/// Which side of the emulator a connection belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The OVHcloud API (plain HTTP).
    Api,
    /// The OKMS domain (HTTPS).
    Kms,
}

/// Facts about the connection a request arrived on, for the handlers.
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    pub side: Side,
    pub local_addr: SocketAddr,
    /// The client's certificate chain (leaf first), KMS side only.
    pub peer_certs: Option<Vec<CertificateDer<'static>>>,
}

/// The id of one request, used to tie what it created to a later lost answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestId(pub u64);

/// Returned to hyper to make it close the connection without writing a response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

fn fault_response(status: u16, retry_after: Option<u64>) -> Response<Body> {
    // 502 comes from a gateway in real life, so it gets a non-JSON body: clients must cope.
    let (content_type, body) = match status {
        429 => (
            "application/json",
            r#"{"class":"Client::TooManyRequests","message":"Too many requests, retry later"}"#,
        ),
        502 => (
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>\n",
        ),
        503 => (
            "application/json",
            r#"{"class":"Server::ServiceUnavailable","message":"Service temporarily unavailable"}"#,
        ),
        _ => (
            "application/json",
            r#"{"class":"Server::InternalServerError","message":"Internal server error"}"#,
        ),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

async fn handle(
    shared: Arc<Shared>,
    mut router: Router,
    info: ConnInfo,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, Dropped> {
    let decision = shared.decide_fault(req.method().as_str(), req.uri().path());
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let request_id = shared.next_request_id();
    let side = info.side;
    req.extensions_mut().insert(info);
    req.extensions_mut().insert(RequestId(request_id));
    let req = req.map(Body::new);
    let mut resp = match decision.action {
        Some(Action::DropBefore) => return Err(Dropped),
        Some(Action::DropAfter) => {
            let _lost: Result<_, Infallible> = router.call(req).await;
            shared.mark_answer_lost(request_id);
            return Err(Dropped);
        }
        Some(Action::Status(s)) => fault_response(s, None),
        Some(Action::TooManyRequests(secs)) => fault_response(429, Some(secs)),
        None => match router.call(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        },
    };
    if side == Side::Api {
        // Shaped like OVHcloud's (region.host.hex...), unique per request.
        let query_id = format!(
            "EU.emu-1.{:08x}.{request_id}.{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        if let Ok(v) = HeaderValue::from_str(&query_id) {
            resp.headers_mut().insert("x-ovh-queryid", v);
        }
    }
    Ok(resp)
}

async fn serve_connection<I>(io: I, shared: Arc<Shared>, router: Router, info: ConnInfo)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req| {
        handle(shared.clone(), router.clone(), info.clone(), req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    // Errors here are the client going away or an injected drop: nothing to report.
    let _ = builder.serve_connection(TokioIo::new(io), svc).await;
}

/// Accepts connections until `shutdown` flips, each served by `serve` in its own task (given
/// the stream and the listener's address); connections still open then are dropped.
pub(crate) async fn accept_until_shutdown<F, Fut>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    serve: F,
) where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(local_addr) = listener.local_addr() else {
        return;
    };
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                conns.spawn(serve(stream, local_addr));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

/// Accepts plain-HTTP connections until `shutdown` flips.
pub(crate) async fn serve_api(
    listener: TcpListener,
    shared: Arc<Shared>,
    router: Router,
    shutdown: watch::Receiver<bool>,
) {
    accept_until_shutdown(listener, shutdown, move |stream, local_addr| {
        let info = ConnInfo {
            side: Side::Api,
            local_addr,
            peer_certs: None,
        };
        serve_connection(stream, shared.clone(), router.clone(), info)
    })
    .await;
}

/// Accepts TLS connections until `shutdown` flips.
pub(crate) async fn serve_kms(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    router: Router,
    shutdown: watch::Receiver<bool>,
) {
    accept_until_shutdown(listener, shutdown, move |stream, local_addr| {
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        let router = router.clone();
        async move {
            let handshake =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
            // A failed handshake (no or untrusted client certificate when required, a client
            // that does not trust our CA) ends the connection, as in real life.
            let Ok(Ok(tls)) = handshake else { return };
            let peer_certs = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect());
            let info = ConnInfo {
                side: Side::Kms,
                local_addr,
                peer_certs,
            };
            serve_connection(tls, shared, router, info).await;
        }
    })
    .await;
}
