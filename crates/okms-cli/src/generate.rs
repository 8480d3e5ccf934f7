//! The hidden `okms-cli generate-docs` command: man pages and shell completions rendered from
//! the clap definitions of this very binary, so that they cannot drift from `--help`.
//!
//! It lives in the binary (as ripgrep's `--generate` does) so that `cargo xtask dist` only has
//! to run okms-cli instead of linking it with all its dependencies. It is recognised before
//! [`Cli`] parses anything and has a parser of its own, so that it appears in no `--help`,
//! page or completion script. Files are written through the `files` module like every other output;
//! the directories must exist (the caller chooses and makes them).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, ValueEnum};
use clap_complete::{Generator, Shell};

use crate::cli::Cli;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::files;
use crate::output::Output;

/// The name every page and script is generated for.
const BIN_NAME: &str = "okms-cli";
/// The first argument that selects this command.
const COMMAND: &str = "generate-docs";

/// Write okms-cli's man pages and shell completions into existing directories.
#[derive(Debug, Parser)]
#[command(name = "generate-docs", bin_name = "okms-cli generate-docs")]
struct GenerateDocs {
    /// Directory for the man pages.
    #[arg(long, value_name = "DIR")]
    man_dir: PathBuf,
    /// Directory for the completion scripts.
    #[arg(long, value_name = "DIR")]
    completion_dir: PathBuf,
}

/// Runs `okms-cli generate-docs --man-dir DIR --completion-dir DIR` when that is the command
/// line, and returns its exit code; `None` for every other command line.
#[must_use]
pub fn run_if_asked(args: &[OsString]) -> Option<ExitCode> {
    if args.get(1).is_none_or(|a| a != COMMAND) {
        return None;
    }
    let parsed = match GenerateDocs::try_parse_from(args.iter().skip(1)) {
        Ok(p) => p,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            // A closed stream leaves nothing to report the failure on: the exit code says it.
            return Some(if e.print().is_ok() { code } else { Exit::Error }.into());
        }
    };
    Some(match write_docs(&parsed.man_dir, &parsed.completion_dir) {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            Output::fallback().error(&e);
            e.exit.into()
        }
    })
}

/// Writes one man page for okms-cli and one for each visible subcommand into `man_dir`
/// (`okms-cli.1`, `okms-cli-key-new.1`, ... named as `git` names its pages), and one completion
/// script for every shell clap_complete knows into `completion_dir`, named as that shell looks
/// for it (`okms-cli.bash`, `_okms-cli`, `okms-cli.fish`, ...). Existing files are replaced: the
/// output is generated, never edited by hand.
///
/// # Errors
/// When a page cannot be rendered or a file cannot be written (a missing directory included).
pub fn write_docs(man_dir: &Path, completion_dir: &Path) -> CliResult<()> {
    let mut command = Cli::command();
    // Subcommands are deferred (built when they run); the documentation must list them all.
    command.build();
    write_pages(&command, BIN_NAME, man_dir)?;
    for shell in Shell::value_variants() {
        let mut script = Vec::new();
        clap_complete::generate(*shell, &mut command.clone(), BIN_NAME, &mut script);
        files::write_public_file(
            &completion_dir.join(shell.file_name(BIN_NAME)),
            &script,
            true,
        )?;
    }
    Ok(())
}

fn write_pages(command: &clap::Command, name: &str, dir: &Path) -> CliResult<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone().name(name.to_owned()))
        .render(&mut page)
        .map_err(|e| {
            CliError::new(
                Exit::Error,
                format!("cannot render the man page of {name}: {e}"),
            )
        })?;
    files::write_public_file(&dir.join(format!("{name}.1")), &page, true)?;
    for sub in command
        .get_subcommands()
        .filter(|s| s.get_name() != "help" && !s.is_hide_set())
    {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
