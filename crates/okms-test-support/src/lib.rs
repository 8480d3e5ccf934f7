#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod interop;
pub mod markdown;
pub mod skip;

pub use skip::skip;

/// The environment variables through which okms-cli and okms-broker find API credentials
/// (and the domain).
pub const API_CREDENTIAL_VARIABLES: [&str; 8] = [
    "OVH_ENDPOINT",
    "OVH_APPLICATION_KEY",
    "OVH_APPLICATION_SECRET",
    "OVH_CONSUMER_KEY",
    "OVH_CLIENT_ID",
    "OVH_CLIENT_SECRET",
    "OVH_ACCESS_TOKEN",
    "OKMS_ID",
];

/// Removes [`API_CREDENTIAL_VARIABLES`] from `command`, so that it runs as a host (or an
/// offline machine) with no API credential, whatever the developer's shell holds.
pub fn without_api_credentials(command: &mut Command) -> &mut Command {
    for var in API_CREDENTIAL_VARIABLES {
        command.env_remove(var);
    }
    command
}

/// The label of the token [`init_token_dir`] makes.
pub const TOKEN: &str = "okms-test";
/// Its user PIN. Not digits: tests assert that no output contains it, and a short number
/// turns up by chance in fingerprints, ids and port numbers.
pub const PIN: &str = "okms-pin-Qx7";
/// Its security officer PIN.
pub const SO_PIN: &str = "okms-so-pin-Wz4";

/// The SoftHSM2 module: `OKMS_TEST_SOFTHSM_MODULE`, else the first of `hint_paths` that exists
/// (pass `okms_pkcs11::SOFTHSM2_HINT_PATHS`). When the module or `softhsm2-util` is missing it
/// prints a loud skip message naming `tests` and returns `None`, or panics when
/// `OKMS_REQUIRE_SOFTHSM=1` (CI), so that a missing package never passes silently there.
pub fn softhsm_module(hint_paths: &[&str], tests: &str) -> Option<PathBuf> {
    let found = std::env::var_os("OKMS_TEST_SOFTHSM_MODULE")
        .map(PathBuf::from)
        .into_iter()
        .chain(hint_paths.iter().map(PathBuf::from))
        .find(|p| p.is_file());
    let util = Command::new("softhsm2-util")
        .arg("--version")
        .output()
        .is_ok();
    match found {
        Some(module) if util => Some(module),
        _ => {
            skip_or_fail(
                &format!(
                    "SoftHSM2 is not installed (module libsofthsm2.so and softhsm2-util); \
                     install it with `apt-get install softhsm2` to run {tests}"
                ),
                "OKMS_REQUIRE_SOFTHSM",
            );
            None
        }
    }
}

/// Writes a SoftHSM2 configuration with its own token directory under `dir` (created if
/// needed) and initializes one token there, label [`TOKEN`], PINs [`PIN`] and [`SO_PIN`].
/// Returns the configuration file, the value for `SOFTHSM2_CONF`.
///
/// SoftHSM2 reads `SOFTHSM2_CONF` once, when the module is initialized: a process that loads
/// the module itself gets one token directory for its lifetime.
pub fn init_token_dir(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", tokens.display()));
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", TOKEN])
        .args(["--pin", PIN, "--so-pin", SO_PIN])
        .output()
        .expect("softhsm2-util runs");
    assert!(
        out.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    conf
}

/// The skip rule, for a missing tool or file a test needs (`msg` says what is missing and how
/// to get it): a failure when `require_var` is `1`, else a [`skip()`] (banner and record), and
/// the caller returns early.
pub fn skip_or_fail(msg: &str, require_var: &str) {
    skip(&skip_reason(
        msg,
        require_var,
        std::env::var(require_var).as_deref() == Ok("1"),
    ));
}

/// Why the test is skipped, or a panic when the missing thing is required.
fn skip_reason(msg: &str, require_var: &str, required: bool) -> String {
    if required {
        panic!("{msg} ({require_var}=1 makes this a failure)");
    }
    format!("{msg}; set {require_var}=1 to make this a failure")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_a_skip_unless_required() {
        assert_eq!(
            skip_reason("frobnicate is not installed", "OKMS_REQUIRE_FROB", false),
            "frobnicate is not installed; set OKMS_REQUIRE_FROB=1 to make this a failure"
        );
    }

    #[test]
    #[should_panic(
        expected = "frobnicate is not installed (OKMS_REQUIRE_FROB=1 makes this a failure)"
    )]
    fn a_missing_tool_fails_when_required() {
        skip_reason("frobnicate is not installed", "OKMS_REQUIRE_FROB", true);
    }
}
