//! The IAM checks around certificates: may the API caller create one (before anything is
//! generated or sent), and may its identities use the KMS (after it is READY).

use okms_api::iam::actions::{self, Decision};
use okms_api::iam::{PolicyFilter, domain_resource_urn};
use okms_api::{Client, IdentityKind, IdentityUrn, OffsetDateTime, Plate, Uuid};

use super::grant_command;
use crate::error::{CliError, CliResult, iam_grant_hint};
use crate::exit::Exit;
use crate::output::Output;

/// The action the create POST needs (okms-v2.json).
const CREATE_ACTION: &str = "okms:apiovh:credential/create";

/// Whether any identity is not the account's root (the root needs no policy).
fn has_non_root(identities: &[String]) -> bool {
    identities
        .iter()
        .any(|u| IdentityUrn::parse(u).map_or(true, |p| p.kind() != Some(IdentityKind::Account)))
}

/// The region of the identities, else of the endpoint.
fn plate_of(client: &Client, identities: &[String]) -> Option<Plate> {
    client.plate().or_else(|| {
        identities
            .iter()
            .find_map(|u| u.split(':').nth(2).and_then(|p| p.parse::<Plate>().ok()))
    })
}

/// Before `credential create` generates or sends anything, whatever identities the certificate
/// names (the caller needs the action even for the root's certificate): asks the API whether
/// the caller may create credentials on the domain. A refusal stops with exit 7,
/// naming the action and the fix; a check that cannot be made says so with `-v` and lets the
/// create call decide.
///
/// # Errors
/// Exit 7 when the answer says the caller lacks `okms:apiovh:credential/create`.
pub(crate) async fn precheck_create(
    client: &Client,
    okms_id: Uuid,
    identities: &[String],
    out: &Output,
) -> CliResult<()> {
    let Some(plate) = plate_of(client, identities) else {
        return Ok(());
    };
    let resource = domain_resource_urn(plate, okms_id);
    let asked = vec![CREATE_ACTION.to_owned()];
    let answer = match client.check_authorization(&resource, &asked).await {
        Ok(a) => a,
        Err(e) => {
            out.verbose(&format!(
                "cannot ask whether the API caller may create credentials on {resource} ({e}); the create call will tell"
            ));
            return Ok(());
        }
    };
    if answer.missing(&asked).is_empty() {
        out.verbose(&format!("the API caller may {CREATE_ACTION} on {resource}"));
        return Ok(());
    }
    let caller = client
        .auth_details()
        .await
        .ok()
        .and_then(|d| d.identities.into_iter().next())
        .unwrap_or_else(|| "<the API caller's identity URN>".to_owned());
    Err(CliError::new(
        Exit::Auth,
        format!(
            "the API caller may not create credentials on domain {okms_id}: it is not granted the IAM action {CREATE_ACTION} on {resource}; nothing was generated or sent"
        ),
    )
    .hint(iam_grant_hint(
        CREATE_ACTION,
        Some(&grant_command(okms_id, &[caller], "credential-manager")),
    )))
}

/// After a certificate is READY for non-root identities: warns, with the `iam grant` command
/// that fixes it, when no policy in force and no ADMIN group gives any of them a KMS action on
/// the domain. A caller that may not read policies or identities gets one `-v` line.
pub(crate) async fn warn_if_no_kms_rights(
    client: &Client,
    okms_id: Uuid,
    identities: &[String],
    out: &Output,
) {
    if !has_non_root(identities) {
        return;
    }
    let Some(plate) = plate_of(client, identities) else {
        return;
    };
    let resource = domain_resource_urn(plate, okms_id);
    match kms_rights(client, &resource, identities).await {
        Ok(true) => out.verbose(&format!(
            "the certificate's identities hold KMS actions on {resource}"
        )),
        Ok(false) => {
            out.warn(&format!(
                "no IAM policy found (and no ADMIN group) that gives {} a KMS action on domain {okms_id}: the KMS will likely refuse this certificate",
                identities.join(", ")
            ));
            out.warn(&format!(
                "fix: {}",
                grant_command(okms_id, identities, "kms-read")
            ));
        }
        Err(e) => out.verbose(&format!(
            "cannot read the IAM policies or identities ({e}); not checking whether the certificate's identities may use the KMS"
        )),
    }
}

/// Whether one of `identities` (directly or through a group) is in an ADMIN group, or is
/// allowed a KMS action on `resource` by a policy in force and denied it by none.
async fn kms_rights(
    client: &Client,
    resource: &str,
    identities: &[String],
) -> Result<bool, okms_api::Error> {
    let mut who: Vec<String> = identities.to_vec();
    let named: Vec<IdentityUrn> = identities
        .iter()
        .filter_map(|u| IdentityUrn::parse(u).ok())
        .filter(|u| matches!(u.kind(), Some(IdentityKind::User | IdentityKind::Group)))
        .collect();
    if !named.is_empty() {
        let account = client.identities().await?;
        let admin = |name: &str| {
            account
                .groups
                .iter()
                .any(|g| g.name == name && g.is_admin())
        };
        for urn in &named {
            let Some(name) = urn.name() else { continue };
            let member_of: Vec<String> = match urn.kind() {
                Some(IdentityKind::Group) => vec![name.to_owned()],
                _ => account
                    .users
                    .iter()
                    .filter(|u| u.login == name)
                    .flat_map(|u| u.groups.iter().cloned().chain(u.group.clone()))
                    .collect(),
            };
            if member_of.iter().any(|g| admin(g)) {
                return Ok(true);
            }
            let plate = urn
                .as_str()
                .split(':')
                .nth(2)
                .and_then(|p| p.parse::<Plate>().ok());
            for g in member_of {
                // The group's URN as the API gives it, else as the identity's account builds it.
                let given = account
                    .groups
                    .iter()
                    .find(|x| x.name == g)
                    .and_then(|x| x.urn.clone());
                let built = plate
                    .and_then(|p| IdentityUrn::group(p, urn.account(), &g).ok())
                    .map(IdentityUrn::into_string);
                who.extend(given.into_iter().chain(built));
            }
        }
    }
    let policies = client
        .list_policies(&PolicyFilter {
            resource_urns: vec![resource.to_owned()],
            ..PolicyFilter::default()
        })
        .await?;
    let now = OffsetDateTime::now_utc();
    // Permissions groups and conditions are evaluated by OVHcloud only: a policy of the
    // identities that has them may grant KMS actions this check cannot see, so no warning.
    if policies.iter().any(|p| {
        p.is_in_force(now)
            && p.identities.iter().any(|i| who.contains(i))
            && (!p.permissions_groups.is_empty() || p.conditions.is_some())
    }) {
        return Ok(true);
    }
    let applying: Vec<_> = policies
        .iter()
        .filter(|p| {
            p.is_in_force(now)
                && p.covers_resource(resource)
                && p.identities.iter().any(|i| who.contains(i))
        })
        .collect();
    let usable = actions::KMS_ACTIONS
        .iter()
        .chain(actions::KMIP_ACTIONS)
        .any(|action| {
            let decisions: Vec<Decision> = applying
                .iter()
                .map(|p| p.permissions.decide(action))
                .collect();
            decisions.contains(&Decision::Allowed) && !decisions.contains(&Decision::Denied)
        });
    Ok(usable)
}
