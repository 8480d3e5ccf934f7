//! The caller's account, as the API reports it: `whoami`, and the account and URN region the
//! commands that build identity URNs need.

use std::str::FromStr;

use okms_api::{AuthDetails, Client, Plate};
use serde::Serialize;

use super::session::client;
use crate::cli::GlobalArgs;
use crate::error::{CliError, CliResult, api_failure};
use crate::exit::Exit;
use crate::output::Output;

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

pub(super) async fn whoami(global: &GlobalArgs, out: &Output) -> CliResult<()> {
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
