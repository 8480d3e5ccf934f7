//! `SHA256SUMS.minisig`: a detached minisign signature of the checksum file, so that one
//! signature covers every artefact it lists.
//!
//! The release key is given at release time, never stored in the repository: a minisign
//! secret key file (`--sign-key FILE` or `OKMS_RELEASE_KEY_FILE`) or its text
//! (`OKMS_RELEASE_KEY`), with its password in `OKMS_RELEASE_KEY_PASSWORD` when it has one.
//! Without a key, a throw-away key signs, so that every build exercises the same path and its
//! checks; its public half is written beside the signature as `minisign.pub` (as it is for a
//! release key, so that `install.sh` finds it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use minisign::{KeyPair, PublicKey, SecretKey, SecretKeyBox};

use super::Release;
use crate::util::output_of;

/// The environment variable naming the release key file (as `--sign-key` does).
pub const KEY_FILE_VAR: &str = "OKMS_RELEASE_KEY_FILE";
/// The environment variable holding the release key's text itself.
const KEY_VAR: &str = "OKMS_RELEASE_KEY";
/// The environment variable holding the release key's password.
const PASSWORD_VAR: &str = "OKMS_RELEASE_KEY_PASSWORD";

/// What signed the checksums.
pub struct Signature {
    /// `SHA256SUMS.minisig`.
    pub path: PathBuf,
    /// `minisign.pub`, the public half of the key that signed.
    pub public_key: PathBuf,
    /// Whether the key was made for this build only (no release key was given).
    pub throw_away: bool,
}

/// Signs `sums` with the release key (`key_file`, else the environment), or a throw-away key.
pub fn sign(sums: &Path, key_file: Option<&Path>, release: &Release) -> Result<Signature> {
    let (secret, throw_away) = match release_key(key_file)? {
        Some(secret) => (secret, false),
        None => {
            let pair = KeyPair::generate_unencrypted_keypair()
                .map_err(|e| anyhow::anyhow!("could not make a throw-away minisign key: {e}"))?;
            (pair.sk, true)
        }
    };
    let public = PublicKey::from_secret_key(&secret)
        .map_err(|e| anyhow::anyhow!("the release key holds no public key: {e}"))?;
    let data =
        fs::File::open(sums).with_context(|| format!("could not read {}", sums.display()))?;
    let trusted = format!(
        "okms-rs {} commit {} SHA256SUMS",
        release.version, release.commit
    );
    let signature = minisign::sign(Some(&public), &secret, data, Some(&trusted), None)
        .map_err(|e| anyhow::anyhow!("could not sign {}: {e}", sums.display()))?;
    let dir = sums.parent().context("SHA256SUMS has no directory")?;
    let path = dir.join("SHA256SUMS.minisig");
    fs::write(&path, signature.to_string())
        .with_context(|| format!("could not write {}", path.display()))?;
    let public_key = dir.join("minisign.pub");
    let public_box = public
        .to_box()
        .map_err(|e| anyhow::anyhow!("could not encode the public key: {e}"))?;
    fs::write(&public_key, public_box.into_string())
        .with_context(|| format!("could not write {}", public_key.display()))?;
    eprintln!(
        "wrote {} with {} key {}",
        path.display(),
        if throw_away {
            "a throw-away (no release key given)"
        } else {
            "the release"
        },
        public.to_base64()
    );
    Ok(Signature {
        path,
        public_key,
        throw_away,
    })
}

/// The release key from `key_file`, `OKMS_RELEASE_KEY_FILE` or `OKMS_RELEASE_KEY`, if any.
/// Errors never quote the key or the password.
fn release_key(key_file: Option<&Path>) -> Result<Option<SecretKey>> {
    let from_var = std::env::var_os(KEY_FILE_VAR).map(PathBuf::from);
    let (text, origin) = match key_file.map(Path::to_path_buf).or(from_var) {
        Some(file) => (
            fs::read_to_string(&file)
                .with_context(|| format!("could not read the release key {}", file.display()))?,
            file.display().to_string(),
        ),
        None => match std::env::var(KEY_VAR) {
            Ok(text) => (text, KEY_VAR.to_owned()),
            Err(std::env::VarError::NotPresent) => return Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => bail!("{KEY_VAR} is not UTF-8"),
        },
    };
    let key_box = SecretKeyBox::from_string(&text).map_err(|_| {
        anyhow::anyhow!("the release key from {origin} is not a minisign secret key")
    })?;
    // Without a password the key must be unencrypted: the crate would otherwise prompt on a
    // terminal, which a release job does not have.
    let key = match std::env::var(PASSWORD_VAR) {
        Ok(password) => key_box.into_secret_key(Some(password)).map_err(|_| {
            anyhow::anyhow!("the release key from {origin} does not open with {PASSWORD_VAR}")
        })?,
        Err(_) => key_box.into_unencrypted_secret_key().map_err(|_| {
            anyhow::anyhow!(
                "the release key from {origin} is encrypted: give its password in {PASSWORD_VAR}"
            )
        })?,
    };
    Ok(Some(key))
}

/// Debian's `minisign -V` accepts the signature with the public key written beside it, and
/// refuses a copy of SHA256SUMS with one byte changed.
pub fn verify(sums: &Path, signature: &Signature) -> Result<()> {
    let verified = output_of(
        Command::new("minisign")
            .arg("-V")
            .arg("-p")
            .arg(&signature.public_key)
            .arg("-m")
            .arg(sums)
            .arg("-x")
            .arg(&signature.path),
    )
    .context("minisign -V does not accept SHA256SUMS.minisig (is minisign installed?)")?;

    let tampered_dir = tempfile::tempdir()?;
    let tampered = tampered_dir.path().join("SHA256SUMS");
    let mut bytes = fs::read(sums)?;
    let first = bytes.first_mut().context("SHA256SUMS is empty")?;
    // A hex digit changed to another one: still a well-formed checksum file.
    *first = if *first == b'0' { b'1' } else { b'0' };
    fs::write(&tampered, bytes)?;
    let refused = Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(&signature.public_key)
        .arg("-m")
        .arg(&tampered)
        .arg("-x")
        .arg(&signature.path)
        .output()
        .context("could not start minisign")?;
    ensure!(
        !refused.status.success(),
        "minisign -V accepted a tampered SHA256SUMS with the signature of the real one"
    );
    eprintln!(
        "checked SHA256SUMS.minisig ({}): minisign -V: {}; a tampered copy is refused",
        if signature.throw_away {
            "throw-away key"
        } else {
            "release key"
        },
        verified.lines().next().unwrap_or_default()
    );
    Ok(())
}
