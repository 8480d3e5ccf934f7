//! The online commands' top level, `domain ...`, and the `--okms-id` they share.

use clap::{Args, Subcommand};

use super::{CredentialCommand, IamCommand};

/// Commands that call the OVHcloud API.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum OnlineCommand {
    /// Show who the API credentials authenticate as (account, method, identities).
    Whoami,
    /// OKMS domains of the account.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Access certificates (credentials) of an OKMS domain.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// IAM policies that let users, groups and service accounts use an OKMS domain.
    #[command(subcommand)]
    Iam(IamCommand),
}

/// `okms-cli domain ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum DomainCommand {
    /// List the account's OKMS domains.
    List,
    /// Show one OKMS domain.
    Show(DomainShowArgs),
}

// `okms-cli domain show`
#[derive(Debug, Args)]
pub struct DomainShowArgs {
    /// The OKMS domain id (a UUID).
    #[arg(value_name = "ID")]
    pub id: String,
}

// The OKMS domain a credential command works on.
#[derive(Debug, Args, Clone)]
pub struct OkmsIdArg {
    /// The OKMS domain id (a UUID).
    #[arg(long, env = "OKMS_ID", value_name = "ID")]
    pub okms_id: String,
}
