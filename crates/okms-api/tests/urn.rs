//! Identity URN builders and the structure check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_api::{CredentialRequest, Error, IdentityKind, IdentityUrn, Plate, validate_urn};

fn reason_of(e: Error) -> String {
    match e {
        Error::InvalidField { reason, .. } => reason,
        other => panic!("expected InvalidField, got {other}"),
    }
}

#[test]
fn builders() {
    assert_eq!(
        IdentityUrn::root_account(Plate::Eu, "xx1111-ovh")
            .unwrap()
            .as_str(),
        "urn:v1:eu:identity:account:xx1111-ovh"
    );
    assert_eq!(
        IdentityUrn::user(Plate::Eu, "xx1111-ovh", "john.smith")
            .unwrap()
            .as_str(),
        "urn:v1:eu:identity:user:xx1111-ovh/john.smith"
    );
    assert_eq!(
        IdentityUrn::group(Plate::Ca, "xx1111-ovh", "my_group")
            .unwrap()
            .as_str(),
        "urn:v1:ca:identity:group:xx1111-ovh/my_group"
    );
    let sa = IdentityUrn::service_account(Plate::Us, "xx11111-ovh", "0f0f0f0f0f0f0f0f").unwrap();
    assert_eq!(
        sa.as_str(),
        "urn:v1:us:identity:credential:xx11111-ovh/oauth2-0f0f0f0f0f0f0f0f"
    );
    assert_eq!(sa.kind(), Some(IdentityKind::Credential));
    assert!(IdentityUrn::user(Plate::Eu, "xx1111-ovh", "").is_err());
    assert!(IdentityUrn::user(Plate::Eu, "xx1111-ovh", "a b").is_err());
}

/// The account part is not held to the `xx1111-ovh` form: OVHcloud's Terraform acceptance test
/// uses `badnic-ovh` and the API accepts it.
#[test]
fn builders_accept_unusual_accounts() {
    let u = IdentityUrn::user(Plate::Eu, "badnic-ovh", "user1").unwrap();
    assert_eq!(u.as_str(), "urn:v1:eu:identity:user:badnic-ovh/user1");
    assert!(!u.has_usual_account());
    let root = IdentityUrn::root_account(Plate::Ca, "bob").unwrap();
    assert_eq!(root.as_str(), "urn:v1:ca:identity:account:bob");
    assert_eq!(root.account(), "bob");
    assert_eq!(root.name(), None);
    for bad_nic in ["", "a b", "xx1111-ovh/john", "xx:1", "tab\there"] {
        let e = IdentityUrn::root_account(Plate::Eu, bad_nic).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidField { field, .. } if field == "nic"),
            "{bad_nic:?}: {e}"
        );
    }
    // The name checks the CLI runs before it knows the account.
    IdentityUrn::check_user_login("john.smith").unwrap();
    IdentityUrn::check_group_name("my_group").unwrap();
    IdentityUrn::check_client_id("0f0f").unwrap();
    for (r, field) in [
        (IdentityUrn::check_user_login(""), "user login"),
        (IdentityUrn::check_group_name("my group"), "group name"),
        (IdentityUrn::check_client_id("x\ny"), "client ID"),
    ] {
        let e = r.unwrap_err();
        assert!(
            matches!(&e, Error::InvalidField { field: f, .. } if f == field),
            "{e}"
        );
    }
}

