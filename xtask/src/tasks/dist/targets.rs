//! The targets a release is built for, as data, and what is made for one target: a single
//! `cargo auditable build` of the CLI packages, then each of the target's artefacts from those
//! same binaries (each binary is built once and reused), each with its [`Inventory`].
//!
//! A new target is a new [`ReleaseTarget`] in [`TARGETS`]; a new kind of archive is a new
//! [`Artefact`] and its arm in [`make`].

use std::path::{Path, PathBuf};

use std::process::Command;

use anyhow::{Context, Result};

use super::docs::Docs;
use super::{
    CLI_PACKAGES, Inventory, Release, build, deb, tarball, tools, verify, windows_check,
    zip_archive,
};
use crate::util::target_dir;

/// What is made from one target's binaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Artefact {
    /// `okms-cli-VERSION-TRIPLE.tar.gz` (`tarball.rs`).
    Tarball,
    /// `okms-cli_VERSION-1_ARCH.deb` (`deb.rs`), `ARCH` the target's [`ReleaseTarget::arch`].
    Deb,
    /// `okms-cli-VERSION-TRIPLE.zip`, okms-cli alone (`zip_archive.rs`): Windows.
    Zip,
}

/// A command the build or the checks need for one target, and what provides it.
#[derive(Debug)]
pub struct Tool {
    /// Any one of these on PATH will do; the first found is used.
    pub commands: &'static [&'static str],
    /// What `.ci/install-dist-deps` installs for it.
    pub provider: &'static str,
}

/// What a cross build needs beyond rustc and the target's standard library.
#[derive(Debug)]
pub struct Toolchain {
    /// ring's C and assembly: a C compiler for the target (`CC_TRIPLE`).
    pub c_compiler: Option<Tool>,
    /// The archiver of that compiler's static libraries (`AR_TRIPLE`; else cc-rs guesses a
    /// name Debian does not ship).
    pub archiver: Option<&'static str>,
    /// The linker rustc calls: a path from the workspace root, or a command on PATH (else the
    /// target's default, the
    /// host's `cc`, which cannot link for another architecture).
    pub linker: Option<&'static str>,
}

/// One Rust target of a release and what ships from it.
#[derive(Debug)]
pub struct ReleaseTarget {
    /// The Rust target triple the CLI packages are built for.
    pub triple: &'static str,
    /// The architecture's name in Debian and in OCI image platforms (the same for these).
    pub arch: &'static str,
    /// How `file` names the architecture of the ELF binaries (`file` checks what it says).
    pub elf_machine: &'static str,
    /// What is made from that one build, in this order.
    pub artefacts: &'static [Artefact],
    /// Whether the emulator's archive is built for this target too (a test tool: one target
    /// is enough).
    pub emulator: bool,
    /// What builds it.
    pub toolchain: Toolchain,
    /// What runs its binaries on the machine building (an emulator), when it cannot itself.
    pub runner: Option<Tool>,
}

impl ReleaseTarget {
    /// Fully static binaries: no dynamic loader, no shared library, not even libc.
    pub fn is_static(&self) -> bool {
        self.triple.ends_with("-musl")
    }

    /// A command running `binary` (built for this target) on the machine building: through
    /// its runner when it has one, found on PATH so that it runs under an empty environment.
    pub fn run(&self, binary: &Path) -> Result<Command> {
        Ok(match &self.runner {
            None => Command::new(binary),
            Some(runner) => {
                let found = runner
                    .commands
                    .iter()
                    .find_map(|c| tools::find(c))
                    .with_context(|| {
                        format!(
                            "{} is needed to run {} binaries here: install the {}",
                            runner.commands.join(" or "),
                            self.triple,
                            runner.provider
                        )
                    })?;
                let mut command = Command::new(found);
                command.arg(binary);
                command
            }
        })
    }

    /// The directory cargo writes this target's release binaries to.
    pub fn release_dir(&self) -> PathBuf {
        target_dir().join(self.triple).join("release")
    }

