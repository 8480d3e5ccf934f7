//! SoftHSM2 fixture shared by the token tests.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once, when the module is initialized, and a process cannot
//! safely change its own environment. So each token test re-runs this test binary for itself
//! alone, with `SOFTHSM2_CONF` pointing at a fresh token directory holding one token, and the
//! child runs the test body. Without the module the test is skipped with a loud message,
//! unless `OKMS_REQUIRE_SOFTHSM=1` (CI), which turns the skip into a failure.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use okms_test_support::interop::Openssl;
pub use okms_test_support::{PIN, TOKEN};

const CHILD_VAR: &str = "OKMS_PKCS11_TEST_CHILD";
const MODULE_VAR: &str = "OKMS_PKCS11_TEST_MODULE";

/// What a test body gets: the module to load.
pub struct Env {
    pub module: PathBuf,
}

/// The SoftHSM2 module, or `None` after a loud skip message (a failure in CI).
pub fn softhsm_module() -> Option<PathBuf> {
    okms_test_support::softhsm_module(okms_pkcs11::SOFTHSM2_HINT_PATHS, "the PKCS#11 tests")
}

/// Runs `body` against a fresh SoftHSM2 token, in a child process of this test binary.
/// `name` must be the test function's name.
pub fn with_token(name: &str, body: impl FnOnce(&Env)) {
    if std::env::var(CHILD_VAR).as_deref() == Ok(name) {
        let module = PathBuf::from(std::env::var_os(MODULE_VAR).unwrap());
        body(&Env { module });
        return;
    }
    let Some(module) = softhsm_module() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let conf = okms_test_support::init_token_dir(dir.path());
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, name)
        .env(MODULE_VAR, &module)
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child test {name} failed:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // The child must really have run the one test (not filtered it out).
    assert!(
        stdout.contains("1 passed"),
        "child test {name} did not run:\n{stdout}"
    );
}

/// `openssl req -verify` on a PEM CSR; panics with openssl's output if it fails.
pub fn openssl_verify_csr(openssl: Openssl, pem: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("req.csr"), pem).unwrap();
    openssl.verify_csr(dir.path(), "req.csr");
}
