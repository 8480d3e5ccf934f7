//! Endpoint names, custom URLs, the `/1.0` rule, plates and OAuth2 token URLs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_api::{ENDPOINTS, Endpoint, Error, Plate};

#[test]
fn every_named_endpoint_parses_with_its_plate() {
    let plates = [
        ("ovh-eu", Plate::Eu),
        ("ovh-ca", Plate::Ca),
        ("ovh-us", Plate::Us),
        ("kimsufi-eu", Plate::Eu),
        ("kimsufi-ca", Plate::Ca),
        ("soyoustart-eu", Plate::Eu),
        ("soyoustart-ca", Plate::Ca),
    ];
    assert_eq!(ENDPOINTS.len(), plates.len());
    for (name, plate) in plates {
        let e = Endpoint::parse(name).unwrap();
        assert_eq!(e.name(), Some(name));
        assert_eq!(e.plate(), Some(plate), "{name}");
        assert_eq!(e.config_section(), name);
        assert!(e.base_url().ends_with("/1.0"));
    }
    assert_eq!(Endpoint::default(), Endpoint::parse("ovh-eu").unwrap());
}

#[test]
fn unknown_name_lists_valid_names() {
    let err = Endpoint::parse("ovh-xx").unwrap_err();
    assert!(matches!(err, Error::UnknownEndpoint { .. }));
    let msg = err.to_string();
    for (n, _) in ENDPOINTS {
        assert!(msg.contains(n), "{msg}");
    }
}

#[test]
fn v1_v2_paths_drop_the_1_0() {
    let e = Endpoint::parse("ovh-eu").unwrap();
    assert_eq!(
        e.url("/v2/okms/resource"),
        "https://eu.api.ovh.com/v2/okms/resource"
    );
    assert_eq!(e.url("/v1/me"), "https://eu.api.ovh.com/v1/me");
    assert_eq!(e.url("/auth/time"), "https://eu.api.ovh.com/1.0/auth/time");
    assert_eq!(e.url("/v2x/thing"), "https://eu.api.ovh.com/1.0/v2x/thing");
    let us = Endpoint::parse("ovh-us").unwrap();
    assert_eq!(us.url("/v1/me"), "https://api.us.ovhcloud.com/v1/me");
    let local = Endpoint::parse("http://127.0.0.1:8080").unwrap();
    assert_eq!(
        local.url("/v2/okms/resource"),
        "http://127.0.0.1:8080/v2/okms/resource"
    );
    let local = Endpoint::parse("http://127.0.0.1:8080/1.0").unwrap();
    assert_eq!(local.url("/v1/me"), "http://127.0.0.1:8080/v1/me");
    assert_eq!(
        local.url("/auth/time"),
        "http://127.0.0.1:8080/1.0/auth/time"
    );
}

