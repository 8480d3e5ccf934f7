//! `--config PATH` as a user meets it: the named `ovh.conf` is read after the standard files
//! and, when it holds credentials, the standard files' other methods are not mixed in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use common::{Sandbox, stderr_of};
use online_common::{bare_env, emulator, json_ok};

/// `~/.ovh.conf` holds a service account, `--config my.conf` an application key: the command
/// authenticates with the application key instead of failing on "multiple authentication
/// methods" because of a file the user did not name.
#[test]
fn named_application_key_is_not_mixed_with_a_home_service_account() {
    let emu = emulator();
    let info = emu.info();
    let s = Sandbox::new();
    // Wrong on purpose: if these were used, the emulator would refuse them.
    s.write(
        ".ovh.conf",
        format!(
            "[default]\nendpoint={url}\n[{url}]\nclient_id=home-id\nclient_secret=home-secret\n",
            url = info.api_url
        ),
    );
    s.write(
        "my.conf",
        format!(
            "[{url}]\napplication_key={ak}\napplication_secret={as_}\nconsumer_key={ck}\n",
            url = info.api_url,
            ak = info.application_key,
            as_ = info.application_secret,
            ck = info.consumer_key
        ),
    );

    let mut c = s.cmd();
    bare_env(&mut c, &s);
    let v = json_ok(c.args(["--config", "my.conf", "--json", "whoami"]));
    assert_eq!(v["auth_method"], "application key", "{v}");
    assert_eq!(v["account"], info.nic.as_str(), "{v}");

    // Without --config the two methods of the standard files (~/.ovh.conf and ./ovh.conf)
    // still conflict, and the error names both.
    s.write(
        "ovh.conf",
        format!(
            "[{url}]\napplication_key={ak}\napplication_secret={as_}\nconsumer_key={ck}\n",
            url = info.api_url,
            ak = info.application_key,
            as_ = info.application_secret,
            ck = info.consumer_key
        ),
    );
    let mut c = s.cmd();
    bare_env(&mut c, &s);
    let out = c.arg("whoami").output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr_of(&out));
    let err = stderr_of(&out).to_lowercase();
    assert!(
        err.contains("multiple authentication methods")
            && err.contains("application_key")
            && err.contains("client_id"),
        "{err}"
    );
}

/// The reverse: a named service account wins over an application key at home.
#[test]
fn named_service_account_is_not_mixed_with_a_home_application_key() {
    let emu = emulator();
    let info = emu.info();
    let s = Sandbox::new();
    s.write(
        ".ovh.conf",
        format!(
            "[default]\nendpoint={url}\n[{url}]\napplication_key=home-ak\napplication_secret=home-as\nconsumer_key=home-ck\n",
            url = info.api_url
        ),
    );
    s.write(
        "sa.conf",
        format!(
            "[{url}]\nclient_id={id}\nclient_secret={secret}\n",
            url = info.api_url,
            id = info.client_id,
            secret = info.client_secret
        ),
    );
    let mut c = s.cmd();
    bare_env(&mut c, &s);
    let v = json_ok(c.args(["--config", "sa.conf", "--json", "whoami"]));
    assert_eq!(v["auth_method"], "oauth2 client credentials", "{v}");
}