#[test]
fn structure_accepts() {
    for ok in [
        "urn:v1:eu:identity:account:xx1111-ovh",
        "urn:v1:eu:identity:user:xx1111-ovh/john.smith",
        "URN:V1:EU:IDENTITY:USER:XX1-OVH/John",
        "urn:v1:labeu:identity:group:ab123456-ovh/g",
        "urn:v1:ca:identity:credential:xx1111-ovh/oauth2-abc",
        "urn:v1:us:identity:credential:xx11111-ovh/OAUTH2-0f0f",
        // Unusual account parts: only the structure is checked.
        "urn:v1:eu:identity:user:badnic-ovh/user1",
        "urn:v1:eu:identity:user:x1111-ovh/x",
        "urn:v1:eu:identity:user:xx1234567-ovh/x",
        "urn:v1:eu:identity:account:xx1111-ov",
        "urn:v1:eu:identity:account:ab12345-ovh.sub",
    ] {
        validate_urn(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let u = IdentityUrn::parse("urn:v1:eu:identity:user:badnic-ovh/user1").unwrap();
    assert_eq!(u.kind(), Some(IdentityKind::User));
    assert_eq!(u.account(), "badnic-ovh");
    assert_eq!(u.name(), Some("user1"));
    assert!(!u.has_usual_account());
    let usual = IdentityUrn::parse("urn:v1:eu:identity:user:XX1111-OVH/j").unwrap();
    assert!(usual.has_usual_account());
    let g: IdentityUrn = "urn:v1:eu:identity:group:xx1111-ovh/g".parse().unwrap();
    assert_eq!(g.kind(), Some(IdentityKind::Group));
    assert_eq!(g.to_string(), "urn:v1:eu:identity:group:xx1111-ovh/g");
}

/// Each refusal names the part that is wrong, with the value quoted.
#[test]
fn structure_refusals_name_the_part() {
    for (bad, needle) in [
        ("", "it is empty"),
        ("john.smith", "the prefix 'john.smith' must be urn"),
        (
            "urx:v1:eu:identity:user:xx1111-ovh/x",
            "the prefix 'urx' must be urn",
        ),
        (
            "urn:vx:eu:identity:user:xx1111-ovh/x",
            "the version 'vx' must be v1",
        ),
        (
            "urn:v12:eu:identity:user:xx1111-ovh/x",
            "the version 'v12' must be v1",
        ),
        (
            "urn:v2:eu:identity:user:xx1111-ovh/x",
            "the version 'v2' must be v1",
        ),
        (
            "urn:v1:xx:identity:user:xx1111-ovh/x",
            "the region 'xx' must be eu, ca, us or labeu",
        ),
        (
            "urn:v1:fr:identity:user:xx1111-ovh/x",
            "the region 'fr' must be",
        ),
        ("urn:v1", "the region is missing"),
        (
            "urn:v1:eu:resource:account:xx1111-ovh",
            "the namespace 'resource' must be identity",
        ),
        (
            "urn:v1:eu:ident1ty:user:xx1111-ovh/x",
            "the namespace 'ident1ty' must be identity",
        ),
        (
            "urn:v1:eu:identity:robot:xx1111-ovh/r2",
            "the type 'robot' must be account, user, group or credential",
        ),
        ("urn:v1:eu:identity:user", "the account is missing"),
        ("urn:v1:eu:identity:user:", "the account is empty"),
        ("urn:v1:eu:identity:user:/john", "the account is empty"),
        ("urn:v1:eu:identity:account:", "the account is empty"),
        (
            "urn:v1:eu:identity:account:xx 1111",
            "the account 'xx 1111' must be printable ascii",
        ),
        (
            "urn:v1:eu:identity:user:a:b/x",
            "the account 'a:b' must be printable ascii without spaces or ':'",
        ),
        (
            "urn:v1:eu:identity:account:xx1111-ovh/extra",
            "an account identity takes no name: remove '/extra'",
        ),
        (
            "urn:v1:eu:identity:user:johnsmith",
            "a user identity needs a name after the account: …:user:johnsmith/{login}",
        ),
        (
            "urn:v1:eu:identity:group:xx1111-ovh",
            "a group identity needs a name",
        ),
        (
            "urn:v1:eu:identity:credential:xx1111-ovh",
            "/oauth2-{clientid}",
        ),
        (
            "urn:v1:eu:identity:user:xx1111-ovh/",
            "the name after the '/' is empty",
        ),
        (
            "urn:v1:eu:identity:user:xx1111-ovh/x\ny",
            "the name 'x\\ny' must be printable ascii without spaces",
        ),
        (
            "urn:v1:eu:identity:user:xx1111-ovh/john smith",
            "the name 'john smith'",
        ),
        (
            "urn:v1:eu:identity:credential:xx1111-ovh/myapp",
            "the service-account name 'myapp' must be oauth2-{clientid}",
        ),
        (
            "urn:v1:eu:identity:credential:xx1111-ovh/oauth2-",
            "the service-account name 'oauth2-'",
        ),
    ] {
        let e = validate_urn(bad).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidField { field, .. } if field == "identityURNs"),
            "{bad}: {e}"
        );
        let reason = reason_of(e);
        let lower = reason.to_lowercase();
        assert!(
            lower.contains("is not an identity urn"),
            "{bad:?}: {reason}"
        );
        assert!(lower.contains(needle), "{bad:?}: {reason}");
        assert!(
            !reason.contains('\n'),
            "{bad:?}: a message on one line: {reason}"
        );
    }
}