#[test]
fn plain_http_only_for_loopback() {
    for ok in [
        "http://127.0.0.1:8080/1.0",
        "http://127.3.4.5/1.0",
        "http://[::1]:9000/1.0",
        "http://localhost:1234",
        "http://LOCALHOST:1234",
        "https://eu.api.ovh.com/1.0",
        "https://example.org/api",
    ] {
        Endpoint::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for insecure in [
        "http://eu.api.ovh.com/1.0",
        "http://10.0.0.1/1.0",
        "http://128.0.0.1/1.0",
        "http://[::2]/1.0",
        "http://localhost.example.com/1.0",
    ] {
        let e = Endpoint::parse(insecure).unwrap_err();
        assert!(matches!(e, Error::InsecureUrl { .. }), "{insecure}: {e}");
        assert!(e.to_string().contains("https://"));
    }
    for bad in [
        "ftp://eu.api.ovh.com/1.0",
        "https://eu.api.ovh.com/1.0/",
        "https:/",
        "https://user:pw@eu.api.ovh.com/1.0",
        "https://eu.api.ovh.com/1.0?x=1",
    ] {
        let e = Endpoint::parse(bad).unwrap_err();
        assert!(matches!(e, Error::InvalidUrl { .. }), "{bad}: {e}");
        assert!(!e.to_string().contains("pw@"), "{e}");
    }
}

#[test]
fn custom_urls_of_known_hosts_get_a_plate() {
    assert_eq!(
        Endpoint::parse("https://ca.api.ovh.com/1.0")
            .unwrap()
            .plate(),
        Some(Plate::Ca)
    );
    assert_eq!(
        Endpoint::parse("https://api.us.ovhcloud.com/v1")
            .unwrap()
            .plate(),
        Some(Plate::Us)
    );
    let local = Endpoint::parse("http://127.0.0.1:1/1.0").unwrap();
    assert_eq!(local.plate(), None);
    assert_eq!(local.with_plate(Plate::Ca).plate(), Some(Plate::Ca));
}

#[test]
fn oauth2_token_urls() {
    let t = |n: &str| Endpoint::parse(n).unwrap().oauth2_token_url();
    assert_eq!(
        t("ovh-eu").unwrap(),
        "https://www.ovh.com/auth/oauth2/token"
    );
    assert_eq!(t("ovh-ca").unwrap(), "https://ca.ovh.com/auth/oauth2/token");
    assert_eq!(
        t("ovh-us").unwrap(),
        "https://us.ovhcloud.com/auth/oauth2/token"
    );
    for n in ["kimsufi-eu", "kimsufi-ca", "soyoustart-eu", "soyoustart-ca"] {
        let e = t(n).unwrap_err();
        assert!(matches!(e, Error::OAuth2NotSupported { .. }), "{n}");
        assert!(e.to_string().contains("not compatible"));
    }
    assert_eq!(
        t("https://ca.api.ovh.com/1.0").unwrap(),
        "https://ca.ovh.com/auth/oauth2/token"
    );
    assert!(t("https://eu.api.kimsufi.com/1.0").is_err());
    assert_eq!(
        t("http://127.0.0.1:8080/1.0").unwrap(),
        "http://127.0.0.1:8080/auth/oauth2/token"
    );
    assert_eq!(
        t("https://api.example.com/some/base").unwrap(),
        "https://api.example.com/auth/oauth2/token"
    );
}

/// Every API host okms-rs knows, as a URL (custom endpoint, ovh.conf or OVH_ENDPOINT): its
/// plate and its OAuth2 token URL (or the refusal), one row each.
#[test]
fn the_whole_host_table() {
    let table: &[(&str, Option<Plate>, Option<&str>)] = &[
        (
            "https://eu.api.ovh.com/1.0",
            Some(Plate::Eu),
            Some("https://www.ovh.com/auth/oauth2/token"),
        ),
        (
            "https://ca.api.ovh.com/1.0",
            Some(Plate::Ca),
            Some("https://ca.ovh.com/auth/oauth2/token"),
        ),
        (
            "https://api.us.ovhcloud.com/1.0",
            Some(Plate::Us),
            Some("https://us.ovhcloud.com/auth/oauth2/token"),
        ),
        ("https://eu.api.kimsufi.com/1.0", Some(Plate::Eu), None),
        ("https://ca.api.kimsufi.com/1.0", Some(Plate::Ca), None),
        ("https://eu.api.soyoustart.com/1.0", Some(Plate::Eu), None),
        ("https://ca.api.soyoustart.com/1.0", Some(Plate::Ca), None),
        // The newer hosts (go-ovh PR #96, python-ovh PR #148).
        (
            "https://api.eu.ovhcloud.com/1.0",
            Some(Plate::Eu),
            Some("https://auth.eu.ovhcloud.com/oauth2/token"),
        ),
        (
            "https://api.ca.ovhcloud.com/1.0",
            Some(Plate::Ca),
            Some("https://auth.ca.ovhcloud.com/oauth2/token"),
        ),
        (
            "https://API.CA.ovhcloud.com/1.0",
            Some(Plate::Ca),
            Some("https://auth.ca.ovhcloud.com/oauth2/token"),
        ),
        // Not OVHcloud's: no plate, the token URL on the same host.
        (
            "https://api.example.com/1.0",
            None,
            Some("https://api.example.com/auth/oauth2/token"),
        ),
        (
            "https://api.eu.ovhcloud.com:8443/1.0",
            None,
            Some("https://api.eu.ovhcloud.com:8443/auth/oauth2/token"),
        ),
    ];
    for (url, plate, token) in table {
        let e = Endpoint::parse(url).unwrap();
        assert_eq!(e.plate(), *plate, "{url}");
        match token {
            Some(t) => assert_eq!(e.oauth2_token_url().unwrap(), *t, "{url}"),
            None => assert!(e.oauth2_token_url().is_err(), "{url}"),
        }
    }
    // The default does not move to the new hosts.
    assert_eq!(Endpoint::default().base_url(), "https://eu.api.ovh.com/1.0");
    assert_eq!(okms_api::DEFAULT_ENDPOINT, "ovh-eu");
}
