//! `okms-cli-VERSION-oci.tar`: a container image of okms-cli for linux/amd64 and linux/arm64,
//! written as an OCI image layout archive without any container daemon (`podman load -i`,
//! `skopeo copy oci-archive:...` read it).
//!
//! Each platform's image is `FROM scratch` with one layer: the static okms-cli and okms-broker
//! of that platform's archive (the same files, not a rebuild) in /usr/local/bin, and /work, the
//! working directory, owned by the image's user. There is no shell, no /etc/passwd: the
//! config names the non-root user by number (65532, as distroless images do). The layout's
//! `index.json` holds one entry, an image index of the two manifests, so that a tool loading
//! the archive without a name finds one image and picks its platform from that index.
//!
//! Reproducible like the tarballs: GNU tar with sorted entries, numeric owners and the
//! commit's time for every timestamp, gzip without name or time, JSON with sorted keys.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Release;
use super::targets::ReleaseTarget;
use crate::util::output_of;

/// The user (and group) the image runs as: not root, and no name needed.
pub const USER: &str = "65532:65532";
/// The image's working directory, writable by its user: mount the volume holding the key and
/// certificate here.
pub const WORKING_DIR: &str = "/work";
/// Where the binaries are in the image.
pub const BIN_DIR: &str = "usr/local/bin";

const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// One platform of the image: the target its binaries were built for, and those binaries.
pub struct Platform<'a> {
    pub target: &'static ReleaseTarget,
    pub binaries: &'a [PathBuf],
}

/// The archive's file name.
pub fn file_name(release: &Release) -> String {
    format!("okms-cli-{}-oci.tar", release.version)
}

/// Writes `out/okms-cli-VERSION-oci.tar` with one image per platform.
pub fn write(release: &Release, out: &Path, platforms: &[Platform<'_>]) -> Result<PathBuf> {
    let staging = tempfile::tempdir().context("could not create a staging directory")?;
    let layout = staging.path().join("layout");
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).with_context(|| format!("could not create {}", blobs.display()))?;
    let created = rfc3339(release.source_date_epoch)?;
    let annotations = annotations(release, &created);

    let mut manifests = Vec::new();
    for (n, platform) in platforms.iter().enumerate() {
        let layer_tar = staging.path().join(format!("layer-{n}.tar"));
        write_layer(
            platform,
            release,
            &staging.path().join(format!("rootfs-{n}")),
            &layer_tar,
        )?;
        let diff_id = sha256_of(&fs::read(&layer_tar)?);
        let layer = descriptor(LAYER_TYPE, &store(&blobs, &gzip(&layer_tar)?)?);
        let config = json!({
            "created": created,
            "architecture": platform.target.arch,
            "os": "linux",
            "config": {
                "User": USER,
                "Entrypoint": [format!("/{BIN_DIR}/okms-cli")],
                "Cmd": ["--help"],
                "WorkingDir": WORKING_DIR,
                "Env": [format!("PATH=/{BIN_DIR}")],
                "Labels": annotations,
            },
            "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{diff_id}")] },
            "history": [{
                "created": created,
                "created_by": format!("cargo xtask dist (okms-rs {})", release.version),
            }],
        });
        let config = descriptor(CONFIG_TYPE, &store(&blobs, &to_bytes(&config)?)?);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": config,
            "layers": [layer],
            "annotations": annotations,
        });
        let mut entry = descriptor(MANIFEST_TYPE, &store(&blobs, &to_bytes(&manifest)?)?);
        entry["platform"] = json!({ "architecture": platform.target.arch, "os": "linux" });
        manifests.push(entry);
    }
    let image_index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": manifests,
        "annotations": annotations,
    });
    let mut entry = descriptor(INDEX_TYPE, &store(&blobs, &to_bytes(&image_index)?)?);
    entry["annotations"] = json!({ "org.opencontainers.image.ref.name": release.version });
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [entry],
    });
    fs::write(layout.join("index.json"), to_bytes(&index)?)?;
    fs::write(
        layout.join("oci-layout"),
        to_bytes(&json!({ "imageLayoutVersion": "1.0.0" }))?,
    )?;

    let archive = out.join(file_name(release));
    let mut tar = reproducible_tar(release, "0", &layout);
    tar.arg("-cf")
        .arg(&archive)
        .args(["blobs", "index.json", "oci-layout"]);
    output_of(&mut tar).with_context(|| format!("could not write {}", archive.display()))?;
    eprintln!(
        "wrote {} ({} platforms)",
        archive.display(),
        platforms.len()
    );
    Ok(archive)
}

