//! `domain list`, `domain show` and `domain ca`, and [`kms_trust`]: the domain's CA that
//! every mutual-TLS connection to a KMS trusts.

use std::path::Path;

use okms_api::{Client, Domain, KmsEndpoint, Uuid};
use serde::Serialize;

use super::session::{client, parse_uuid};
use crate::cli::{DomainCaArgs, GlobalArgs};
use crate::error::{CliResult, api_failure};
use crate::files;
use crate::input::{self, display_path};
use crate::output::Output;

#[derive(Serialize)]
struct DomainList<'a> {
    domains: &'a [Domain],
}

pub(super) async fn domain_list(global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let client = client(global, out)?;
    let domains = client
        .list_domains()
        .await
        .map_err(|e| api_failure(e, "cannot list the OKMS domains"))?;
    if out.is_json() {
        return out.json(&DomainList { domains: &domains });
    }
    if domains.is_empty() {
        out.info("this account has no OKMS domain");
        return Ok(());
    }
    out.line(&format!("{:<36}  {:<16}  REST ENDPOINT", "ID", "REGION"))?;
    for d in &domains {
        out.line(&format!(
            "{:<36}  {:<16}  {}",
            d.id,
            d.region,
            d.rest_endpoint.as_deref().unwrap_or("-")
        ))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct DomainShow<'a> {
    domain: &'a Domain,
}

pub(super) async fn domain_show(id: Uuid, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let client = client(global, out)?;
    let d = client
        .get_domain(id, false)
        .await
        .map_err(|e| api_failure(e, format!("cannot read OKMS domain {id}")))?;
    if out.is_json() {
        return out.json(&DomainShow { domain: &d });
    }
    out.field("Id", &d.id.to_string())?;
    out.field("Region", &d.region)?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    out.field("REST endpoint", &opt(&d.rest_endpoint))?;
    out.field("KMIP endpoint", &opt(&d.kmip_endpoint))?;
    out.field("KMIP RSA endpoint", &opt(&d.kmip_rsa_endpoint))?;
    out.field("Swagger", &opt(&d.swagger_endpoint))?;
    let num = |v: Option<i64>| v.map_or_else(|| "-".into(), |n| n.to_string());
    out.field("Service keys", &num(d.service_key_count))?;
    out.field("Secrets", &num(d.secret_count))?;
    if let Some(pci) = d.pci_dss_enabled {
        out.field("PCI-DSS", if pci { "enabled" } else { "not enabled" })?;
    }
    if let Some(iam) = &d.iam {
        if let Some(name) = &iam.display_name {
            out.field("Display name", name)?;
        }
        if let Some(urn) = &iam.urn {
            out.field("URN", urn)?;
        }
    }
    Ok(())
}

/// The `--json` result of `domain ca`.
#[derive(Serialize)]
struct DomainCaReport<'a> {
    okms_id: Uuid,
    /// `publicCA` or `publicRsaCA`.
    field: &'static str,
    certificates: usize,
    pem: &'a str,
    /// The file written, when `--out` was given.
    out: Option<String>,
}

pub(super) async fn domain_ca(
    a: &DomainCaArgs,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    let okms_id = parse_uuid(&a.okms.okms_id, "--okms-id")?;
    if let Some(path) = &a.out {
        // Refused before the API is asked: nothing is fetched that could not be written.
        files::check_writable(path, a.force)?;
    }
    let endpoint = if a.rsa {
        KmsEndpoint::KmipRsa
    } else {
        KmsEndpoint::Rest
    };
    let client = client(global, out)?;
    let ca = client
        .domain_ca(okms_id, endpoint)
        .await
        .map_err(|e| api_failure(e, format!("cannot get the CA of OKMS domain {okms_id}")))?;
    if let Some(path) = &a.out {
        files::write_public_file(path, ca.pem.as_bytes(), a.force)?;
    }
    if out.is_json() {
        return out.json(&DomainCaReport {
            okms_id,
            field: endpoint.ca_field(),
            certificates: ca.certificates,
            pem: &ca.pem,
            out: a.out.as_deref().map(display_path),
        });
    }
    match &a.out {
        Some(path) => out.info(&format!(
            "wrote {} CA certificate(s) of domain {okms_id} ({}) to {}",
            ca.certificates,
            endpoint.ca_field(),
            display_path(path)
        )),
        None => out.stdout_bytes(ca.pem.as_bytes())?,
    }
    Ok(())
}