    /// Windows, where programs end in `.exe` and only okms-cli ships: the broker is a Linux
    /// service (systemd, SIGHUP).
    pub fn is_windows(&self) -> bool {
        self.triple.contains("-windows-")
    }

    /// The packages built for this target's okms-cli artefacts, in one build.
    pub fn cli_packages(&self) -> &'static [&'static str] {
        if self.is_windows() {
            &["okms-cli"]
        } else {
            CLI_PACKAGES
        }
    }

    /// The release binary of `package` for this target.
    pub fn binary(&self, package: &str) -> PathBuf {
        let suffix = if self.is_windows() { ".exe" } else { "" };
        self.release_dir().join(format!("{package}{suffix}"))
    }
}

/// The static x86_64 build: the okms-cli archive and the emulator's.
pub static X86_64_MUSL: ReleaseTarget = ReleaseTarget {
    triple: super::STATIC_TARGET,
    arch: "amd64",
    elf_machine: "x86-64",
    artefacts: &[Artefact::Tarball],
    emulator: true,
    toolchain: Toolchain {
        // Debian's musl-tools names it musl-gcc; cc-rs only looks for x86_64-linux-musl-gcc.
        c_compiler: Some(Tool {
            commands: &["x86_64-linux-musl-gcc", "musl-gcc"],
            provider: "Debian package musl-tools",
        }),
        archiver: None,
        linker: None,
    },
    runner: None,
};

/// The ordinary glibc build of x86_64, for the Debian package only: a PKCS#11 module is a
/// shared library, and only a dynamically linked program can load one.
pub static X86_64_GNU: ReleaseTarget = ReleaseTarget {
    triple: "x86_64-unknown-linux-gnu",
    arch: "amd64",
    elf_machine: "x86-64",
    artefacts: &[Artefact::Deb],
    emulator: false,
    toolchain: Toolchain {
        c_compiler: None,
        archiver: None,
        linker: None,
    },
    runner: None,
};

/// The static aarch64 build: its archive, and an arm64 package from the same static binaries
/// (no aarch64 glibc toolchain here; being static, that package cannot load PKCS#11 modules).
/// Debian's aarch64 gcc compiles ring's C (against glibc's headers, but all it uses from
/// them, such as memcpy, musl provides alike); rustc's own rust-lld links it with the musl
/// that rustup ships for the target, through `xtask/linker/musl-static-ld` (which drops the
/// `-ldl` that musl does not need and rustup's musl lacks).
pub static AARCH64_MUSL: ReleaseTarget = ReleaseTarget {
    triple: "aarch64-unknown-linux-musl",
    arch: "arm64",
    elf_machine: "ARM aarch64",
    artefacts: &[Artefact::Tarball, Artefact::Deb],
    emulator: false,
    toolchain: Toolchain {
        c_compiler: Some(Tool {
            commands: &["aarch64-linux-gnu-gcc"],
            provider: "Debian package gcc-aarch64-linux-gnu",
        }),
        archiver: Some("aarch64-linux-gnu-ar"),
        linker: Some("xtask/linker/musl-static-ld"),
    },
    runner: Some(Tool {
        commands: &["qemu-aarch64-static"],
        provider: "Debian package qemu-user-static",
    }),
};

/// Windows on x86_64, cross-built with MinGW-w64: the zip, checked under wine.
pub static X86_64_WINDOWS: ReleaseTarget = ReleaseTarget {
    triple: build::WINDOWS_TARGET,
    arch: "amd64",
    // Not ELF: a PE executable, checked under wine (`windows_check.rs`), not with `file`.
    elf_machine: "x86-64",
    artefacts: &[Artefact::Zip],
    emulator: false,
    toolchain: Toolchain {
        c_compiler: Some(Tool {
            commands: &[build::MINGW_GCC],
            provider: "Debian package mingw-w64",
        }),
        archiver: Some("x86_64-w64-mingw32-ar"),
        linker: Some(build::MINGW_GCC),
    },
    // wine is found and prepared by the checks themselves (a prefix, the stand-in DLL).
    runner: None,
};

