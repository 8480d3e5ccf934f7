//! The API calls a request really made, with every answer's `X-Ovh-QueryID` (successes too,
//! which okms-api's errors alone cannot give): the transport wrapper [`Audited`] notes each
//! exchange in the tally of the request whose task sends it (a task-local the engine sets
//! around each request). Without the wrapper the engine counts its own API-using steps, and
//! keeps the query ids of failures only.

use std::sync::{Arc, Mutex, PoisonError};

use okms_api::sans_io::QUERY_ID;
use okms_api::{BoxFuture, Transport, TransportError};

use crate::service::AuditFacts;

tokio::task_local! {
    static TALLY: Arc<Tally>;
}

/// One request's exchanges.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    seen: Mutex<(u32, Vec<String>)>,
}

impl Tally {
    fn note(&self, query_id: Option<String>) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.0 = seen.0.saturating_add(1);
        seen.1.extend(query_id);
    }

    /// Runs `request` with this tally in force, then puts what it saw into `audit` (when the
    /// transport is [`Audited`]; else `audit` keeps the engine's own counts).
    pub async fn around<R>(
        request: impl Future<Output = R>,
        audit: impl FnOnce(&mut R) -> &mut AuditFacts,
    ) -> R {
        let tally = Arc::new(Tally::default());
        let mut out = TALLY.scope(tally.clone(), request).await;
        let (calls, query_ids) =
            std::mem::take(&mut *tally.seen.lock().unwrap_or_else(PoisonError::into_inner));
        if calls > 0 {
            let facts = audit(&mut out);
            facts.api_calls = calls;
            facts.api_query_ids = query_ids;
        }
        out
    }
}

/// A transport that tells the engine about every exchange (count and `X-Ovh-QueryID`), so
/// that audit lines carry the API's query ids of successful calls too. Wrap the API client's
/// transport in it: `Client::with_transport(config, Audited(transport), clock)`.
#[derive(Debug, Clone)]
pub struct Audited<T>(pub T);

impl<T: Transport> Transport for Audited<T> {
    fn send(
        &self,
        request: okms_api::http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<okms_api::http::Response<Vec<u8>>, TransportError>> {
        Box::pin(async move {
            let answer = self.0.send(request).await;
            let query_id = answer.as_ref().ok().and_then(|r| {
                r.headers()
                    .get(QUERY_ID)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            });
            // Outside a request (start, reload, reconcile) there is no tally: nothing to note.
            let _ = TALLY.try_with(|tally| tally.note(query_id));
            answer
        })
    }
}
