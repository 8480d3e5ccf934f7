//! `okms-cli csr new|show|verify`: PKCS#10 certificate signing requests.

use std::str::FromStr;

use okms_csr::ExposeSecret as _;
use okms_csr::{Csr, CsrBuilder, CsrSigner, DistinguishedName, SubjectAltName, same_public_key};
use serde::Serialize;

use super::key::{NewKeyReport, generate_encoded};
use super::pkcs11;
use crate::cli::{AlgorithmArg, CsrCommand, CsrNewArgs, CsrShowArgs, CsrVerifyArgs};
use crate::error::{CliError, CliResult, csr_error, csr_signature_error, quoted, usage};
use crate::exit::Exit;
use crate::files;
use crate::files::refuse_output_over_input;
use crate::input::{self, display_path, load_private_key};
use crate::output::Output;

/// Runs a `csr` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &CsrCommand, out: &Output) -> CliResult<()> {
    match cmd {
        CsrCommand::New(a) => new(a, out),
        CsrCommand::Show(a) => show(a, out),
        CsrCommand::Verify(a) => verify(a, out),
    }
}

/// The `--json` result of `csr new`.
#[derive(Debug, Serialize)]
struct CsrNewReport {
    /// Where the CSR was written (`-` for stdout).
    csr: String,
    subject: String,
    sans: Vec<String>,
    algorithm: String,
    public_key_sha256: String,
    /// The key used: the existing file, or the new key's report.
    key: KeyUsed,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum KeyUsed {
    Existing { path: String, created: bool },
    New(NewKeyReport),
}

/// Parses the subject flags: `--cn NAME` or `--subject DN` (clap requires exactly one).
fn subject(a: &CsrNewArgs) -> CliResult<DistinguishedName> {
    match (&a.cn, &a.subject) {
        (Some(cn), None) => DistinguishedName::common_name(cn)
            .map_err(|e| csr_error(e, format!("invalid --cn {}", quoted(cn)))),
        (None, Some(dn)) => DistinguishedName::from_str(dn)
            .map_err(|e| csr_error(e, format!("invalid --subject {}", quoted(dn)))),
        _ => Err(usage("give exactly one of --cn NAME or --subject DN")),
    }
}

fn sans(a: &CsrNewArgs) -> CliResult<Vec<SubjectAltName>> {
    a.san
        .iter()
        .map(|s| {
            SubjectAltName::from_str(s).map_err(|e| csr_error(e, format!("invalid --san {s:?}")))
        })
        .collect()
}

fn new(a: &CsrNewArgs, out: &Output) -> CliResult<()> {
    // Everything that can be checked is checked before a key is generated or a file written,
    // so a typo does not leave a stray key behind.
    let subject = subject(a)?;
    let sans = sans(a)?;
    let csr_to_stdout = input::is_stdin(&a.out);
    let on_token = a.key.as_deref().is_some_and(pkcs11::is_uri);
    check_outputs(a, csr_to_stdout, on_token, out)?;
    let (key, key_used, new_key_file) = signing_key(a, on_token, out)?;
    let builder = CsrBuilder::new(subject).sans(sans);
    let (csr, pem) = write_key_and_csr(a, &builder, key.as_ref(), &key_used, new_key_file)?;
    if csr_to_stdout {
        out.stdout_bytes(pem.as_bytes())
            .map_err(|e| with_key_note(e, &key_used))?;
    }
    report_new(a, &csr, key.algorithm(), key_used, csr_to_stdout, out)
}

/// Refuses, before any key exists, every output that cannot be written and every flag that
/// does not fit the key.
fn check_outputs(
    a: &CsrNewArgs,
    csr_to_stdout: bool,
    on_token: bool,
    out: &Output,
) -> CliResult<()> {
    if csr_to_stdout && out.is_json() {
        return Err(usage(
            "--json cannot be combined with --out -: standard output holds the CSR",
        ));
    }
    refuse_replacing_key_and_csr(a, csr_to_stdout)?;
    if !csr_to_stdout {
        files::check_writable(&a.out, a.force)?;
    }
    pkcs11::refuse_flags_of_other_key_kind(on_token, &a.passphrase, &a.token)?;
    if let Some(key) = &a.key
        && !on_token
    {
        refuse_output_over_input(&a.out, "--out", key, "--key")?;
    }
    if let Some(key_out) = &a.key_out {
        if input::is_stdin(key_out) {
            return Err(
                usage("--key-out must name a file: the new private key is not printed")
                    .hint("use `okms-cli key new --out -` to print a key, then `csr new --key`"),
            );
        }
        if files::same_target(key_out, &a.out) {
            return Err(usage("--key-out and --out name the same file"));
        }
        files::check_writable(key_out, a.force)?;
    } else if a.new_key.encrypt || a.new_key.format.is_some() {
        return Err(usage(
            "--encrypt and --format apply to a new key (--key-out), not to --key",
        ));
    }
    Ok(())
}

/// Names every file in the way: `--force` replaces them all, and a user told only of the CSR
/// would not know that the private key goes too.
fn refuse_replacing_key_and_csr(a: &CsrNewArgs, csr_to_stdout: bool) -> CliResult<()> {
    if let Some(key_out) = &a.key_out
        && !a.force
        && !csr_to_stdout
        && key_out.exists()
        && a.out.exists()
        && !files::same_target(key_out, &a.out)
    {
        return Err(CliError::new(
            Exit::RefusedOverwrite,
            format!(
                "{} and {} already exist; nothing was written",
                display_path(key_out),
                display_path(&a.out)
            ),
        )
        .hint(format!(
            "choose other paths, or pass --force to replace both: the private key now in {} \
             would be lost",
            display_path(key_out)
        )));
    }
    Ok(())
}

/// The key that signs: on a token, from a file, or new (`--key-out`), in which case its file
/// is staged, not yet in place: it is committed with the CSR (their fsyncs overlap), or alone
/// if the CSR step fails.
fn signing_key(
    a: &CsrNewArgs,
    on_token: bool,
    out: &Output,
) -> CliResult<(Box<dyn CsrSigner>, KeyUsed, Option<files::Staged>)> {
    match (&a.key, &a.key_out) {
        (Some(path), _) if on_token => {
            let signer = pkcs11::signer(path, &a.token, "--key", out)?;
            let uri = signer.key().uri.to_string();
            let used = KeyUsed::Existing {
                path: uri,
                created: false,
            };
            Ok((Box::new(signer), used, None))
        }
        (Some(path), _) => {
            let key = load_private_key(path, &a.passphrase)?;
            let used = KeyUsed::Existing {
                path: display_path(path),
                created: false,
            };
            Ok((Box::new(key), used, None))
        }
        (None, Some(key_out)) => {
            let alg = okms_csr::KeyAlgorithm::from(a.algorithm.unwrap_or(AlgorithmArg::EcdsaP256));
            let (key, pem, report) =
                generate_encoded(alg, &a.new_key, &a.passphrase, key_out, out)?;
            let staged =
                files::stage_secret_file(key_out, pem.expose_secret().as_bytes(), a.force)?;
            Ok((Box::new(key), KeyUsed::New(report), Some(staged)))
        }
        (None, None) => Err(usage("give --key PATH or --key-out PATH")),
    }
}

/// Adds to an error, when the key is new, where it was kept and how to reuse it.
fn with_key_note(mut e: CliError, key_used: &KeyUsed) -> CliError {
    let KeyUsed::New(r) = key_used else {
        return e;
    };
    let note = format!(
        "the new private key was kept in {}; rerun with --key {} to reuse it",
        r.path, r.path
    );
    let hint = match e.hint.take() {
        Some(first) => format!("{first}\n      {note}"),
        None => note,
    };
    e.hint(hint)
}

/// Builds the CSR and puts the files in place. A new key is put in place whatever happens to
/// the CSR (it is the user's only copy of a key that might be wanted), and an error says where
/// it is.
fn write_key_and_csr(
    a: &CsrNewArgs,
    builder: &CsrBuilder,
    key: &dyn CsrSigner,
    key_used: &KeyUsed,
    new_key_file: Option<files::Staged>,
) -> CliResult<(Csr, String)> {
    let key_is_new = new_key_file.is_some();
    let mut to_commit: Vec<files::Staged> = new_key_file.into_iter().collect();
    let (csr, pem) = match build_and_stage_csr(a, builder, key) {
        Ok((csr, pem, staged)) => {
            to_commit.extend(staged);
            (csr, pem)
        }
        Err(e) => {
            files::commit_staged(to_commit).map_err(|c| CliError::from(c.error))?;
            return Err(with_key_note(e, key_used));
        }
    };
    if let Err(c) = files::commit_staged(to_commit) {
        let e = CliError::from(c.error);
        return Err(if key_is_new && c.committed >= 1 {
            with_key_note(e, key_used)
        } else {
            e
        });
    }
    Ok((csr, pem))
}

/// The CSR, its PEM, and its file staged (none for standard output).
fn build_and_stage_csr(
    a: &CsrNewArgs,
    builder: &CsrBuilder,
    key: &dyn CsrSigner,
) -> CliResult<(Csr, String, Option<files::Staged>)> {
    // `--key-out ./k.pem --out k.pem --force` would put the CSR over the new key.
    if let Some(key_out) = &a.key_out {
        refuse_output_over_input(&a.out, "--out", key_out, "--key-out")?;
    }
    let csr = builder
        .build(key)
        .map_err(|e| csr_error(e, "cannot build the CSR"))?;
    let pem = csr.to_pem();
    let staged = if input::is_stdin(&a.out) {
        None
    } else {
        Some(files::stage_public_file(&a.out, pem.as_bytes(), a.force)?)
    };
    Ok((csr, pem, staged))
}

/// The `--json` report, or the summary: on standard error when the CSR went to standard
/// output.
fn report_new(
    a: &CsrNewArgs,
    csr: &Csr,
    algorithm: okms_csr::KeyAlgorithm,
    key_used: KeyUsed,
    csr_to_stdout: bool,
    out: &Output,
) -> CliResult<()> {
    // Not `csr.info()`: that would verify the signature, which the builder already did where
    // it can fail (see `CsrSigner::signatures_need_checking`).
    let report = CsrNewReport {
        csr: if csr_to_stdout {
            "-".to_owned()
        } else {
            a.out.display().to_string()
        },
        subject: csr.subject(),
        sans: csr.san_descriptions(),
        algorithm: algorithm.as_str().to_owned(),
        public_key_sha256: csr.public_key().fingerprint_sha256(),
        key: key_used,
    };
    if out.is_json() {
        return out.json(&report);
    }
    let lines = summary_lines(&report);
    if csr_to_stdout {
        for l in &lines {
            out.info(l);
        }
        return Ok(());
    }
    for l in &lines {
        out.line(l)?;
    }
    Ok(())
}

fn key_path(k: &KeyUsed) -> &str {
    match k {
        KeyUsed::Existing { path, .. } => path,
        KeyUsed::New(r) => &r.path,
    }
}

fn summary_lines(r: &CsrNewReport) -> Vec<String> {
    let mut v = Vec::new();
    if let KeyUsed::New(k) = &r.key {
        v.push(format!(
            "Wrote {} private key to {} with mode 0600.",
            k.algorithm, k.path
        ));
    }
    let dest = if r.csr == "-" {
        "standard output".to_owned()
    } else {
        r.csr.clone()
    };
    v.push(format!("Wrote CSR to {dest}."));
    v.push(format!("  subject:            {}", r.subject));
    if !r.sans.is_empty() {
        v.push(format!("  SANs:               {}", r.sans.join(", ")));
    }
    v.push(format!(
        "  key:                {} ({})",
        r.algorithm,
        key_path(&r.key)
    ));
    v.push(format!("  public key SHA-256: {}", r.public_key_sha256));
    if r.csr != "-" {
        v.push(format!(
            "Next: okms-cli request new --csr {} --name NAME --identity URN --out request.json",
            r.csr
        ));
    }
    v
}

fn show(a: &CsrShowArgs, out: &Output) -> CliResult<()> {
    let csr = input::load_csr(&a.path)?;
    let info = csr.info();
    if out.is_json() {
        return out.json(&info);
    }
    out.field("Subject", &info.subject)?;
    if info.sans.is_empty() {
        out.field("SANs", "(none)")?;
    } else {
        out.field("SANs", &info.sans.join(", "))?;
    }
    out.field("Key algorithm", &info.key_algorithm)?;
    out.field("Key size", &format!("{} bits", info.key_bits))?;
    out.field("Signature algorithm", &info.signature_algorithm)?;
    out.field("Public key SHA-256", &info.public_key_sha256)?;
    out.field(
        "Signature",
        if info.signature_valid {
            "valid"
        } else {
            "INVALID"
        },
    )?;
    if !info.signature_valid {
        out.warn("the CSR's self-signature does not verify; OKMS will reject it");
    }
    Ok(())
}

/// The `--json` result of `csr verify`.
#[derive(Debug, Serialize)]
struct VerifyReport {
    path: String,
    signature_valid: bool,
    /// Present with `--key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    key_matches: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn verify(a: &CsrVerifyArgs, out: &Output) -> CliResult<()> {
    let name = display_path(&a.path);
    let csr = input::load_csr(&a.path)?;
    let key = a
        .key
        .as_ref()
        .map(|k| {
            if pkcs11::is_uri(k) {
                pkcs11::public_key(k, &a.token, "--key", out)
            } else {
                load_private_key(k, &a.passphrase).map(|k| k.public_key())
            }
        })
        .transpose()?;

