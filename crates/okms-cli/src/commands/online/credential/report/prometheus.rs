//! `credential report --prometheus FILE`: a textfile for node_exporter's textfile collector.
//! The file is rewritten whole (atomically, by the caller) at every run, also when something
//! could not be read: the series of what was read, plus one error series per file or domain
//! that could not be, so that no value goes stale unnoticed.

use std::fmt::Write as _;

use super::{Findings, Row, Source};

/// A metric's name, help text and value for one row.
type Metric = (&'static str, &'static str, fn(&Row) -> String);

/// The textfile: three gauges per certificate read, labelled by domain, id and name, and the
/// error gauges, no timestamps (the collector stamps them when it reads the file).
pub(super) fn text(found: &Findings) -> String {
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
            "Expiry status of the OKMS access certificate: 0 ok, 1 warn, 2 crit, 3 expired, 4 not yet valid.",
            |r| r.status.gauge().to_string(),
        ),
    ];
    for (name, help, value) in metrics {
        let _ = writeln!(s, "# HELP {name} {help}");
        let _ = writeln!(s, "# TYPE {name} gauge");
        for r in &found.rows {
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
    let files: Vec<&str> = found
        .unreadable
        .iter()
        .filter_map(|u| match &u.source {
            Source::File(path) => Some(path.as_str()),
            Source::Domain(_) => None,
        })
        .collect();
    error_series(
        &mut s,
        "okms_certificate_read_error",
        "1 for a certificate file that could not be read or parsed; it has no other series here.",
        "file",
        &files,
    );
    let domains: Vec<String> = found
        .unreadable
        .iter()
        .filter_map(|u| match &u.source {
            Source::Domain(id) => Some(id.to_string()),
            Source::File(_) => None,
        })
        .collect();
    let domains: Vec<&str> = domains.iter().map(String::as_str).collect();
    error_series(
        &mut s,
        "okms_credential_list_error",
        "1 for an OKMS domain whose credentials could not be listed; they have no series here.",
        "domain",
        &domains,
    );
    s
}

/// One gauge at 1 per failed source, labelled `label`; nothing at all when none failed, so
/// that an alert on the metric's presence fires only on a failure.
fn error_series(s: &mut String, name: &str, help: &str, label: &str, failed: &[&str]) {
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(s, "# HELP {name} {help}");
    let _ = writeln!(s, "# TYPE {name} gauge");
    for value in failed {
        let _ = writeln!(s, "{name}{{{label}=\"{}\"}} 1", label_value(value));
    }
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

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
