//! `okms-cli request new|show`: the credential-create body, written on the air-gapped host and
//! carried to a connected one (`okms-cli credential create --request FILE`).

use std::path::Path;

use okms_csr::Csr;
use serde::{Deserialize, Serialize};

use super::{csr_error, display_path, usage};
use crate::cli::{GlobalArgs, IdentityArgs, RequestCommand, RequestNewArgs, RequestShowArgs};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::files;
use crate::input;
use crate::output::Output;

/// Runs a `request` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &RequestCommand, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    match cmd {
        RequestCommand::New(a) => new(a, global.endpoint.as_deref(), out),
        RequestCommand::Show(a) => show(a, out),
    }
}

/// The body of `POST /v2/okms/resource/{okmsId}/credential` when a CSR is given
/// (`okms.credential.Creation`): only the fields that are set, as the API's own clients send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateBody {
    /// Credential name.
    pub name: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Identities allowed to use the credential.
    #[serde(rename = "identityURNs")]
    pub identity_urns: Vec<String>,
    /// Validity in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity: Option<u32>,
    /// The CSR, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr: Option<String>,
    /// Only when OVHcloud generates the key: never in a request file (a CSR is always there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_type: Option<String>,
}

/// A problem with one field of the body, named as the API names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The JSON field (`name`, `description`, `identityURNs`, `validity`, `csr`).
    pub field: &'static str,
    /// What is wrong and what is allowed.
    pub problem: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for FieldProblem {}

fn printable_ascii(s: &str) -> Option<(usize, char)> {
    s.chars()
        .enumerate()
        .find(|(_, c)| !(' '..='~').contains(c))
}

/// Checks the body against what the API rejects (spec §1.1), naming the first bad field.
///
/// This is the single place where the request rules live in okms-cli.
///
/// # Errors
/// The first [`FieldProblem`] found.
pub fn validate(body: &CreateBody) -> Result<(), FieldProblem> {
    let bad = |field, problem: String| Err(FieldProblem { field, problem });
    let n = body.name.chars().count();
    if n == 0 || n > 50 {
        return bad("name", format!("{n} characters; the API allows 1 to 50"));
    }
    if let Some((i, c)) = printable_ascii(&body.name) {
        return bad(
            "name",
            format!(
                "character {} ({c:?}) is not printable ASCII (space to ~)",
                i + 1
            ),
        );
    }
    if let Some(d) = &body.description {
        let n = d.chars().count();
        if n == 0 || n > 200 {
            return bad(
                "description",
                format!("{n} characters; the API allows 1 to 200"),
            );
        }
        if let Some((i, c)) = printable_ascii(d) {
            return bad(
                "description",
                format!(
                    "character {} ({c:?}) is not printable ASCII (space to ~)",
                    i + 1
                ),
            );
        }
    }
    if let Some(v) = body.validity
        && !(1..=365).contains(&v)
    {
        return bad("validity", format!("{v} days; the API allows 1 to 365"));
    }
    let count = body.identity_urns.len();
    if count == 0 || count > 25 {
        return bad(
            "identityURNs",
            format!("{count} identities; the API allows 1 to 25"),
        );
    }
    for urn in &body.identity_urns {
        if let Err(p) = validate_urn(urn) {
            return bad(
                "identityURNs",
                format!("{urn:?} is not an identity URN: {p}"),
            );
        }
    }
    if let Some(csr) = &body.csr {
        if let Some((i, c)) = csr
            .chars()
            .enumerate()
            .find(|(_, c)| !(*c == '\n' || (' '..='~').contains(c)))
        {
            return bad(
                "csr",
                format!("character {} ({c:?}) is not allowed in a PEM CSR", i + 1),
            );
        }
        if !csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----") {
            return bad(
                "csr",
                "does not start with -----BEGIN CERTIFICATE REQUEST-----".to_owned(),
            );
        }
    }
    if body.csr.is_some() && body.certificate_type.is_some() {
        return bad(
            "certificateType",
            "cannot be sent together with csr".to_owned(),
        );
    }
    if let Some(t) = &body.certificate_type
        && t != "ECDSA"
        && t != "RSA"
    {
        return bad(
            "certificateType",
            format!("{t:?}; the API accepts ECDSA or RSA"),
        );
    }
    Ok(())
}

