#![doc = include_str!("../README.md")]

pub mod cli;
mod commands;
mod error;
pub mod exit;
mod files;
mod generate;
mod input;
mod okms_yaml;
mod output;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::exit::Exit;
use crate::output::Output;

/// Parses the command line, runs the command and returns the documented exit code.
#[must_use]
pub fn run() -> ExitCode {
    if let Some(code) = generate::run_if_asked(&std::env::args_os().collect::<Vec<_>>()) {
        return code;
    }
    let cli = match parse_command_line() {
        Ok(c) => c,
        Err(e) => {
            if e.use_stderr() && nagios_requested() {
                return nagios_usage_error(&e);
            }
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            // clap formats its own usage errors (with the `error:` prefix and a usage line);
            // --help and --version land here too, on stdout.
            if let Err(print_err) = e.print() {
                Output::fallback().error(&error::CliError::new(
                    Exit::Error,
                    format!("cannot print: {print_err}"),
                ));
                return Exit::Error.into();
            }
            return code.into();
        }
    };
    let out = Output::new(&cli.global);
    match commands::dispatch(&cli.command, &cli.global, &out) {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            out.error(&e);
            e.exit.into()
        }
    }
}

/// Whether the command line asks for a Nagios plugin's answer (`credential report --nagios`),
/// looked up before clap has understood it: its usage errors must follow the plugin API too.
fn nagios_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--nagios")
}

/// A usage error as the plugin API wants it: UNKNOWN (exit 3) with a status line on stdout,
/// not clap's exit 2, which a monitoring system reads as CRITICAL. clap's own message, usage
/// line included, still goes to stderr.
fn nagios_usage_error(e: &clap::Error) -> ExitCode {
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let reason = first.strip_prefix("error: ").unwrap_or(first);
    let out = Output::fallback();
    let printed = out.line(&commands::nagios_unknown_text(reason));
    let _ = e.print();
    match printed {
        Ok(()) => Exit::InvalidInput.into(),
        Err(_) => Exit::Error.into(),
    }
}

/// What `Cli::try_parse` does, minus freeing clap's command tree and matches: the process ends
/// as soon as the command does, and those hundreds of small frees cost about 4% of a
/// `csr new` (measured with callgrind) for memory the exit returns anyway.
fn parse_command_line() -> Result<cli::Cli, clap::Error> {
    let mut command = cli::Cli::command();
    let parsed = match command.try_get_matches_from_mut(std::env::args_os()) {
        Ok(mut matches) => {
            let parsed =
                cli::Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command));
            std::mem::forget(matches);
            parsed
        }
        Err(e) => Err(e),
    };
    std::mem::forget(command);
    parsed
}
