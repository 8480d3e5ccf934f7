//! Checks of the OCI image archive with the tools that consume images, not with dist's own
//! reading of it: `skopeo inspect` (what a registry client or `podman load` sees) names each
//! platform's architecture, user and entrypoint, and `umoci unpack` (what a runtime does) gives
//! a root filesystem without a shell whose okms-cli runs (another architecture's under its
//! emulator).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use super::Release;
use super::oci::{BIN_DIR, USER, WORKING_DIR};
use super::targets::ReleaseTarget;
use crate::util::output_of;

/// Every platform of `archive` as skopeo and umoci read it; each unpacked okms-cli says
/// `release`'s version.
pub fn check(archive: &Path, targets: &[&ReleaseTarget], release: &Release) -> Result<()> {
    let name = super::file_name(archive)?;
    let work = tempfile::tempdir()?;
    for target in targets {
        inspect(archive, target)?;
        let rootfs = unpack(archive, target, &work.path().join(target.arch))?;
        let version = output_of(
            target
                .run(&rootfs.join(BIN_DIR).join("okms-cli"))?
                .env_clear()
                .arg("--version"),
        )
        .with_context(|| {
            format!(
                "the okms-cli unpacked from {name} for {} does not run",
                target.arch
            )
        })?;
        ensure!(
            version.contains(&release.version) && version.contains(target.triple),
            "the okms-cli unpacked from {name} for {} says {version:?}",
            target.arch
        );
    }
    eprintln!(
        "checked {name}: skopeo inspect and umoci unpack of {}; no shell, user {USER}, okms-cli --version runs",
        targets
            .iter()
            .map(|t| t.arch)
            .collect::<Vec<_>>()
            .join(" and ")
    );
    Ok(())
}

/// `skopeo inspect` of the archive for `target`'s architecture: that architecture, Linux, the
/// non-root user, okms-cli as the entrypoint and the working directory.
pub fn inspect(archive: &Path, target: &ReleaseTarget) -> Result<()> {
    let skopeo = |extra: &[&str]| -> Result<Value> {
        let text = output_of(
            Command::new("skopeo")
                .args(["--override-os", "linux", "--override-arch", target.arch])
                .arg("inspect")
                .args(extra)
                .arg(format!("oci-archive:{}", archive.display())),
        )
        .context("skopeo inspect cannot read the image archive")?;
        serde_json::from_str(&text).context("skopeo inspect printed no JSON")
    };
    let image = skopeo(&[])?;
    ensure!(
        image["Architecture"] == target.arch && image["Os"] == "linux",
        "skopeo inspect --override-arch {} says {} / {}",
        target.arch,
        image["Os"],
        image["Architecture"]
    );
    let config = skopeo(&["--config"])?;
    let settings = &config["config"];
    ensure!(
        settings["User"] == USER
            && settings["WorkingDir"] == WORKING_DIR
            && settings["Entrypoint"][0] == format!("/{BIN_DIR}/okms-cli"),
        "the {} image's config is not as intended: {settings}",
        target.arch
    );
    Ok(())
}

