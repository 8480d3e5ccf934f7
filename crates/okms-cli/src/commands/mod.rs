//! Command behaviour, one module per command group. Arguments come from [`crate::cli`].

pub mod cert;
pub mod cert_export;
pub mod csr;
mod identities;
pub mod key;
pub mod online;
pub(crate) use online::nagios_unknown_text;
pub mod pem;
pub mod pkcs11;
pub mod request;

use crate::cli::{self, Command};
use crate::error::CliResult;
use crate::output::Output;

/// Runs one parsed command.
///
/// # Errors
/// Whatever the command reports, with its exit code.
pub fn dispatch(command: &Command, global: &cli::GlobalArgs, out: &Output) -> CliResult<()> {
    match command {
        Command::Key(c) => key::run(c, out),
        Command::Csr(c) => csr::run(c, out),
        Command::Cert(c) => cert::run(c, global, out),
        Command::Pem(c) => pem::run(c, out),
        Command::Request(c) => request::run(c, global, out),
        Command::Online(c) => online::run(c, global, out),
    }
}
