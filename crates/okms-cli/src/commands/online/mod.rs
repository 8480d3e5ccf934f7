//! The online commands: `whoami`, `domain list|show|ca`, `credential create|get|list|delete|wait|check`,
//! `iam identities|grant|list|revoke`.
//!
//! Each command builds a current-thread Tokio runtime, an [`okms_api::Client`] over the default
//! reqwest transport, and runs one async function. Configuration follows okms-api's
//! precedence (flag > `OVH_*` environment > `ovh.conf` > default); this module adds only the
//! flags: `--endpoint`, and `--config`, the named file of
//! [`okms_api::ConfigSources::with_explicit_file`] ([`okms_api::ConfigSources`] is the one
//! description of how it layers over the standard files). Errors of okms-api are mapped to the documented exit codes
//! in [`crate::error::api_failure`], keeping the OVH class, message and `X-Ovh-QueryID`.

mod account;
mod check;
mod check_kmip;
mod credential;
mod domain;
pub mod iam;
mod propagation;
pub(crate) mod session;

pub(crate) use credential::nagios_unknown_text;

use crate::cli::{DomainCommand, GlobalArgs, OnlineCommand};
use crate::error::CliResult;
use crate::output::Output;
use account::whoami;
use domain::{domain_ca, domain_list, domain_show};
pub(crate) use domain::{kms_trust, read_domain};
use session::{block_on, parse_uuid};

/// Runs an online command.
///
/// # Errors
/// Whatever the command reports, with its exit code.
pub fn run(cmd: &OnlineCommand, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    match cmd {
        OnlineCommand::Whoami => block_on(whoami(global, out)),
        OnlineCommand::Domain(DomainCommand::List) => block_on(domain_list(global, out)),
        OnlineCommand::Domain(DomainCommand::Show(a)) => {
            let id = parse_uuid(&a.id, "domain id (ID)")?;
            block_on(domain_show(id, global, out))
        }
        OnlineCommand::Domain(DomainCommand::Ca(a)) => block_on(domain_ca(a, global, out)),
        OnlineCommand::Credential(c) => credential::run(c, global, out),
        OnlineCommand::Iam(c) => iam::run(c, global, out),
    }
}
