//! `okms-cli cert show`: inspect an access certificate, offline.

use okms_csr::{CertificateInfo, same_public_key};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{CertCommand, CertShowArgs, GlobalArgs};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::input::{self, display_path, load_private_key};
use crate::output::Output;

/// Runs a `cert` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &CertCommand, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    match cmd {
        CertCommand::Show(a) => show(a, out),
        // With API access, the export includes the domain's CA from the API.
        CertCommand::Export(a) => super::cert_export::run(a, global, out),
    }
}

/// The `--json` result of `cert show`: okms-csr's summary of the certificate, plus what
/// depends on this file, this moment and `--key`.
#[derive(Debug, Serialize)]
struct CertReport {
    path: String,
    #[serde(flatten)]
    info: CertificateInfo,
    valid_now: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_matches: Option<bool>,
}

fn show(a: &CertShowArgs, out: &Output) -> CliResult<()> {
    let name = display_path(&a.path);
    let cert = input::load_certificate(&a.path)?;
    let key = a
        .key
        .as_ref()
        .map(|k| load_private_key(k, &a.passphrase))
        .transpose()?;
    let report = CertReport {
        path: name.clone(),
        info: cert.info(),
        valid_now: cert.is_valid_at(OffsetDateTime::now_utc()),
        key_matches: key
            .as_ref()
            .map(|k| same_public_key(&cert.public_key(), &k.public_key())),
    };
    if out.is_json() {
        out.json(&report)?;
    } else {
        let info = &report.info;
        out.field("Serial", &info.serial)?;
        out.field(
            "Credential id",
            info.credential_id
                .as_deref()
                .unwrap_or("(serial is not a UUID)"),
        )?;
        out.field("Subject", &info.subject)?;
        out.field("Issuer", &info.issuer)?;
        out.field(
            "OKMS domain",
            info.okms_domain.as_deref().unwrap_or("(none)"),
        )?;
        out.field("Not before", &info.not_before)?;
        out.field("Not after", &info.not_after)?;
        out.field("Valid now", if report.valid_now { "yes" } else { "no" })?;
        out.field("Key usages", &list_or_none(&info.key_usages))?;
        out.field(
            "Extended key usages",
            &list_or_none(&info.extended_key_usages),
        )?;
        out.field("Key algorithm", &info.key_algorithm)?;
        out.field("Public key SHA-256", &info.public_key_sha256)?;
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
