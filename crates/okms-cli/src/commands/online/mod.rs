//! The online commands: `whoami`, `domain list|show`, `credential create|get|list|delete|wait|check`,
//! `iam identities|grant|list|revoke`.
//!
//! Each command builds a current-thread Tokio runtime, an [`okms_api::Client`] over the default
//! reqwest transport, and runs one async function. Configuration follows okms-api's
//! precedence (flag > `OVH_*` environment > `ovh.conf` > default); this module adds only the
//! flags: `--endpoint`, and `--config`, the named file of
//! [`okms_api::ConfigSources::with_explicit_file`] ([`okms_api::ConfigSources`] is the one
//! description of how it layers over the standard files). Errors of okms-api are mapped to the documented exit codes
//! in [`api_failure`], keeping the OVH class, message and `X-Ovh-QueryID`.

mod check;
mod credential;
pub mod iam;
pub(crate) use credential::nagios_unknown_text;

use std::future::Future;
use std::str::FromStr;

use okms_api::{
    AuthDetails, Client, Config, ConfigOverrides, ConfigSources, Domain, ErrorShape, IdentityUrn,
    Plate, Uuid,
};
use serde::Serialize;

use crate::cli::{DomainCommand, GlobalArgs, OnlineCommand};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::output::Output;

/// Runs an online command.
///
/// # Errors
/// Whatever the command reports, with its exit code.
pub fn run(cmd: &OnlineCommand, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    match cmd {
        OnlineCommand::Whoami => block_on(whoami(global, out)),
        OnlineCommand::Domain(DomainCommand::List) => block_on(domain_list(global, out)),
        OnlineCommand::Domain(DomainCommand::Show(a)) => {
            let id = parse_uuid(&a.id, "domain id (ID)")?;
            block_on(domain_show(id, global, out))
        }
        OnlineCommand::Credential(c) => credential::run(c, global, out),
        OnlineCommand::Iam(c) => iam::run(c, global, out),
    }
}

/// Runs a future on a fresh current-thread runtime.
pub(crate) fn block_on<T, F: Future<Output = CliResult<T>>>(f: F) -> CliResult<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError {
            exit: Exit::Error,
            error: anyhow::Error::new(e).context("cannot start the async runtime"),
            hint: None,
        })?;
    rt.block_on(f)
}

/// Parses a UUID argument, naming it on failure (exit 3).
pub(crate) fn parse_uuid(text: &str, what: &str) -> CliResult<Uuid> {
    Uuid::from_str(text.trim()).map_err(|_| {
        CliError::new(
            Exit::InvalidInput,
            format!("invalid {what} {text:?}: expected a UUID such as 0b5bc7d9-2f0e-4b1e-9c4e-1d6f3a2b9c8d"),
        )
    })
}

/// The API configuration from the global flags, the environment and the `ovh.conf` files.
pub(crate) fn load_config(global: &GlobalArgs) -> CliResult<Config> {
    let overrides = ConfigOverrides {
        endpoint: global.endpoint.clone(),
        ..ConfigOverrides::default()
    };
    let mut sources = ConfigSources::standard();
    if let Some(path) = &global.config {
        sources = sources.with_explicit_file(path);
    }
    Config::load(&overrides, &sources)
        .map_err(|e| api_failure(e, "cannot configure the OVHcloud API client"))
}

/// A client for the configured endpoint.
pub(crate) fn client(global: &GlobalArgs, out: &Output) -> CliResult<Client> {
    let config = load_config(global)?;
    out.verbose(&format!(
        "endpoint {} ({}), authentication: {}",
        config.endpoint,
        config.endpoint.base_url(),
        config.auth.method_name()
    ));
    Client::new(config).map_err(|e| api_failure(e, "cannot set up the HTTP client"))
}

