#![allow(clippy::unwrap_used)]

use super::*;

fn profile(cert: &str) -> Profile {
    Profile {
        rest_endpoint: "https://eu-west-rbx.okms.ovh.net".into(),
        kmip_endpoint: Some("eu-west-rbx.okms.ovh.net:5696".into()),
        ca: None,
        cert: PathBuf::from(cert),
        key: PathBuf::from("/keys/domain.key"),
    }
}

fn parse(text: &str) -> Value {
    yaml_serde::from_str(text).unwrap()
}

#[test]
fn a_new_file_gets_version_default_profile_and_both_sections() {
    let text = update(
        None,
        Path::new("okms.yaml"),
        "prod",
        &profile("/c.pem"),
        false,
    )
    .unwrap()
    .text;
    let v = parse(&text);
    assert_eq!(v["version"], Value::from(1));
    assert_eq!(v["profile"], Value::from("prod"));
    let p = &v["profiles"]["prod"];
    assert_eq!(
        p["restapi"]["endpoint"],
        Value::from("https://eu-west-rbx.okms.ovh.net")
    );
    assert_eq!(p["restapi"]["auth"]["type"], Value::from("mtls"));
    assert_eq!(p["restapi"]["auth"]["cert"], Value::from("/c.pem"));
    assert_eq!(p["restapi"]["auth"]["key"], Value::from("/keys/domain.key"));
    assert_eq!(
        p["kmip"]["endpoint"],
        Value::from("eu-west-rbx.okms.ovh.net:5696")
    );
}

#[test]
fn other_profiles_keys_and_the_default_are_kept() {
    let existing = "version: 1\nprofile: staging\ncolor: true\nprofiles:\n  staging:\n    restapi: {endpoint: https://x, auth: {type: token, token: t, okmsId: abc}}\n";
    let text = update(
        Some(existing),
        Path::new("okms.yaml"),
        "prod",
        &profile("/c.pem"),
        false,
    )
    .unwrap()
    .text;
    let v = parse(&text);
    assert_eq!(v["profile"], Value::from("staging"));
    assert_eq!(v["color"], Value::from(true));
    assert_eq!(
        v["profiles"]["staging"]["restapi"]["auth"]["type"],
        Value::from("token")
    );
    assert_eq!(
        v["profiles"]["prod"]["restapi"]["auth"]["cert"],
        Value::from("/c.pem")
    );
}

#[test]
fn a_profile_pointing_elsewhere_needs_force_and_the_same_one_does_not() {
    let first = update(
        None,
        Path::new("okms.yaml"),
        "prod",
        &profile("/a.pem"),
        false,
    )
    .unwrap()
    .text;
    assert!(
        update(
            Some(&first),
            Path::new("okms.yaml"),
            "prod",
            &profile("/a.pem"),
            false
        )
        .is_ok()
    );
    let err = update(
        Some(&first),
        Path::new("okms.yaml"),
        "prod",
        &profile("/b.pem"),
        false,
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"prod\""), "{err}");
    let forced = update(
        Some(&first),
        Path::new("okms.yaml"),
        "prod",
        &profile("/b.pem"),
        true,
    )
    .unwrap()
    .text;
    assert_eq!(
        parse(&forced)["profiles"]["prod"]["restapi"]["auth"]["cert"],
        Value::from("/b.pem")
    );
}

#[test]
fn broken_files_are_refused_with_their_name() {
    for bad in [
        "profiles: [1, 2]",
        "- a\n- b",
        "profiles:\n  prod: 3",
        "a: [unclosed",
    ] {
        let err = update(
            Some(bad),
            Path::new("/x/okms.yaml"),
            "prod",
            &profile("/c"),
            true,
        )
        .unwrap_err();
        assert!(err.to_string().contains("/x/okms.yaml"), "{bad}: {err}");
    }
}

const LEGACY: &str = "\
default:
  endpoint: https://eu-west-rbx.okms.ovh.net
  ca: /etc/okms/ca.pem
  cert: /c/default.pem
  key: /c/default.key
  kmip:
    endpoint: eu-west-rbx.okms.ovh.net:5696
    cert: /c/kmip.pem
    key: /c/kmip.key
staging:
  http:
    endpoint: https://eu-west-gra.okms.ovh.net
    cert: /c/staging.pem
    key: /c/staging.key
";

