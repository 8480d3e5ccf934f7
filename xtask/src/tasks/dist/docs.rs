//! Man pages and shell completions, generated from okms-cli's clap definitions.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{CommandFactory, ValueEnum};
use clap_complete::Shell;

/// Where the generated documentation is.
pub struct Docs {
    /// One page for okms-cli and one for each subcommand (`okms-cli-key-new.1`).
    pub man_dir: PathBuf,
    /// The directory of the completion scripts.
    pub completion_dir: PathBuf,
    /// Each shell's script, as clap_complete named it (`okms-cli.bash`, `_okms-cli`, ...).
    pub completions: Vec<(Shell, PathBuf)>,
}

impl Docs {
    /// The completion script for `shell`.
    pub fn completion(&self, shell: Shell) -> Result<&Path> {
        self.completions
            .iter()
            .find(|(s, _)| *s == shell)
            .map(|(_, path)| path.as_path())
            .with_context(|| format!("no {shell} completion script was generated"))
    }
}

/// Writes the man pages and completions under `out`.
pub fn write(out: &Path) -> Result<Docs> {
    let mut docs = Docs {
        man_dir: out.join("man"),
        completion_dir: out.join("completions"),
        completions: Vec::new(),
    };
    for dir in [&docs.man_dir, &docs.completion_dir] {
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    let mut command = okms_cli::cli::Cli::command();
    command.build();
    write_page(&command, command.get_name(), &docs.man_dir)?;
    for shell in Shell::value_variants() {
        let path = clap_complete::generate_to(
            *shell,
            &mut command.clone(),
            "okms-cli",
            &docs.completion_dir,
        )
        .with_context(|| format!("could not write {shell} completions"))?;
        docs.completions.push((*shell, path));
    }
    eprintln!(
        "wrote man pages to {} and completions to {}",
        docs.man_dir.display(),
        docs.completion_dir.display()
    );
    Ok(docs)
}

/// One page for the command and one for every subcommand, named as `git` does (okms-cli-key-new.1).
fn write_page(command: &clap::Command, name: &str, dir: &Path) -> Result<()> {
    let page = command.clone().name(name.to_owned());
    let mut buffer = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buffer)
        .with_context(|| format!("could not render the man page of {name}"))?;
    let path = dir.join(format!("{name}.1"));
    fs::write(&path, buffer).with_context(|| format!("could not write {}", path.display()))?;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_page(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // okms-cli defers building each subcommand's arguments until it runs; the pages and scripts
    // must still list them all.
    #[test]
    fn pages_and_completions_list_the_arguments_of_deferred_subcommands() {
        let dir = tempfile::tempdir().unwrap();
        let docs = write(dir.path()).unwrap();
        let page = fs::read_to_string(docs.man_dir.join("okms-cli-csr-new.1")).unwrap();
        assert!(page.contains("\\-\\-key\\-out"), "{page}");
        assert!(page.contains("Create a PKCS#10 CSR"), "{page}");
        let bash = fs::read_to_string(docs.completion(Shell::Bash).unwrap()).unwrap();
        assert!(bash.contains("--key-out"));
        assert!(bash.contains("--okms-id"));
    }
}
