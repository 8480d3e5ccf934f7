//! Everything the user sees: results on stdout (human text or `--json`), diagnostics on stderr.
//!
//! Writes to stdout go through here so that a closed pipe or a full disk (`> /dev/full`) is an
//! error with an exit code rather than a panic from `println!`.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, OnceLock};

use okms_api::trace::{HttpExchange, HttpObserver};

use serde::Serialize;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::error::{CliError, CliResult, ResultExt};
use crate::exit::Exit;

/// A time as the reports show it: RFC 3339, UTC.
#[must_use]
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// How much goes to stderr, from `-q` and the count of `-v`. Each level adds to the one
/// before: errors always; warnings and notes unless quiet; then the steps of a command; then
/// one line per HTTP request; then the request and answer bodies, secrets redacted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// No flag: errors, warnings and notes.
    Normal,
    /// `-v`: also the steps a command takes.
    Steps,
    /// `-vv`: also one line per HTTP request (method, path, status, time).
    Http,
    /// `-vvv`: also the bodies of requests and answers, every secret redacted.
    Bodies,
}

impl Verbosity {
    /// The level the global flags ask for (clap makes `-q` and `-v` exclusive).
    #[must_use]
    pub fn from_flags(quiet: bool, verbose: u8) -> Self {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Steps,
            (false, 2) => Verbosity::Http,
            (false, _) => Verbosity::Bodies,
        }
    }
}

/// Where and how output goes, decided once from the global flags.
#[derive(Clone, Debug)]
pub struct Output {
    json: bool,
    verbosity: Verbosity,
    color_stderr: bool,
    color_stdout: bool,
}

const RED_BOLD: &str = "\x1b[1;31m";
const YELLOW_BOLD: &str = "\x1b[1;33m";
const CYAN_BOLD: &str = "\x1b[1;36m";
const GREEN_BOLD: &str = "\x1b[1;32m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The verbosity the command line asked for, for the few deep readers (a key file's permission
/// warning) that warn without an `Output` in hand: `-q` must silence them too.
static PROCESS_VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

impl Output {
    /// Output settings from the global flags and the environment (`NO_COLOR`, `TERM`).
    #[must_use]
    pub fn new(global: &GlobalArgs) -> Self {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let auto = |tty: bool| tty && !no_color_env && !dumb;
        let (color_stderr, color_stdout) = match global.color {
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
            ColorChoice::Auto => (
                auto(io::stderr().is_terminal()),
                auto(io::stdout().is_terminal()),
            ),
        };
        let verbosity = Verbosity::from_flags(global.quiet, global.verbose);
        // The first parse wins: one process runs one command line.
        let _ = PROCESS_VERBOSITY.set(verbosity);
        Self {
            json: global.json,
            verbosity,
            color_stderr,
            color_stdout,
        }
    }

    /// Settings for errors that happen before the command line is parsed, and for readers
    /// with no `Output` in hand (at the verbosity the command line asked for, once parsed).
    #[must_use]
    pub fn fallback() -> Self {
        let color =
            io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self {
            json: false,
            verbosity: PROCESS_VERBOSITY
                .get()
                .copied()
                .unwrap_or(Verbosity::Normal),
            color_stderr: color,
            color_stdout: false,
        }
    }

    /// Whether results are wanted as JSON.
    #[must_use]
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Whether `-q` was given.
    #[must_use]
    pub fn is_quiet(&self) -> bool {
        self.verbosity() == Verbosity::Quiet
    }

    /// How much goes to stderr.
    #[must_use]
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// At `-vv` and above, the observer that prints one line per HTTP exchange (and at `-vvv`
    /// its bodies, redacted by okms-api), for the API client's transport.
    #[must_use]
    pub fn http_observer(&self) -> Option<Arc<dyn HttpObserver>> {
        (self.verbosity >= Verbosity::Http).then(|| {
            Arc::new(HttpTrace {
                bodies: self.verbosity >= Verbosity::Bodies,
                color: self.color_stderr,
            }) as Arc<dyn HttpObserver>
        })
    }

