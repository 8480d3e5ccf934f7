//! `okms-cli request new|show`: the credential-create body, written on the air-gapped host and
//! carried to a connected one (`okms-cli credential create --request FILE`).

use std::path::Path;

use std::str::FromStr;

use okms_api::{CredentialRequest, Endpoint, IdentitySelection, Plate};
use okms_csr::Csr;
use serde::Serialize;

use super::identities;
use crate::cli::{GlobalArgs, IdentityArgs, RequestCommand, RequestNewArgs, RequestShowArgs};
use crate::error::{CliError, CliResult, invalid_request, usage};
use crate::exit::Exit;
use crate::files;
use crate::files::refuse_output_over_input;
use crate::input::{self, display_path};
use crate::output::Output;

/// Runs a `request` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &RequestCommand, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    match cmd {
        RequestCommand::New(a) => {
            // Same precedence as the online commands: flag, then environment.
            let endpoint = global
                .endpoint
                .clone()
                .or_else(|| std::env::var("OVH_ENDPOINT").ok());
            new(a, endpoint.as_deref(), out)
        }
        RequestCommand::Show(a) => show(a, out),
    }
}

/// The region plate for built URNs: `--region`, else the one of `--endpoint`.
fn plate(region: Option<&str>, endpoint: Option<&str>) -> CliResult<Plate> {
    if let Some(r) = region {
        return Plate::from_str(r).map_err(|e| invalid_request(e, "--region"));
    }
    endpoint
        .and_then(|e| Endpoint::parse(e).ok())
        .and_then(|e| e.plate())
        .ok_or_else(|| {
            usage("--root, --user, --group and --service-account need --region eu|ca|us")
                .hint("or give full URNs with --identity")
        })
}

/// The identity URNs from the flags, in the order given, without duplicates.
fn identities(
    ids: &IdentityArgs,
    nic: Option<&str>,
    region: Option<&str>,
    endpoint: Option<&str>,
    out: &Output,
) -> CliResult<Vec<String>> {
    // Checked before the CSR is read, so that a bad URN is the error the user sees first.
    let selection = IdentitySelection::from(ids);
    identities::check(&selection)?;
    let urns = if selection.needs_account() {
        let Some(nic) = nic else {
            return Err(usage("--root, --user, --group and --service-account need --nic (your account, e.g. xx1111-ovh)")
                .hint("or give full URNs with --identity"));
        };
        let plate = plate(region, endpoint)?;
        let urns = identities::urns_for_given_account(&selection, plate, nic)?;
        if urns.duplicates_dropped() {
            out.warn("duplicate identities were given once each");
        }
        urns.into_urns()
    } else {
        let given = selection.given_urns().map_err(|e| invalid_request(e, ""))?;
        if given.duplicates_dropped() {
            out.warn("duplicate identities were given once each");
        }
        given.into_urns()
    };
    identities::note_unusual_accounts(&urns, out);
    Ok(urns)
}

/// The `--json` result of `request new` / `request show`.
#[derive(Debug, Serialize)]
struct RequestReport<'a> {
    /// Where the request was written (or read).
    path: String,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    identity_urns: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    validity: Option<u32>,
    csr_subject: String,
    csr_public_key_sha256: String,
}

fn new(a: &RequestNewArgs, endpoint: Option<&str>, out: &Output) -> CliResult<()> {
    let to_stdout = input::is_stdin(&a.out);
    if to_stdout && out.is_json() {
        return Err(usage(
            "--json cannot be combined with --out -: standard output holds the request",
        ));
    }
    if !to_stdout {
        files::check_writable(&a.out, a.force)?;
    }
    refuse_output_over_input(&a.out, "--out", &a.csr, "--csr")?;
    let urns = identities(
        &a.identities,
        a.nic.as_deref(),
        a.region.as_deref(),
        endpoint,
        out,
    )?;
    let csr = input::load_verified_csr(&a.csr)?;
    let body = build_request(a, urns, &csr)?;
    let mut json = body.to_json().map_err(|e| CliError {
        exit: Exit::Error,
        error: anyhow::Error::new(e).context("cannot encode the request"),
        hint: None,
    })?;
    json.push(b'\n');
    if to_stdout {
        return out.stdout_bytes(&json);
    }
    files::write_public_file(&a.out, &json, a.force)?;
    report(&body, &csr, &a.out, out, true)
}

/// The create body, validated by okms-api (the one definition of what the API accepts).
fn build_request(a: &RequestNewArgs, urns: Vec<String>, csr: &Csr) -> CliResult<CredentialRequest> {
    let mut body = CredentialRequest::from_csr(a.name.clone(), urns, csr.to_pem());
    if let Some(d) = &a.description {
        body = body.with_description(d.clone());
    }
    if let Some(v) = a.validity {
        body = body.with_validity(v);
    }
    body.validate().map_err(|e| invalid_request(e, ""))?;
    Ok(body)
}

fn report(
    body: &CredentialRequest,
    csr: &Csr,
    path: &Path,
    out: &Output,
    written: bool,
) -> CliResult<()> {
    let r = RequestReport {
        path: path.display().to_string(),
        name: &body.name,
        description: body.description.as_deref(),
        identity_urns: &body.identity_urns,
        validity: body.validity,
        csr_subject: csr.subject(),
        csr_public_key_sha256: csr.public_key().fingerprint_sha256(),
    };
    if out.is_json() {
        return out.json(&r);
    }
    if written {
        out.line(&format!("Wrote the credential request to {}.", r.path))?;
    } else {
        out.line(&format!("{} is a valid credential request.", r.path))?;
    }
    out.field("Name", r.name)?;
    match r.description {
        // Shown quoted, or it would look like a missing value.
        Some("") => out.field("Description", "\"\" (empty)")?,
        Some(d) => out.field("Description", d)?,
        None => {}
    }
    out.field(
        "Validity",
        &r.validity.map_or_else(
            || "365 days (API default)".to_owned(),
            |v| format!("{v} days"),
        ),
    )?;
    for (i, u) in r.identity_urns.iter().enumerate() {
        out.field(if i == 0 { "Identities" } else { "" }, u)?;
    }
    out.field("CSR subject", &r.csr_subject)?;
    out.field("CSR key SHA-256", &r.csr_public_key_sha256)?;
    if written {
        out.line(&format!(
            "Next, on a connected host: okms-cli credential create --okms-id ID --request {}",
            r.path
        ))?;
    }
    Ok(())
}

fn show(a: &RequestShowArgs, out: &Output) -> CliResult<()> {
    let (body, csr) = input::load_request(&a.path)?;
    let Some(csr) = csr else {
        return Err(CliError::new(
            Exit::InvalidInput,
            format!(
                "{}: csr: missing; a request file always carries a CSR",
                display_path(&a.path)
            ),
        ));
    };
    report(&body, &csr, &a.path, out, false)
}
