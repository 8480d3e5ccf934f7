//! Keys on a PKCS#11 token: `key new --pkcs11`, `key list`, and the `pkcs11:` form of `--key`.
//!
//! The token work is in `okms-pkcs11`; this module finds the module and the PIN, maps the
//! errors to exit codes and hints, and prints.

use std::io::IsTerminal;
use std::path::Path;

use okms_csr::{KeyAlgorithm, PublicKey};
use okms_pkcs11::{KeyInfo, Module, Pin, Pkcs11Uri, Token, TokenSigner};
use serde::Serialize;

use crate::cli::{KeyListArgs, KeyNewArgs, PassphraseArgs, Pkcs11Args};
use crate::error::{CliError, CliResult, p11_error, usage};
use crate::exit::Exit;
use crate::files;
use crate::input::{self, display_path};
use crate::output::Output;

/// Whether a `--key` (or key path) argument is a PKCS#11 URI rather than a file.
#[must_use]
pub fn is_uri(arg: &Path) -> bool {
    arg.to_str()
        .and_then(|s| s.trim_start().get(..7))
        .is_some_and(|p| p.eq_ignore_ascii_case("pkcs11:"))
}

/// Refuses a passphrase source for a key on a token: the token's PIN protects it, and a
/// passphrase given by mistake must not be silently ignored.
///
/// # Errors
/// Exit 2.
pub fn refuse_passphrase_for_token(pass: &PassphraseArgs) -> CliResult<()> {
    if pass.is_given() {
        return Err(usage(
            "a passphrase source was given, but a token key is protected by the token's PIN",
        )
        .hint("give the PIN with --pin-file, or in the URI (pin-source=FILE)"));
    }
    Ok(())
}

/// Refuses `--pkcs11-module` and `--pin-file` where no key is on a token; `applies_to` ends
/// the message ("... apply to `applies_to`").
///
/// # Errors
/// Exit 2.
pub fn refuse_token_flags(token: &Pkcs11Args, applies_to: &str) -> CliResult<()> {
    if token.is_given() {
        return Err(usage(format!(
            "--pkcs11-module and --pin-file apply to {applies_to}"
        )));
    }
    Ok(())
}

/// For a `--key` that is a token key or a key file: refuses the flags of the other kind.
///
/// # Errors
/// Exit 2.
pub fn refuse_flags_of_other_key_kind(
    on_token: bool,
    pass: &PassphraseArgs,
    token: &Pkcs11Args,
) -> CliResult<()> {
    if on_token {
        refuse_passphrase_for_token(pass)
    } else {
        refuse_token_flags(token, "--key pkcs11:URI (a key on a token)")
    }
}

/// Parses a URI given in `flag`.
///
/// # Errors
/// Exit 3 naming the bad attribute.
pub fn parse_uri(text: &str, flag: &str) -> CliResult<Pkcs11Uri> {
    Pkcs11Uri::parse(text).map_err(|e| p11_error(e, format!("invalid {flag}")))
}

/// The URI in a path-typed argument (`--key pkcs11:...`).
///
/// # Errors
/// As [`parse_uri`]; exit 3 if the argument is not UTF-8.
pub fn uri_of_path(arg: &Path, flag: &str) -> CliResult<Pkcs11Uri> {
    let text = arg.to_str().ok_or_else(|| {
        CliError::new(
            Exit::InvalidInput,
            format!("{flag}: the PKCS#11 URI is not valid UTF-8"),
        )
    })?;
    parse_uri(text, flag)
}

/// Loads the module, selects the token, obtains the PIN and logs in.
///
/// # Errors
/// Module, token, PIN and login errors, with their exit codes.
pub fn open_token(uri: &Pkcs11Uri, args: &Pkcs11Args, out: &Output) -> CliResult<Token> {
    open_token_keeping_pin(uri, args, out).map(|(token, _)| token)
}

/// [`open_token`], also returning the PIN it logged in with, so that a command needing a
/// second session later ([`open_token_with_pin`]) does not ask for it again.
///
/// # Errors
/// As [`open_token`].
pub fn open_token_keeping_pin(
    uri: &Pkcs11Uri,
    args: &Pkcs11Args,
    out: &Output,
) -> CliResult<(Token, Option<Pin>)> {
    let (module, token) = select_token(uri, args, out)?;
    let pin = pin(uri, args, &token.label, token.protected_authentication_path)?;
    let session = module
        .login(&token, pin.as_ref())
        .map_err(|e| p11_error(e, format!("cannot log in to token {:?}", token.label)))?;
    Ok((session, pin))
}

/// A new session on the token `uri` names, logged in with a PIN already obtained.
///
/// # Errors
/// Module, token and login errors, with their exit codes.
pub fn open_token_with_pin(
    uri: &Pkcs11Uri,
    args: &Pkcs11Args,
    pin: Option<&Pin>,
    out: &Output,
) -> CliResult<Token> {
    let (module, token) = select_token(uri, args, out)?;
    module
        .login(&token, pin)
        .map_err(|e| p11_error(e, format!("cannot log in to token {:?}", token.label)))
}

