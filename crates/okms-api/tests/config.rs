//! Configuration layering: explicit > environment > ovh.conf files > default.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use okms_api::{Auth, Config, ConfigOverrides, ConfigSources, Error, ExposeSecret, parse_ovh_conf};

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn app_key(c: &Config) -> (String, String, String) {
    match &c.auth {
        Auth::ApplicationKey {
            application_key,
            application_secret,
            consumer_key,
        } => (
            application_key.clone(),
            application_secret.expose_secret().to_string(),
            consumer_key.expose_secret().to_string(),
        ),
        other => panic!("expected application key auth, got {other:?}"),
    }
}

#[test]
fn later_files_override_earlier_ones_per_key() {
    let f = Files::new();
    let etc = f.write(
        "etc.conf",
        "[default]\nendpoint=ovh-ca\n\n[ovh-ca]\napplication_key=etc_ak\napplication_secret=etc_as\nconsumer_key=etc_ck\n",
    );
    let home = f.write("home.conf", "; comment\n[ovh-ca]\nconsumer_key=home_ck\n");
    let missing = f.dir.path().join("does-not-exist.conf");
    let sources = ConfigSources {
        files: vec![etc, home, missing],
        ..ConfigSources::default()
    };
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(c.endpoint.name(), Some("ovh-ca"));
    assert_eq!(
        app_key(&c),
        ("etc_ak".into(), "etc_as".into(), "home_ck".into())
    );
}

#[test]
fn precedence_explicit_over_env_over_file_over_default() {
    let f = Files::new();
    let file = f.write(
        "ovh.conf",
        "[default]\nendpoint=ovh-ca\n[ovh-ca]\napplication_key=file_ak\napplication_secret=file_as\nconsumer_key=file_ck\n\
         [ovh-us]\napplication_key=us_ak\napplication_secret=us_as\nconsumer_key=us_ck\n",
    );
    let mut sources = ConfigSources {
        files: vec![file],
        ..ConfigSources::default()
    };
    // File only.
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(c.endpoint.name(), Some("ovh-ca"));
    assert_eq!(app_key(&c).0, "file_ak");

    // Env beats file, per value; the endpoint from env selects the section.
    sources.env = env(&[("OVH_ENDPOINT", "ovh-us"), ("OVH_CONSUMER_KEY", "env_ck")]);
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(c.endpoint.name(), Some("ovh-us"));
    assert_eq!(
        app_key(&c),
        ("us_ak".into(), "us_as".into(), "env_ck".into())
    );

    // Explicit beats env.
    let o = ConfigOverrides {
        endpoint: Some("ovh-ca".into()),
        consumer_key: Some("flag_ck".into()),
        ..ConfigOverrides::default()
    };
    let c = Config::load(&o, &sources).unwrap();
    assert_eq!(c.endpoint.name(), Some("ovh-ca"));
    assert_eq!(
        app_key(&c),
        ("file_ak".into(), "file_as".into(), "flag_ck".into())
    );

    // Empty values count as unset.
    sources.env = env(&[("OVH_ENDPOINT", ""), ("OVH_CONSUMER_KEY", "")]);
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(c.endpoint.name(), Some("ovh-ca"));
    assert_eq!(app_key(&c).2, "file_ck");
}

#[test]
fn default_endpoint_is_ovh_eu() {
    let sources = ConfigSources {
        env: env(&[("OVH_ACCESS_TOKEN", "tok")]),
        ..ConfigSources::default()
    };
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(c.endpoint.name(), Some("ovh-eu"));
    assert!(matches!(c.auth, Auth::AccessToken { .. }));
}