/// `umoci unpack` of `target`'s image into `bundle`; the root filesystem, checked to hold the
/// binaries and /work and no shell.
///
/// umoci 0.4 cannot choose a platform from an image index, so the archive is extracted and a
/// copy of its `index.json` names that platform's manifest (the blobs are the archive's).
pub fn unpack(archive: &Path, target: &ReleaseTarget, bundle: &Path) -> Result<PathBuf> {
    let parent = bundle
        .parent()
        .context("the bundle has no parent directory")?;
    let layout = parent.join(format!("layout-{}", target.arch));
    fs::create_dir_all(&layout)?;
    output_of(
        Command::new("tar")
            .arg("-xf")
            .arg(archive)
            .arg("-C")
            .arg(&layout),
    )?;
    let read = |path: PathBuf| -> Result<Value> {
        let text = fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))
    };
    let blob = |descriptor: &Value| -> Result<PathBuf> {
        let digest = descriptor["digest"].as_str().unwrap_or_default();
        let hex = digest
            .strip_prefix("sha256:")
            .with_context(|| format!("a descriptor names the digest {digest:?}"))?;
        Ok(layout.join("blobs/sha256").join(hex))
    };
    let index = read(layout.join("index.json"))?;
    let image_index = read(blob(&index["manifests"][0])?)?;
    let mut manifest = image_index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["platform"]["architecture"] == target.arch)
        .cloned()
        .with_context(|| format!("the image index has no {} manifest", target.arch))?;
    manifest["annotations"] =
        serde_json::json!({ "org.opencontainers.image.ref.name": target.arch });
    let single = serde_json::json!({ "schemaVersion": 2, "manifests": [manifest] });
    fs::write(layout.join("index.json"), serde_json::to_vec(&single)?)?;

    let mut umoci = Command::new("umoci");
    umoci.arg("unpack");
    // Unprivileged, umoci cannot give files to user 65532: --rootless keeps them the caller's.
    if !is_root() {
        umoci.arg("--rootless");
    }
    umoci
        .arg("--image")
        .arg(format!("{}:{}", layout.display(), target.arch))
        .arg(bundle);
    output_of(&mut umoci)
        .with_context(|| format!("umoci unpack of the {} image failed", target.arch))?;
    let rootfs = bundle.join("rootfs");
    for absent in ["bin/sh", "bin", "usr/bin/sh", "etc/passwd"] {
        ensure!(
            fs::symlink_metadata(rootfs.join(absent)).is_err(),
            "the {} image holds /{absent}: it should hold only okms-cli, okms-broker and /work",
            target.arch
        );
    }
    for binary in ["okms-cli", "okms-broker"] {
        ensure!(
            rootfs.join(BIN_DIR).join(binary).is_file(),
            "the {} image lacks /{BIN_DIR}/{binary}",
            target.arch
        );
    }
    ensure!(
        rootfs.join(WORKING_DIR.trim_start_matches('/')).is_dir(),
        "the {} image lacks its working directory {WORKING_DIR}",
        target.arch
    );
    Ok(rootfs)
}

fn is_root() -> bool {
    output_of(Command::new("id").arg("-u")).is_ok_and(|uid| uid == "0")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::tasks::dist::oci::{self, Platform};
    use crate::tasks::dist::targets::{AARCH64_MUSL, X86_64_MUSL};

    /// An image of two platforms whose "binaries" are text files: skopeo and umoci read
    /// each platform as intended, and two writes give the same bytes.
    #[test]
    fn each_platform_of_the_image_reads_back_with_skopeo_and_umoci() {
        for tool in ["skopeo", "umoci"] {
            if Command::new(tool).arg("--version").output().is_err() {
                okms_test_support::skip(&format!(
                    "{tool} is not installed (Debian package {tool})"
                ));
                return;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let mut binaries = Vec::new();
        for arch in ["amd64", "arm64"] {
            let bin = dir.path().join(arch);
            fs::create_dir(&bin).unwrap();
            let files: Vec<PathBuf> = ["okms-cli", "okms-broker"]
                .iter()
                .map(|name| {
                    fs::write(bin.join(name), format!("{name} for {arch}")).unwrap();
                    bin.join(name)
                })
                .collect();
            binaries.push(files);
        }
        let platforms = [
            Platform {
                target: &X86_64_MUSL,
                binaries: &binaries[0],
            },
            Platform {
                target: &AARCH64_MUSL,
                binaries: &binaries[1],
            },
        ];
        let release = Release {
            version: "9.9.9".into(),
            commit: "abc".into(),
            source_date_epoch: 1_700_000_000,
        };
        let first = dir.path().join("first");
        let second = dir.path().join("second");
        fs::create_dir(&first).unwrap();
        fs::create_dir(&second).unwrap();
        let archive = oci::write(&release, &first, &platforms).unwrap();
        let again = oci::write(&release, &second, &platforms).unwrap();
        assert_eq!(
            fs::read(&archive).unwrap(),
            fs::read(&again).unwrap(),
            "not reproducible"
        );

        for (target, arch) in [(&X86_64_MUSL, "amd64"), (&AARCH64_MUSL, "arm64")] {
            inspect(&archive, target).unwrap();
            let rootfs = unpack(&archive, target, &dir.path().join("unpacked").join(arch)).unwrap();
            let cli = fs::read_to_string(rootfs.join(BIN_DIR).join("okms-cli")).unwrap();
            assert_eq!(cli, format!("okms-cli for {arch}"));
        }
    }
}
