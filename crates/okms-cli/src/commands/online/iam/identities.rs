//! `iam identities`: who in the account can be named in a certificate or a policy.

use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::commands::online::session::{block_on, client};
use crate::error::{CliError, CliResult, api_failure};
use crate::exit::Exit;
use crate::output::Output;

#[derive(Serialize)]
struct Failed {
    item: String,
    error: String,
}

#[derive(Serialize)]
struct IdentitiesReport<'a> {
    users: &'a [okms_api::iam::IamUser],
    groups: &'a [okms_api::iam::IamGroup],
    service_accounts: &'a [okms_api::iam::ServiceAccount],
    failed: Vec<Failed>,
}

/// `iam identities`. Everything that could be read is shown; when an item could not be read,
/// it is named and the exit code is 6.
///
/// # Errors
/// Exit 6/7 when a list cannot be read, 6 after the output when an item could not.
pub(super) fn run(global: &GlobalArgs, out: &Output) -> CliResult<()> {
    block_on(async move {
        let client = client(global, out)?;
        let found = client
            .identities()
            .await
            .map_err(|e| api_failure(e, "cannot list the account's identities"))?;
        let failed: Vec<Failed> = found
            .failed
            .iter()
            .map(|f| Failed {
                item: f.item.clone(),
                error: f.error.to_string(),
            })
            .collect();
        if out.is_json() {
            out.json(&IdentitiesReport {
                users: &found.users,
                groups: &found.groups,
                service_accounts: &found.service_accounts,
                failed: failed
                    .iter()
                    .map(|f| Failed {
                        item: f.item.clone(),
                        error: f.error.clone(),
                    })
                    .collect(),
            })?;
        } else {
            let urn = |u: &Option<String>| u.clone().unwrap_or_else(|| "(no URN given)".into());
            out.line("USERS")?;
            for u in &found.users {
                let groups = if u.groups.is_empty() {
                    u.group.clone().unwrap_or_default()
                } else {
                    u.groups.join(",")
                };
                out.line(&format!(
                    "  {:<24} {:<40} group {groups}",
                    u.login,
                    urn(&u.urn)
                ))?;
            }
            out.line("GROUPS")?;
            for g in &found.groups {
                let role = g.role.clone().unwrap_or_default();
                let note = if g.is_admin() {
                    "  (ADMIN: its members hold every right, no policy needed)"
                } else {
                    ""
                };
                out.line(&format!(
                    "  {:<24} {:<40} role {role}{note}",
                    g.name,
                    urn(&g.urn)
                ))?;
            }
            out.line("SERVICE ACCOUNTS")?;
            for s in &found.service_accounts {
                out.line(&format!(
                    "  {:<24} {:<40} {}",
                    s.client_id,
                    urn(&s.identity),
                    s.name.clone().unwrap_or_default()
                ))?;
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        for f in &failed {
            out.warn(&format!("cannot read {}: {}", f.item, f.error));
        }
        Err(CliError::new(
            Exit::Api,
            format!(
                "{} identit{} could not be read (the others are shown)",
                failed.len(),
                if failed.len() == 1 { "y" } else { "ies" }
            ),
        ))
    })
}