#[test]
fn custom_url_endpoint_reads_the_section_named_by_the_url() {
    let f = Files::new();
    let file = f.write(
        "ovh.conf",
        "[default]\nendpoint=http://127.0.0.1:8080/1.0\n[http://127.0.0.1:8080/1.0]\nclient_id=cid\nclient_secret=csecret\n",
    );
    let sources = ConfigSources {
        files: vec![file],
        ..ConfigSources::default()
    };
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(c.endpoint.base_url(), "http://127.0.0.1:8080/1.0");
    match &c.auth {
        Auth::OAuth2 {
            client_id,
            client_secret,
            token_url,
        } => {
            assert_eq!(client_id, "cid");
            assert_eq!(client_secret.expose_secret(), "csecret");
            assert_eq!(token_url, &None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn explicit_config_file_beats_standard_files_and_must_exist() {
    let f = Files::new();
    let std_file = f.write("a.conf", "[ovh-eu]\naccess_token=from_std\n");
    let explicit = f.write("b.conf", "[ovh-eu]\naccess_token=from_explicit\n");
    let sources = ConfigSources {
        files: vec![std_file.clone()],
        ..ConfigSources::default()
    }
    .with_explicit_file(&explicit);
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    match &c.auth {
        Auth::AccessToken { access_token } => {
            assert_eq!(access_token.expose_secret(), "from_explicit")
        }
        other => panic!("{other:?}"),
    }
    let missing = ConfigSources {
        files: vec![std_file],
        ..ConfigSources::default()
    }
    .with_explicit_file(f.dir.path().join("nope.conf"));
    let e = Config::load(&ConfigOverrides::default(), &missing).unwrap_err();
    assert!(matches!(e, Error::ConfigRead { .. }), "{e}");
    assert!(e.to_string().contains("nope.conf"));
}

/// `--config my.conf` with an application key, while `~/.ovh.conf` holds a service account:
/// the named file decides the method, the unnamed file's other method is not mixed in.
#[test]
fn named_file_credentials_hide_other_methods_of_standard_files() {
    let f = Files::new();
    let home = f.write(
        "home.conf",
        "[default]\nendpoint=ovh-eu\n[ovh-eu]\nclient_id=home_id\nclient_secret=home_secret\n",
    );
    let named = f.write(
        "my.conf",
        "[ovh-eu]\napplication_key=my_ak\napplication_secret=my_as\nconsumer_key=my_ck\n",
    );
    let sources = ConfigSources {
        files: vec![home.clone()],
        ..ConfigSources::default()
    }
    .with_explicit_file(&named);
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(
        app_key(&c),
        ("my_ak".into(), "my_as".into(), "my_ck".into())
    );

    // The other way round: a named service account beats an application key at home.
    let home_ak = f.write(
        "home_ak.conf",
        "[ovh-eu]\napplication_key=home_ak\napplication_secret=home_as\nconsumer_key=home_ck\n",
    );
    let named_oauth = f.write(
        "sa.conf",
        "[ovh-eu]\nclient_id=sa_id\nclient_secret=sa_secret\n",
    );
    let sources = ConfigSources {
        files: vec![home_ak],
        ..ConfigSources::default()
    }
    .with_explicit_file(&named_oauth);
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    match &c.auth {
        Auth::OAuth2 {
            client_id,
            client_secret,
            ..
        } => {
            assert_eq!(client_id, "sa_id");
            assert_eq!(client_secret.expose_secret(), "sa_secret");
        }
        other => panic!("expected the named file's service account, got {other:?}"),
    }

    // Without --config the same two standard files still conflict, as in python-ovh and go-ovh:
    // neither file was singled out, so guessing would be wrong.
    let local_ak = f.write(
        "local.conf",
        "[ovh-eu]\napplication_key=l_ak\napplication_secret=l_as\nconsumer_key=l_ck\n",
    );
    let sources = ConfigSources {
        files: vec![home, local_ak],
        ..ConfigSources::default()
    };
    let e = Config::load(&ConfigOverrides::default(), &sources).unwrap_err();
    assert!(matches!(e, Error::MultipleAuthMethods { .. }), "{e}");
}

/// The named file is read after the standard files (python-ovh's `config_file`): it wins per
/// value, and the standard files fill what it lacks, for the endpoint and the same method.
#[test]
fn named_file_layers_over_standard_files_per_value() {
    let f = Files::new();
    let home = f.write(
        "home.conf",
        "[default]\nendpoint=ovh-ca\n[ovh-ca]\napplication_key=home_ak\napplication_secret=home_as\nconsumer_key=home_ck\n",
    );
    // Only a new consumer key: the application comes from ~/.ovh.conf, the endpoint too.
    let named = f.write("ck.conf", "[ovh-ca]\nconsumer_key=named_ck\n");
    let sources = ConfigSources {
        files: vec![home.clone()],
        ..ConfigSources::default()
    }
    .with_explicit_file(&named);
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(c.endpoint.name(), Some("ovh-ca"));
    assert_eq!(
        app_key(&c),
        ("home_ak".into(), "home_as".into(), "named_ck".into())
    );

    // A named file with no credentials at all (only an endpoint) takes every method from the
    // standard files, and its endpoint wins.
    let us = f.write("us.conf", "[default]\nendpoint=ovh-us\n");
    let home_us = f.write(
        "home_us.conf",
        "[default]\nendpoint=ovh-ca\n[ovh-us]\naccess_token=us_token\n",
    );
    let sources = ConfigSources {
        files: vec![home_us],
        ..ConfigSources::default()
    }
    .with_explicit_file(&us);
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(c.endpoint.name(), Some("ovh-us"));
    assert!(
        matches!(&c.auth, Auth::AccessToken { access_token } if access_token.expose_secret() == "us_token")
    );

    // The environment still beats every file, the named one included.
    let sources = ConfigSources {
        files: vec![home],
        env: env(&[("OVH_CONSUMER_KEY", "env_ck")]),
        ..ConfigSources::default()
    }
    .with_explicit_file(&named);
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    assert_eq!(app_key(&c).2, "env_ck");
}

#[test]
fn mixing_methods_names_both() {
    let sources = ConfigSources {
        env: env(&[
            ("OVH_APPLICATION_KEY", "ak"),
            ("OVH_APPLICATION_SECRET", "as"),
            ("OVH_CONSUMER_KEY", "ck"),
            ("OVH_ACCESS_TOKEN", "tok"),
        ]),
        ..ConfigSources::default()
    };
    let e = Config::load(&ConfigOverrides::default(), &sources).unwrap_err();
    assert!(matches!(e, Error::MultipleAuthMethods { .. }));
    let m = e.to_string();
    assert!(
        m.contains("application_key") && m.contains("access_token"),
        "{m}"
    );

    let o = ConfigOverrides {
        client_id: Some("id".into()),
        client_secret: Some("s".into()),
        ..ConfigOverrides::default()
    };
    let e = Config::load(&o, &sources).unwrap_err();
    assert!(matches!(e, Error::MultipleAuthMethods { .. }), "{e}");
}

#[test]
fn incomplete_pairs_and_missing_credentials() {
    let load = |pairs: &[(&str, &str)]| {
        Config::load(
            &ConfigOverrides::default(),
            &ConfigSources {
                env: env(pairs),
                ..ConfigSources::default()
            },
        )
    };
    let e = load(&[("OVH_APPLICATION_KEY", "ak")]).unwrap_err();
    assert!(e.to_string().contains("application_secret"), "{e}");
    let e = load(&[("OVH_CLIENT_SECRET", "s")]).unwrap_err();
    assert!(e.to_string().contains("client_id"), "{e}");
    let e = load(&[
        ("OVH_APPLICATION_KEY", "ak"),
        ("OVH_APPLICATION_SECRET", "as"),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("consumer_key"), "{e}");
    let e = load(&[]).unwrap_err();
    assert!(matches!(e, Error::NoCredentials { .. }), "{e}");
    let e = load(&[("OVH_ENDPOINT", "nowhere"), ("OVH_ACCESS_TOKEN", "t")]).unwrap_err();
    assert!(matches!(e, Error::UnknownEndpoint { .. }), "{e}");
    let e = load(&[
        ("OVH_ENDPOINT", "http://api.example.com/1.0"),
        ("OVH_ACCESS_TOKEN", "t"),
    ])
    .unwrap_err();
    assert!(matches!(e, Error::InsecureUrl { .. }), "{e}");
}

#[test]
fn oauth2_refused_on_kimsufi_unless_token_url_given() {
    let sources = ConfigSources {
        env: env(&[
            ("OVH_ENDPOINT", "kimsufi-eu"),
            ("OVH_CLIENT_ID", "id"),
            ("OVH_CLIENT_SECRET", "secret"),
        ]),
        ..ConfigSources::default()
    };
    let e = Config::load(&ConfigOverrides::default(), &sources).unwrap_err();
    assert!(matches!(e, Error::OAuth2NotSupported { .. }), "{e}");
    let o = ConfigOverrides {
        oauth2_token_url: Some("https://auth.example.com/token".into()),
        ..ConfigOverrides::default()
    };
    let c = Config::load(&o, &sources).unwrap();
    assert!(
        matches!(&c.auth, Auth::OAuth2 { token_url: Some(u), .. } if u == "https://auth.example.com/token")
    );
}

#[test]
fn debug_output_never_shows_secrets() {
    let sources = ConfigSources {
        env: env(&[
            ("OVH_APPLICATION_KEY", "ak_visible"),
            ("OVH_APPLICATION_SECRET", "as_SECRET_VALUE"),
            ("OVH_CONSUMER_KEY", "ck_SECRET_VALUE"),
        ]),
        ..ConfigSources::default()
    };
    assert!(!format!("{sources:?}").contains("SECRET_VALUE"));
    let c = Config::load(&ConfigOverrides::default(), &sources).unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("SECRET_VALUE"), "{dbg}");
    assert!(dbg.contains("ak_visible"));
}

#[test]
fn ovh_conf_parsing() {
    let m = parse_ovh_conf(
        "[default]\n; general configuration: default endpoint\nendpoint=ovh-eu\n\n[ovh-eu]\napplication_key=my_app_key\n# another comment\nconsumer_key = spaced \n",
    )
    .unwrap();
    assert_eq!(m["default"]["endpoint"], "ovh-eu");
    assert_eq!(m["ovh-eu"]["application_key"], "my_app_key");
    assert_eq!(m["ovh-eu"]["consumer_key"], "spaced");
    let e = parse_ovh_conf("[unterminated\nkey=value\n").unwrap_err();
    assert!(matches!(e, Error::ConfigParse { .. }), "{e}");
}
