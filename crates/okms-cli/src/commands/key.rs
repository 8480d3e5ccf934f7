//! `okms-cli key new|show|pub`: private keys on the local host.

use std::path::Path;

use okms_csr::ExposeSecret as _;
use okms_csr::{KeyAlgorithm, PrivateKey, SecretString};
use serde::Serialize;

use super::pkcs11;
use crate::cli::{
    KeyCommand, KeyFormatArg, KeyNewArgs, KeyPubArgs, KeyShowArgs, NewKeyArgs, PassphraseArgs,
    Pkcs11Args,
};
use crate::error::{CliResult, csr_error, usage};
use crate::files;
use crate::files::refuse_output_over_input;
use crate::input::passphrase::{self, Purpose};
use crate::input::{self, display_path, import_private_key, load_private_key};
use crate::output::Output;

/// Runs a `key` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &KeyCommand, out: &Output) -> CliResult<()> {
    match cmd {
        KeyCommand::New(a) => new(a, out),
        KeyCommand::Show(a) => show(a, out),
        KeyCommand::Pub(a) => public(a, out),
        KeyCommand::List(a) => pkcs11::key_list(a, out),
    }
}

/// Refuses token flags on a command that works on a key file.
fn refuse_token_flags(t: &Pkcs11Args, why: &str) -> CliResult<()> {
    pkcs11::refuse_token_flags(t, &format!("keys on a PKCS#11 token, {why}"))
}

/// The `--json` result of `key new` (and of the key half of `csr new`).
#[derive(Debug, Serialize)]
pub struct NewKeyReport {
    /// Where the key was written (`-` for stdout).
    pub path: String,
    /// Key algorithm, e.g. `ecdsa-p256`.
    pub algorithm: String,
    /// `pkcs8`, `traditional` or `pkcs8-encrypted`.
    pub format: &'static str,
    /// Whether the key is encrypted with a passphrase.
    pub encrypted: bool,
    /// Unix mode of the file (absent for stdout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// SHA-256 of the public key (SubjectPublicKeyInfo DER), lowercase hex.
    pub public_key_sha256: String,
}

fn new(a: &KeyNewArgs, out: &Output) -> CliResult<()> {
    if let Some(uri) = &a.pkcs11 {
        return pkcs11::key_new(a, uri, a.algorithm.into(), out);
    }
    refuse_token_flags(&a.token, "and --pkcs11 URI was not given")?;
    let Some(out_path) = a.out.as_deref() else {
        return Err(usage(
            "give --out PATH (or --pkcs11 URI to generate on a token)",
        ));
    };
    let to_stdout = input::is_stdin(out_path);
    if to_stdout && out.is_json() {
        return Err(usage(
            "--json cannot be combined with --out -: standard output holds the key",
        ));
    }
    if !to_stdout {
        files::check_writable(out_path, a.force)?;
    }
    let (_key, report) = generate_and_write(
        a.algorithm.into(),
        &a.key,
        &a.passphrase,
        out_path,
        a.force,
        out,
    )?;
    if to_stdout {
        out.info(&format!(
            "{} private key written to standard output",
            report.algorithm
        ));
        return Ok(());
    }
    if out.is_json() {
        return out.json(&report);
    }
    // Windows has no mode: the file has its folder's access control list (see files::platform).
    let protection = if cfg!(unix) {
        "with mode 0600"
    } else {
        "readable as its folder allows"
    };
    out.line(&format!(
        "Wrote {} private key ({}) to {} {protection}.",
        report.algorithm,
        describe_format(report.format),
        report.path
    ))?;
    out.field("Public key SHA-256", &report.public_key_sha256)
}

/// Generates a key and writes it (to a file with mode 0600, or to stdout for `-`).
///
/// Shared with `csr new --key-out`, which must write the key before anything else.
///
/// # Errors
/// Passphrase, generation and write errors.
pub fn generate_and_write(
    alg: KeyAlgorithm,
    opts: &NewKeyArgs,
    pass: &PassphraseArgs,
    path: &Path,
    force: bool,
    out: &Output,
) -> CliResult<(PrivateKey, NewKeyReport)> {
    let (key, pem, report) = generate_encoded(alg, opts, pass, path, out)?;
    if input::is_stdin(path) {
        out.stdout_bytes(pem.expose_secret().as_bytes())?;
    } else {
        files::write_secret_file(path, pem.expose_secret().as_bytes(), force)?;
    }
    Ok((key, report))
}

