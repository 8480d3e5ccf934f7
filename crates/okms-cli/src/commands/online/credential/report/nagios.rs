//! `credential report --nagios`: the answer of a Nagios plugin (also read by Icinga, NRPE,
//! Sensu...), kept to the plugin guidelines: the exit code is the state (0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN, usage errors included), the first line is short (the state, the
//! worst item and the counts: NRPE v2 keeps only the first KiB of the whole output), one detail
//! line per item follows, worst first, and the performance data comes after the last one. No
//! line carries a `|` or a line break of its own.

use std::cmp::{Ordering, Reverse};
use std::fmt::Write as _;

use okms_lifecycle::{ExpiryStatus, Thresholds};

use super::{Findings, Row, Source, Unreadable, gather};
use crate::cli::{CredentialReportArgs, GlobalArgs};
use crate::error::usage;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::output::{Output, rfc3339};

/// A plugin's state, ordered as monitoring-plugins' `max_state_alt` orders them (OK < UNKNOWN
/// < WARNING < CRITICAL): a certificate that could not be read does not hide one that is
/// about to expire, and is never OK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Ok,
    Unknown,
    Warning,
    Critical,
}

impl State {
    fn of(status: ExpiryStatus) -> State {
        match status {
            ExpiryStatus::Ok => State::Ok,
            ExpiryStatus::Warn => State::Warning,
            // Not yet valid is refused by the KMS right now, as an expired certificate is.
            ExpiryStatus::Crit | ExpiryStatus::Expired | ExpiryStatus::NotYetValid => {
                State::Critical
            }
        }
    }

    fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Unknown => "UNKNOWN",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
        }
    }

    /// The exit code the plugin API fixes for the state.
    fn exit(self) -> Exit {
        // These numbers coincide with okms-cli's own codes 1, 2 and 3, which is why the
        // variants read oddly here.
        match self {
            State::Ok => Exit::Ok,
            State::Warning => Exit::Error,
            State::Critical => Exit::Usage,
            State::Unknown => Exit::InvalidInput,
        }
    }
}

/// At most this many characters of one item (a name, a path, an error) on the first line, so
/// that it stays well under NRPE v2's 1 KiB whatever the names are.
const FIRST_LINE_ITEM_CHARS: usize = 100;

/// `credential report --nagios`: prints the plugin's answer and fails with its exit code.
///
/// # Errors
/// UNKNOWN (exit 3) for a usage error or when nothing could be read; otherwise the worst state.
pub(super) fn run(a: &CredentialReportArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let found = if out.is_json() {
        Err(usage(
            "--nagios and --json are two output formats: choose one",
        ))
    } else {
        gather(a, global, out)
    };
    let found = match found {
        Ok(found) => found,
        Err(e) => {
            out.line(&unknown_text(&one_line(&e)))?;
            return Err(CliError {
                exit: State::Unknown.exit(),
                ..e
            });
        }
    };
    let (text, state) = answer(&found);
    out.line(&text)?;
    match state {
        State::Ok => Ok(()),
        State::Warning => Err(CliError::new(
            state.exit(),
            "a credential is within the warning threshold",
        )),
        State::Critical => Err(CliError::new(
            state.exit(),
            "a credential is within the critical threshold, expired or not yet valid",
        )),
        State::Unknown => Err(CliError::new(
            state.exit(),
            "a certificate could not be read",
        )),
    }
}

/// The UNKNOWN answer for an error that stopped the whole check: a short first line, and the
/// whole message on a second line when the first had to cut it.
pub(crate) fn unknown_text(message: &str) -> String {
    let first = format!(
        "OKMS UNKNOWN - {}",
        shorten(message, 2 * FIRST_LINE_ITEM_CHARS)
    );
    let whole = plugin_text(message);
    if first.ends_with(&whole) {
        first
    } else {
        format!("{first}\n{whole}")
    }
}

fn one_line(e: &CliError) -> String {
    format!("{:#}", e.error).replace('\n', " ")
}

/// One reported item: a certificate read, or one that could not be.
#[derive(Clone, Copy)]
enum Item<'a> {
    Read(&'a Row),
    Unreadable(&'a Unreadable),
}

impl Item<'_> {
    fn state(self) -> State {
        match self {
            Item::Read(r) => State::of(r.status),
            Item::Unreadable(_) => State::Unknown,
        }
    }

    /// Worst first: by state, then status (expired before crit), then the sooner end.
    fn severity_order(self, other: Self) -> Ordering {
        let key = |i: Item<'_>| match i {
            Item::Read(r) => (
                Reverse(i.state()),
                Reverse(Some(r.status)),
                Some(r.not_after),
            ),
            Item::Unreadable(_) => (Reverse(i.state()), Reverse(None), None),
        };
        key(self).cmp(&key(other))
    }

    /// What is wrong (or right) with the item, unescaped.
    fn describe(self) -> String {
        match self {
            Item::Read(r) => match r.status {
                ExpiryStatus::Expired => format!("{} ({}) EXPIRED", r.name, r.id),
                ExpiryStatus::NotYetValid => format!("{} ({}) NOT YET VALID", r.name, r.id),
                _ => format!("{} ({}) {} days left", r.name, r.id, r.days_left),
            },
            // The error names its file or domain already.
            Item::Unreadable(u) => one_line(&u.error),
        }
    }
}

