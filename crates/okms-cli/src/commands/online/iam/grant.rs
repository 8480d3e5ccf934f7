//! `iam grant`: one policy giving identities actions on the domain, found again by name so
//! that running the same grant twice leaves one policy.

use okms_api::iam::{PolicyBody, PolicyFilter, actions, to_actions};
use okms_api::{IdentitySelection, IdentityUrn, OffsetDateTime, Plate, Uuid};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::{domain_urn, terraform};
use crate::cli::{GlobalArgs, GrantFormat, IamGrantArgs};
use crate::commands::identities;
use crate::commands::online::account::account;
use crate::commands::online::session::{block_on, client, parse_uuid};
use crate::error::{CliError, CliResult, api_failure, invalid_policy, quoted, usage};
use crate::exit::Exit;
use crate::output::{Output, rfc3339};

/// The `--json` result of `iam grant`.
#[derive(Serialize)]
struct GrantReport<'a> {
    /// `created`, `unchanged` or `replaced`.
    outcome: &'static str,
    policy: &'a okms_api::iam::Policy,
}

/// `iam grant`.
///
/// # Errors
/// Exit 2 for missing flags and `--root`, 3 for bad values, 5 for a different policy of the
/// same name without `--force`, 6/7 from the API. Nothing is written on error.
pub(super) fn run(a: &IamGrantArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
    if a.identities.root {
        return Err(usage(
            "--root: the account's root identity holds every right and needs no policy",
        )
        .hint("name the identity to grant: --user, --group, --service-account or --identity"));
    }
    let selection = IdentitySelection::from(&a.identities);
    if selection.is_empty() {
        return Err(usage(
            "say who receives the actions: --user LOGIN, --group NAME, --service-account CLIENT_ID or --identity URN",
        ));
    }
    if a.preset.is_empty() && a.allow.is_empty() {
        return Err(usage(
            "an empty allow list grants nothing: give --preset NAME or --allow ACTION",
        )
        .hint("see the presets in `okms-cli iam grant --help`"));
    }
    let allow = allowed(a)?;
    for action in a.except.iter().chain(&a.deny) {
        actions::check_action(action).map_err(invalid_policy)?;
    }
    let expires_at = match &a.expires_at {
        Some(t) => Some(parse_expiry(t)?),
        None => None,
    };
    // Logins, group names and URNs are checked before any call.
    identities::check(&selection)?;
    block_on(async move {
        let client = client(global, out)?;
        let (_, nic, plate) = account(&client).await?;
        let urns = identities::urns_for_api_account(&selection, plate, &nic)?;
        refuse_foreign(&urns, &nic, plate)?;
        identities::warn_unknown(&client, &urns, out).await;
        let resource = domain_urn(&client, okms_id, plate).await?;
        let mut body = PolicyBody::new(
            a.name
                .clone()
                .unwrap_or_else(|| default_name(okms_id, &a.preset, &urns)),
            urns,
            resource.clone(),
            allow,
        );
        body.description = a.description.clone();
        body.permissions.except = to_actions(a.except.clone());
        body.permissions.deny = to_actions(a.deny.clone());
        body.expired_at = expires_at;
        body.validate(OffsetDateTime::now_utc())
            .map_err(invalid_policy)?;
        match (a.dry_run, a.format) {
            (_, Some(GrantFormat::Terraform)) => {
                return out.line(&terraform::policy_resource(&body));
            }
            (true, _) | (_, Some(GrantFormat::Json)) => {
                let json = body.to_json().map_err(invalid_policy)?;
                let mut bytes = json;
                bytes.push(b'\n');
                return out.stdout_bytes(&bytes);
            }
            (false, None) => {}
        }
        apply(&client, &body, &resource, a.force, out).await
    })
}

/// The presets' actions then `--allow`, each checked, in order, without repeats.
fn allowed(a: &IamGrantArgs) -> CliResult<Vec<String>> {
    let mut allow: Vec<String> = Vec::new();
    for name in &a.preset {
        let preset = actions::preset(name).map_err(invalid_policy)?;
        allow.extend(preset.actions.iter().map(|s| (*s).to_owned()));
    }
    for action in &a.allow {
        actions::check_action(action).map_err(invalid_policy)?;
        allow.push(action.clone());
    }
    let mut seen = std::collections::HashSet::new();
    allow.retain(|x| seen.insert(x.clone()));
    Ok(allow)
}

fn parse_expiry(text: &str) -> CliResult<OffsetDateTime> {
    let at = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|e| {
        CliError::new(
            Exit::InvalidInput,
            format!("invalid --expires-at {}: {e}", quoted(text)),
        )
        .hint("write it as RFC 3339, e.g. 2026-12-31T23:59:59Z")
    })?;
    if at <= OffsetDateTime::now_utc() {
        return Err(CliError::new(
            Exit::InvalidInput,
            format!("--expires-at {text} is not in the future: the policy would grant nothing"),
        )
        .hint("give a later time, or leave --expires-at out for a policy that does not expire"));
    }
    Ok(at)
}