/// Checks one identity URN against the grammar of spec §3.2:
/// `urn:v1:{eu|ca|us|labeu}:identity:{account|user|group|credential}:{nic}[/{name}]`.
///
/// # Errors
/// What part is wrong.
pub fn validate_urn(urn: &str) -> Result<(), String> {
    let parts: Vec<&str> = urn.splitn(6, ':').collect();
    let [urn_kw, version, plate, kind, idtype, rest] = parts.as_slice() else {
        return Err("expected urn:v1:{region}:identity:{type}:{nic}[/{name}]".to_owned());
    };
    if *urn_kw != "urn" {
        return Err("must start with urn:".to_owned());
    }
    if *version != "v1" {
        return Err(format!("version {version:?}; expected v1"));
    }
    if !matches!(*plate, "eu" | "ca" | "us" | "labeu") {
        return Err(format!("region {plate:?}; expected eu, ca or us"));
    }
    if *kind != "identity" {
        return Err(format!("{kind:?} where `identity` was expected"));
    }
    let (nic, name) = match rest.split_once('/') {
        Some((n, m)) => (n, Some(m)),
        None => (*rest, None),
    };
    if !is_nic(nic) {
        return Err(format!(
            "account {nic:?} is not a NIC handle like xx1111-ovh"
        ));
    }
    match (*idtype, name) {
        ("account", None) => Ok(()),
        ("account", Some(_)) => Err("an account URN has no /name part".to_owned()),
        ("user" | "group" | "credential", None | Some("")) => {
            Err(format!("a {idtype} URN needs {nic}/NAME"))
        }
        ("user" | "group" | "credential", Some(n)) => {
            if let Some(c) = n.chars().find(|c| !c.is_ascii_graphic()) {
                Err(format!("name contains {c:?}"))
            } else if *idtype == "credential" && !n.starts_with("oauth2-") {
                Err("a service-account URN names oauth2-{clientId}".to_owned())
            } else {
                Ok(())
            }
        }
        (other, _) => Err(format!(
            "identity type {other:?}; expected account, user, group or credential"
        )),
    }
}

/// `[a-z]{2}\d{1,6}-ovh`, case-insensitive as the Control Panel reads it.
fn is_nic(s: &str) -> bool {
    let Some(head) = s.strip_suffix("-ovh").or_else(|| s.strip_suffix("-OVH")) else {
        return false;
    };
    let b = head.as_bytes();
    b.len() >= 3
        && b.len() <= 8
        && b.iter().take(2).all(u8::is_ascii_alphabetic)
        && b.iter().skip(2).all(u8::is_ascii_digit)
}

/// The region plate for built URNs: `--region`, else derived from `--endpoint`.
fn plate(region: Option<&str>, endpoint: Option<&str>) -> CliResult<String> {
    if let Some(r) = region {
        let r = r.to_ascii_lowercase();
        return match r.as_str() {
            "eu" | "ca" | "us" | "labeu" => Ok(r),
            _ => Err(CliError::new(
                Exit::InvalidInput,
                format!("--region {r:?}: expected eu, ca or us"),
            )),
        };
    }
    match endpoint {
        Some("ovh-eu" | "kimsufi-eu" | "soyoustart-eu") => Ok("eu".to_owned()),
        Some("ovh-ca" | "kimsufi-ca" | "soyoustart-ca") => Ok("ca".to_owned()),
        Some("ovh-us") => Ok("us".to_owned()),
        _ => Err(
            usage("--root, --user, --group and --service-account need --region eu|ca|us")
                .hint("or give full URNs with --identity"),
        ),
    }
}

/// The identity URNs from the flags, in the order given, without duplicates.
fn identities(
    ids: &IdentityArgs,
    nic: Option<&str>,
    region: Option<&str>,
    endpoint: Option<&str>,
    out: &Output,
) -> CliResult<Vec<String>> {
    let mut urns: Vec<String> = ids.identity.clone();
    let built = ids.root
        || !ids.user.is_empty()
        || !ids.group.is_empty()
        || !ids.service_account.is_empty();
    if built {
        let Some(nic) = nic else {
            return Err(usage("--root, --user, --group and --service-account need --nic (your account, e.g. xx1111-ovh)")
                .hint("or give full URNs with --identity"));
        };
        if !is_nic(nic) {
            return Err(CliError::new(
                Exit::InvalidInput,
                format!("--nic {nic:?} is not a NIC handle like xx1111-ovh"),
            ));
        }
        let plate = plate(region, endpoint)?;
        let base = format!("urn:v1:{plate}:identity");
        if ids.root {
            urns.push(format!("{base}:account:{nic}"));
        }
        urns.extend(ids.user.iter().map(|u| format!("{base}:user:{nic}/{u}")));
        urns.extend(ids.group.iter().map(|g| format!("{base}:group:{nic}/{g}")));
        urns.extend(
            ids.service_account
                .iter()
                .map(|c| format!("{base}:credential:{nic}/oauth2-{c}")),
        );
    }
    let mut seen = std::collections::HashSet::new();
    let before = urns.len();
    urns.retain(|u| seen.insert(u.clone()));
    if urns.len() != before {
        out.warn("duplicate identities were given once each");
    }
    Ok(urns)
}

fn field_error(p: FieldProblem) -> CliError {
    let flag = match p.field {
        "identityURNs" => "--identity",
        "name" => "--name",
        "description" => "--description",
        "validity" => "--validity",
        "csr" => "--csr",
        _ => "",
    };
    let err = CliError {
        exit: Exit::InvalidInput,
        error: anyhow::Error::new(p).context("the request would be rejected by the API"),
        hint: None,
    };
    if flag.is_empty() {
        err
    } else {
        err.hint(format!("fix {flag}"))
    }
}

