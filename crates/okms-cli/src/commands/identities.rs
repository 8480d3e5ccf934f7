//! The identities `request new`, `credential create` and `iam grant` name: okms-api's
//! [`IdentitySelection`] checks them and builds the URNs; this module only words the errors
//! (the flag to fix) and the notes.

use okms_api::{IdentitySelection, IdentityUrn, IdentityUrns, Plate};

use crate::error::{CliError, CliResult, invalid_request};
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
