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

use okms_api::iam::actions::PRESETS;
use okms_api::iam::domain_resource_urn;
use okms_api::{Client, Plate, Uuid};

use super::api_failure;
use crate::cli::{GlobalArgs, IamCommand};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
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

/// The presets and their actions, for `iam grant --help`.
#[must_use]
pub fn presets_help() -> String {
    let mut s = String::from("Presets (--preset NAME):\n");
    for p in PRESETS {
        s.push_str(&format!("  {:<19} {}\n", p.name, p.summary));
        for a in p.actions {
            s.push_str(&format!("  {:<19}   {a}\n", ""));
        }
    }
    s.push_str(
        "\nExit codes: 2 for missing or conflicting flags (no identity, no action, --root); 3 for \
         a bad value (unknown preset or action, an identity of another account or region, \
         --expires-at not in the future); 5 when a different policy of the same name exists \
         and --force is not given; 6 for API errors, 7 when the caller may not manage policies. \
         Nothing is written on any error.",
    );
    s
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

/// A validation error of a policy body or an action, pointing at the flag to fix (exit 3).
pub(crate) fn body_error(e: okms_api::Error) -> CliError {
    use okms_api::Error as E;
    use okms_api::Field as F;
    let flag = match &e {
        E::UnknownPreset { .. } => "--preset",
        E::UnknownAction { .. } => "--allow, --except or --deny",
        E::InvalidField { field, .. } => match field {
            F::PolicyName => "--name",
            F::PolicyIdentities | F::PolicyIdentity(_) => {
                "--user, --group, --service-account or --identity"
            }
            F::PolicyAllow => "--preset or --allow",
            F::PolicyExpiredAt => "--expires-at",
            _ => "",
        },
        _ => "",
    };
    // The error line names what is wrong: that is what the user reads first.
    let err = CliError::new(Exit::InvalidInput, format!("{e}; nothing was sent"));
    if flag.is_empty() {
        err
    } else {
        err.hint(format!("fix {flag}"))
    }
}
