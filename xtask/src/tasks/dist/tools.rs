//! The tools `cargo xtask dist` runs beyond cargo, found on PATH or installed by
//! `.ci/install-dist-deps` (the one place that knows how: Debian packages, `cargo install`,
//! rustup targets), or, under `--no-install`, named with what provides them.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::targets::ReleaseTarget;
use crate::util::{run_command, workspace_root};

/// A command the task runs and what provides it.
struct Tool {
    /// Any one of these on PATH will do.
    commands: &'static [&'static str],
    /// What `.ci/install-dist-deps` installs for it.
    provider: &'static str,
    /// What the task needs it for.
    purpose: &'static str,
}

const BUILD: &[Tool] = &[
    Tool {
        commands: &["cargo-auditable"],
        provider: "cargo install --locked --version 0.7.7 cargo-auditable",
        purpose: "the dependency list embedded in each binary",
    },
    Tool {
        commands: &["objdump"],
        provider: "Debian package binutils",
        purpose: "the static and Depends checks",
    },
];

const DEB: &[Tool] = &[
    Tool {
        commands: &["dpkg-deb"],
        provider: "Debian package dpkg",
        purpose: "the Debian package",
    },
    Tool {
        commands: &["man"],
        provider: "Debian package man-db",
        purpose: "the package's man page check",
    },
];

const VERIFY: &[Tool] = &[
    Tool {
        commands: &["minisign"],
        provider: "Debian package minisign",
        purpose: "checking SHA256SUMS.minisig as a user would",
    },
    Tool {
        commands: &["shellcheck"],
        provider: "Debian package shellcheck",
        purpose: "checking install.sh",
    },
    Tool {
        commands: &["file"],
        provider: "Debian package file",
        purpose: "checking each binary's architecture",
    },
    Tool {
        commands: &["skopeo"],
        provider: "Debian package skopeo",
        purpose: "checking the OCI image as a registry client reads it",
    },
    Tool {
        commands: &["umoci"],
        provider: "Debian package umoci",
        purpose: "unpacking the OCI image as a runtime does",
    },
];

/// The Windows checks: okms-cli.exe runs under wine, whose 64-bit loader is Debian's wine64
/// (not on PATH: found by its path).
const WINDOWS_VERIFY: &[Tool] = &[
    Tool {
        commands: &["wine"],
        provider: "Debian package wine",
        purpose: "running okms-cli.exe in the Windows zip's checks",
    },
    Tool {
        commands: &["wine64", "/usr/lib/wine/wine64"],
        provider: "Debian package wine64",
        purpose: "wine's 64-bit loader, for okms-cli.exe",
    },
];

/// What this run of the task needs.
pub struct Needs<'a> {
    /// The targets the binaries are built for: their rustup targets and cross tools.
    pub targets: &'a [&'a ReleaseTarget],
    /// The Debian package is built.
    pub deb: bool,
    /// The artefacts are checked.
    pub verify: bool,
}

/// Installs what `needs` lacks with `.ci/install-dist-deps`, or with `no_install` fails
/// naming every missing tool and what provides it.
pub fn ensure(needs: &Needs<'_>, no_install: bool) -> Result<()> {
    let absent = missing(needs, &on_path, installed_targets());
    if absent.is_empty() {
        return Ok(());
    }
    if no_install {
        bail!(
            "--no-install: cargo xtask dist needs what is missing here:\n  {}\n(install them, or run without --no-install to let .ci/install-dist-deps do it)",
            absent.join("\n  ")
        );
    }
    eprintln!("dist: missing {}; installing", absent.join(", "));
    let script = workspace_root().join(".ci/install-dist-deps");
    run_command(Command::new(&script).args(needs.targets.iter().map(|t| t.triple)))
        .with_context(|| format!("{} could not install what dist needs", script.display()))?;
    let still = missing(needs, &on_path, installed_targets());
    if !still.is_empty() {
        bail!(
            "still missing after .ci/install-dist-deps: {}",
            still.join(", ")
        );
    }
    Ok(())
}