/// The plugin's answer (status line, detail lines, perfdata) and its state.
fn answer(found: &Findings) -> (String, State) {
    let mut items: Vec<Item<'_>> = found
        .rows
        .iter()
        .map(Item::Read)
        .chain(found.unreadable.iter().map(Item::Unreadable))
        .collect();
    items.sort_by(|a, b| a.severity_order(*b));
    let Some(&worst) = items.first() else {
        return ("OKMS OK - no credential".to_owned(), State::Ok);
    };
    let state = worst.state();
    let mut text = format!("OKMS {} - ", state.word());
    if let (State::Ok, Item::Read(soonest)) = (state, worst) {
        let _ = write!(
            text,
            "{} credential(s) ok, soonest {} with {} days left",
            items.len(),
            shorten(&soonest.name, FIRST_LINE_ITEM_CHARS),
            soonest.days_left
        );
    } else {
        let _ = write!(
            text,
            "{}; {}",
            shorten(&worst.describe(), FIRST_LINE_ITEM_CHARS),
            counts(found)
        );
    }
    for item in &items {
        let _ = write!(
            text,
            "\n{}: {}",
            item.state().word(),
            plugin_text(&item.describe())
        );
        if let Item::Read(r) = item {
            let _ = write!(text, ", until {}", rfc3339(r.not_after));
        }
    }
    if !found.rows.is_empty() {
        text.push_str(" |");
        for r in &found.rows {
            perf_item(&mut text, r, found.thresholds);
        }
    }
    (text, state)
}

/// `11 credential(s): 1 expired, 2 crit, 8 ok, 1 unreadable`, the zero counts left out.
fn counts(found: &Findings) -> String {
    let statuses = [
        ExpiryStatus::NotYetValid,
        ExpiryStatus::Expired,
        ExpiryStatus::Crit,
        ExpiryStatus::Warn,
        ExpiryStatus::Ok,
    ];
    let mut parts: Vec<String> = statuses
        .iter()
        .filter_map(|s| {
            let n = found.rows.iter().filter(|r| r.status == *s).count();
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect();
    if !found.unreadable.is_empty() {
        parts.push(format!("{} unreadable", found.unreadable.len()));
    }
    let total = found.rows.len() + found.unreadable.len();
    // A failed listing is not a credential: the counts then say only that.
    if found.rows.is_empty()
        && found
            .unreadable
            .iter()
            .all(|u| matches!(u.source, Source::Domain(_)))
    {
        return parts.join(", ");
    }
    format!("{total} credential(s): {}", parts.join(", "))
}

/// One perfdata item: `'name id'=days;warn;crit;;`.
fn perf_item(text: &mut String, r: &Row, thresholds: Thresholds) {
    // Days left fall: an alert is "below the threshold", which the range syntax writes `N:`
    // (alert outside N..infinity). `classify` alerts at `warn` days left already, so the
    // range starts one day above it.
    let _ = write!(
        text,
        " '{}'={};{}:;{}:;;",
        perf_label(&format!("{} {}", r.name, r.id)),
        r.days_left,
        u64::from(thresholds.warn_days()) + 1,
        u64::from(thresholds.crit_days()) + 1
    );
}

/// At most `max` characters of `text`, made safe for a plugin line, with `...` when cut.
fn shorten(text: &str, max: usize) -> String {
    let safe = plugin_text(text);
    match safe.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &safe[..cut]),
        None => safe,
    }
}

/// A perfdata label: quoted, with `'` doubled and `=` (which ends a label) replaced, and no
/// character that would end the plugin's output early (see [`plugin_text`]).
fn perf_label(text: &str) -> String {
    plugin_text(text).replace('\'', "''").replace('=', "_")
}

/// Text from the API (a credential name), a path or an error, made safe for a plugin line:
/// `|` starts the performance data and a line break ends the line, so both become spaces.
fn plugin_text(text: &str) -> String {
    text.replace(['|', '\n', '\r'], " ")
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
            not_after: datetime!(2026-12-31 00:00 UTC) + time::Duration::days(days_left),
            days_left,
            status,
        }
    }

    fn findings(rows: Vec<Row>) -> Findings {
        Findings {
            rows,
            unreadable: Vec::new(),
            now: datetime!(2026-12-31 00:00 UTC),
            thresholds: Thresholds::DEFAULT,
        }
    }

    #[test]
    fn perf_labels_are_escaped() {
        assert_eq!(perf_label("it's=x"), "it''s_x");
    }

    #[test]
    fn nagios_is_as_bad_as_the_worst_credential() {
        let (text, worst) = answer(&findings(vec![
            row("a", 40, ExpiryStatus::Ok),
            row("b", 3, ExpiryStatus::Crit),
        ]));
        assert_eq!(worst, State::Critical);
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            "OKMS CRITICAL - b (i) 3 days left; 2 credential(s): 1 crit, 1 ok"
        );
        assert!(
            text.ends_with("'a i'=40;31:;8:;; 'b i'=3;31:;8:;;"),
            "{text}"
        );
        // A name from the API cannot end the status line or start the perfdata early.
        let (text, _) = answer(&findings(vec![row("x|y\nz'=", 3, ExpiryStatus::Crit)]));
        assert_eq!(text.matches('|').count(), 1, "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("'x y z''_ i'=3;31:;8:;;"), "{text}");
        let (text, worst) = answer(&findings(Vec::new()));
        assert_eq!(
            (text.as_str(), worst),
            ("OKMS OK - no credential", State::Ok)
        );
    }

    #[test]
    fn an_unknown_line_is_short_and_escaped() {
        let long = format!("bad | value {}", "x".repeat(1000));
        let text = unknown_text(&long);
        let first = text.lines().next().unwrap_or_default();
        assert!(first.len() < 250, "{first}");
        assert!(!text.contains('|'), "{text}");
        assert_eq!(text.lines().count(), 2);
        assert_eq!(unknown_text("short"), "OKMS UNKNOWN - short");
    }
}
