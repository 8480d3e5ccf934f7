//! The online commands (whoami, domain, credential): not implemented yet.
//!
//! This is the only stub in okms-cli. The argument structs are final (see [`crate::cli`]);
//! the behaviour arrives with the okms-api client, and replaces this module.

use crate::cli::{GlobalArgs, OnlineCommand};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::output::Output;

/// Runs an online command.
///
/// # Errors
/// Always, for now: exit 1 with a message saying the command is not implemented yet.
pub fn run(cmd: &OnlineCommand, _global: &GlobalArgs, _out: &Output) -> CliResult<()> {
    let name = match cmd {
        OnlineCommand::Whoami => "whoami",
        OnlineCommand::Domain(_) => "domain",
        OnlineCommand::Credential(_) => "credential",
    };
    Err(CliError::new(Exit::Error, format!("`okms-cli {name}` is not implemented yet in this build"))
        .hint("the offline commands (key, csr, cert, pem, request) work; online commands come with the API client"))
}