/// A policy may only name identities of the caller's own account and region.
fn refuse_foreign(urns: &[String], nic: &str, plate: Plate) -> CliResult<()> {
    for urn in urns {
        let parsed = IdentityUrn::parse(urn).map_err(invalid_policy)?;
        let region = urn.split(':').nth(2).unwrap_or_default();
        if !parsed.account().eq_ignore_ascii_case(nic)
            || !region.eq_ignore_ascii_case(&plate.to_string())
        {
            return Err(CliError::new(
                Exit::InvalidInput,
                format!(
                    "identity {urn} is not of this account: it names account {:?} in region {region:?}, the API credentials are account {nic:?} in region {plate}",
                    parsed.account()
                ),
            )
            .hint("a policy can only name identities of its own account: fix --identity"));
        }
        if parsed.kind() == Some(okms_api::IdentityKind::Account) {
            return Err(usage(format!(
                "{urn} is the account's root identity, which holds every right and needs no policy"
            )));
        }
    }
    Ok(())
}

/// `okms-<domain>-<presets or custom>-<identity names>`: the same grant gets the same name.
fn default_name(okms_id: Uuid, presets: &[String], urns: &[String]) -> String {
    let what = if presets.is_empty() {
        "custom".to_owned()
    } else {
        presets.join("+")
    };
    let who: Vec<String> = urns
        .iter()
        .map(|u| {
            IdentityUrn::parse(u)
                .ok()
                .and_then(|p| p.name().map(str::to_owned))
                .unwrap_or_else(|| u.clone())
        })
        .collect();
    let mut name = format!("okms-{okms_id}-{what}-{}", who.join("+"));
    if name.len() > okms_api::iam::POLICY_NAME_MAX {
        let mut end = okms_api::iam::POLICY_NAME_MAX;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

/// Creates the policy, or finds it in place, or replaces a different one of the same name
/// with `--force`.
async fn apply(
    client: &okms_api::Client,
    body: &PolicyBody,
    resource: &str,
    force: bool,
    out: &Output,
) -> CliResult<()> {
    let filter = PolicyFilter {
        resource_urns: vec![resource.to_owned()],
        ..PolicyFilter::default()
    };
    let existing: Vec<_> = client
        .list_policies(&filter)
        .await
        .map_err(|e| api_failure(e, "cannot list the IAM policies"))?
        .into_iter()
        .filter(|p| p.name == body.name)
        .collect();
    let (outcome, policy) = match existing.as_slice() {
        [] => {
            let p = client
                .create_policy(body)
                .await
                .map_err(|e| api_failure(e, format!("cannot create IAM policy {:?}", body.name)))?;
            ("created", p)
        }
        [one] if body.same_as(one) => ("unchanged", one.clone()),
        [one] if one.read_only == Some(true) => {
            return Err(CliError::new(
                Exit::InvalidInput,
                format!(
                    "policy {} ({:?}) is managed by OVHcloud and cannot be changed",
                    one.id, one.name
                ),
            )
            .hint("choose another --name"));
        }
        [one] if !force => {
            return Err(CliError::new(
                Exit::RefusedOverwrite,
                format!(
                    "policy {} ({:?}) exists and says something else; nothing was changed",
                    one.id, one.name
                ),
            )
            .hint("pass --force to replace it with this grant (the whole policy), or choose another --name"));
        }
        [one] => {
            let p = client
                .update_policy(one.id, body)
                .await
                .map_err(|e| api_failure(e, format!("cannot replace IAM policy {}", one.id)))?;
            ("replaced", p)
        }
        many => {
            let ids: Vec<String> = many.iter().map(|p| p.id.to_string()).collect();
            return Err(CliError::new(
                Exit::Api,
                format!(
                    "{} policies are named {:?} ({}); cannot tell which one to keep",
                    many.len(),
                    body.name,
                    ids.join(", ")
                ),
            )
            .hint(
                "revoke the extra ones with `okms-cli iam revoke POLICY`, or choose another --name",
            ));
        }
    };
    if out.is_json() {
        return out.json(&GrantReport {
            outcome,
            policy: &policy,
        });
    }
    let said = match outcome {
        "created" => "Created",
        "replaced" => "Replaced",
        _ => "Already in place, nothing changed:",
    };
    out.line(&format!("{said} policy {} ({:?})", policy.id, policy.name))?;
    out.field("Identities", &body.identities.join(", "))?;
    out.field("Resource", resource)?;
    let allow: Vec<&str> = body
        .permissions
        .allow
        .iter()
        .map(|a| a.action.as_str())
        .collect();
    out.field("Allow", &allow.join(", "))?;
    if !body.permissions.except.is_empty() {
        let v: Vec<&str> = body
            .permissions
            .except
            .iter()
            .map(|a| a.action.as_str())
            .collect();
        out.field("Except", &v.join(", "))?;
    }
    if !body.permissions.deny.is_empty() {
        let v: Vec<&str> = body
            .permissions
            .deny
            .iter()
            .map(|a| a.action.as_str())
            .collect();
        out.field("Deny", &v.join(", "))?;
    }
    if let Some(at) = body.expired_at {
        out.field("Expires", &rfc3339(at))?;
    }
    Ok(())
}
