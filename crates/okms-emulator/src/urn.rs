//! Identity URNs as the API checks them, shared by the credential and IAM handlers.

/// Longest identity URN accepted (UNCONFIRMED; used for `CredentialIdentityURNsInvalidSize`).
pub const MAX_URN_LEN: usize = 256;

/// Checks the structure of an identity URN and says which part is wrong:
/// `urn:v1:{eu|ca|us|labeu}:identity:{account|user|group|credential}:{account}[/{name}]`,
/// case-insensitive like the Control Panel's `decodeIdentities.ts`.
///
/// The account part is not held to the NIC form `xx1111-ovh`: Terraform's acceptance test
/// sends `…:user:badnic-ovh/user1` and expects READY. `account` takes no name; `user`, `group`
/// and `credential` need one (`oauth2-{clientId}` for a service account). Account and name are
/// printable ASCII without spaces (a URN has none), the account without `:`, the name without
/// `/`, `%` or `..` (the API puts names in paths such as `/v1/me/identity/user/{login}`). The
/// whole is at most [`MAX_URN_LEN`] characters.
pub fn check_urn(urn: &str) -> Result<(), String> {
    let length = urn.chars().count();
    if length > MAX_URN_LEN {
        return Err(format!(
            "the URN is {length} characters long; at most {MAX_URN_LEN} are allowed"
        ));
    }
    let fields: Vec<&str> = urn.splitn(6, ':').collect();
    let labels = [
        "prefix",
        "version",
        "region",
        "namespace",
        "type",
        "account",
    ];
    if let Some(missing) = labels.get(fields.len()) {
        if urn.is_empty() {
            return Err("the URN is empty".to_owned());
        }
        // Report a wrong earlier part first: "john.smith" has a wrong prefix more than a
        // missing version.
        check_fixed_parts(&fields)?;
        return Err(format!("the {missing} is missing"));
    }
    check_fixed_parts(&fields)?;
    let typ = fields[4].to_ascii_lowercase();
    let (account, name) = match fields[5].split_once('/') {
        Some((a, n)) => (a, Some(n)),
        None => (fields[5], None),
    };
    if account.is_empty() {
        return Err("the account is empty".to_owned());
    }
    if !account.chars().all(|c| c.is_ascii_graphic() && c != ':') {
        return Err(format!(
            "the account {account:?} must be printable ASCII without spaces or ':'"
        ));
    }
    match (typ.as_str(), name) {
        ("account", None) => Ok(()),
        ("account", Some(_)) => Err("an account identity takes no /name".to_owned()),
        (_, None) => Err(format!("a {typ} identity needs a /name after the account")),
        (_, Some("")) => Err("the name after '/' is empty".to_owned()),
        (_, Some(n)) if !n.chars().all(|c| c.is_ascii_graphic()) => Err(format!(
            "the name {n:?} must be printable ASCII without spaces"
        )),
        (_, Some(n)) if n.contains(['/', '%']) || n.contains("..") => {
            Err(format!("the name {n:?} must not contain '/', '%' or '..'"))
        }
        ("credential", Some(n)) => {
            let client_id = n
                .get(..7)
                .filter(|p| p.eq_ignore_ascii_case("oauth2-"))
                .map(|_| &n[7..]);
            match client_id {
                Some(id) if !id.is_empty() => Ok(()),
                _ => Err(format!(
                    "the service-account name {n:?} must be oauth2-{{clientId}}"
                )),
            }
        }
        _ => Ok(()),
    }
}

/// The parts before the account, as far as `fields` has them.
fn check_fixed_parts(fields: &[&str]) -> Result<(), String> {
    let rules: [(&str, &[&str]); 5] = [
        ("prefix", &["urn"]),
        ("version", &["v1"]),
        ("region", &["eu", "ca", "us", "labeu"]),
        ("namespace", &["identity"]),
        ("type", &["account", "user", "group", "credential"]),
    ];
    for (field, (label, allowed)) in fields.iter().zip(rules) {
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(field)) {
            return Err(format!(
                "the {label} {field:?} must be {}",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns() {
        for ok in [
            "urn:v1:eu:identity:account:xx1111-ovh",
            "urn:v1:eu:identity:user:xx1111-ovh/john.smith",
            "urn:v1:eu:identity:group:xx1111-ovh/my_group",
            "urn:v1:us:identity:credential:xx11111-ovh/oauth2-0f0f0f0f0f0f0f0f",
            "urn:v1:eu:identity:user:badnic-ovh/user1",
            "URN:V1:CA:IDENTITY:USER:xx1111-ovh/a",
        ] {
            assert_eq!(check_urn(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "urn:v1:eu:identity:account",
            "urn:v1:xx:identity:account:xx1111-ovh",
            "urn:v1:eu:resource:account:xx1111-ovh",
            "urn:v1:eu:identity:robot:xx1111-ovh/a",
            "urn:v1:eu:identity:user:xx1111-ovh",
            "urn:v1:eu:identity:user:xx1111-ovh/",
            "urn:v1:eu:identity:account:xx1111-ovh/extra",
            "urn:vx:eu:identity:account:xx1111-ovh",
            "urn:v1:eu:identity:account:xx 1111",
            "john.smith",
            "urn:v2:eu:identity:account:xx1111-ovh",
            "urn:v1:eu:identity:user:/john",
            "urn:v1:eu:identity:user:xx1111-ovh/john smith",
            "urn:v1:eu:identity:credential:xx1111-ovh/myapp",
            "urn:v1:eu:identity:credential:xx1111-ovh/oauth2-",
            "urn:v1:eu:identity:user:xx1111-ovh/a/b",
            "urn:v1:eu:identity:user:xx1111-ovh/..",
            "urn:v1:eu:identity:user:xx1111-ovh/a%2Fb",
            "urn:v1:eu:identity:user:xx1111-ovh/a\u{7}",
            format!("urn:v1:eu:identity:user:xx1111-ovh/{}", "a".repeat(300)).as_str(),
        ] {
            assert!(check_urn(bad).is_err(), "{bad}");
        }
    }
}
