//! `credential report`: how close to expiry every credential of a domain is (or every
//! certificate file named with `--cert`, with no API call), as a table, JSON, a Nagios plugin
//! answer or a node_exporter textfile.

mod nagios;
mod prometheus;

pub(crate) use nagios::unknown_text as nagios_unknown_text;

use std::path::Path;

use okms_api::{Client, CredentialStatus, Uuid};
use okms_lifecycle::{Expiry, ExpiryStatus, Thresholds, classify, classify_certificate};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{CredentialReportArgs, GlobalArgs};
use crate::commands::online::session::{block_on, client, parse_uuid};
use crate::error::api_failure;
use crate::error::usage;
use crate::error::{CliError, CliResult};
use crate::files;
use crate::input;
use crate::output::{Output, rfc3339};

/// One reported certificate.
#[derive(Debug, Serialize)]
struct Row {
    domain: String,
    id: String,
    name: String,
    /// The API's status (`READY`, `EXPIRED`...); `None` for a file.
    api_status: Option<String>,
    /// `api`, or the certificate file.
    source: String,
    #[serde(serialize_with = "serialize_rfc3339")]
    not_after: OffsetDateTime,
    days_left: i64,
    #[serde(serialize_with = "serialize_status")]
    status: ExpiryStatus,
}

fn serialize_status<S: serde::Serializer>(st: &ExpiryStatus, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(st.as_str())
}

fn serialize_rfc3339<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

#[derive(Serialize)]
struct JsonReport<'a> {
    warn_days: u32,
    crit_days: u32,
    /// The instant days were counted from (the API's clock, or this host's for files).
    #[serde(serialize_with = "serialize_rfc3339")]
    now: OffsetDateTime,
    credentials: &'a [Row],
}

/// `credential report`.
///
/// # Errors
/// Exit 3 for thresholds the wrong way round or an unreadable certificate, API errors; a
/// certificate that cannot be read fails the run only after the others are reported (and,
/// with `--prometheus`, after the textfile is rewritten). With `--nagios`, every error is the
/// plugin's UNKNOWN (exit 3) and a warning or critical finding exits 1 or 2.
pub fn run(a: &CredentialReportArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    if a.nagios {
        return nagios::run(a, global, out);
    }
    if a.prometheus.is_some() && out.is_json() {
        return Err(usage(
            "--prometheus writes a file and --json prints to stdout: choose one",
        ));
    }
    let found = gather(a, global, out)?;
    if let Some(path) = &a.prometheus {
        // Rewritten also when something could not be read: a file left as it was would keep
        // reporting the last good values, and the error series says what is missing.
        files::write_public_file(path, prometheus::text(&found).as_bytes(), true)?;
        out.info(&format!(
            "wrote {} credential(s) to {}",
            found.rows.len(),
            path.display()
        ));
        return found.outcome(out);
    }
    if out.is_json() {
        if !found.unreadable.is_empty() {
            return found.outcome(out);
        }
        return out.json(&JsonReport {
            warn_days: found.thresholds.warn_days(),
            crit_days: found.thresholds.crit_days(),
            now: found.now,
            credentials: &found.rows,
        });
    }
    // "No credential" would be wrong when the listing itself failed: the error says it all.
    if !found.rows.is_empty() || found.unreadable.is_empty() {
        table(&found.rows, out)?;
    }
    found.outcome(out)
}

/// Where certificates were to be read from, when reading failed.
#[derive(Debug)]
enum Source {
    /// A `--cert` file.
    File(String),
    /// The domain whose credentials the API was to list.
    Domain(Uuid),
}

/// What could not be read, and why.
#[derive(Debug)]
struct Unreadable {
    source: Source,
    error: CliError,
}

/// Everything a report found: the certificates it could read and those it could not.
#[derive(Debug)]
struct Findings {
    rows: Vec<Row>,
    unreadable: Vec<Unreadable>,
    /// The instant days were counted from.
    now: OffsetDateTime,
    thresholds: Thresholds,
}

impl Findings {
    /// Success when everything was read; otherwise every read error but the last printed, and
    /// the last returned, so that the exit code is a reading failure's.
    fn outcome(self, out: &Output) -> CliResult<()> {
        let mut errors = self.unreadable.into_iter().map(|u| u.error);
        let last = errors.next_back();
        for e in errors {
            out.error(&e);
        }
        last.map_or(Ok(()), Err)
    }
}