/// The image's annotations (and its config's labels): what it is and where it comes from.
fn annotations(release: &Release, created: &str) -> Value {
    json!({
        "org.opencontainers.image.title": "okms-cli",
        "org.opencontainers.image.description": "okms-cli and okms-broker: access certificates for OVHcloud KMS (OKMS)",
        "org.opencontainers.image.version": release.version,
        "org.opencontainers.image.revision": release.commit,
        "org.opencontainers.image.source": "https://github.com/okms-rs/okms-rs",
        "org.opencontainers.image.licenses": "Apache-2.0 OR MIT",
        "org.opencontainers.image.created": created,
    })
}

/// The layer's tar: the binaries (root's, 0755) under /usr/local/bin, then /work (the user's).
fn write_layer(
    platform: &Platform<'_>,
    release: &Release,
    rootfs: &Path,
    tar_path: &Path,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bin = rootfs.join(BIN_DIR);
    fs::create_dir_all(&bin).with_context(|| format!("could not create {}", bin.display()))?;
    for binary in platform.binaries {
        let to = bin.join(super::file_name(binary)?);
        fs::copy(binary, &to)
            .with_context(|| format!("could not copy {} to {}", binary.display(), to.display()))?;
        fs::set_permissions(&to, fs::Permissions::from_mode(0o755))?;
    }
    fs::create_dir(rootfs.join(WORKING_DIR.trim_start_matches('/')))?;
    // Two passes, one owner each; "usr" sorts before "work", so the entries stay sorted.
    let mut system = reproducible_tar(release, "0", rootfs);
    system.arg("-cf").arg(tar_path).arg("usr");
    output_of(&mut system).context("could not write the image layer")?;
    let user = USER.split(':').next().unwrap_or(USER);
    let mut work = reproducible_tar(release, user, rootfs);
    work.arg("-rf")
        .arg(tar_path)
        .arg(WORKING_DIR.trim_start_matches('/'));
    output_of(&mut work).context("could not add /work to the image layer")?;
    Ok(())
}

/// GNU tar in `dir` with sorted entries, every file owned by `owner` (user and group, by
/// number), the commit's time, and permissions independent of the builder's umask.
fn reproducible_tar(release: &Release, owner: &str, dir: &Path) -> Command {
    let mut tar = Command::new("tar");
    tar.args(["--sort=name", "--numeric-owner", "--format=gnu"])
        .arg(format!("--owner={owner}"))
        .arg(format!("--group={owner}"))
        .arg(format!("--mtime=@{}", release.source_date_epoch))
        .arg("--mode=u+rwX,go=rX")
        .arg("-C")
        .arg(dir);
    tar
}

/// `gzip -9 -n` of a file: no name, no time in the header.
fn gzip(path: &Path) -> Result<Vec<u8>> {
    let out = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(path)
        .stdout(Stdio::piped())
        .output()
        .context("could not start gzip")?;
    if !out.status.success() {
        bail!("gzip failed on {}", path.display());
    }
    Ok(out.stdout)
}

/// A blob stored under its digest: (digest, size).
struct Blob {
    digest: String,
    size: usize,
}

fn store(blobs: &Path, bytes: &[u8]) -> Result<Blob> {
    let digest = sha256_of(bytes);
    let path = blobs.join(&digest);
    fs::write(&path, bytes).with_context(|| format!("could not write {}", path.display()))?;
    Ok(Blob {
        digest: format!("sha256:{digest}"),
        size: bytes.len(),
    })
}

fn descriptor(media_type: &str, blob: &Blob) -> Value {
    json!({ "mediaType": media_type, "digest": blob.digest, "size": blob.size })
}

fn sha256_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Compact JSON, its keys in an order fixed by this code, so the bytes are reproducible.
fn to_bytes(value: &Value) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(value)?)
}

/// `seconds` since the epoch as RFC 3339 in UTC (GNU date, as the rest of dist uses GNU tools).
fn rfc3339(seconds: u64) -> Result<String> {
    output_of(
        Command::new("date")
            .arg("-u")
            .arg(format!("--date=@{seconds}"))
            .arg("+%Y-%m-%dT%H:%M:%SZ"),
    )
}
