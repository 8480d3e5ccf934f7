//! `credential get|list|wait|delete`: credentials that exist already (`list` marks the ones
//! expiring within 30 days and the expired ones, counting days by the API's clock).

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use okms_api::{Credential, CredentialStatus, Uuid};
use okms_lifecycle::{ExpiryStatus, Thresholds};
use serde::Serialize;

use super::{ensure_newline, verify_cert, wait_ready};
use crate::cli::{
    CredentialDeleteArgs, CredentialGetArgs, CredentialListArgs, CredentialWaitArgs, GlobalArgs,
};
use crate::commands::online::session::{block_on, client, parse_uuid};
use crate::error::{CliError, CliResult, api_failure, usage};
use crate::exit::Exit;
use crate::files;
use crate::output::{Output, rfc3339};

/// The `--json` result of `credential get` and `credential wait`.
#[derive(Serialize)]
struct CredentialReport<'a> {
    credential: &'a Credential,
    cert_out: Option<String>,
}

fn show_credential(c: &Credential, out: &Output) -> CliResult<()> {
    out.field("Id", &c.id.to_string())?;
    out.field("Name", &c.name)?;
    if let Some(d) = &c.description {
        out.field("Description", d)?;
    }
    out.field("Status", c.status.as_str())?;
    if let Some(t) = &c.certificate_type {
        out.field("Certificate type", t.as_str())?;
    }
    if let Some(f) = c.from_csr {
        out.field("From CSR", if f { "yes" } else { "no" })?;
    }
    out.field("Created", &rfc3339(c.created_at))?;
    out.field("Expires", &rfc3339(c.expired_at))?;
    for (i, u) in c.identity_urns.iter().enumerate() {
        out.field(if i == 0 { "Identities" } else { "" }, u)?;
    }
    Ok(())
}

/// The end of `get` and `wait`: the certificate to `cert_out` if asked, then the credential.
fn write_and_report(
    c: &Credential,
    cert_out: Option<&Path>,
    force: bool,
    out: &Output,
) -> CliResult<()> {
    if let Some(p) = cert_out {
        write_cert(c, p, force)?;
    }
    let cert_out = cert_out.map(|p| p.display().to_string());
    if out.is_json() {
        return out.json(&CredentialReport {
            credential: c,
            cert_out,
        });
    }
    show_credential(c, out)?;
    if let Some(p) = cert_out {
        out.field("Certificate", &p)?;
    }
    Ok(())
}

fn write_cert(c: &Credential, path: &Path, force: bool) -> CliResult<()> {
    let Some(pem) = c
        .certificate_pem
        .as_deref()
        .filter(|_| c.status == CredentialStatus::Ready)
    else {
        return Err(CliError::new(
            Exit::Error,
            format!(
                "credential {} is {}: it has no certificate to write",
                c.id, c.status
            ),
        )
        .hint(format!(
            "wait for it: okms-cli credential wait {} --okms-id ID --cert-out {}",
            c.id,
            path.display()
        )));
    };
    verify_cert(pem, None, c.id)?;
    files::write_public_file(path, ensure_newline(pem).as_bytes(), force)?;
    Ok(())
}

/// The domain and credential ids of `get` and `wait`, after refusing a `--cert-out` that
/// could not be written (before any call, so that a READY certificate is not fetched in vain).
fn ids_and_cert_out(
    okms_id: &str,
    id: &str,
    cert_out: Option<&Path>,
    force: bool,
) -> CliResult<(Uuid, Uuid)> {
    let okms_id = parse_uuid(okms_id, "--okms-id")?;
    let id = parse_uuid(id, "credential id (ID)")?;
    if let Some(p) = cert_out {
        files::check_writable(p, force)?;
    }
    Ok((okms_id, id))
}

/// `credential get`.
///
/// # Errors
/// Exit 3 for a bad id, 5 for a `--cert-out` in the way, API errors.
pub(super) fn get(a: &CredentialGetArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let (okms_id, id) = ids_and_cert_out(&a.okms.okms_id, &a.id, a.cert_out.as_deref(), a.force)?;
    block_on(async move {
        let client = client(global, out)?;
        let c = client.get_credential(okms_id, id).await.map_err(|e| {
            api_failure(
                e,
                format!("cannot read credential {id} of domain {okms_id}"),
            )
        })?;
        write_and_report(&c, a.cert_out.as_deref(), a.force, out)
    })
}

#[derive(Serialize)]
struct ListReport<'a> {
    okms_id: Uuid,
    credentials: &'a [Credential],
}