/// Reads every certificate: usage errors (thresholds, no domain) fail at once; a file or a
/// listing that cannot be read becomes an [`Unreadable`], and the others are still read.
fn gather(a: &CredentialReportArgs, global: &GlobalArgs, out: &Output) -> CliResult<Findings> {
    let thresholds = Thresholds::new(a.warn, a.crit).map_err(super::renew::schedule_error)?;
    if !a.cert.is_empty() {
        let now = OffsetDateTime::now_utc();
        // One row per file, however it is spelled: a metric series must not repeat.
        let mut paths: Vec<&Path> = Vec::new();
        for p in &a.cert {
            if !paths.iter().any(|q| files::same_file(q, p)) {
                paths.push(p);
            }
        }
        let mut found = Findings {
            rows: Vec::new(),
            unreadable: Vec::new(),
            now,
            thresholds,
        };
        for p in paths {
            match file_row(p, now, thresholds) {
                Ok(row) => found.rows.push(row),
                Err(error) => found.unreadable.push(Unreadable {
                    source: Source::File(p.display().to_string()),
                    error,
                }),
            }
        }
        return Ok(found);
    }
    let Some(okms_id) = a.okms_id.as_deref() else {
        return Err(usage("no domain to report on")
            .hint("pass --okms-id ID (or set OKMS_ID), or --cert FILE for certificate files"));
    };
    let okms_id = parse_uuid(okms_id, "--okms-id")?;
    let listed = block_on(async {
        let client = client(global, out)?;
        api_rows(&client, okms_id, thresholds, out).await
    });
    Ok(match listed {
        Ok((rows, now)) => Findings {
            rows,
            unreadable: Vec::new(),
            now,
            thresholds,
        },
        Err(error) => Findings {
            rows: Vec::new(),
            unreadable: vec![Unreadable {
                source: Source::Domain(okms_id),
                error,
            }],
            now: OffsetDateTime::now_utc(),
            thresholds,
        },
    })
}

fn file_row(path: &Path, now: OffsetDateTime, thresholds: Thresholds) -> CliResult<Row> {
    let cert = input::load_certificate(path)?;
    let expiry = classify_certificate(cert.not_before(), cert.not_after(), now, thresholds);
    Ok(Row {
        domain: cert.okms_domain().unwrap_or_default(),
        id: cert.credential_id().unwrap_or_else(|| cert.serial_hex()),
        name: path.display().to_string(),
        api_status: None,
        source: path.display().to_string(),
        not_after: expiry.not_after,
        days_left: expiry.days_left,
        status: expiry.status,
    })
}

/// The server's "now", so that days left do not depend on this host's clock; this host's
/// clock only when the API will not say.
pub(super) async fn server_now(client: &Client, out: &Output) -> OffsetDateTime {
    match client.auth_time().await {
        Ok(secs) => OffsetDateTime::from_unix_timestamp(secs).unwrap_or_else(|_| {
            out.verbose("the API's time is out of range; counting days with this host's clock");
            OffsetDateTime::now_utc()
        }),
        Err(e) => {
            out.verbose(&format!(
                "cannot read the API's time ({e}); counting days with this host's clock"
            ));
            OffsetDateTime::now_utc()
        }
    }
}

async fn api_rows(
    client: &Client,
    okms_id: Uuid,
    thresholds: Thresholds,
    out: &Output,
) -> CliResult<(Vec<Row>, OffsetDateTime)> {
    let creds = client.list_credentials(okms_id).await.map_err(|e| {
        api_failure(
            e,
            format!("cannot list the credentials of domain {okms_id}"),
        )
    })?;
    let now = server_now(client, out).await;
    let rows = creds
        .into_iter()
        // Being deleted: no longer anyone's concern.
        .filter(|c| c.status != CredentialStatus::Deleting)
        .map(|c| {
            let expiry = api_expiry(c.expired_at, &c.status, now, thresholds);
            Row {
                domain: okms_id.to_string(),
                id: c.id.to_string(),
                name: c.name,
                api_status: Some(c.status.as_str().to_owned()),
                source: "api".into(),
                not_after: expiry.not_after,
                days_left: expiry.days_left,
                status: expiry.status,
            }
        })
        .collect();
    Ok((rows, now))
}

/// The expiry of a credential as the API shows it; the API's own EXPIRED wins over the dates.
pub(super) fn api_expiry(
    expired_at: OffsetDateTime,
    status: &CredentialStatus,
    now: OffsetDateTime,
    thresholds: Thresholds,
) -> Expiry {
    let mut expiry = classify(expired_at, now, thresholds);
    if *status == CredentialStatus::Expired {
        expiry.status = ExpiryStatus::Expired;
    }
    expiry
}

fn table(rows: &[Row], out: &Output) -> CliResult<()> {
    if rows.is_empty() {
        out.info("no credential to report");
        return Ok(());
    }
    out.line(&format!(
        "{:<36}  {:<8}  {:<25}  {:>9}  {:<7}  NAME",
        "ID", "API", "EXPIRES", "DAYS LEFT", "STATUS"
    ))?;
    for r in rows {
        out.line(&format!(
            "{:<36}  {:<8}  {:<25}  {:>9}  {:<7}  {}",
            r.id,
            r.api_status.as_deref().unwrap_or("-"),
            rfc3339(r.not_after),
            r.days_left,
            r.status.as_str(),
            r.name
        ))?;
    }
    Ok(())
}
