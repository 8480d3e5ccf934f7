//! The audit log: one JSON line per request (and per reconciliation pass), appended to a file
//! only its owner may read, or written to standard error. A line holds ids, fingerprints,
//! codes and counts; the types it is built from carry no CSR, certificate body, key or
//! secret, so none can reach it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use okms_api::Uuid;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::Error;
use crate::service::{AuditFacts, ReconcileReport};

/// Where audit lines go.
pub struct AuditLog {
    sink: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

/// One request's line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestLine<'a> {
    /// When the answer was sent (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The client's address.
    pub peer: String,
    /// HTTP method.
    pub method: &'a str,
    /// The route (one of okms-api's broker paths), or `other` for an unknown one.
    pub route: &'a str,
    /// The answer's status.
    pub status: u16,
    /// `created`, `repeated`, `ok`, or the refusal's code.
    pub outcome: &'a str,
    /// The refusal's message (what the host was told), for refusals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
    /// Whether the client presented a certificate in the handshake.
    pub client_certificate: bool,
    /// What the service did.
    #[serde(flatten)]
    pub facts: FactsLine<'a>,
    /// How long the request took, in milliseconds.
    pub duration_ms: f64,
}

/// [`AuditFacts`] as audit-line fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FactsLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    okms_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_credential_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_fingerprint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_credential_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_fingerprint: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Uuid]>::is_empty")]
    revoked: &'a [Uuid],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    api_query_ids: &'a [String],
    api_calls: u32,
    /// Milliseconds in the request's own API calls.
    api_ms: f64,
    /// Milliseconds waiting for the API (its concurrency bound, a shared listing).
    api_wait_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

impl<'a> From<&'a AuditFacts> for FactsLine<'a> {
    fn from(f: &'a AuditFacts) -> Self {
        FactsLine {
            okms_id: f.okms_id,
            client_credential_id: f.client_credential_id,
            client_fingerprint: f.client_fingerprint.as_deref(),
            new_credential_id: f.new_credential_id,
            new_fingerprint: f.new_fingerprint.as_deref(),
            revoked: &f.revoked,
            api_query_ids: &f.api_query_ids,
            api_calls: f.api_calls,
            api_ms: millis(f.api_time),
            api_wait_ms: millis(f.api_wait),
            detail: f.detail.as_deref(),
        }
    }
}

/// A line for something the broker did on its own (reconciliation, policy reload).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EventLine<'a> {
    #[serde(with = "time::serde::rfc3339")]
    time: OffsetDateTime,
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expired_unconfirmed: Option<&'a [Uuid]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicates: Option<&'a [Uuid]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    duration_ms: f64,
}

impl AuditLog {
    /// Appends to `path`, created with mode 0600 (an existing file keeps its mode).
    ///
    /// # Errors
    /// [`Error::Append`] when the file cannot be opened for appending.
    pub fn append_to(path: &Path) -> Result<AuditLog, Error> {
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(|source| Error::Append {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(AuditLog::to_writer(file))
    }

    /// Writes to standard error.
    pub fn stderr() -> AuditLog {
        AuditLog::to_writer(std::io::stderr())
    }

    /// Writes to `sink` (tests read it back).
    pub fn to_writer(sink: impl Write + Send + 'static) -> AuditLog {
        AuditLog {
            sink: Mutex::new(Box::new(sink)),
        }
    }

    /// Writes one request's line.
    pub fn request(&self, line: &RequestLine<'_>) {
        self.write(line);
    }

    /// Writes a reconciliation pass's line.
    pub fn reconcile(&self, result: &Result<ReconcileReport, Error>, took: Duration) {
        let error = result.as_ref().err().map(Error::with_causes);
        let report = result.as_ref().ok();
        self.write(&EventLine {
            time: OffsetDateTime::now_utc(),
            event: "reconcile",
            pending: report.map(|r| r.pending),
            expired_unconfirmed: report.map(|r| r.expired_unconfirmed.as_slice()),
            duplicates: report.map(|r| r.duplicates.as_slice()),
            error: error.as_deref(),
            duration_ms: millis(took),
        });
    }

    /// Writes a policy reload's line (`error` when the old policy stays in force).
    pub fn reload(&self, error: Option<&Error>, took: Duration) {
        let error = error.map(Error::with_causes);
        self.write(&EventLine {
            time: OffsetDateTime::now_utc(),
            event: if error.is_some() {
                "reload-refused"
            } else {
                "reload"
            },
            pending: None,
            expired_unconfirmed: None,
            duplicates: None,
            error: error.as_deref(),
            duration_ms: millis(took),
        });
    }

    fn write(&self, line: &impl Serialize) {
        let Ok(mut text) = serde_json::to_string(line) else {
            return;
        };
        text.push('\n');
        // A poisoned lock only means another writer panicked mid-line; keep logging.
        let mut sink = self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Losing an audit line must not fail the request it describes; a full disk shows
        // elsewhere.
        let _ = sink.write_all(text.as_bytes()).and_then(|()| sink.flush());
    }
}

/// Milliseconds with microsecond precision.
pub(crate) fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}
