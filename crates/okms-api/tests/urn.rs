//! Identity URN builders and the grammar check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_api::{IdentityKind, IdentityUrn, Plate, validate_urn};

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
    assert!(IdentityUrn::user(Plate::Eu, "bad", "x").is_err());
    assert!(IdentityUrn::user(Plate::Eu, "xx1111-ovh", "").is_err());
    assert!(IdentityUrn::user(Plate::Eu, "xx1111-ovh", "a b").is_err());
}

#[test]
fn grammar() {
    for ok in [
        "urn:v1:eu:identity:account:xx1111-ovh",
        "urn:v1:eu:identity:user:xx1111-ovh/john.smith",
        "URN:V1:EU:IDENTITY:USER:XX1-OVH/John",
        "urn:v1:labeu:identity:group:ab123456-ovh/g",
        "urn:v1:eu:identity:user:badnic-ovh/user1"
            .replace("badnic", "ba1")
            .as_str(),
        "urn:v2:ca:identity:credential:xx1111-ovh/oauth2-abc",
    ] {
        validate_urn(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "",
        "urn:v1:eu:identity:user",
        "urn:v1:fr:identity:user:xx1111-ovh/x",
        "urn:vx:eu:identity:user:xx1111-ovh/x",
        "urn:v12:eu:identity:user:xx1111-ovh/x",
        "urx:v1:eu:identity:user:xx1111-ovh/x",
        "urn:v1:eu:identity:user:x1111-ovh/x",
        "urn:v1:eu:identity:user:xx1234567-ovh/x",
        "urn:v1:eu:identity:user:xx1111-ovhx",
        "urn:v1:eu:identity:user:xx1111-ovh/",
        "urn:v1:eu:ident1ty:user:xx1111-ovh/x",
        "urn:v1:eu:identity:user:xx1111-ovh/x\ny",
        "urn:v1:eu:identity:user:xx1111-ov/x",
    ] {
        let e = validate_urn(bad).unwrap_err();
        assert!(e.to_string().contains("identity URN"), "{bad}: {e}");
    }
    let u: IdentityUrn = "urn:v1:eu:identity:group:xx1111-ovh/g".parse().unwrap();
    assert_eq!(u.kind(), Some(IdentityKind::Group));
    assert_eq!(u.to_string(), "urn:v1:eu:identity:group:xx1111-ovh/g");
}
