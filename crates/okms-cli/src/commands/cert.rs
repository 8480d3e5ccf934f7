//! `okms-cli cert show`: inspect an access certificate, offline.

use okms_csr::same_public_key;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{CertCommand, CertShowArgs};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::input::{self, display_path, load_private_key};
use crate::output::Output;

/// Runs a `cert` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &CertCommand, out: &Output) -> CliResult<()> {
    match cmd {
        CertCommand::Show(a) => show(a, out),
    }
}

/// The `--json` result of `cert show`.
#[derive(Debug, Serialize)]
struct CertReport {
    path: String,
    serial: String,
    credential_id: Option<String>,
    subject: String,
    issuer: String,
    okms_domain: Option<String>,
    not_before: String,
    not_after: String,
    valid_now: bool,
    key_usages: Vec<String>,
    extended_key_usages: Vec<String>,
    key_algorithm: Option<String>,
    public_key_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_matches: Option<bool>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn show(a: &CertShowArgs, out: &Output) -> CliResult<()> {
    let name = display_path(&a.path);
    let cert = input::load_certificate(&a.path)?;
    let key = a
        .key
        .as_ref()
        .map(|k| load_private_key(k, &a.passphrase))
        .transpose()?;
    let public = cert.public_key();
    let report = CertReport {
        path: name.clone(),
        serial: cert.serial_hex(),
        credential_id: cert.credential_id(),
        subject: cert.subject(),
        issuer: cert.issuer(),
        okms_domain: cert.okms_domain(),
        not_before: rfc3339(cert.not_before()),
        not_after: rfc3339(cert.not_after()),
        valid_now: cert.is_valid_at(OffsetDateTime::now_utc()),
        key_usages: cert.key_usages(),
        extended_key_usages: cert.extended_key_usages(),
        key_algorithm: public.algorithm().ok().map(|a| a.as_str().to_owned()),
        public_key_sha256: public.fingerprint_sha256(),
        key_matches: key
            .as_ref()
            .map(|k| same_public_key(&public, &k.public_key())),
    };
    if out.is_json() {
        out.json(&report)?;
    } else {
        out.field("Serial", &report.serial)?;
        out.field(
            "Credential id",
            report
                .credential_id
                .as_deref()
                .unwrap_or("(serial is not a UUID)"),
        )?;
        out.field("Subject", &report.subject)?;
        out.field("Issuer", &report.issuer)?;
        out.field(
            "OKMS domain",
            report.okms_domain.as_deref().unwrap_or("(none)"),
        )?;
        out.field("Not before", &report.not_before)?;
        out.field("Not after", &report.not_after)?;
        out.field("Valid now", if report.valid_now { "yes" } else { "no" })?;
        out.field("Key usages", &list_or_none(&report.key_usages))?;
        out.field(
            "Extended key usages",
            &list_or_none(&report.extended_key_usages),
        )?;
        out.field(
            "Key algorithm",
            report.key_algorithm.as_deref().unwrap_or("(unsupported)"),
        )?;
        out.field("Public key SHA-256", &report.public_key_sha256)?;
        if let Some(m) = report.key_matches {
            out.field("Matches --key", if m { "yes" } else { "NO" })?;
        }
    }
    if report.key_matches == Some(false) {
        let key_name = a.key.as_ref().map(|p| display_path(p)).unwrap_or_default();
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!("{name} does not hold the public key of {key_name}"),
        )
        .hint("this certificate was issued for another key"));
    }
    Ok(())
}

/// `a, b` or `(none)`, so that an absent extension does not read as a blank line.
fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}
