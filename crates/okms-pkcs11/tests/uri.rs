//! RFC 7512 PKCS#11 URI parsing: the RFC's examples, percent-encoding, and named errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use okms_pkcs11::{Error, ObjectType, Pkcs11Uri};
use secrecy::ExposeSecret;
use std::path::Path;

fn parse(s: &str) -> Pkcs11Uri {
    Pkcs11Uri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn bad(s: &str) -> (String, String) {
    match Pkcs11Uri::parse(s) {
        Err(Error::InvalidUri { attribute, reason }) => (attribute, reason),
        other => panic!("{s}: expected InvalidUri, got {other:?}"),
    }
}

#[test]
fn rfc7512_examples() {
    // Section 3 of RFC 7512, in order (the vendor-attribute example is in `vendor_attributes`).
    assert_eq!(parse("pkcs11:"), Pkcs11Uri::default());

    let u = parse("pkcs11:object=my-pubkey;type=public");
    assert_eq!(u.object.as_deref(), Some("my-pubkey"));
    assert_eq!(u.object_type, Some(ObjectType::Public));

    let u = parse("pkcs11:object=my-key;type=private?pin-source=file:/etc/token");
    assert_eq!(u.object_type, Some(ObjectType::Private));
    assert_eq!(u.pin_source.as_deref(), Some("file:/etc/token"));

    let u = parse(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;\
         manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;\
         type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
    );
    assert_eq!(u.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
    assert_eq!(u.manufacturer.as_deref(), Some("Snake Oil, Inc."));
    assert_eq!(u.model.as_deref(), Some("1.0"));
    assert_eq!(u.object_type, Some(ObjectType::Cert));
    assert_eq!(
        u.id.as_deref(),
        Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..])
    );
    assert_eq!(u.serial.as_deref(), Some(""));

    let u = parse("pkcs11:object=my-sign-key;type=private?module-name=mypkcs11");
    assert_eq!(u.module_name.as_deref(), Some("mypkcs11"));

    let u = parse("pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1");
    assert_eq!(
        u.module_path.as_deref(),
        Some(Path::new("/mnt/libmypkcs11.so.1"))
    );

    let u = parse(
        "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin",
    );
    assert_eq!(
        u.pin_value.as_ref().map(ExposeSecret::expose_secret),
        Some("the-pin")
    );
    assert_eq!(u.pin().unwrap().unwrap().expose_secret(), "the-pin");

    let u = parse("pkcs11:slot-description=Sun%20Metaslot");
    assert_eq!(u.slot_description.as_deref(), Some("Sun Metaslot"));

    let u = parse(
        "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23",
    );
    assert_eq!(u.library_manufacturer.as_deref(), Some("Snake Oil, Inc."));
    assert_eq!(u.library_description.as_deref(), Some("Soft Token Library"));
    assert_eq!(u.library_version, Some((1, Some(23))));

    let u = parse(
        "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
    );
    assert_eq!(u.token.as_deref(), Some("A name with a substring %;"));

    let u = parse(
        "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
    );
    assert_eq!(
        u.token.as_deref(),
        Some("Name with a small A with acute: \u{e1}")
    );

    let u = parse(
        "pkcs11:token=my-token;object=my-certificate;type=cert?pin-source=file:/etc/token_pin",
    );
    assert_eq!(u.token.as_deref(), Some("my-token"));
}

#[test]
fn vendor_attributes() {
    // Vendor query attributes are ignored; vendor path attributes would change which object
    // matches, so they are refused by name rather than silently dropped.
    let u = parse("pkcs11:token=t?x-vendor-bbb=value-b");
    assert_eq!(u.token.as_deref(), Some("t"));
    let (attr, _) =
        bad("pkcs11:token=my-token;object=my-certificate;type=cert;x-vendor-aaa=value-a");
    assert_eq!(attr, "x-vendor-aaa");
}

