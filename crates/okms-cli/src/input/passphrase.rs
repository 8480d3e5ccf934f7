//! Where passphrases come from: a file, an environment variable the user names, or a prompt.
//!
//! Never from argv (every local user can read it in `ps`). Everything read is held in
//! zeroizing buffers until it becomes an `okms_csr::Passphrase` (the workspace's one secret
//! string type, `secrecy::SecretString`), which wipes itself and has a redacted `Debug`.

use std::io::IsTerminal;

use okms_csr::Passphrase;
use zeroize::Zeroizing;

use crate::cli::PassphraseArgs;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::input;

/// Why a passphrase is wanted, which decides whether a prompt asks twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// To encrypt a new key: asked twice on a terminal, must not be empty.
    Encrypt,
    /// To decrypt an existing key: asked once.
    Decrypt,
}

/// Gets a passphrase from the sources in `args`, else from a terminal prompt.
///
/// `what` names the key in prompts and errors (e.g. "key.pem").
///
/// # Errors
/// Exit 3 when the file or variable is missing, unreadable or empty; exit 1 when there is
/// no source and no terminal to prompt on (with a hint naming the flags).
pub fn obtain(args: &PassphraseArgs, purpose: Purpose, what: &str) -> CliResult<Passphrase> {
    let secret = if let Some(file) = &args.passphrase_file {
        let bytes = input::read_private(file, "the passphrase")?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            CliError::new(
                Exit::InvalidInput,
                format!("the passphrase file {} is not UTF-8 text", file.display()),
            )
        })?;
        Zeroizing::new(first_line(text).to_owned())
    } else if let Some(name) = &args.passphrase_env {
        match std::env::var(name) {
            Ok(v) => Zeroizing::new(v),
            Err(std::env::VarError::NotPresent) => {
                return Err(CliError::new(
                    Exit::InvalidInput,
                    format!("the environment variable {name} (--passphrase-env) is not set"),
                )
                .hint(format!(
                    "export {name} before running, or use --passphrase-file"
                )));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(CliError::new(
                    Exit::InvalidInput,
                    format!(
                        "the environment variable {name} (--passphrase-env) is not valid UTF-8"
                    ),
                ));
            }
        }
    } else {
        prompt(purpose, what)?
    };
    if secret.is_empty() {
        return Err(CliError::new(
            Exit::InvalidInput,
            format!("the passphrase for {what} is empty"),
        )
        .hint("an empty passphrase protects nothing; give a non-empty one"));
    }
    Ok(Passphrase::from(secret.as_str()))
}

/// The first line, without its line ending: files written by `echo` end in a newline that is
/// not part of the passphrase.
fn first_line(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or("");
    line.strip_suffix('\r').unwrap_or(line)
}

fn prompt(purpose: Purpose, what: &str) -> CliResult<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::new(
            Exit::Error,
            format!("a passphrase is needed for {what}, and there is no terminal to ask on"),
        )
        .hint("use --passphrase-file FILE or --passphrase-env NAME"));
    }
    let read = |p: &str| {
        rpassword::prompt_password(p)
            .map(Zeroizing::new)
            .map_err(|e| CliError {
                exit: Exit::Error,
                error: anyhow::Error::new(e)
                    .context("cannot read the passphrase from the terminal"),
                hint: None,
            })
    };
    let first = read(&format!("Passphrase for {what}: "))?;
    if purpose == Purpose::Encrypt {
        let second = read(&format!("Repeat the passphrase for {what}: "))?;
        if *first != *second {
            return Err(
                CliError::new(Exit::InvalidInput, "the two passphrases differ")
                    .hint("run the command again"),
            );
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::first_line;

    #[test]
    fn first_line_strips_line_endings_only() {
        assert_eq!(first_line("secret\n"), "secret");
        assert_eq!(first_line("secret\r\nsecond"), "secret");
        assert_eq!(first_line(" spaced pass "), " spaced pass ");
        assert_eq!(first_line(""), "");
    }
}
