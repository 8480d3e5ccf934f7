//! `okms-cli pem escape|unescape`: between PEM files and the JSON strings of the API.

use std::path::PathBuf;

use okms_csr::escape;
use serde::Serialize;

use crate::cli::{PemCommand, PemEscapeArgs, PemUnescapeArgs};
use crate::error::{CliResult, csr_error, usage};
use crate::files;
use crate::files::refuse_output_over_input;
use crate::input::{self, display_path};
use crate::output::Output;

/// Runs a `pem` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &PemCommand, out: &Output) -> CliResult<()> {
    match cmd {
        PemCommand::Escape(a) => escape_cmd(a, out),
        PemCommand::Unescape(a) => unescape_cmd(a, out),
    }
}

fn source(p: Option<&PathBuf>) -> PathBuf {
    p.cloned().unwrap_or_else(|| PathBuf::from("-"))
}

#[derive(Serialize)]
struct EscapeReport<'a> {
    escaped: &'a str,
}

fn escape_cmd(a: &PemEscapeArgs, out: &Output) -> CliResult<()> {
    let path = source(a.path.as_ref());
    let name = display_path(&path);
    let text = input::read_text(&path, "the PEM input")?;
    let escaped = zeroize::Zeroizing::new(
        escape::escape(&text).map_err(|e| csr_error(e, format!("cannot escape {name}")))?,
    );
    // The API never takes a private key, so escaping one is unusual: treat its output like the
    // key itself (a 0600 file, or stdout only when asked).
    let private = escape::unescape(&text, None).is_ok_and(|p| p.is_private_key());
    let line = zeroize::Zeroizing::new(if a.quoted {
        format!("\"{}\"\n", escaped.as_str())
    } else {
        format!("{}\n", escaped.as_str())
    });
    match &a.out {
        None if private => Err(usage(format!(
            "{name} is a private key; its escaped form is not printed unless asked"
        ))
        .hint(
            "write it to a file with --out PATH (mode 0600), or to standard output with --out -",
        )),
        None if out.is_json() => out.json(&EscapeReport { escaped: &escaped }),
        None => out.stdout_bytes(line.as_bytes()),
        Some(p) if input::is_stdin(p) => {
            if out.is_json() {
                return Err(usage(
                    "--json cannot be combined with --out -: standard output holds the result",
                ));
            }
            out.stdout_bytes(line.as_bytes())
        }
        Some(p) => {
            refuse_output_over_input(p, "--out", &path, "the input")?;
            let mode = if private {
                files::write_secret_file(p, line.as_bytes(), a.force)?;
                "0600"
            } else {
                files::write_public_file(p, line.as_bytes(), a.force)?;
                "0644"
            };
            if out.is_json() {
                return out
                    .json(&serde_json::json!({ "out": p.display().to_string(), "mode": mode }));
            }
            out.info(&format!(
                "wrote the escaped PEM to {} (mode {mode})",
                p.display()
            ));
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct UnescapeReport {
    label: String,
    private_key: bool,
    out: String,
    mode: &'static str,
}

fn unescape_cmd(a: &PemUnescapeArgs, out: &Output) -> CliResult<()> {
    let path = source(a.path.as_ref());
    let text = input::read_text(&path, "the PEM input")?;
    let pem = escape::unescape(&text, a.field.as_deref()).map_err(|e| {
        let err = csr_error(e, format!("cannot unescape {}", display_path(&path)));
        if a.field.is_none() {
            err.hint("for a whole JSON response, name the field with --field privateKeyPEM or --field certificatePEM")
        } else {
            err
        }
    })?;
    match &a.out {
        None if pem.is_private_key() => Err(usage(format!(
            "the input is a private key ({}); it is not printed unless asked",
            pem.label()
        ))
        .hint(
            "write it to a file with --out PATH (mode 0600), or to standard output with --out -",
        )),
        None if out.is_json() => {
            out.json(&serde_json::json!({ "label": pem.label(), "pem": pem.as_str() }))
        }
        None => out.stdout_bytes(pem.as_str().as_bytes()),
        Some(p) if input::is_stdin(p) => {
            if out.is_json() {
                return Err(usage(
                    "--json cannot be combined with --out -: standard output holds the PEM",
                ));
            }
            out.stdout_bytes(pem.as_str().as_bytes())
        }
        Some(p) => {
            refuse_output_over_input(p, "--out", &path, "the input")?;
            let mode = if pem.is_private_key() {
                files::write_secret_file(p, pem.as_str().as_bytes(), a.force)?;
                "0600"
            } else {
                files::write_public_file(p, pem.as_str().as_bytes(), a.force)?;
                "0644"
            };
            if out.is_json() {
                return out.json(&UnescapeReport {
                    label: pem.label().to_owned(),
                    private_key: pem.is_private_key(),
                    out: p.display().to_string(),
                    mode,
                });
            }
            out.info(&format!(
                "wrote {} to {} (mode {mode})",
                pem.label(),
                p.display()
            ));
            Ok(())
        }
    }
}