fn select_token(
    uri: &Pkcs11Uri,
    args: &Pkcs11Args,
    out: &Output,
) -> CliResult<(Module, okms_pkcs11::TokenDescription)> {
    let env = std::env::var_os(okms_pkcs11::MODULE_ENV);
    let path =
        okms_pkcs11::resolve_module_path(args.pkcs11_module.as_deref(), Some(uri), env.as_deref())
            .map_err(|e| p11_error(e, "cannot tell which PKCS#11 module to use"))?;
    out.verbose(&format!("loading PKCS#11 module {}", path.display()));
    let module = Module::load(&path).map_err(|e| p11_error(e, "cannot use the PKCS#11 module"))?;
    let token = module
        .select_token(uri)
        .map_err(|e| p11_error(e, "cannot find the token"))?;
    out.verbose(&format!("using token {token}"));
    Ok((module, token))
}

/// The PIN: --pin-file, else the URI's pin-value / pin-source, else a prompt (none for a
/// token with a PIN pad).
fn pin(
    uri: &Pkcs11Uri,
    args: &Pkcs11Args,
    token: &str,
    protected_path: bool,
) -> CliResult<Option<Pin>> {
    let from_uri = uri.pin_value.is_some() || uri.pin_source.is_some();
    if let Some(file) = &args.pin_file {
        if from_uri {
            return Err(
                usage("both --pin-file and the URI's pin-value/pin-source give a PIN")
                    .hint("keep one of them"),
            );
        }
        let pin =
            okms_pkcs11::read_pin_file(file).map_err(|e| p11_error(e, "cannot read --pin-file"))?;
        return Ok(Some(pin));
    }
    if from_uri {
        return uri
            .pin()
            .map_err(|e| p11_error(e, "cannot read the PIN named by the URI"));
    }
    if protected_path {
        return Ok(None);
    }
    prompt_pin(token).map(Some)
}

fn prompt_pin(token: &str) -> CliResult<Pin> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::new(
            Exit::InvalidInput,
            format!("token {token:?} needs its user PIN, and there is no terminal to ask on"),
        )
        .hint("use --pin-file FILE, or ?pin-source=FILE in the URI"));
    }
    let text = rpassword::prompt_password(format!("User PIN for token {token:?}: "))
        .map(zeroize::Zeroizing::new)
        .map_err(|e| CliError {
            exit: Exit::Error,
            error: anyhow::Error::new(e).context("cannot read the PIN from the terminal"),
            hint: None,
        })?;
    Ok(Pin::from(text.as_str()))
}

/// Opens the token and the key a `pkcs11:` `--key` names, as a CSR signer.
///
/// # Errors
/// URI, module, token, PIN and key errors.
pub fn signer(key: &Path, args: &Pkcs11Args, flag: &str, out: &Output) -> CliResult<TokenSigner> {
    let uri = uri_of_path(key, flag)?;
    let token = open_token(&uri, args, out)?;
    token
        .into_signer(&uri)
        .map_err(|e| p11_error(e, format!("cannot use the key {}", uri.without_pin())))
}

/// The key a `pkcs11:` argument names, for its public key.
///
/// # Errors
/// As [`signer`].
pub fn find_key(key: &Path, args: &Pkcs11Args, flag: &str, out: &Output) -> CliResult<KeyInfo> {
    Ok(signer(key, args, flag, out)?.key().clone())
}

/// The public key of a `pkcs11:` key.
///
/// # Errors
/// As [`signer`].
pub fn public_key(key: &Path, args: &Pkcs11Args, flag: &str, out: &Output) -> CliResult<PublicKey> {
    Ok(find_key(key, args, flag, out)?.public_key)
}

/// The `--json` result of `key new --pkcs11` and one entry of `key list`.
#[derive(Debug, Serialize)]
struct TokenKeyReport {
    uri: String,
    token: String,
    label: String,
    id: String,
    algorithm: String,
    key_bits: usize,
    sensitive: Option<bool>,
    extractable: Option<bool>,
    public_key_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key_path: Option<String>,
}