    /// Prints a result as pretty JSON on stdout.
    ///
    /// # Errors
    /// When stdout cannot be written.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> CliResult<()> {
        let mut text = serde_json::to_string_pretty(value)
            .or_exit(Exit::Error, "cannot encode the result as JSON")?;
        text.push('\n');
        self.stdout_bytes(text.as_bytes())
    }

    /// Prints a line of human output on stdout.
    ///
    /// # Errors
    /// When stdout cannot be written.
    pub fn line(&self, text: &str) -> CliResult<()> {
        let mut s = String::with_capacity(text.len() + 1);
        s.push_str(text);
        s.push('\n');
        self.stdout_bytes(s.as_bytes())
    }

    /// Prints `label: value` on stdout, the label bold on a colour terminal.
    ///
    /// # Errors
    /// When stdout cannot be written.
    pub fn field(&self, label: &str, value: &str) -> CliResult<()> {
        let padded = if label.is_empty() {
            String::new()
        } else {
            format!("{label}:")
        };
        if self.color_stdout {
            self.line(&format!("{BOLD}{padded:<22}{RESET}{value}"))
        } else {
            self.line(&format!("{padded:<22}{value}"))
        }
    }

    /// Writes raw bytes on stdout and flushes.
    ///
    /// # Errors
    /// When stdout cannot be written (closed pipe, full disk).
    pub fn stdout_bytes(&self, bytes: &[u8]) -> CliResult<()> {
        let mut out = io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .or_exit(Exit::Error, "cannot write to standard output")
    }

    /// A progress or success note on stderr (silenced by `-q`).
    pub fn info(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.stderr_line(GREEN_BOLD, "note", text);
        }
    }

    /// A step of the command, shown from `-v` on.
    pub fn verbose(&self, text: &str) {
        if self.verbosity >= Verbosity::Steps {
            self.stderr_line(CYAN_BOLD, "detail", text);
        }
    }

    /// A warning on stderr (silenced by `-q`, which promises errors only; what must not be
    /// missed is an error, or in the `--json` result).
    pub fn warn(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.stderr_line(YELLOW_BOLD, "warning", text);
        }
    }

    /// Prints an error as `error:`, `caused by:` lines and a `hint:` line on stderr.
    pub fn error(&self, err: &CliError) {
        let mut previous = String::new();
        for (i, cause) in err.error.chain().enumerate() {
            let text = cause.to_string();
            // Some errors repeat their source in their own message; say it once.
            if i > 0 && previous.contains(&text) {
                continue;
            }
            self.stderr_line(RED_BOLD, if i == 0 { "error" } else { "caused by" }, &text);
            previous = text;
        }
        if let Some(h) = &err.hint {
            self.stderr_line(CYAN_BOLD, "hint", h);
        }
    }

    fn stderr_line(&self, color: &str, prefix: &str, text: &str) {
        stderr_line(self.color_stderr, color, prefix, text);
    }
}

/// One `prefix: text` line on stderr, the prefix coloured when `colored`.
fn stderr_line(colored: bool, color: &str, prefix: &str, text: &str) {
    let text = printable(text);
    let line = if colored {
        format!("{color}{prefix}:{RESET} {text}\n")
    } else {
        format!("{prefix}: {text}\n")
    };
    // Nowhere left to report a failure to write to stderr; ignoring it beats a panic.
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// The `-vv` and `-vvv` trace of the API client's HTTP exchanges.
struct HttpTrace {
    bodies: bool,
    color: bool,
}

impl HttpObserver for HttpTrace {
    fn exchanged(&self, exchange: &HttpExchange<'_>) {
        let status = exchange
            .status()
            .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        let line = format!(
            "{} {} {status} ({} ms)",
            exchange.method(),
            exchange.path(),
            exchange.elapsed().as_millis()
        );
        stderr_line(self.color, CYAN_BOLD, "http", &line);
        if self.bodies {
            let sent = exchange.request_body_redacted();
            if !sent.is_empty() {
                stderr_line(self.color, CYAN_BOLD, "http", &format!("  sent: {sent}"));
            }
            let answer = exchange.response_body_redacted();
            if !answer.is_empty() {
                stderr_line(
                    self.color,
                    CYAN_BOLD,
                    "http",
                    &format!("  answer: {answer}"),
                );
            }
        }
    }
}

/// `text` with control characters other than newline escaped (`\u{1b}`). Diagnostics quote
/// what servers and files contain (API errors, JSON decoder messages, file names): escaped,
/// they cannot drive the terminal.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn diagnostics_escape_control_characters() {
        assert_eq!(
            printable("plain text\nsecond line"),
            "plain text\nsecond line"
        );
        assert_eq!(
            printable("found `\u{1b}` at 20\r\u{7}"),
            "found `\\u{1b}` at 20\\u{d}\\u{7}"
        );
    }
}