#[test]
fn a_legacy_file_is_converted_as_the_go_tool_converts_it() {
    let updated = update(
        Some(LEGACY),
        Path::new("okms.yaml"),
        "prod",
        &profile("/c.pem"),
        false,
    )
    .unwrap();
    assert_eq!(
        updated.legacy_profiles,
        Some(vec!["default".to_owned(), "staging".to_owned()])
    );
    let v = parse(&updated.text);
    assert_eq!(v["version"], Value::from(1));
    assert_eq!(
        v["profile"],
        Value::from("default"),
        "as migrateV0toV1 sets it"
    );
    let d = &v["profiles"]["default"];
    assert_eq!(
        d["http"]["endpoint"],
        Value::from("https://eu-west-rbx.okms.ovh.net")
    );
    assert_eq!(d["http"]["ca"], Value::from("/etc/okms/ca.pem"));
    assert_eq!(d["http"]["auth"]["type"], Value::from("mtls"));
    assert_eq!(d["http"]["auth"]["cert"], Value::from("/c/default.pem"));
    assert_eq!(d["http"]["auth"]["key"], Value::from("/c/default.key"));
    assert_eq!(
        d["kmip"]["endpoint"],
        Value::from("eu-west-rbx.okms.ovh.net:5696")
    );
    assert_eq!(d["kmip"]["auth"]["cert"], Value::from("/c/kmip.pem"));
    let st = &v["profiles"]["staging"]["http"];
    assert_eq!(
        st["endpoint"],
        Value::from("https://eu-west-gra.okms.ovh.net")
    );
    assert_eq!(st["auth"]["key"], Value::from("/c/staging.key"));
    assert_eq!(
        v["profiles"]["prod"]["restapi"]["auth"]["cert"],
        Value::from("/c.pem")
    );
    // Nothing of the legacy layout is left at the top.
    let top: Vec<_> = v.as_mapping().unwrap().keys().cloned().collect();
    assert_eq!(
        top,
        ["version", "profile", "profiles"].map(Value::from).to_vec()
    );
    // A version 1 file is not converted again.
    let again = update(
        Some(&updated.text),
        Path::new("okms.yaml"),
        "prod",
        &profile("/c.pem"),
        false,
    )
    .unwrap();
    assert_eq!(again.legacy_profiles, None);
    assert_eq!(parse(&again.text), v);
}

#[test]
fn legacy_content_the_conversion_would_lose_is_refused_naming_it() {
    for (bad, named) in [
        (
            "default:\n  endpoint: https://x\n  token: t\n",
            "default.token",
        ),
        ("default:\n  endpoint: 3\n", "default.endpoint"),
        (
            "default:\n  kmip:\n    endpoint: h:1\n    slot: 9a\n",
            "default.kmip.slot",
        ),
        (
            "default:\n  endpoint: https://a\n  http:\n    endpoint: https://b\n",
            "default.http.endpoint",
        ),
        ("default: https://x\n", "`default`"),
        ("profiles:\n  prod: 3\n", "profiles.prod"),
        (
            "profiles:\n  prod:\n    restapi: {endpoint: https://x}\n",
            "add `version: 1`",
        ),
    ] {
        let err = update(
            Some(bad),
            Path::new("/x/okms.yaml"),
            "prod",
            &profile("/c"),
            true,
        )
        .unwrap_err();
        assert!(matches!(err, ProfileError::Legacy { .. }), "{bad}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains("/x/okms.yaml"), "{bad}: {msg}");
        assert!(msg.contains(named), "{bad}: {msg}");
    }
    // Equal values at the top and in http: are one value, not a conflict.
    let same = "default:\n  endpoint: https://a\n  http:\n    endpoint: https://a\n";
    assert!(update(Some(same), Path::new("o"), "prod", &profile("/c"), false).is_ok());
}

#[test]
fn an_unknown_version_is_refused() {
    for bad in ["version: 2\nprofiles: {}\n", "version: one\n"] {
        let err = update(
            Some(bad),
            Path::new("/x/okms.yaml"),
            "p",
            &profile("/c"),
            true,
        )
        .unwrap_err();
        assert!(
            matches!(err, ProfileError::Invalid { .. }),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains("version"), "{err}");
    }
}

#[test]
fn a_legacy_profile_of_the_same_name_needs_force_and_loses_its_http_section() {
    let err = update(
        Some(LEGACY),
        Path::new("okms.yaml"),
        "staging",
        &profile("/c.pem"),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, ProfileError::Exists { .. }), "{err:?}");
    let forced = update(
        Some(LEGACY),
        Path::new("okms.yaml"),
        "staging",
        &profile("/c.pem"),
        true,
    )
    .unwrap();
    let v = parse(&forced.text);
    let st = &v["profiles"]["staging"];
    assert!(st.get("http").is_none(), "{st:?}");
    assert_eq!(st["restapi"]["auth"]["cert"], Value::from("/c.pem"));
    assert_eq!(
        v["profiles"]["default"]["http"]["auth"]["cert"],
        Value::from("/c/default.pem")
    );
}

#[test]
fn overriding_variables_are_named_by_family() {
    let names = [
        "KMS_RESTAPI_ENDPOINT",
        "KMS_HTTP_CERT",
        "KMS_KMIP_KEY",
        "KMS_PROFILE",
        "KMS_PROFILES",
        "OKMS_ID",
        "PATH",
        "KMS_RESTAPI_ENDPOINT",
    ];
    assert_eq!(
        overriding_env_vars(names, true),
        [
            "KMS_HTTP_CERT",
            "KMS_KMIP_KEY",
            "KMS_PROFILE",
            "KMS_RESTAPI_ENDPOINT"
        ]
    );
    assert_eq!(
        overriding_env_vars(names, false),
        ["KMS_HTTP_CERT", "KMS_PROFILE", "KMS_RESTAPI_ENDPOINT"]
    );
}