#[test]
fn values_may_hold_reserved_characters() {
    // '=' and '&' are allowed in path values, '/' '?' '|' in query values.
    let u = parse("pkcs11:object=a=b&c?module-path=/x/y?z");
    assert_eq!(u.object.as_deref(), Some("a=b&c"));
    assert_eq!(u.module_path.as_deref(), Some(Path::new("/x/y?z")));
    // The scheme is case-insensitive.
    assert_eq!(parse("PKCS11:object=k").object.as_deref(), Some("k"));
}

#[test]
fn display_round_trips_without_the_pin() {
    let s = "pkcs11:token=My%20Token;object=key%3B1;id=%01%AB;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=s3cret";
    let u = parse(s);
    let shown = u.to_string();
    assert_eq!(
        shown,
        "pkcs11:token=My%20Token;object=key%3B1;id=%01%AB;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so"
    );
    assert!(!format!("{u:?}").contains("s3cret"), "Debug shows the PIN");
    let back = parse(&shown);
    assert_eq!(back, u.without_pin());
    assert_eq!(back.id.as_deref(), Some(&[0x01, 0xab][..]));
}

#[test]
fn pin_source_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pin.txt");
    std::fs::write(&p, "4321\n").unwrap();
    for form in [
        p.display().to_string(),
        format!("file:{}", p.display()),
        format!("file://{}", p.display()),
    ] {
        let u = parse(&format!("pkcs11:token=t?pin-source={form}"));
        assert_eq!(u.pin().unwrap().unwrap().expose_secret(), "4321", "{form}");
    }
    let u = parse("pkcs11:token=t?pin-source=/nonexistent/pin");
    assert!(matches!(u.pin(), Err(Error::PinSource { .. })));
    assert!(parse("pkcs11:token=t").pin().unwrap().is_none());
}

#[test]
fn bad_uris_name_the_problem() {
    assert_eq!(bad("pkcs12:token=x").0, "scheme");
    assert_eq!(bad("token=x").0, "scheme");
    assert_eq!(bad("pkcs11:object=a;object=b").0, "object");
    let (attr, reason) = bad("pkcs11:objet=x");
    assert_eq!(attr, "objet");
    assert!(reason.contains("object"), "{reason}");
    let (attr, reason) = bad("pkcs11:id=%zz");
    assert_eq!(attr, "id");
    assert!(reason.contains("%zz"), "{reason}");
    assert_eq!(bad("pkcs11:id=%4").0, "id");
    assert_eq!(bad("pkcs11:type=key").0, "type");
    assert_eq!(bad("pkcs11:slot-id=abc").0, "slot-id");
    assert_eq!(bad("pkcs11:slot-id=-1").0, "slot-id");
    assert_eq!(bad("pkcs11:library-version=1.x").0, "library-version");
    assert_eq!(bad("pkcs11:token").0, "token");
    assert_eq!(bad("pkcs11:=x").0, "syntax");
    assert_eq!(bad("pkcs11:object=a#frag").0, "syntax");
    assert_eq!(bad("pkcs11:token=%FF%FE").0, "token");
    assert_eq!(
        bad("pkcs11:token=t?pin-value=1&pin-source=/p").0,
        "pin-source"
    );
    assert_eq!(bad("pkcs11:token=t?pin-source=%7Ccat%20/p").0, "pin-source");
    assert_eq!(
        bad("pkcs11:token=t?pin-source=file://host.example/p").0,
        "pin-source"
    );
    assert_eq!(bad("pkcs11:token=t?module-path=").0, "module-path");
    assert_eq!(bad("pkcs11:?token=t").0, "token");
    assert_eq!(bad("pkcs11:token=t?colour=red").0, "colour");
    // A bad URI's error does not echo a PIN given in it.
    let err = Pkcs11Uri::parse("pkcs11:token=t;bogus=1?pin-value=s3cret").unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
    let err = Pkcs11Uri::parse("pkcs11:token=t?pin-value4321").unwrap_err();
    assert!(!err.to_string().contains("4321"), "{err}");
    let err = Pkcs11Uri::parse("pkcs11:token=t?=4321").unwrap_err();
    assert!(!err.to_string().contains("4321"), "{err}");
    let err = Pkcs11Uri::parse("pkcs11:token=t?pin-value=12%zz").unwrap_err();
    assert!(!err.to_string().contains("zz"), "{err}");
}