fn load_csr(path: &Path) -> CliResult<Csr> {
    let bytes = input::read(path, "the CSR")?;
    let name = display_path(path);
    let csr = Csr::parse(&bytes).map_err(|e| csr_error(e, format!("{name} is not a valid CSR")))?;
    csr.verify().map_err(|e| {
        let mut err = csr_error(e, format!("the signature of {name} does not verify"));
        err.exit = Exit::VerificationFailed;
        err.hint("OKMS rejects such a CSR; create it again with `okms-cli csr new`")
    })?;
    Ok(csr)
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
    let urns = identities(
        &a.identities,
        a.nic.as_deref(),
        a.region.as_deref(),
        endpoint,
        out,
    )?;
    let csr = load_csr(&a.csr)?;
    let body = CreateBody {
        name: a.name.clone(),
        description: a.description.clone(),
        identity_urns: urns,
        validity: a.validity,
        csr: Some(csr.to_pem()),
        certificate_type: None,
    };
    validate(&body).map_err(field_error)?;
    let mut json = serde_json::to_vec(&body).map_err(|e| CliError {
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

fn report(body: &CreateBody, csr: &Csr, path: &Path, out: &Output, written: bool) -> CliResult<()> {
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
    if let Some(d) = r.description {
        out.field("Description", d)?;
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
    let name = display_path(&a.path);
    let bytes = input::read(&a.path, "the request")?;
    let body: CreateBody = serde_json::from_slice(&bytes).map_err(|e| CliError {
        exit: Exit::InvalidInput,
        error: anyhow::Error::new(e).context(format!("{name} is not a credential request")),
        hint: Some("a request file is written by `okms-cli request new`".to_owned()),
    })?;
    validate(&body).map_err(field_error)?;
    let Some(pem) = &body.csr else {
        return Err(CliError::new(
            Exit::InvalidInput,
            format!("{name}: csr: missing; a request file always carries a CSR"),
        ));
    };
    let csr =
        Csr::from_pem(pem).map_err(|e| csr_error(e, format!("{name}: csr: not a valid CSR")))?;
    csr.verify().map_err(|e| {
        let mut err = csr_error(e, format!("{name}: csr: the signature does not verify"));
        err.exit = Exit::VerificationFailed;
        err
    })?;
    report(&body, &csr, &a.path, out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> CreateBody {
        CreateBody {
            name: "app1".into(),
            description: None,
            identity_urns: vec!["urn:v1:eu:identity:user:xx1111-ovh/john.smith".into()],
            validity: None,
            csr: None,
            certificate_type: None,
        }
    }

    #[test]
    fn urns_from_the_spec_are_accepted() {
        for u in [
            "urn:v1:eu:identity:account:xx1111-ovh",
            "urn:v1:eu:identity:user:xx1111-ovh/john.smith",
            "urn:v1:eu:identity:group:xx1111-ovh/my_group",
            "urn:v1:eu:identity:credential:xx11111-ovh/oauth2-0f0f0f0f0f0f0f0f",
            "urn:v1:us:identity:credential:xx11111-ovh/oauth2-abc",
        ] {
            assert_eq!(validate_urn(u), Ok(()), "{u}");
        }
    }

    #[test]
    fn bad_urns_are_rejected() {
        for u in [
            "",
            "urn:v1:eu:identity:user",
            "urn:v2:eu:identity:user:xx1111-ovh/a",
            "urn:v1:fr:identity:user:xx1111-ovh/a",
            "urn:v1:eu:resource:user:xx1111-ovh/a",
            "urn:v1:eu:identity:robot:xx1111-ovh/a",
            "urn:v1:eu:identity:user:xx1111/a",
            "urn:v1:eu:identity:user:xx1111-ovh",
            "urn:v1:eu:identity:user:xx1111-ovh/",
            "urn:v1:eu:identity:account:xx1111-ovh/x",
            "urn:v1:eu:identity:user:xx1111-ovh/a b",
            "urn:v1:eu:identity:credential:xx1111-ovh/client",
        ] {
            assert!(validate_urn(u).is_err(), "{u}");
        }
    }

    #[test]
    fn limits_name_the_field() {
        let mut b = body();
        b.name = "x".repeat(51);
        assert_eq!(validate(&b).map_err(|p| p.field), Err("name"));
        b.name = "x".repeat(50);
        assert_eq!(validate(&b), Ok(()));
        b.validity = Some(0);
        assert_eq!(validate(&b).map_err(|p| p.field), Err("validity"));
        b.validity = Some(366);
        assert_eq!(validate(&b).map_err(|p| p.field), Err("validity"));
        b.validity = Some(365);
        b.description = Some("caf\u{e9}".into());
        assert_eq!(validate(&b).map_err(|p| p.field), Err("description"));
        b.description = Some("d".repeat(201));
        assert_eq!(validate(&b).map_err(|p| p.field), Err("description"));
        b.description = Some("d".repeat(200));
        b.identity_urns = (0..26)
            .map(|i| format!("urn:v1:eu:identity:user:xx1111-ovh/u{i}"))
            .collect();
        assert_eq!(validate(&b).map_err(|p| p.field), Err("identityURNs"));
        b.identity_urns.truncate(25);
        assert_eq!(validate(&b), Ok(()));
    }
}
