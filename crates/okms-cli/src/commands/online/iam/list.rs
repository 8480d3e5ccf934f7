//! `iam list` and `iam revoke`.

use std::io::IsTerminal;

use okms_api::iam::{Policy, PolicyAction, PolicyFilter};
use okms_api::{OffsetDateTime, Uuid};
use serde::Serialize;

use super::domain_urn;
use crate::cli::{GlobalArgs, IamListArgs, IamRevokeArgs};
use crate::commands::online::account::account;
use crate::commands::online::credential::confirm;
use crate::commands::online::session::{block_on, client, parse_uuid};
use crate::error::{CliError, CliResult, api_failure, usage};
use crate::exit::Exit;
use crate::output::{Output, rfc3339};

#[derive(Serialize)]
struct ListReport<'a> {
    okms_id: Uuid,
    resource_urn: &'a str,
    policies: &'a [Policy],
}

/// `iam list`: the policies that name the domain (and the identity, with `--identity`).
///
/// # Errors
/// Exit 3 for a bad id or URN, 6/7 from the API.
pub(super) fn list(a: &IamListArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
    if let Some(i) = &a.identity {
        okms_api::IdentityUrn::parse(i).map_err(|e| CliError {
            exit: Exit::InvalidInput,
            error: anyhow::Error::new(e).context("invalid --identity"),
            hint: Some("give a full identity URN, as `okms-cli iam identities` shows it".into()),
        })?;
    }
    block_on(async move {
        let client = client(global, out)?;
        let (_, _, plate) = account(&client).await?;
        let resource = domain_urn(&client, okms_id, plate).await?;
        let filter = PolicyFilter {
            identities: a.identity.iter().cloned().collect(),
            resource_urns: vec![resource.clone()],
            actions: Vec::new(),
        };
        let mut policies = client
            .list_policies(&filter)
            .await
            .map_err(|e| api_failure(e, "cannot list the IAM policies"))?;
        // The filters are the server's; what is shown is what was asked, whatever it applied.
        policies.retain(|p| {
            p.covers_resource(&resource)
                && a.identity.as_ref().is_none_or(|i| p.identities.contains(i))
        });
        if out.is_json() {
            return out.json(&ListReport {
                okms_id,
                resource_urn: &resource,
                policies: &policies,
            });
        }
        if policies.is_empty() {
            out.info(&format!(
                "no IAM policy names domain {okms_id} ({resource})"
            ));
            return Ok(());
        }
        let now = OffsetDateTime::now_utc();
        for p in &policies {
            let state = if p.is_in_force(now) {
                ""
            } else {
                "  [expired]"
            };
            out.line(&format!("{}  {}{state}", p.id, p.name))?;
            out.field("  Identities", &p.identities.join(", "))?;
            let names = |v: &[PolicyAction]| {
                v.iter()
                    .map(|a| a.action.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.field("  Allow", &names(&p.permissions.allow))?;
            if !p.permissions.except.is_empty() {
                out.field("  Except", &names(&p.permissions.except))?;
            }
            if !p.permissions.deny.is_empty() {
                out.field("  Deny", &names(&p.permissions.deny))?;
            }
            out.field(
                "  Expires",
                &p.expired_at.map_or_else(|| "never".to_owned(), rfc3339),
            )?;
        }
        Ok(())
    })
}

#[derive(Serialize)]
struct RevokeReport {
    deleted: Uuid,
}

/// `iam revoke POLICY`: asks first on a terminal; elsewhere `--yes` is required, as for
/// `credential delete`.
///
/// # Errors
/// Exit 3 for an id that is not a UUID, 2 without `--yes` and no terminal, 6 for a policy
/// that does not exist, 7 when the caller may not delete it.
pub(super) fn revoke(a: &IamRevokeArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let id = parse_uuid(&a.policy, "policy id (POLICY)")?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !a.yes && !interactive {
        return Err(usage(format!(
            "refusing to delete IAM policy {id} without confirmation: there is no terminal to ask on"
        ))
        .hint("pass --yes to confirm"));
    }
    block_on(async move {
        let client = client(global, out)?;
        let not_found = |e: okms_api::Error| {
            let missing = e.is_not_found();
            let err = api_failure(e, format!("cannot delete IAM policy {id}"));
            if missing {
                err.hint("no policy has this id: see `okms-cli iam list --okms-id ID`")
            } else {
                err
            }
        };
        if !a.yes {
            let p = client.get_policy(id).await.map_err(not_found)?;
            if !confirm(&format!(
                "Delete IAM policy {id} ({:?}, identities {})? What it grants stops at once. [y/N] ",
                p.name,
                p.identities.join(", ")
            ))? {
                return Err(CliError::new(
                    Exit::Error,
                    "not confirmed; nothing was deleted",
                ));
            }
        }
        client.delete_policy(id).await.map_err(not_found)?;
        if out.is_json() {
            return out.json(&RevokeReport { deleted: id });
        }
        out.line(&format!("Deleted IAM policy {id}."))
    })
}
