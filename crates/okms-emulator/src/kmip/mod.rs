//! The emulated domain's KMIP endpoint: TTLV over mutual TLS on its own loopback port, as
//! OKMS's `kmipEndpoint`. Only a READY access credential's certificate gets through the
//! handshake (see `tls`); its domain selects the keys it sees. Messages are read one at a
//! time, bounded by [`okms_kmip::MAX_MESSAGE_LEN`]; bytes that are not a KMIP request get an
//! Invalid Message answer and the connection is closed, as a KMIP server does.

mod operations;
mod tls;

use std::{sync::Arc, time::Duration};

use okms_kmip::{HEADER_LEN, Outcome, Request, Response, ResponseItem, ResultReason};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::{Mutex, watch},
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};

use crate::{error::Result, state::Shared};
use operations::KeyStore;

/// How long a connection may stay silent between two requests.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Accepts KMIP connections until `shutdown` flips.
pub(crate) fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) -> Result<impl Future<Output = ()> + Send + 'static> {
    let acceptor = TlsAcceptor::from(Arc::new(tls::server_config(shared.clone())?));
    let store = Arc::new(Mutex::new(KeyStore::default()));
    Ok(crate::server::accept_until_shutdown(
        listener,
        shutdown,
        move |stream, _| {
            let acceptor = acceptor.clone();
            let shared = shared.clone();
            let store = store.clone();
            async move {
                let handshake =
                    tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
                // A refused certificate ends here, with the alert rustls sent.
                let Ok(Ok(tls)) = handshake else { return };
                serve_connection(tls, &shared, &store).await;
            }
        },
    ))
}

/// Reads one message: its header, then the rest of the length it announces.
async fn read_message(
    tls: &mut TlsStream<tokio::net::TcpStream>,
) -> Option<std::result::Result<Vec<u8>, okms_kmip::Error>> {
    let mut header = [0u8; HEADER_LEN];
    match tokio::time::timeout(IDLE_TIMEOUT, tls.read_exact(&mut header)).await {
        Ok(Ok(_)) => {}
        // The client closed, went silent, or sent less than a header: nothing to answer.
        _ => return None,
    }
    let total = match okms_kmip::message_len(&header) {
        Ok(total) => total,
        Err(e) => return Some(Err(e)),
    };
    let mut message = vec![0u8; total];
    message[..HEADER_LEN].copy_from_slice(&header);
    match tokio::time::timeout(IDLE_TIMEOUT, tls.read_exact(&mut message[HEADER_LEN..])).await {
        Ok(Ok(_)) => Some(Ok(message)),
        _ => None,
    }
}

fn invalid_message(reason: &okms_kmip::Error, now: i64) -> Response {
    Response {
        version: operations::VERSIONS[0],
        time_stamp: now,
        batch: vec![ResponseItem {
            operation: None,
            id: None,
            outcome: Outcome::Failure {
                reason: ResultReason::InvalidMessage,
                message: reason.to_string(),
            },
        }],
    }
}

async fn serve_connection(
    mut tls: TlsStream<tokio::net::TcpStream>,
    shared: &Shared,
    store: &Mutex<KeyStore>,
) {
    let Some(leaf) = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
    else {
        return;
    };
    while let Some(read) = read_message(&mut tls).await {
        let now = shared.now().unix_timestamp();
        let (response, keep_open) = match read.and_then(|bytes| Request::decode(&bytes)) {
            Err(e) => (invalid_message(&e, now), false),
            Ok(request) => (answer(shared, store, &leaf, request, now).await, true),
        };
        let Ok(bytes) = response.encode() else { return };
        if tls.write_all(&bytes).await.is_err() || tls.flush().await.is_err() || !keep_open {
            let _ = tls.shutdown().await;
            return;
        }
    }
}

async fn answer(
    shared: &Shared,
    store: &Mutex<KeyStore>,
    leaf: &[u8],
    request: Request,
    now: i64,
) -> Response {
    let version = if operations::VERSIONS.contains(&request.version) {
        request.version
    } else {
        operations::VERSIONS[0]
    };
    // The credential may have been revoked since the handshake: checked again per message.
    let domain = tls::live_domain(shared, leaf);
    let mut store = store.lock().await;
    let batch = request
        .batch
        .iter()
        .map(|item| ResponseItem {
            operation: Some(item.operation),
            id: item.id.clone(),
            outcome: match domain {
                Ok(domain) => store.answer(domain, item),
                Err(ref why) => Outcome::Failure {
                    reason: ResultReason::AuthenticationNotSuccessful,
                    message: format!("the client certificate is no longer accepted: {why:?}"),
                },
            },
        })
        .collect();
    Response {
        version,
        time_stamp: now,
        batch,
    }
}