/// What `needs` lacks, each with what provides it, `found` telling which commands are on PATH
/// and `installed` listing the rustup targets (`None`: rustup cannot tell).
fn missing(
    needs: &Needs<'_>,
    found: &dyn Fn(&str) -> bool,
    installed: Option<Vec<String>>,
) -> Vec<String> {
    let windows = needs.targets.iter().any(|t| t.is_windows());
    let mut groups = vec![BUILD];
    if needs.deb {
        groups.push(DEB);
    }
    if needs.verify {
        groups.push(VERIFY);
        if windows {
            groups.push(WINDOWS_VERIFY);
        }
    }
    let mut missing: Vec<String> = groups
        .into_iter()
        .flatten()
        .filter(|tool| !tool.commands.iter().any(|c| found(c)))
        .map(|tool| {
            format!(
                "{} ({}; for {})",
                tool.commands.join(" or "),
                tool.provider,
                tool.purpose
            )
        })
        .collect();
    for target in needs.targets {
        let mut tools = vec![(&target.toolchain.c_compiler, "ring's C")];
        if needs.verify {
            tools.push((&target.runner, "running its binaries in the checks"));
        }
        for (tool, purpose) in tools {
            if let Some(tool) = tool
                .as_ref()
                .filter(|t| !t.commands.iter().any(|c| found(c)))
            {
                missing.push(format!(
                    "{} ({}; for {purpose} of {})",
                    tool.commands.join(" or "),
                    tool.provider,
                    target.triple
                ));
            }
        }
        let target = target.triple;
        if installed
            .as_ref()
            .is_some_and(|installed| !installed.iter().any(|t| t == target))
        {
            missing.push(format!(
                "the {target} standard library (rustup target add {target})"
            ));
        }
    }
    missing
}

fn on_path(command: &str) -> bool {
    find(command).is_some()
}

/// Where `command` is on PATH.
pub fn find(command: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(command))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The rustup targets installed for this toolchain; `None` without rustup (the standard
/// library may then come from elsewhere, and the build says if it does not).
fn installed_targets() -> Option<Vec<String>> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_missing_tool_and_target_is_named_with_what_provides_it() {
        let needs = Needs {
            targets: &[&super::super::targets::X86_64_MUSL],
            deb: true,
            verify: true,
        };
        let absent = missing(
            &needs,
            &|command| !matches!(command, "minisign" | "dpkg-deb" | "cargo-auditable"),
            Some(vec!["x86_64-unknown-linux-gnu".to_owned()]),
        );
        assert_eq!(
            absent,
            [
                "cargo-auditable (cargo install --locked --version 0.7.7 cargo-auditable; for the dependency list embedded in each binary)",
                "dpkg-deb (Debian package dpkg; for the Debian package)",
                "minisign (Debian package minisign; for checking SHA256SUMS.minisig as a user would)",
                "the x86_64-unknown-linux-musl standard library (rustup target add x86_64-unknown-linux-musl)",
            ]
        );
        let windows = Needs {
            targets: &[&super::super::targets::X86_64_WINDOWS],
            deb: false,
            verify: true,
        };
        let absent = missing(
            &windows,
            &|command| !command.contains("mingw") && !command.contains("wine"),
            Some(vec!["x86_64-pc-windows-gnu".to_owned()]),
        );
        assert_eq!(
            absent,
            [
                "wine (Debian package wine; for running okms-cli.exe in the Windows zip's checks)",
                "wine64 or /usr/lib/wine/wine64 (Debian package wine64; for wine's 64-bit loader, for okms-cli.exe)",
                "x86_64-w64-mingw32-gcc (Debian package mingw-w64; for ring's C of x86_64-pc-windows-gnu)",
            ]
        );
        let without_checks = Needs {
            deb: false,
            verify: false,
            ..needs
        };
        let found_all = missing(&without_checks, &|_| true, None);
        assert!(found_all.is_empty(), "{found_all:?}");
    }

    #[test]
    fn the_aarch64_cross_compiler_emulator_and_target_are_named_when_missing() {
        let needs = Needs {
            targets: &[&super::super::targets::AARCH64_MUSL],
            deb: true,
            verify: true,
        };
        let absent = missing(
            &needs,
            &|command| !matches!(command, "aarch64-linux-gnu-gcc" | "qemu-aarch64-static"),
            Some(vec!["x86_64-unknown-linux-gnu".to_owned()]),
        );
        assert_eq!(
            absent,
            [
                "aarch64-linux-gnu-gcc (Debian package gcc-aarch64-linux-gnu; for ring's C of aarch64-unknown-linux-musl)",
                "qemu-aarch64-static (Debian package qemu-user-static; for running its binaries in the checks of aarch64-unknown-linux-musl)",
                "the aarch64-unknown-linux-musl standard library (rustup target add aarch64-unknown-linux-musl)",
            ]
        );
    }
}
