//! Records what `okms-cli --version` reports besides the version: the git commit the binary was
//! built from and the target it was built for, so that a binary found on a host can be traced
//! back to its source and its download.

use std::path::Path;
use std::process::Command;

fn main() {
    // `cargo xtask dist` passes the commit explicitly; a build outside a git checkout (the
    // source of a published crate) says "unknown" rather than failing.
    println!("cargo:rerun-if-env-changed=OKMS_BUILD_COMMIT");
    let commit = std::env::var("OKMS_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=OKMS_BUILD_COMMIT={commit}");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=OKMS_BUILD_TARGET={target}");
}

/// The short commit id of HEAD, and rerun-if-changed lines for the files that move with it.
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // HEAD, the branch it points to and packed-refs: a new commit or checkout changes one of
    // them. Paths from `--git-path` also work in a worktree, whose `.git` is a file.
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", &name])
            && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    Some(commit)
}
