//! `domain list` and `domain show`.

use okms_api::{Domain, Uuid};
use serde::Serialize;

use super::session::client;
use crate::cli::GlobalArgs;
use crate::error::{CliResult, api_failure};
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
