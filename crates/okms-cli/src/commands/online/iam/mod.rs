//! `okms-cli iam identities|grant|list|revoke`, and the IAM checks `credential create` and
//! `credential check` make ([`rights`]).
//!
//! Two identities matter: the API caller needs `okms:apiovh:credential/*` on the domain to
//! manage certificates; a certificate's identities need `okms:apikms:*` / `okms:kmip:*`
//! actions to use the KMS. `iam grant` writes the policy for either.

mod grant;
mod identities;
mod list;
pub(crate) mod rights;
mod terraform;

use okms_api::iam::domain_resource_urn;
use okms_api::{Client, Plate, Uuid};

use crate::cli::{GlobalArgs, IamCommand};
use crate::error::{CliResult, api_failure};
use crate::output::Output;

/// Runs an `iam` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &IamCommand, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    match cmd {
        IamCommand::Identities => identities::run(global, out),
        IamCommand::Grant(a) => grant::run(a, global, out),
        IamCommand::List(a) => list::list(a, global, out),
        IamCommand::Revoke(a) => list::revoke(a, global, out),
    }
}

/// The domain's resource URN: its `iam.urn` when the API gives it, else built from the
/// region.
pub(crate) async fn domain_urn(client: &Client, okms_id: Uuid, plate: Plate) -> CliResult<String> {
    let domain = client
        .get_domain(okms_id, false)
        .await
        .map_err(|e| api_failure(e, format!("cannot read OKMS domain {okms_id}")))?;
    Ok(domain
        .iam
        .and_then(|i| i.urn)
        .unwrap_or_else(|| domain_resource_urn(plate, okms_id)))
}

/// The `iam grant` command that gives `identities` a preset on the domain.
#[must_use]
pub(crate) fn grant_command(okms_id: Uuid, identities: &[String], preset: &str) -> String {
    let mut cmd = format!("okms-cli iam grant --okms-id {okms_id}");
    for i in identities {
        cmd.push_str(&format!(" --identity {i}"));
    }
    cmd.push_str(&format!(" --preset {preset}"));
    cmd
}
