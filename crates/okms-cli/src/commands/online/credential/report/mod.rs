//! `credential report`: how close to expiry every credential of a domain is (or every
//! certificate file named with `--cert`, with no API call), as a table, JSON, a Nagios plugin
//! answer or a node_exporter textfile.

use std::fmt::Write as _;
use std::path::Path;

use okms_api::{Client, CredentialStatus, Uuid};
use okms_lifecycle::{Expiry, ExpiryStatus, Thresholds, classify};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{CredentialReportArgs, GlobalArgs};
use crate::commands::online::{api_failure, block_on, client, parse_uuid};
use crate::commands::usage;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
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
/// Exit 3 for thresholds the wrong way round or an unreadable certificate, API errors. With
/// `--nagios`, every error is the plugin's UNKNOWN (exit 3) and a warning or critical finding
/// exits 1 or 2.
pub fn run(a: &CredentialReportArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    if a.nagios && out.is_json() {
        return Err(usage(
            "--nagios and --json are two output formats: choose one",
        ));
    }
    if a.prometheus.is_some() && out.is_json() {
        return Err(usage(
            "--prometheus writes a file and --json prints to stdout: choose one",
        ));
    }
    let result = gather(a, global, out);
    if !a.nagios {
        let (rows, now, thresholds) = result?;
        if let Some(path) = &a.prometheus {
            files::write_public_file(path, prometheus_text(&rows).as_bytes(), true)?;
            out.info(&format!(
                "wrote {} credential(s) to {}",
                rows.len(),
                path.display()
            ));
            return Ok(());
        }
        if out.is_json() {
            return out.json(&JsonReport {
                warn_days: thresholds.warn_days(),
                crit_days: thresholds.crit_days(),
                now,
                credentials: &rows,
            });
        }
        return table(&rows, out);
    }
    match result {
        Err(e) => {
            out.line(&format!("OKMS UNKNOWN - {}", one_line(&e)))?;
            Err(CliError {
                exit: NAGIOS_UNKNOWN,
                ..e
            })
        }
        Ok((rows, _, thresholds)) => {
            let (line, worst) = nagios_text(&rows, thresholds);
            out.line(&line)?;
            match worst {
                ExpiryStatus::Ok => Ok(()),
                ExpiryStatus::Warn => Err(CliError::new(
                    NAGIOS_WARNING,
                    "a credential is within the warning threshold",
                )),
                ExpiryStatus::Crit | ExpiryStatus::Expired => Err(CliError::new(
                    NAGIOS_CRITICAL,
                    "a credential is within the critical threshold or expired",
                )),
            }
        }
    }
}

// The Nagios plugin API fixes these numbers; they coincide with okms-cli's own codes 1, 2 and
// 3, which is why the variants read oddly here.
const NAGIOS_WARNING: Exit = Exit::Error;
const NAGIOS_CRITICAL: Exit = Exit::Usage;
const NAGIOS_UNKNOWN: Exit = Exit::InvalidInput;

fn one_line(e: &CliError) -> String {
    format!("{:#}", e.error).replace('\n', " ")
}

type Gathered = (Vec<Row>, OffsetDateTime, Thresholds);

fn gather(a: &CredentialReportArgs, global: &GlobalArgs, out: &Output) -> CliResult<Gathered> {
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
        let rows = paths
            .into_iter()
            .map(|p| file_row(p, now, thresholds))
            .collect::<CliResult<Vec<_>>>()?;
        return Ok((rows, now, thresholds));
    }
    let Some(okms_id) = a.okms_id.as_deref() else {
        return Err(usage("no domain to report on")
            .hint("pass --okms-id ID (or set OKMS_ID), or --cert FILE for certificate files"));
    };
    let okms_id = parse_uuid(okms_id, "--okms-id")?;
    let (rows, now) = block_on(async {
        let client = client(global, out)?;
        api_rows(&client, okms_id, thresholds, out).await
    })?;
    Ok((rows, now, thresholds))
}