/// Maps an okms-api error to the exit code and hint its kind calls for, under `context`.
pub(crate) fn api_failure(
    e: okms_api::Error,
    context: impl std::fmt::Display + Send + Sync + 'static,
) -> CliError {
    use okms_api::Error as E;
    use okms_api::TransportErrorKind as K;
    if let Some(refusal) = permission_refusal(&e) {
        // The `error:` line itself names the missing actions: they are the fix.
        let (what, hint) = refusal;
        return CliError {
            exit: Exit::Auth,
            error: anyhow::Error::new(e).context(format!("{context}: {what}")),
            hint: Some(hint),
        };
    }
    let (exit, hint): (Exit, Option<String>) = match &e {
        E::UnknownEndpoint { .. } | E::InvalidUrl { .. } | E::InsecureUrl { .. } => (
            Exit::InvalidInput,
            Some("fix --endpoint, OVH_ENDPOINT or `endpoint=` in ovh.conf".into()),
        ),
        E::MultipleAuthMethods { .. }
        | E::NoCredentials { .. }
        | E::IncompleteCredentials { .. }
        | E::OAuth2NotSupported { .. } => (
            Exit::Auth,
            Some("see `okms-cli` README: ovh.conf or the OVH_* environment variables".into()),
        ),
        E::ConfigRead { .. } | E::ConfigParse { .. } => (
            Exit::InvalidInput,
            Some("fix or remove the file, or pass --config PATH".into()),
        ),
        E::InvalidField { .. } | E::RequestDecode(_) => (Exit::InvalidInput, None),
        E::OAuth2Token { .. } => (Exit::Auth, None),
        E::Api(a) if a.is_signature_refusal() && a.status == 400 => (
            Exit::Auth,
            Some(
                "the server refused the request signature: check the application secret and \
                 the consumer key; if they are right, this computer's clock (the signature \
                 covers a timestamp)"
                    .into(),
            ),
        ),
        E::Api(a)
            if matches!(a.status, 401 | 403)
                || matches!(a.shape, ErrorShape::AuthLayer | ErrorShape::OAuth2) =>
        {
            (
                Exit::Auth,
                Some("check the API credentials (application key/secret/consumer key, client id/secret or token)".into()),
            )
        }
        E::Api(a) if a.status == 404 => (
            Exit::Api,
            Some("check the id, and that it belongs to this account and endpoint".into()),
        ),
        E::Api(_) | E::Decode { .. } | E::UnexpectedStatus { .. } => (Exit::Api, None),
        E::CreateOutcomeUnknown { .. } | E::ReconcileFailed { .. } => (
            Exit::Api,
            Some(
                "list the domain's credentials (okms-cli credential list) before creating again"
                    .into(),
            ),
        ),
        E::Transport { source, .. } if source.kind() == K::Timeout => (Exit::Timeout, None),
        E::Transport { source, .. } if source.kind() == K::ResponseTooLarge => (Exit::Api, None),
        E::Transport { source, .. } if source.kind() == K::Connect => (
            Exit::Api,
            Some("check the endpoint and the network (or a proxy)".into()),
        ),
        E::Transport { .. } => (Exit::Api, None),
        E::WaitTimeout { .. } => (Exit::Timeout, None),
        E::Tls { .. } => (Exit::InvalidInput, None),
        _ => (Exit::Error, None),
    };
    CliError {
        exit,
        error: anyhow::Error::new(e).context(context),
        hint,
    }
}

/// For a refusal that names the actions the caller lacks: what to say on the `error:` line and
/// the hint. IAM refusals (`details.unauthorizedActionsByIAM`) are fixed by a policy; actions
/// refused by the authentication layer (`unauthorizedActionsByAuthentication`) by a consumer
/// key whose access rules allow the call.
fn permission_refusal(e: &okms_api::Error) -> Option<(String, String)> {
    let iam = e.unauthorized_actions_by_iam();
    if !iam.is_empty() {
        let actions = iam.join(", ");
        let noun = if iam.len() == 1 { "action" } else { "actions" };
        return Some((
            format!("the caller is not granted the IAM {noun} {actions}"),
            format!(
                "ask the account's administrator for the IAM permission: a policy granting your \
                 identity {actions} on the OKMS domain's resource URN \
                 (urn:v1:{{eu|ca|us}}:resource:okms:<okms-id>), made in the OVHcloud Control Panel \
                 under Identity and Access Management (IAM) > Policies, or with POST \
                 /v2/iam/policy {{\"name\", \"identities\", \"resources\": [{{\"urn\"}}], \
                 \"permissions\": {{\"allow\": [{{\"action\"}}]}}}}; then run the command \
                 again (the refusal came before any processing: nothing was changed)"
            ),
        ));
    }
    let by_key = e
        .api_error()
        .map(|a| a.unauthorized_actions_by_authentication.as_slice())
        .unwrap_or_default();
    if !by_key.is_empty() {
        let actions = by_key.join(", ");
        return Some((
            format!("the consumer key's access rules do not allow {actions}"),
            "create a consumer key whose access rules allow this call (for example GET, POST \
             and DELETE on /v2/okms/*) and set it as consumer_key or OVH_CONSUMER_KEY"
                .to_owned(),
        ));
    }
    None
}

/// The account NIC and URN plate, from `/v1/auth/details` (and `/v1/me` when it lacks the
/// account). The plate is the endpoint's; for a custom URL, the one of the caller's identities.
pub(crate) async fn account(client: &Client) -> CliResult<(AuthDetails, String, Plate)> {
    let details = client
        .auth_details()
        .await
        .map_err(|e| api_failure(e, "cannot read the account (/v1/auth/details)"))?;
    let nic = match details.account.clone().filter(|a| !a.is_empty()) {
        Some(a) => a,
        None => {
            client
                .me()
                .await
                .map_err(|e| api_failure(e, "cannot read the account (/v1/me)"))?
                .nichandle
        }
    };
    let plate = client.plate().or_else(|| {
        details
            .identities
            .iter()
            .find_map(|u| u.split(':').nth(2).and_then(|p| Plate::from_str(p).ok()))
    });
    let Some(plate) = plate else {
        return Err(CliError::new(
            Exit::InvalidInput,
            format!(
                "cannot tell the URN region (eu, ca, us) of endpoint {}",
                client.endpoint()
            ),
        )
        .hint("give full identity URNs with --identity"));
    };
    Ok((details, nic, plate))
}