/// Every target of a release, in the order their artefacts are listed.
pub static TARGETS: &[&ReleaseTarget] =
    &[&X86_64_MUSL, &AARCH64_MUSL, &X86_64_GNU, &X86_64_WINDOWS];

/// The release target of `triple`, if it is one.
pub fn by_triple(triple: &str) -> Option<&'static ReleaseTarget> {
    TARGETS.iter().copied().find(|t| t.triple == triple)
}

/// What the options of this run leave out.
pub struct Skip {
    /// No Debian package.
    pub deb: bool,
}

impl Skip {
    fn skips(&self, artefact: Artefact) -> bool {
        artefact == Artefact::Deb && self.deb
    }
}

/// Whether `target` makes anything under `skip` (else it is not built at all).
pub fn wanted(target: &ReleaseTarget, skip: &Skip) -> bool {
    target.emulator || target.artefacts.iter().any(|a| !skip.skips(*a))
}

/// Builds the CLI packages for `target` once and writes each of its artefacts into `out` from
/// those binaries (and the emulator's archive when the target has it); returns what each
/// artefact holds.
pub fn make(
    target: &'static ReleaseTarget,
    release: &Release,
    out: &Path,
    docs: &Docs,
    skip: &Skip,
) -> Result<Vec<Inventory>> {
    let mut inventories = Vec::new();
    let artefacts: Vec<Artefact> = target
        .artefacts
        .iter()
        .copied()
        .filter(|a| !skip.skips(*a))
        .collect();
    if !artefacts.is_empty() {
        // For the host too an explicit --target, so that the remapped paths reach the binary
        // and not the build scripts, which keep the cache they share with the other builds.
        let packages = target.cli_packages();
        let compiled = build::build(release, target.triple, packages)?;
        let binaries: Vec<PathBuf> = packages.iter().map(|p| target.binary(p)).collect();
        for artefact in artefacts {
            let path = match artefact {
                Artefact::Tarball => tarball::write(
                    release,
                    out,
                    &tarball::Contents::cli(&binaries, docs),
                    target.triple,
                )?,
                Artefact::Deb => deb::write(release, out, &binaries, docs, target)?,
                Artefact::Zip => zip_archive::write(
                    release,
                    out,
                    &zip_archive::cli_entries(&target.binary("okms-cli"), docs)?,
                    target.triple,
                )?,
            };
            inventories.push(Inventory {
                artefact: path,
                kind: artefact,
                binaries: binaries.clone(),
                compiled: compiled.clone(),
                packages,
                target,
            });
        }
    }
    if target.emulator {
        // Its own build: built together, binaries share the union of their features.
        let compiled = build::build(release, target.triple, &["okms-emulator"])?;
        let binary = target.release_dir().join("okms-emulator");
        let archive = tarball::write(
            release,
            out,
            &tarball::Contents::emulator(&binary),
            target.triple,
        )?;
        inventories.push(Inventory {
            artefact: archive,
            kind: Artefact::Tarball,
            binaries: vec![binary],
            compiled,
            packages: &["okms-emulator"],
            target,
        });
    }
    Ok(inventories)
}

/// Checks `artefact` as a user would: an archive's static binaries need nothing from the host
/// and run, and it holds what it should; a package installs and works.
pub fn check(artefact: &Inventory, release: &Release) -> Result<()> {
    match artefact.kind {
        Artefact::Tarball => {
            if artefact.target.is_static() {
                for binary in &artefact.binaries {
                    verify::static_binary(binary, artefact.target, release)?;
                }
            }
            verify::tarball(&artefact.artefact)
        }
        Artefact::Deb => verify::deb(&artefact.artefact, artefact.target, release),
        Artefact::Zip => windows_check::check(&artefact.artefact, artefact.target, release),
    }
}
