//! `cargo xtask dist`: the release binaries plus man pages and shell completions, all generated
//! from okms-cli's clap definitions so they can never drift from `--help`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, CommandFactory, ValueEnum};
use clap_complete::Shell;

use crate::util::{cargo, run_command, workspace_root};

/// Options of `cargo xtask dist`.
#[derive(ClapArgs)]
pub struct Args {
    /// Output directory (default: target/dist).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only generate man pages and completions; skip the release build.
    #[arg(long)]
    no_build: bool,
}

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| workspace_root().join("target").join("dist"));
    let man_dir = out.join("man");
    let completion_dir = out.join("completions");
    for dir in [&out, &man_dir, &completion_dir] {
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }

    let command = okms_cli::cli::Cli::command();
    write_man_pages(&command, &man_dir)?;
    for shell in Shell::value_variants() {
        let path =
            clap_complete::generate_to(*shell, &mut command.clone(), "okms-cli", &completion_dir)
                .with_context(|| format!("could not write {shell} completions"))?;
        eprintln!("wrote {}", path.display());
    }

    if !args.no_build {
        run_command(cargo().args([
            "build",
            "--release",
            "--locked",
            "-p",
            "okms-cli",
            "-p",
            "okms-emulator",
        ]))?;
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        for binary in ["okms-cli", "okms-emulator"] {
            let from = target_dir.join("release").join(binary);
            let to = out.join(binary);
            fs::copy(&from, &to).with_context(|| format!("could not copy {}", from.display()))?;
            eprintln!("wrote {}", to.display());
        }
    }
    println!("{}", out.display());
    Ok(())
}

/// One page for the command and one for every subcommand, named as `git` does (okms-cli-key-new.1).
fn write_man_pages(command: &clap::Command, dir: &Path) -> Result<()> {
    let mut command = command.clone();
    command.build();
    write_page(&command, command.get_name(), dir)
}

fn write_page(command: &clap::Command, name: &str, dir: &Path) -> Result<()> {
    let page = command.clone().name(name.to_owned());
    let mut buffer = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buffer)
        .with_context(|| format!("could not render the man page of {name}"))?;
    let path = dir.join(format!("{name}.1"));
    fs::write(&path, buffer).with_context(|| format!("could not write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_page(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