/// The identity URNs of `credential create`, raw ones validated, built ones from the account.
///
/// Without the account, the logins, group names and client IDs are still checked, so that a
/// bad one is refused before any call to the API.
pub(crate) fn build_urns(
    ids: &crate::cli::CreateIdentityArgs,
    account: Option<(&str, Plate)>,
) -> CliResult<Vec<String>> {
    let bad = |flag: &'static str| move |e: okms_api::Error| super::request::api_error(e, flag);
    let mut urns = Vec::new();
    for u in &ids.identity {
        urns.push(
            IdentityUrn::parse(u)
                .map_err(bad("--identity"))?
                .into_string(),
        );
    }
    let Some((nic, plate)) = account else {
        for u in &ids.user {
            IdentityUrn::check_user_login(u).map_err(bad("--user"))?;
        }
        for g in &ids.group {
            IdentityUrn::check_group_name(g).map_err(bad("--group"))?;
        }
        for c in &ids.service_account {
            IdentityUrn::check_client_id(c).map_err(bad("--service-account"))?;
        }
        return Ok(dedup(urns));
    };
    // The account comes from the API here, not from a flag: say so instead of "fix --nic".
    let account_err = |e: okms_api::Error| {
        CliError {
            exit: Exit::Api,
            error: anyhow::Error::new(e).context(format!(
                "the account ID the API returned ({nic:?}) cannot be put in an identity URN"
            )),
            hint: None,
        }
        .hint("give full identity URNs with --identity")
    };
    let with_account = |e: okms_api::Error, flag: &'static str| match &e {
        okms_api::Error::InvalidField {
            field: okms_api::Field::Nic,
            ..
        } => account_err(e),
        _ => super::request::api_error(e, flag),
    };
    urns.extend(super::request::built_urns(
        plate,
        nic,
        ids.root,
        &ids.user,
        &ids.group,
        &ids.service_account,
        with_account,
    )?);
    Ok(dedup(urns))
}

fn dedup(mut urns: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    urns.retain(|u| seen.insert(u.clone()));
    urns
}

/// With `-v`, names each URN whose account part is not of the usual `xx1111-ovh` form. Such
/// URNs are valid and sent as they are; a note only, since a mistyped account names nobody.
pub(crate) fn note_unusual_accounts(urns: &[String], out: &Output) {
    for urn in urns {
        if let Ok(u) = IdentityUrn::parse(urn)
            && !u.has_usual_account()
        {
            out.verbose(&format!(
                "identity {urn}: the account {:?} is not of the usual form xx1111-ovh; it is sent as given",
                u.account()
            ));
        }
    }
}

/// Whether `--root/--user/--group/--service-account` need the account.
pub(crate) fn needs_account(ids: &crate::cli::CreateIdentityArgs) -> bool {
    ids.root || !ids.user.is_empty() || !ids.group.is_empty() || !ids.service_account.is_empty()
}

#[derive(Serialize)]
struct WhoamiReport {
    endpoint: String,
    endpoint_url: String,
    auth_method: &'static str,
    account: String,
    session_method: Option<String>,
    user: Option<String>,
    description: Option<String>,
    identities: Vec<String>,
    urn_region: String,
}

async fn whoami(global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let client = client(global, out)?;
    let (details, nic, plate) = account(&client).await?;
    let r = WhoamiReport {
        endpoint: client.endpoint().to_string(),
        endpoint_url: client.endpoint().base_url().to_owned(),
        auth_method: client.auth().method_name(),
        account: nic,
        session_method: details.method.clone(),
        user: details.user.clone(),
        description: details.description.clone(),
        identities: details.identities.clone(),
        urn_region: plate.to_string(),
    };
    if out.is_json() {
        return out.json(&r);
    }
    out.field("Account", &r.account)?;
    if r.endpoint == r.endpoint_url {
        out.field("Endpoint", &r.endpoint)?;
    } else {
        out.field("Endpoint", &format!("{} ({})", r.endpoint, r.endpoint_url))?;
    }
    out.field("Authentication", r.auth_method)?;
    if let Some(m) = &r.session_method {
        out.field("Session method", m)?;
    }
    if let Some(u) = &r.user {
        out.field("User", u)?;
    }
    if let Some(d) = &r.description {
        out.field("Description", d)?;
    }
    for (i, u) in r.identities.iter().enumerate() {
        out.field(if i == 0 { "Identities" } else { "" }, u)?;
    }
    out.field("URN region", &r.urn_region)
}

#[derive(Serialize)]
struct DomainList<'a> {
    domains: &'a [Domain],
}

async fn domain_list(global: &GlobalArgs, out: &Output) -> CliResult<()> {
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

async fn domain_show(id: Uuid, global: &GlobalArgs, out: &Output) -> CliResult<()> {
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