/// The request builder applies the same rule, naming the URN's index.
#[test]
fn request_validation_uses_the_same_rule() {
    CredentialRequest::new(
        "tf",
        vec!["urn:v1:eu:identity:user:badnic-ovh/user1".into()],
    )
    .validate()
    .unwrap();
    let e = CredentialRequest::new(
        "n",
        vec![
            "urn:v1:eu:identity:user:badnic-ovh/user1".into(),
            "urn:v1:xx:identity:user:badnic-ovh/user1".into(),
        ],
    )
    .validate()
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, Error::InvalidField { field, .. } if field == "identityURNs[1]"),
        "{msg}"
    );
    assert!(msg.contains("the region 'xx'"), "{msg}");
}

/// Names go into API paths (`/v1/me/identity/user/{login}`): `/`, `%`, `..` and control
/// characters are refused by the builders and by the URN check alike, with the field at fault.
#[test]
fn names_that_would_leave_their_path_are_refused() {
    use okms_api::{Field, IdentitySelection};
    for bad in ["a/b", "..", "a..b", "a%2Fb", "bell\u{7}", "tab\t"] {
        for (sel, field) in [
            (
                IdentitySelection {
                    users: vec![bad.into()],
                    ..IdentitySelection::default()
                },
                Field::UserLogin,
            ),
            (
                IdentitySelection {
                    groups: vec![bad.into()],
                    ..IdentitySelection::default()
                },
                Field::GroupName,
            ),
            (
                IdentitySelection {
                    service_accounts: vec![bad.into()],
                    ..IdentitySelection::default()
                },
                Field::ClientId,
            ),
        ] {
            match sel.check() {
                Err(Error::InvalidField { field: f, .. }) => assert_eq!(f, field, "{bad:?}"),
                other => panic!("{bad:?} accepted or wrong error: {other:?}"),
            }
        }
        let urn = format!("urn:v1:eu:identity:user:xx1111-ovh/{bad}");
        assert!(validate_urn(&urn).is_err(), "{urn:?} accepted");
    }
}

/// The API refuses identity URNs over 256 characters; so do the builders (naming the name) and
/// the URN check (which `request show` uses).
#[test]
fn urns_over_the_api_limit_are_refused() {
    use okms_api::{Field, IdentitySelection, MAX_URN_LEN};
    let prefix = "urn:v1:eu:identity:user:xx1111-ovh/";
    let fits = format!("{prefix}{}", "a".repeat(MAX_URN_LEN - prefix.len()));
    assert!(validate_urn(&fits).is_ok());
    let over = format!("{fits}a");
    let reason = reason_of(validate_urn(&over).unwrap_err());
    assert!(reason.contains("257 characters"), "{reason}");
    let sel = IdentitySelection {
        users: vec!["a".repeat(MAX_URN_LEN - prefix.len() + 1)],
        ..IdentitySelection::default()
    };
    match sel.to_urns(Plate::Eu, "xx1111-ovh") {
        Err(Error::InvalidField { field, .. }) => assert_eq!(field, Field::UserLogin),
        other => panic!("accepted or wrong error: {other:?}"),
    }
    let huge = IdentitySelection {
        users: vec!["a".repeat(10_000)],
        ..IdentitySelection::default()
    };
    let e = huge.check().unwrap_err().to_string();
    assert!(e.len() < 400, "{} bytes: {e:.200}", e.len());
    assert!(e.contains("(10000 characters)"), "{e}");
}

/// An error quotes at most 64 characters of a value, and says how long it was.
#[test]
fn errors_quote_long_values_cut_with_their_length() {
    assert_eq!(okms_api::quote_value("short"), "\"short\"");
    let long = "a".repeat(100_000);
    let quoted = okms_api::quote_value(&long);
    assert_eq!(
        quoted,
        format!("\"{}…\" (100000 characters)", "a".repeat(64))
    );
    let e = validate_urn(&long).unwrap_err().to_string();
    assert!(e.len() < 500, "{} bytes", e.len());
    let e = long.parse::<Plate>().unwrap_err().to_string();
    assert!(e.len() < 300 && e.contains("100000 characters"), "{e:.300}");
}
