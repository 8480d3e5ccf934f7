//! `okms-cli iam ...`.

use clap::{Args, Subcommand, ValueEnum};
use okms_api::iam::actions::PRESETS;

use super::{IdentityArgs, OkmsIdArg};

/// `okms-cli iam ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum IamCommand {
    /// List the account's users, groups (ADMIN-role groups marked) and service accounts, with
    /// their identity URNs.
    Identities,
    /// Give identities actions on the domain with an IAM policy (idempotent).
    Grant(IamGrantArgs),
    /// List the IAM policies that name the domain.
    List(IamListArgs),
    /// Delete an IAM policy.
    Revoke(IamRevokeArgs),
}

/// What `iam grant` prints instead of sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GrantFormat {
    /// The request body (POST /v2/iam/policy), nothing sent.
    Json,
    /// An `ovh_iam_policy` resource for the OVH Terraform provider, nothing sent.
    Terraform,
}

// `okms-cli iam grant`. The presets list is built here, in the deferred part, so that other
// commands do not format it at start-up.
#[derive(Debug, Args)]
#[command(after_help = presets_help())]
pub struct IamGrantArgs {
    /// The domain the policy is about.
    #[command(flatten)]
    pub okms: OkmsIdArg,
    /// Who receives the actions.
    #[command(flatten)]
    pub identities: IdentityArgs,
    /// A preset of actions (repeatable; listed below).
    #[arg(long, value_name = "NAME")]
    pub preset: Vec<String>,
    /// An action to allow, e.g. okms:apikms:serviceKey/get; a trailing * covers every action
    /// with that prefix (repeatable).
    #[arg(long, value_name = "ACTION")]
    pub allow: Vec<String>,
    /// An action taken back out of the allowed ones (repeatable).
    #[arg(long, value_name = "ACTION")]
    pub except: Vec<String>,
    /// An action denied whatever any policy allows (repeatable).
    #[arg(long, value_name = "ACTION")]
    pub deny: Vec<String>,
    /// Policy name; the same name finds the same policy again [default: derived from the
    /// domain, the presets and the identities].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Policy description.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// When the policy stops applying, RFC 3339 (e.g. 2026-12-31T23:59:59Z).
    #[arg(long, value_name = "TIME")]
    pub expires_at: Option<String>,
    /// Print the exact request body and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the policy in this form and send nothing.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<GrantFormat>,
    /// Replace a different policy of the same name (a PUT replaces the whole policy).
    #[arg(long)]
    pub force: bool,
}

// `okms-cli iam list`
#[derive(Debug, Args)]
pub struct IamListArgs {
    /// The domain.
    #[command(flatten)]
    pub okms: OkmsIdArg,
    /// Only the policies naming this identity URN.
    #[arg(long, value_name = "URN")]
    pub identity: Option<String>,
}

// `okms-cli iam revoke`
#[derive(Debug, Args)]
pub struct IamRevokeArgs {
    /// The policy id (a UUID, as `iam list` shows it).
    #[arg(value_name = "POLICY")]
    pub policy: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// The presets and their actions, for `iam grant --help`.
// Built only when `iam grant` is parsed (the Args struct is deferred).
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
