//! Reproducible `NAME-VERSION-TARGET.tar.gz` archives: sorted entries, owner root, every
//! timestamp the commit's, and a gzip header without a name or time, so that anyone can
//! rebuild the same commit and compare checksums.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::Release;
use super::docs::Docs;
use crate::util::workspace_root;

/// The broker's deployment files, shipped beside it (same paths in the archive as here).
pub const BROKER_FILES: &[&str] = &[
    "contrib/okms-broker.service",
    "contrib/okms-broker.yaml",
    "docs/broker-protocol.md",
];

/// What goes into one archive, relative to its top directory.
pub struct Contents {
    name: &'static str,
    /// (path in the archive, source file or directory)
    entries: Vec<(String, PathBuf)>,
}

impl Contents {
    /// okms-cli: its binaries (okms-cli first, then okms-broker), README, licences, man pages
    /// and completions, and the broker's systemd unit, example policy and protocol.
    pub fn cli(binaries: &[PathBuf], docs: &Docs) -> Self {
        let root = workspace_root();
        let mut entries = common_entries(&root.join("README.md"));
        for binary in binaries {
            let name = binary
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            entries.push((name, binary.clone()));
        }
        entries.push(("man".into(), docs.man_dir.clone()));
        entries.push(("completions".into(), docs.completion_dir.clone()));
        for file in BROKER_FILES {
            entries.push(((*file).to_owned(), root.join(file)));
        }
        Contents {
            name: "okms-cli",
            entries,
        }
    }

    /// okms-emulator: the binary, its README and the licences.
    pub fn emulator(binary: &Path) -> Self {
        Contents {
            name: "okms-emulator",
            entries: {
                let mut entries =
                    common_entries(&workspace_root().join("crates/okms-emulator/README.md"));
                entries.push(("okms-emulator".into(), binary.to_path_buf()));
                entries
            },
        }
    }
}

/// README and licences.
pub(super) fn common_entries(readme: &Path) -> Vec<(String, PathBuf)> {
    let root = workspace_root();
    vec![
        ("README.md".into(), readme.to_path_buf()),
        ("LICENSE-APACHE".into(), root.join("LICENSE-APACHE")),
        ("LICENSE-MIT".into(), root.join("LICENSE-MIT")),
    ]
}

/// The archive's file name without `.tar.gz`, also its top directory.
pub fn stem(name: &str, release: &Release, triple: &str) -> String {
    format!("{name}-{}-{triple}", release.version)
}

/// Stages `contents` (built for `triple`) and writes `out/STEM.tar.gz`.
pub fn write(release: &Release, out: &Path, contents: &Contents, triple: &str) -> Result<PathBuf> {
    let stem = stem(contents.name, release, triple);
    let staging = tempfile::tempdir().context("could not create a staging directory")?;
    let top = staging.path().join(&stem);
    fs::create_dir(&top).with_context(|| format!("could not create {}", top.display()))?;
    for (name, source) in &contents.entries {
        copy_tree(source, &top.join(name))?;
    }
    let archive = out.join(format!("{stem}.tar.gz"));
    let file = fs::File::create(&archive)
        .with_context(|| format!("could not create {}", archive.display()))?;
    let mut tar = Command::new("tar")
        .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
        .arg(format!("--mtime=@{}", release.source_date_epoch))
        .args(["--mode=u+rwX,go=rX", "--format=gnu", "-C"])
        .arg(staging.path())
        .args(["-cf", "-", &stem])
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start tar")?;
    let tar_out = tar.stdout.take().context("tar has no stdout")?;
    let gzip = Command::new("gzip")
        .args(["-9", "-n"])
        .stdin(tar_out)
        .stdout(file)
        .status()
        .context("could not start gzip")?;
    let tar = tar.wait().context("tar did not finish")?;
    if !tar.success() || !gzip.success() {
        bail!(
            "could not write {} (tar: {tar}, gzip: {gzip})",
            archive.display()
        );
    }
    eprintln!("wrote {}", archive.display());
    Ok(archive)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to).with_context(|| format!("could not create {}", to.display()))?;
        for entry in
            fs::read_dir(from).with_context(|| format!("could not read {}", from.display()))?
        {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("could not create {}", parent.display()))?;
        }
        fs::copy(from, to)
            .map(drop)
            .with_context(|| format!("could not copy {} to {}", from.display(), to.display()))
    }
}
