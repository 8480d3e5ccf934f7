//! The hidden `okms-cli generate-docs` command that `cargo xtask dist` runs: every page is a man
//! page, every completion script has content, deferred subcommands are documented in full, and
//! the command itself shows up in none of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Docs {
    _dir: tempfile::TempDir,
    man: PathBuf,
    completions: PathBuf,
}

fn generate() -> Docs {
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man");
    let completions = dir.path().join("completions");
    fs::create_dir(&man).unwrap();
    fs::create_dir(&completions).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_okms-cli"))
        .arg("generate-docs")
        .arg("--man-dir")
        .arg(&man)
        .arg("--completion-dir")
        .arg(&completions)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Docs {
        _dir: dir,
        man,
        completions,
    }
}

fn files_in(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

// okms-cli defers building each subcommand's arguments until it runs; the pages and scripts
// must still list them all.
#[test]
fn pages_and_completions_list_the_arguments_of_deferred_subcommands() {
    let docs = generate();
    let page = fs::read_to_string(docs.man.join("okms-cli-csr-new.1")).unwrap();
    assert!(page.contains("\\-\\-key\\-out"), "{page}");
    assert!(page.contains("Create a PKCS#10 CSR"), "{page}");
    let bash = fs::read_to_string(docs.completions.join("okms-cli.bash")).unwrap();
    assert!(bash.contains("--key-out"));
    assert!(bash.contains("--okms-id"));
}

#[test]
fn every_page_is_a_man_page_and_every_script_has_content() {
    let docs = generate();
    let pages = files_in(&docs.man);
    assert!(pages.iter().any(|(name, _)| name == "okms-cli.1"));
    assert!(
        pages
            .iter()
            .any(|(name, _)| name == "okms-cli-credential-renew.1")
    );
    for (name, text) in &pages {
        let stem = name.strip_suffix(".1").unwrap();
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!(".TH {stem} 1 "))),
            "{name} has no .TH title line:\n{text}"
        );
    }
    // Where man(1) is installed, it must also render the page (the .deb's pages are read so).
    let rendered = Command::new("man")
        .arg("-l")
        .arg(docs.man.join("okms-cli.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output();
    if let Ok(out) = rendered {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("okms-cli"));
    }
    let scripts = files_in(&docs.completions);
    for expected in ["okms-cli.bash", "_okms-cli", "okms-cli.fish"] {
        assert!(
            scripts.iter().any(|(name, _)| name == expected),
            "{scripts:?}"
        );
    }
    for (name, text) in &scripts {
        assert!(
            text.contains("okms-cli") && text.len() > 1000,
            "{name}: {text}"
        );
    }
}

#[test]
fn the_hidden_command_is_in_no_page_script_or_help() {
    let docs = generate();
    for (name, text) in files_in(&docs.man)
        .into_iter()
        .chain(files_in(&docs.completions))
    {
        assert!(
            !text.contains("generate-docs"),
            "{name} mentions generate-docs"
        );
    }
    let help = Command::new(env!("CARGO_BIN_EXE_okms-cli"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("generate-docs"));
}

#[test]
fn a_missing_directory_is_an_error_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_okms-cli"))
        .arg("generate-docs")
        .arg("--man-dir")
        .arg(dir.path().join("absent"))
        .arg("--completion-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("create the directory first"), "{stderr}");
}
