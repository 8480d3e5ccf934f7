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

use anyhow::{Context, Result, ensure};
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
#[derive(Debug)]
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
    sign_with(sums, key_file, &|name| std::env::var(name).ok(), release)
}

/// [`sign`], with the environment read through `env`.
fn sign_with(
    sums: &Path,
    key_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    release: &Release,
) -> Result<Signature> {
    let (secret, throw_away) = match release_key(key_file, env)? {
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
fn release_key(
    key_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SecretKey>> {
    let from_var = env(KEY_FILE_VAR).map(PathBuf::from);
    let (text, origin) = match key_file.map(Path::to_path_buf).or(from_var) {
        Some(file) => (
            fs::read_to_string(&file)
                .with_context(|| format!("could not read the release key {}", file.display()))?,
            file.display().to_string(),
        ),
        None => match env(KEY_VAR) {
            Some(text) => (text, KEY_VAR.to_owned()),
            None => return Ok(None),
        },
    };
    let not_a_key =
        || anyhow::anyhow!("the release key from {origin} is not a minisign secret key");
    let encrypted = password_protected(&text).ok_or_else(not_a_key)?;
    let key_box = SecretKeyBox::from_string(&text).map_err(|_| not_a_key())?;
    // Given no password, the crate would prompt on a terminal, which a release job lacks.
    let key = match (encrypted, env(PASSWORD_VAR)) {
        (false, _) => key_box
            .into_unencrypted_secret_key()
            .map_err(|_| not_a_key())?,
        (true, Some(password)) => key_box.into_secret_key(Some(password)).map_err(|_| {
            anyhow::anyhow!("the release key from {origin} does not open with {PASSWORD_VAR}")
        })?,
        (true, None) => anyhow::bail!(
            "the release key from {origin} is encrypted: give its password in {PASSWORD_VAR}"
        ),
    };
    Ok(Some(key))
}

/// Whether a minisign secret key file's key is protected by a password: in the decoded key
/// (its second line), bytes 2..4 name the key derivation, zeros for none. `None` when the
/// text is not laid out as a minisign secret key.
fn password_protected(text: &str) -> Option<bool> {
    use base64ct::Encoding;
    let encoded = text.lines().nth(1)?.trim();
    let key = base64ct::Base64::decode_vec(encoded).ok()?;
    Some(key.get(2..4)? != [0, 0])
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn release() -> Release {
        Release {
            version: "9.9.9".into(),
            commit: "abc".into(),
            source_date_epoch: 0,
        }
    }

    fn sums() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let sums = dir.path().join("SHA256SUMS");
        fs::write(&sums, format!("{}  a.tar.gz\n", "0".repeat(64))).unwrap();
        (dir, sums)
    }

    /// The signature and minisign.pub written beside SHA256SUMS verify it, and only it.
    fn verifies(signature: &Signature, sums: &Path) -> bool {
        let public = PublicKey::from_file(&signature.public_key).unwrap();
        let box_text = fs::read_to_string(&signature.path).unwrap();
        let sig = minisign::SignatureBox::from_string(&box_text).unwrap();
        minisign::verify(
            &public,
            &sig,
            fs::File::open(sums).unwrap(),
            true,
            false,
            false,
        )
        .is_ok()
    }

    #[test]
    fn without_a_release_key_a_throw_away_key_signs_and_its_public_half_is_written() {
        let (_dir, sums) = sums();
        let signature = sign_with(&sums, None, &|_| None, &release()).unwrap();
        assert!(signature.throw_away);
        assert!(verifies(&signature, &sums));
        let trusted = fs::read_to_string(&signature.path).unwrap();
        assert!(
            trusted.contains("trusted comment: okms-rs 9.9.9 commit abc"),
            "{trusted}"
        );
        fs::write(&sums, format!("{}  a.tar.gz\n", "1".repeat(64))).unwrap();
        assert!(
            !verifies(&signature, &sums),
            "a changed SHA256SUMS still verified"
        );
    }

    #[test]
    fn the_release_key_from_a_file_or_the_environment_signs() {
        let pair = KeyPair::generate_unencrypted_keypair().unwrap();
        let key_text = pair.sk.to_box(None).unwrap().into_string();
        let (dir, sums) = sums();
        let key_file = dir.path().join("release.key");
        fs::write(&key_file, &key_text).unwrap();
        let expected = pair.pk.to_base64();

        let from_file = sign_with(&sums, Some(&key_file), &|_| None, &release()).unwrap();
        assert!(!from_file.throw_away);
        assert!(verifies(&from_file, &sums));
        let written = PublicKey::from_file(&from_file.public_key).unwrap();
        assert_eq!(written.to_base64(), expected);

        let env = |name: &str| (name == KEY_VAR).then(|| key_text.clone());
        let from_env = sign_with(&sums, None, &env, &release()).unwrap();
        assert!(!from_env.throw_away);
        let written = PublicKey::from_file(&from_env.public_key).unwrap();
        assert_eq!(written.to_base64(), expected);
    }

    #[test]
    fn a_key_that_is_not_a_minisign_key_is_refused_without_being_quoted() {
        let (_dir, sums) = sums();
        let env = |name: &str| (name == KEY_VAR).then(|| "s3cr3t-not-a-key".to_owned());
        let e = sign_with(&sums, None, &env, &release()).unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.contains("OKMS_RELEASE_KEY is not a minisign secret key"),
            "{text}"
        );
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn a_password_protected_key_without_its_password_names_the_variable_not_the_password() {
        use base64ct::Encoding;
        let pair = KeyPair::generate_unencrypted_keypair().unwrap();
        let text = pair.sk.to_box(None).unwrap().into_string();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut key = base64ct::Base64::decode_vec(&lines[1]).unwrap();
        // Marked as scrypt-protected, as `minisign -G` writes a key with a password.
        key[2..4].copy_from_slice(b"Sc");
        lines[1] = base64ct::Base64::encode_string(&key);
        let protected = lines.join("\n") + "\n";
        let (_dir, sums) = sums();

        let env = |name: &str| (name == KEY_VAR).then(|| protected.clone());
        let e = sign_with(&sums, None, &env, &release()).unwrap_err();
        assert!(
            e.to_string()
                .contains("is encrypted: give its password in OKMS_RELEASE_KEY_PASSWORD"),
            "{e}"
        );

        let env = |name: &str| match name {
            KEY_VAR => Some(protected.clone()),
            PASSWORD_VAR => Some("hunter2-wrong".to_owned()),
            _ => None,
        };
        let e = format!(
            "{:#}",
            sign_with(&sums, None, &env, &release()).unwrap_err()
        );
        assert!(
            e.contains("does not open with OKMS_RELEASE_KEY_PASSWORD"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }
}