fn file_row(path: &Path, now: OffsetDateTime, thresholds: Thresholds) -> CliResult<Row> {
    let cert = input::load_certificate(path)?;
    let expiry = classify(cert.not_after(), now, thresholds);
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

/// The plugin's one line: `OKMS STATE - summary | perfdata`, and the worst status.
fn nagios_text(rows: &[Row], thresholds: Thresholds) -> (String, ExpiryStatus) {
    let worst = rows
        .iter()
        .map(|r| r.status)
        .max()
        .unwrap_or(ExpiryStatus::Ok);
    let state = match worst {
        ExpiryStatus::Ok => "OK",
        ExpiryStatus::Warn => "WARNING",
        ExpiryStatus::Crit | ExpiryStatus::Expired => "CRITICAL",
    };
    let troubled: Vec<String> = rows
        .iter()
        .filter(|r| r.status != ExpiryStatus::Ok)
        .map(|r| match r.status {
            ExpiryStatus::Expired => format!("{} ({}) EXPIRED", plugin_text(&r.name), r.id),
            _ => format!(
                "{} ({}) {} days left",
                plugin_text(&r.name),
                r.id,
                r.days_left
            ),
        })
        .collect();
    let summary = if rows.is_empty() {
        "no credential".to_owned()
    } else if troubled.is_empty() {
        let soonest = rows.iter().min_by_key(|r| r.not_after);
        format!(
            "{} credential(s) ok{}",
            rows.len(),
            soonest
                .map(|r| format!(
                    ", soonest {} with {} days left",
                    plugin_text(&r.name),
                    r.days_left
                ))
                .unwrap_or_default()
        )
    } else {
        troubled.join(", ")
    };
    let mut line = format!("OKMS {state} - {summary}");
    if !rows.is_empty() {
        line.push_str(" |");
        for r in rows {
            // Days left fall: an alert is "below the threshold", which the range syntax
            // writes `N:` (alert outside N..infinity). `classify` alerts at `warn` days left
            // already, so the range starts one day above it.
            let _ = write!(
                line,
                " '{}'={};{}:;{}:;;",
                perf_label(&format!("{} {}", r.name, r.id)),
                r.days_left,
                u64::from(thresholds.warn_days()) + 1,
                u64::from(thresholds.crit_days()) + 1
            );
        }
    }
    (line, worst)
}

/// A perfdata label: quoted, with `'` doubled and `=` (which ends a label) replaced, and no
/// character that would end the plugin's output early (see [`plugin_text`]).
fn perf_label(text: &str) -> String {
    plugin_text(text).replace('\'', "''").replace('=', "_")
}

/// Text from the API (a credential name) or a path, made safe for a plugin line: `|` starts
/// the performance data and a line break ends the status line, so both become spaces.
fn plugin_text(text: &str) -> String {
    text.replace(['|', '\n', '\r'], " ")
}

/// A metric's name, help text and value for one row.
type Metric = (&'static str, &'static str, fn(&Row) -> String);

/// The node_exporter textfile: three gauges, labelled by domain, id and name, no timestamps
/// (the collector stamps them when it reads the file).
fn prometheus_text(rows: &[Row]) -> String {
    let mut s = String::new();
    let metrics: [Metric; 3] = [
        (
            "okms_credential_not_after_timestamp_seconds",
            "End of validity of the OKMS access certificate, in seconds since the Unix epoch.",
            |r| r.not_after.unix_timestamp().to_string(),
        ),
        (
            "okms_credential_days_left",
            "Whole days left before the OKMS access certificate expires (negative once expired).",
            |r| r.days_left.to_string(),
        ),
        (
            "okms_credential_status",
            "Expiry status of the OKMS access certificate: 0 ok, 1 warn, 2 crit, 3 expired.",
            |r| r.status.gauge().to_string(),
        ),
    ];
    for (name, help, value) in metrics {
        let _ = writeln!(s, "# HELP {name} {help}");
        let _ = writeln!(s, "# TYPE {name} gauge");
        for r in rows {
            let _ = writeln!(
                s,
                "{name}{{domain=\"{}\",id=\"{}\",name=\"{}\"}} {}",
                label_value(&r.domain),
                label_value(&r.id),
                label_value(&r.name),
                value(r)
            );
        }
    }
    s
}

/// A label value of the Prometheus text format: `\`, `"` and newlines escaped.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn row(name: &str, days_left: i64, status: ExpiryStatus) -> Row {
        Row {
            domain: "d".into(),
            id: "i".into(),
            name: name.into(),
            api_status: None,
            source: "api".into(),
            not_after: datetime!(2026-12-31 00:00 UTC),
            days_left,
            status,
        }
    }

    #[test]
    fn label_values_and_perf_labels_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(perf_label("it's=x"), "it''s_x");
    }

    #[test]
    fn nagios_is_as_bad_as_the_worst_credential() {
        let t = Thresholds::DEFAULT;
        let (line, worst) = nagios_text(
            &[
                row("a", 40, ExpiryStatus::Ok),
                row("b", 3, ExpiryStatus::Crit),
            ],
            t,
        );
        assert_eq!(worst, ExpiryStatus::Crit);
        assert!(
            line.starts_with("OKMS CRITICAL - b (i) 3 days left |"),
            "{line}"
        );
        assert!(
            line.ends_with("'a i'=40;31:;8:;; 'b i'=3;31:;8:;;"),
            "{line}"
        );
        // A name from the API cannot end the status line or start the perfdata early.
        let (line, _) = nagios_text(&[row("x|y\nz'=", 3, ExpiryStatus::Crit)], t);
        assert_eq!(line.matches('|').count(), 1, "{line}");
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("'x y z''_ i'=3;31:;8:;;"), "{line}");
        let (line, worst) = nagios_text(&[], t);
        assert_eq!(
            (line.as_str(), worst),
            ("OKMS OK - no credential", ExpiryStatus::Ok)
        );
    }
}