fn report(token: &Token, key: &KeyInfo, public_key_path: Option<String>) -> TokenKeyReport {
    TokenKeyReport {
        uri: key.uri.to_string(),
        token: token.description().label.clone(),
        label: key.label.clone(),
        id: hex_lower(&key.id),
        algorithm: key.algorithm.as_str().to_owned(),
        key_bits: key.algorithm.key_bits(),
        sensitive: key.sensitive,
        extractable: key.extractable,
        public_key_sha256: key.public_key.fingerprint_sha256(),
        public_key_path,
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `key new --pkcs11 URI`: generates the key pair on the token.
///
/// # Errors
/// Usage errors for file-key flags, exit 5 when the label or id is taken (or `--out` exists
/// without `--force`), token errors.
pub fn key_new(a: &KeyNewArgs, uri_text: &str, alg: KeyAlgorithm, out: &Output) -> CliResult<()> {
    if a.key.encrypt || a.key.format.is_some() {
        return Err(usage(
            "--encrypt and --format apply to key files, not to keys generated on a token",
        ));
    }
    refuse_passphrase_for_token(&a.passphrase)?;
    let uri = parse_uri(uri_text, "--pkcs11")?;
    let Some(label) = uri.object.clone() else {
        return Err(CliError::new(
            Exit::InvalidInput,
            "--pkcs11: the URI must name the new key with object=LABEL",
        )
        .hint(format!(
            "e.g. --pkcs11 '{};object=okms-client'",
            uri.without_pin()
        )));
    };
    if uri
        .object_type
        .is_some_and(|t| t != okms_pkcs11::ObjectType::Private)
    {
        return Err(CliError::new(
            Exit::InvalidInput,
            "--pkcs11: type= must be private (or absent) for a new key",
        ));
    }
    let pub_out = a.out.as_deref();
    let pub_to_stdout = pub_out.is_some_and(input::is_stdin);
    if pub_to_stdout && out.is_json() {
        return Err(usage(
            "--json cannot be combined with --out -: standard output holds the public key",
        ));
    }
    if let Some(p) = pub_out.filter(|p| !input::is_stdin(p)) {
        files::check_writable(p, a.force)?;
    }

    let token = open_token(&uri, &a.token, out)?;
    if alg.is_rsa() {
        out.verbose(&format!(
            "generating an {alg} key on the token; this can take a moment"
        ));
    }
    let key = token
        .generate_key(alg, &label, uri.id.as_deref(), &uri)
        .map_err(|e| {
            p11_error(
                e,
                format!(
                    "cannot generate an {alg} key on token {:?}",
                    token.description().label
                ),
            )
        })?;

    let pem = key.public_key.to_pem();
    let public_key_path = match pub_out {
        Some(_) if pub_to_stdout => {
            out.stdout_bytes(pem.as_bytes())?;
            Some("-".to_owned())
        }
        Some(p) => {
            files::write_public_file(p, pem.as_bytes(), a.force).map_err(|e| {
                CliError::from(e).hint(format!(
                    "the key was generated on the token; write its public key with `okms-cli key pub '{}' --out FILE`",
                    key.uri
                ))
            })?;
            Some(display_path(p))
        }
        None => None,
    };
    let r = report(&token, &key, public_key_path);
    if out.is_json() {
        return out.json(&r);
    }
    let lines = [
        format!(
            "Generated {} key {:?} on token {:?} (sensitive, not extractable).",
            r.algorithm, r.label, r.token
        ),
        format!("  URI:                {}", r.uri),
        format!("  public key SHA-256: {}", r.public_key_sha256),
    ];
    for l in &lines {
        if pub_to_stdout {
            out.info(l);
        } else {
            out.line(l)?;
        }
    }
    match &r.public_key_path {
        Some(p) if p != "-" => out.line(&format!("  public key:         {p}"))?,
        _ => {}
    }
    if !pub_to_stdout {
        out.line(&format!(
            "Next: okms-cli csr new --key '{}' --cn NAME --out client.csr",
            r.uri
        ))?;
    }
    Ok(())
}

/// `key list --pkcs11 URI`.
///
/// # Errors
/// Token errors.
pub fn key_list(a: &KeyListArgs, out: &Output) -> CliResult<()> {
    let uri = parse_uri(&a.pkcs11, "--pkcs11")?;
    let token = open_token(&uri, &a.token, out)?;
    let listing = token.keys(&uri).map_err(|e| {
        p11_error(
            e,
            format!(
                "cannot list the keys of token {:?}",
                token.description().label
            ),
        )
    })?;
    // object= / id= in the URI narrow the list.
    let wanted = |label: &str, id: &[u8]| {
        uri.object.as_deref().is_none_or(|o| o == label)
            && uri.id.as_deref().is_none_or(|i| i == id)
    };
    let keys: Vec<TokenKeyReport> = listing
        .usable
        .iter()
        .filter(|k| wanted(&k.label, &k.id))
        .map(|k| report(&token, k, None))
        .collect();
    let skipped: Vec<_> = listing
        .skipped
        .iter()
        .filter(|k| wanted(&k.label, &k.id))
        .collect();
    if out.is_json() {
        return out.json(&serde_json::json!({
            "token": token.description().label,
            "keys": keys,
            "skipped": skipped.iter().map(|k| serde_json::json!({
                "label": k.label,
                "id": hex_lower(&k.id),
                "reason": k.reason,
            })).collect::<Vec<_>>(),
        }));
    }
    if keys.is_empty() {
        out.info(&format!(
            "no usable private key on token {:?}{}",
            token.description().label,
            if uri.object.is_some() || uri.id.is_some() {
                " matching the URI's object=/id="
            } else {
                ""
            }
        ));
    }
    for k in &keys {
        out.line(&format!(
            "{}  {}  id {}  {}",
            k.label, k.algorithm, k.id, k.uri
        ))?;
    }
    for k in &skipped {
        out.warn(&format!(
            "skipped key {:?} (id {}): {}",
            k.label,
            hex_lower(&k.id),
            k.reason
        ));
    }
    Ok(())
}