/// A new key, encoded as asked, and the report of writing it to `path` (not written yet).
///
/// # Errors
/// Incompatible options, a passphrase that cannot be obtained, or a failed generation.
pub fn generate_encoded(
    alg: KeyAlgorithm,
    opts: &NewKeyArgs,
    pass: &PassphraseArgs,
    path: &Path,
    out: &Output,
) -> CliResult<(PrivateKey, SecretString, NewKeyReport)> {
    if !opts.encrypt && pass.is_given() {
        return Err(
            usage("a passphrase source was given but the new key is not encrypted")
                .hint("add --encrypt"),
        );
    }
    if opts.encrypt && opts.format == Some(KeyFormatArg::Traditional) {
        return Err(usage("--format traditional cannot be combined with --encrypt")
            .hint("encrypted keys are written as PKCS#8 (ENCRYPTED PRIVATE KEY), which openssl and OKMS tools read"));
    }
    let target = display_path(path);
    let passphrase = if opts.encrypt {
        Some(passphrase::obtain(pass, Purpose::Encrypt, &target)?)
    } else {
        None
    };
    if alg.is_rsa() {
        out.verbose(&format!("generating an {alg} key; this can take a moment"));
    }
    let key = PrivateKey::generate(alg)
        .map_err(|e| csr_error(e, format!("cannot generate an {alg} key")))?;
    let (pem, format): (SecretString, &'static str) = match &passphrase {
        Some(p) => (
            key.to_encrypted_pem(p)
                .map_err(|e| csr_error(e, "cannot encrypt the new key"))?,
            "pkcs8-encrypted",
        ),
        None => (
            key.to_pem(opts.format.unwrap_or_default().into())
                .map_err(|e| csr_error(e, "cannot encode the new key"))?,
            match opts.format.unwrap_or_default() {
                KeyFormatArg::Pkcs8 => "pkcs8",
                KeyFormatArg::Traditional => "traditional",
            },
        ),
    };
    let to_stdout = input::is_stdin(path);
    let report = NewKeyReport {
        path: if to_stdout {
            "-".to_owned()
        } else {
            path.display().to_string()
        },
        algorithm: alg.as_str().to_owned(),
        format,
        encrypted: passphrase.is_some(),
        mode: (!to_stdout).then(|| "0600".to_owned()),
        public_key_sha256: key.public_key().fingerprint_sha256(),
    };
    Ok((key, pem, report))
}

fn describe_format(format: &str) -> &'static str {
    match format {
        "pkcs8-encrypted" => "encrypted PKCS#8",
        "traditional" => "SEC1/PKCS#1, unencrypted",
        _ => "PKCS#8, unencrypted",
    }
}

/// The `--json` result of `key show`.
#[derive(Debug, Serialize)]
struct KeyShowReport {
    path: String,
    algorithm: String,
    key_bits: usize,
    encrypted: bool,
    public_key_sha256: String,
}

fn show(a: &KeyShowArgs, out: &Output) -> CliResult<()> {
    if pkcs11::is_uri(&a.path) {
        let key = pkcs11::find_key(&a.path, &a.token, "the key URI", out)?;
        if out.is_json() {
            return out.json(&serde_json::json!({
                "uri": key.uri.to_string(),
                "algorithm": key.algorithm.as_str(),
                "key_bits": key.algorithm.key_bits(),
                "sensitive": key.sensitive,
                "extractable": key.extractable,
                "public_key_sha256": key.public_key.fingerprint_sha256(),
            }));
        }
        let flag = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        out.field("URI", &key.uri.to_string())?;
        out.field("Algorithm", key.algorithm.as_str())?;
        out.field("Key size", &format!("{} bits", key.algorithm.key_bits()))?;
        out.field("Sensitive", flag(key.sensitive))?;
        out.field("Extractable", flag(key.extractable))?;
        return out.field("Public key SHA-256", &key.public_key.fingerprint_sha256());
    }
    refuse_token_flags(&a.token, "and the key is a file")?;
    let bytes = input::read_private(&a.path, "the private key")?;
    let encrypted = PrivateKey::is_encrypted(&bytes);
    let key = import_private_key(&bytes, &display_path(&a.path), &a.passphrase)?;
    drop(bytes);
    let alg = key.algorithm();
    let report = KeyShowReport {
        path: display_path(&a.path),
        algorithm: alg.as_str().to_owned(),
        key_bits: alg.key_bits(),
        encrypted,
        public_key_sha256: key.public_key().fingerprint_sha256(),
    };
    if out.is_json() {
        return out.json(&report);
    }
    out.field("File", &report.path)?;
    out.field("Algorithm", &report.algorithm)?;
    out.field("Key size", &format!("{} bits", report.key_bits))?;
    out.field("Encrypted", if report.encrypted { "yes" } else { "no" })?;
    out.field("Public key SHA-256", &report.public_key_sha256)
}

fn public(a: &KeyPubArgs, out: &Output) -> CliResult<()> {
    let on_token = pkcs11::is_uri(&a.path);
    if !on_token {
        refuse_token_flags(&a.token, "and the key is a file")?;
    }
    if let Some(p) = &a.out
        && !input::is_stdin(p)
    {
        files::check_writable(p, a.force)?;
        if !on_token {
            refuse_output_over_input(p, "--out", &a.path, "the private key")?;
        }
    }
    let (public_key, alg) = if on_token {
        let k = pkcs11::find_key(&a.path, &a.token, "the key URI", out)?;
        (k.public_key, k.algorithm)
    } else {
        let key = load_private_key(&a.path, &a.passphrase)?;
        (key.public_key(), key.algorithm())
    };
    let pem = public_key.to_pem();
    match &a.out {
        Some(p) if !input::is_stdin(p) => {
            files::write_public_file(p, pem.as_bytes(), a.force)?;
            out.info(&format!("public key written to {}", p.display()));
            Ok(())
        }
        _ if out.is_json() => out.json(&serde_json::json!({
            "algorithm": alg.as_str(),
            "public_key_sha256": public_key.fingerprint_sha256(),
            "pem": pem,
        })),
        _ => out.stdout_bytes(pem.as_bytes()),
    }
}