/// What a mutual-TLS connection to a KMS endpoint trusts besides the platform roots.
pub(crate) struct KmsTrust {
    /// The CA certificates (PEM): the `--ca` file's, then the domain's from the API.
    pub(crate) ca_pem: Option<String>,
    /// Whether the domain's CA came from the API (a TLS failure then is not a missing CA).
    pub(crate) from_api: bool,
}

/// The domain read once with its CAs (`?publicCA=true`), for everything a command needs of
/// it: the endpoints and the CA its connections trust. `None` without `client` (no API
/// access), or when the read failed and `needed_for` is `None` (warned: the connection may
/// still succeed on `--ca` or the system roots, and fails with its own reason otherwise).
///
/// # Errors
/// The API's error, when the domain is `needed_for` something (its endpoint, say).
pub(crate) async fn read_domain(
    client: Option<&Client>,
    okms_id: Uuid,
    needed_for: Option<&str>,
    out: &Output,
) -> CliResult<Option<Domain>> {
    let Some(client) = client else {
        return Ok(None);
    };
    match client.get_domain(okms_id, true).await {
        Ok(d) => Ok(Some(d)),
        Err(e) => match needed_for {
            Some(what) => Err(api_failure(
                e,
                format!("cannot read OKMS domain {okms_id} to find its {what}"),
            )),
            None => {
                out.warn(&format!(
                    "cannot read domain {okms_id} and its CA from the API ({e}); trusting --ca and the system roots only"
                ));
                Ok(None)
            }
        },
    }
}

/// The trust of every mutual-TLS connection okms-cli makes to a KMS (`credential check`,
/// renewal's proof, the KMIP check): the `explicit` CA file (`--ca`) when given, plus the
/// domain's CA for `endpoint` from `domain` (see [`read_domain`]) whenever the API gave it.
/// A CA the API gives that is not PEM certificates is a warning, not a failure: the
/// connection may still succeed on the `--ca` file or the platform roots.
///
/// # Errors
/// Exit 3 when the `explicit` file cannot be read.
pub(crate) fn kms_trust(
    domain: Option<&Domain>,
    okms_id: Uuid,
    endpoint: KmsEndpoint,
    explicit: Option<&Path>,
    out: &Output,
) -> CliResult<KmsTrust> {
    let mut ca_pem = match explicit {
        Some(p) => Some(input::read_text(p, "the CA certificate")?.to_string()),
        None => None,
    };
    let Some(domain) = domain else {
        return Ok(KmsTrust {
            ca_pem,
            from_api: false,
        });
    };
    match okms_api::DomainCa::from_domain(domain.clone(), endpoint) {
        Ok(ca) => {
            out.verbose(&format!(
                "trusting the {} of domain {okms_id} from the API ({} certificate(s))",
                endpoint.ca_field(),
                ca.certificates
            ));
            let mut all = ca_pem.take().unwrap_or_default();
            if !all.is_empty() && !all.ends_with('\n') {
                all.push('\n');
            }
            all.push_str(&ca.pem);
            Ok(KmsTrust {
                ca_pem: Some(all),
                from_api: true,
            })
        }
        Err(e) => {
            out.warn(&format!(
                "cannot get the CA of domain {okms_id} from the API ({e}); trusting {} only",
                if ca_pem.is_some() {
                    "the --ca file and the system roots"
                } else {
                    "the system roots"
                }
            ));
            Ok(KmsTrust {
                ca_pem,
                from_api: false,
            })
        }
    }
}
