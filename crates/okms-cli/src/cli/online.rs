//! The online commands' top level, `domain ...`, and the `--okms-id` they share.

use std::path::PathBuf;

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
    /// Write the domain's CA: the certificate(s) its KMS server certificates chain to, as the
    /// API gives them (to configure a tool that talks to the KMS, or to check its endpoint).
    Ca(DomainCaArgs),
}

// `okms-cli domain ca`
#[derive(Debug, Args)]
pub struct DomainCaArgs {
    #[command(flatten)]
    pub okms: OkmsIdArg,
    /// The CA of the KMIP endpoint for RSA certificates (`publicRsaCA`) instead of the one of
    /// the REST and KMIP endpoints (`publicCA`).
    #[arg(long)]
    pub rsa: bool,
    /// Write the PEM to this file (mode 0644) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long, requires = "out")]
    pub force: bool,
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
