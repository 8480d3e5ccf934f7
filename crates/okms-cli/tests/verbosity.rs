//! What each verbosity level adds on stderr: `-q` errors only; `-v` the steps; `-vv` one line
//! per HTTP request; `-vvv` the bodies, with no secret in them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use common::{Sandbox, stderr_of};
use online_common::{AuthMode, cli, emulator};

const URN: &str = "urn:v1:eu:identity:user:xx1111-ovh/john.smith";

#[test]
fn quiet_prints_no_warning() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let request = |quiet: bool, out: &str| {
        let mut c = s.cmd();
        if quiet {
            c.arg("-q");
        }
        let args = [
            "request",
            "new",
            "--csr",
            "c.csr",
            "--name",
            "app1",
            "--out",
            out,
            "--identity",
            URN,
            "--identity",
            URN,
        ];
        c.args(args).output().unwrap()
    };
    let loud = request(false, "r1.json");
    assert!(loud.status.success(), "{}", stderr_of(&loud));
    assert!(stderr_of(&loud).contains("warning:"), "the case must warn");
    let quiet = request(true, "r2.json");
    assert!(quiet.status.success(), "{}", stderr_of(&quiet));
    assert_eq!(stderr_of(&quiet), "", "-q printed more than errors");
}

#[test]
fn quiet_hides_the_readable_key_file_warning() {
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    let key = s.path("k.pem");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let show = |quiet: bool| {
        let mut c = s.cmd();
        if quiet {
            c.arg("-q");
        }
        c.args(["key", "show", "k.pem"]).output().unwrap()
    };
    let loud = show(false);
    assert!(loud.status.success(), "{}", stderr_of(&loud));
    assert!(
        stderr_of(&loud).contains("warning:"),
        "a 0644 key must warn"
    );
    let quiet = show(true);
    assert!(quiet.status.success(), "{}", stderr_of(&quiet));
    assert_eq!(stderr_of(&quiet), "", "-q printed more than errors");
}

#[test]
fn each_verbose_level_adds_something_and_no_secret_is_traced() {
    let emu = emulator();
    let info = emu.info();
    let s = Sandbox::new();
    let run = |level: &str, mode: AuthMode, name: &str| {
        let out = cli(&s, &emu, mode)
            .arg(level)
            .args(["credential", "create", "--name", name, "--identity", URN])
            .args([
                "--key-out",
                &format!("{name}.key"),
                "--cert-out",
                &format!("{name}.crt"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{level}: {}", stderr_of(&out));
        stderr_of(&out)
    };
    let v = run("-v", AuthMode::Signature, "v1");
    let vv = run("-vv", AuthMode::Signature, "v2");
    let vvv = run("-vvv", AuthMode::OAuth2, "v3");
    assert!(v.contains("detail:"), "{v}");
    assert!(
        !v.lines().any(|l| l.starts_with("http: ")),
        "-v shows no HTTP line: {v}"
    );
    let http_line = vv
        .lines()
        .find(|l| l.starts_with("http: POST ") && l.contains("/credential"))
        .unwrap_or_else(|| panic!("no HTTP line for the create at -vv:\n{vv}"));
    assert!(
        http_line.contains(" 20") && http_line.ends_with(" ms)"),
        "{http_line}"
    );
    assert!(!vv.contains("  sent: "), "-vv shows no body: {vv}");
    assert!(
        vvv.contains("http:   sent: ") && vvv.contains("http:   answer: "),
        "{vvv}"
    );
    let key = s.read_string("v3.key");
    let key_body = key.lines().nth(1).unwrap();
    for secret in [
        info.application_secret.as_str(),
        info.consumer_key.as_str(),
        info.client_secret.as_str(),
        key_body,
        "PRIVATE KEY",
    ] {
        assert!(!vvv.contains(secret), "a secret reached the -vvv trace");
        assert!(!vv.contains(secret), "a secret reached the -vv trace");
    }
    assert!(vvv.contains("[redacted]"), "{vvv}");
}
