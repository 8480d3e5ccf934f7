//! The identities `request new`, `credential create` and `iam grant` name: okms-api's
//! [`IdentitySelection`] checks them and builds the URNs; this module only words the errors
//! (the flag to fix) and the notes.

use okms_api::{Client, IdentityKind, IdentitySelection, IdentityUrn, IdentityUrns, Plate};

use crate::error::{CliError, CliResult, invalid_request, quoted};
use crate::exit::Exit;
use crate::output::Output;

/// Checks what can be checked before the account is known, so that a bad value is refused
/// before any call to the API.
///
/// # Errors
/// Exit 3 naming the flag of the first bad value.
pub(crate) fn check(selection: &IdentitySelection) -> CliResult<()> {
    selection.check().map_err(|e| invalid_request(e, ""))
}

/// The full URNs alone (`--identity`), each once.
///
/// # Errors
/// Exit 3 naming `--identity`.
pub(crate) fn given_urns(selection: &IdentitySelection) -> CliResult<Vec<String>> {
    Ok(selection
        .given_urns()
        .map_err(|e| invalid_request(e, ""))?
        .into_urns())
}

/// The URNs for an account the user typed (`--nic`): an account that cannot be put in a URN
/// is a flag to fix.
///
/// # Errors
/// Exit 3 naming the flag of the first bad value.
pub(crate) fn urns_for_given_account(
    selection: &IdentitySelection,
    plate: Plate,
    nic: &str,
) -> CliResult<IdentityUrns> {
    selection
        .to_urns(plate, nic)
        .map_err(|e| invalid_request(e, ""))
}

/// The URNs for the account the API reported: there, an account that cannot be put in a URN
/// is the API's doing, not a flag to fix.
///
/// # Errors
/// Exit 6 for the account, exit 3 naming the flag of another bad value.
pub(crate) fn urns_for_api_account(
    selection: &IdentitySelection,
    plate: Plate,
    nic: &str,
) -> CliResult<Vec<String>> {
    let urns = selection.to_urns(plate, nic).map_err(|e| match &e {
        okms_api::Error::InvalidField {
            field: okms_api::Field::Nic,
            ..
        } => CliError {
            exit: Exit::Api,
            error: anyhow::Error::new(e).context(format!(
                "the account ID the API returned ({nic:?}) cannot be put in an identity URN"
            )),
            hint: None,
        }
        .hint("give full identity URNs with --identity"),
        _ => invalid_request(e, ""),
    })?;
    Ok(urns.into_urns())
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

/// When the caller may list the account's identities (`iam identities`): warns for each user,
/// group or service account of `urns` that the account does not have, naming the closest one
/// (edit distance). The API accepts a URN that names nobody, so this is the only place a typo
/// shows. A caller that may not list them gets nothing but a `-v` line: the call decides.
pub(crate) async fn warn_unknown(client: &Client, urns: &[String], out: &Output) {
    let named: Vec<IdentityUrn> = urns
        .iter()
        .filter_map(|u| IdentityUrn::parse(u).ok())
        .filter(|u| u.kind().is_some_and(|k| k != IdentityKind::Account))
        .collect();
    if named.is_empty() {
        return;
    }
    let known = match client.identities().await {
        Ok(k) => k,
        Err(e) => {
            out.verbose(&format!(
                "cannot list the account's identities ({e}); not checking that the named ones exist"
            ));
            return;
        }
    };
    // The account the listed identities belong to: URNs of another account are not checked.
    let own_account = known
        .groups
        .iter()
        .filter_map(|g| g.urn.as_deref())
        .chain(
            known
                .service_accounts
                .iter()
                .filter_map(|s| s.identity.as_deref()),
        )
        .find_map(|u| IdentityUrn::parse(u).ok())
        .map(|u| u.account().to_owned());
    for urn in named {
        let (Some(kind), Some(name)) = (urn.kind(), urn.name()) else {
            continue;
        };
        if own_account
            .as_deref()
            .is_some_and(|a| !a.eq_ignore_ascii_case(urn.account()))
        {
            continue;
        }
        let (noun, name, candidates): (&str, &str, Vec<&str>) = match kind {
            IdentityKind::User => (
                "user",
                name,
                known.users.iter().map(|u| u.login.as_str()).collect(),
            ),
            IdentityKind::Group => (
                "group",
                name,
                known.groups.iter().map(|g| g.name.as_str()).collect(),
            ),
            IdentityKind::Credential => (
                "service account",
                name.get(OAUTH2_PREFIX.len()..).unwrap_or(name),
                known
                    .service_accounts
                    .iter()
                    .map(|s| s.client_id.as_str())
                    .collect(),
            ),
            IdentityKind::Account => continue,
        };
        let unread = known
            .failed
            .iter()
            .any(|f| f.item.ends_with(&format!(" {name}")));
        if unread || candidates.contains(&name) {
            continue;
        }
        let suggestion = candidates
            .iter()
            .min_by_key(|c| strsim::levenshtein(c, name))
            .map(|c| format!("; the closest is {c}"))
            .unwrap_or_else(|| format!("; the account has no {noun} at all"));
        out.warn(&format!(
            "the account has no {noun} {} (see `okms-cli iam identities`){suggestion}",
            quoted(name)
        ));
    }
}

/// A service account's name in its URN is `oauth2-{clientId}`.
const OAUTH2_PREFIX: &str = "oauth2-";