/// `credential list`.
///
/// # Errors
/// Exit 3 for a bad id, API errors.
pub(super) fn list(a: &CredentialListArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
    block_on(list_online(okms_id, global, out))
}

async fn list_online(okms_id: Uuid, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let client = client(global, out)?;
    let creds = client.list_credentials(okms_id).await.map_err(|e| {
        api_failure(
            e,
            format!("cannot list the credentials of domain {okms_id}"),
        )
    })?;
    if out.is_json() {
        return out.json(&ListReport {
            okms_id,
            credentials: &creds,
        });
    }
    if creds.is_empty() {
        out.info(&format!("domain {okms_id} has no credential"));
        return Ok(());
    }
    let now = super::report::server_now(&client, out).await;
    out.line(&format!(
        "{:<36}  {:<8}  {:<5}  {:<25}  {:>9}  {:<7}  NAME",
        "ID", "STATUS", "TYPE", "EXPIRES", "DAYS LEFT", "EXPIRY"
    ))?;
    for c in &creds {
        let expiry = super::report::api_expiry(c.expired_at, &c.status, now, Thresholds::DEFAULT);
        // Upper case for the one state that already breaks every call made with it.
        let mark = match expiry.status {
            ExpiryStatus::Ok => "",
            ExpiryStatus::Warn | ExpiryStatus::Crit => "soon",
            ExpiryStatus::Expired => "EXPIRED",
            // The API tells no start: `api_expiry` never says this; a mark all the same.
            ExpiryStatus::NotYetValid => "NOT_YET_VALID",
        };
        out.line(&format!(
            "{:<36}  {:<8}  {:<5}  {:<25}  {:>9}  {:<7}  {}",
            c.id,
            c.status.as_str(),
            c.certificate_type.as_ref().map_or("-", |t| t.as_str()),
            rfc3339(c.expired_at),
            expiry.days_left,
            mark,
            c.name
        ))?;
    }
    Ok(())
}

/// `credential wait`.
///
/// # Errors
/// Exit 3 for a bad id, 5 for a `--cert-out` in the way, 8 on timeout, API errors.
pub(super) fn wait(a: &CredentialWaitArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let (okms_id, id) = ids_and_cert_out(&a.okms.okms_id, &a.id, a.cert_out.as_deref(), a.force)?;
    block_on(async move {
        let client = client(global, out)?;
        let c = wait_ready(&client, okms_id, id, a.timeout, out, a.cert_out.as_deref()).await?;
        write_and_report(&c, a.cert_out.as_deref(), a.force, out)
    })
}

#[derive(Serialize)]
struct DeleteReport<'a> {
    deleted: Uuid,
    okms_id: Uuid,
    credential: Option<&'a Credential>,
}

/// `credential delete`: asks first on a terminal, refuses without `--yes` elsewhere.
///
/// # Errors
/// Exit 2 without confirmation, 3 for a bad id, API errors.
pub(super) fn delete(a: &CredentialDeleteArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
    let id = parse_uuid(&a.id, "credential id (ID)")?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !a.yes && !interactive {
        return Err(usage(format!(
            "refusing to delete credential {id} without confirmation: there is no terminal to ask on"
        ))
        .hint("pass --yes to confirm"));
    }
    block_on(async move {
        let client = client(global, out)?;
        if !a.yes {
            let c = client.get_credential(okms_id, id).await.map_err(|e| {
                api_failure(
                    e,
                    format!("cannot read credential {id} of domain {okms_id}"),
                )
            })?;
            if !confirm(&format!(
                "Revoke and delete credential {id} ({:?}, {}) of domain {okms_id}? Programs using its certificate will stop working. [y/N] ",
                c.name, c.status
            ))? {
                return Err(CliError::new(
                    Exit::Error,
                    "not confirmed; nothing was deleted",
                ));
            }
        }
        let last = client.delete_credential(okms_id, id).await.map_err(|e| {
            api_failure(
                e,
                format!("cannot delete credential {id} of domain {okms_id}"),
            )
        })?;
        if out.is_json() {
            return out.json(&DeleteReport {
                deleted: id,
                okms_id,
                credential: last.as_ref(),
            });
        }
        out.line(&format!(
            "Credential {id} is being revoked and deleted{}.",
            last.as_ref()
                .map(|c| format!(" (status {})", c.status))
                .unwrap_or_default()
        ))
    })
}

/// Asks a yes/no question on the terminal (stderr), before a change that cannot be undone.
pub(crate) fn confirm(question: &str) -> CliResult<bool> {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(question.as_bytes());
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError {
            exit: Exit::Error,
            error: anyhow::Error::new(e).context("cannot read the answer from the terminal"),
            hint: None,
        })?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
