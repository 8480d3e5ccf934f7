//! Man pages and shell completions, written by okms-cli itself (its hidden `generate-docs`
//! command renders them from its clap definitions), so that xtask need not link okms-cli.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::util::{cargo, run_command};

/// Where the generated documentation is.
pub struct Docs {
    /// One page for okms-cli and one for each subcommand (`okms-cli-key-new.1`).
    pub man_dir: PathBuf,
    /// The directory of the completion scripts, named as each shell looks for them
    /// (`okms-cli.bash`, `_okms-cli`, `okms-cli.fish`, ...).
    pub completion_dir: PathBuf,
}

impl Docs {
    /// The completion script with this file name, which must have been generated.
    pub fn completion(&self, file_name: &str) -> Result<PathBuf> {
        let path = self.completion_dir.join(file_name);
        if !path.is_file() {
            anyhow::bail!("okms-cli generated no completion script {file_name}");
        }
        Ok(path)
    }
}

/// Writes the man pages and completions under `out` by running okms-cli (built as cargo
/// builds it for `cargo run`, the host's development profile).
pub fn write(out: &Path) -> Result<Docs> {
    let docs = Docs {
        man_dir: out.join("man"),
        completion_dir: out.join("completions"),
    };
    for dir in [&docs.man_dir, &docs.completion_dir] {
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    run_command(
        cargo()
            .args(["run", "--quiet", "--locked", "-p", "okms-cli", "--"])
            .arg("generate-docs")
            .arg("--man-dir")
            .arg(&docs.man_dir)
            .arg("--completion-dir")
            .arg(&docs.completion_dir),
    )?;
    eprintln!(
        "wrote man pages to {} and completions to {}",
        docs.man_dir.display(),
        docs.completion_dir.display()
    );
    Ok(docs)
}