    let key_name = match &a.key {
        Some(p) if pkcs11::is_uri(p) => pkcs11::uri_of_path(p, "--key")?.without_pin().to_string(),
        Some(p) => display_path(p),
        None => String::new(),
    };
    let key_matches = key.as_ref().map(|k| same_public_key(&csr.public_key(), k));
    let sig = csr.verify();
    let signature_valid = sig.is_ok();
    let failure: Option<CliError> = if let Err(e) = sig {
        Some(csr_signature_error(
            e,
            format!("the signature of {name} does not verify"),
        ))
    } else if key_matches == Some(false) {
        Some(
            CliError::new(Exit::VerificationFailed, format!("{name} does not hold the public key of {key_name}")).hint(
                "the CSR was made with another key; compare fingerprints with `okms-cli csr show` and `okms-cli key show`",
            ),
        )
    } else {
        None
    };

    if out.is_json() {
        let report = VerifyReport {
            path: name.clone(),
            signature_valid,
            key_matches,
            error: failure.as_ref().map(|f| format!("{:#}", f.error)),
        };
        out.json(&report)?;
    } else if failure.is_none() {
        out.line(&format!("{name}: signature OK"))?;
        if key_matches == Some(true) {
            out.line(&format!("{name}: holds the public key of {key_name}"))?;
        }
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}
