//! The targets a release is built for, as data, and what is made for one target: a single
//! `cargo auditable build` of the CLI packages, then each of the target's artefacts from those
//! same binaries (each binary is built once and reused), each with its [`Inventory`].
//!
//! A new target is a new [`ReleaseTarget`] in [`TARGETS`]; a new kind of archive is a new
//! [`Artefact`] and its arm in [`make`].

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::docs::Docs;
use super::{
    CLI_PACKAGES, Inventory, Release, build, deb, tarball, verify, windows_check, zip_archive,
};
use crate::util::target_dir;

/// What is made from one target's binaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Artefact {
    /// `okms-cli-VERSION-TRIPLE.tar.gz` (`tarball.rs`).
    Tarball,
    /// `okms-cli_VERSION-1_ARCH.deb` for this Debian architecture (`deb.rs`).
    Deb {
        /// The package's `Architecture` (e.g. `amd64`).
        arch: &'static str,
    },
    /// `okms-cli-VERSION-TRIPLE.zip`, okms-cli alone (`zip_archive.rs`): Windows.
    Zip,
}

/// One Rust target of a release and what ships from it.
#[derive(Debug)]
pub struct ReleaseTarget {
    /// The Rust target triple the CLI packages are built for.
    pub triple: &'static str,
    /// What is made from that one build, in this order.
    pub artefacts: &'static [Artefact],
    /// Whether the emulator's archive is built for this target too (a test tool: one target
    /// is enough).
    pub emulator: bool,
}

impl ReleaseTarget {
    /// Fully static binaries: no dynamic loader, no shared library, not even libc.
    pub fn is_static(&self) -> bool {
        self.triple.ends_with("-musl")
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
pub const X86_64_MUSL: ReleaseTarget = ReleaseTarget {
    triple: super::STATIC_TARGET,
    artefacts: &[Artefact::Tarball],
    emulator: true,
};

/// The ordinary glibc build of x86_64, for the Debian package only: a PKCS#11 module is a
/// shared library, and only a dynamically linked program can load one.
pub const X86_64_GNU: ReleaseTarget = ReleaseTarget {
    triple: "x86_64-unknown-linux-gnu",
    artefacts: &[Artefact::Deb { arch: "amd64" }],
    emulator: false,
};

/// Windows on x86_64, cross-built with MinGW-w64: the zip, checked under wine.
pub const X86_64_WINDOWS: ReleaseTarget = ReleaseTarget {
    triple: build::WINDOWS_TARGET,
    artefacts: &[Artefact::Zip],
    emulator: false,
};

/// Every target of a release, in the order their artefacts are listed.
pub const TARGETS: &[&ReleaseTarget] = &[&X86_64_MUSL, &X86_64_GNU, &X86_64_WINDOWS];

/// What the options of this run leave out.
pub struct Skip {
    /// No Debian package.
    pub deb: bool,
}

impl Skip {
    fn skips(&self, artefact: Artefact) -> bool {
        matches!(artefact, Artefact::Deb { .. }) && self.deb
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
                Artefact::Deb { arch } => deb::write(release, out, &binaries, docs, arch)?,
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
        Artefact::Deb { .. } => verify::deb(&artefact.artefact, release),
        Artefact::Zip => windows_check::check(&artefact.artefact, artefact.target, release),
    }
}
