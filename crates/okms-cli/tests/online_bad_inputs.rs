//! A table of bad inputs to the online commands, against okms-emulator or a tiny hand-rolled
//! loopback server. Each case must exit with the documented non-zero code, name the problem
//! on stderr, not panic, leave every file as it was, and create no credential.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::{Sandbox, is_root, stderr_of};
use online_common::{AuthMode, bare_env, cli, emulator, fingerprint};

const URN: &str = "urn:v1:eu:identity:user:xx1111-ovh/john.smith";
const UNKNOWN_ID: &str = "3f6c2b9e-55a1-4c1e-9f0e-2a7d1c9b8e41";

/// A loopback HTTP server answering every request with `response` (raw bytes); returns its
/// `/1.0` endpoint URL. The thread lives as long as the test process.
fn canned_server(response: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = stream.write_all(&response);
            let _ = stream.flush();
        }
    });
    format!("http://{addr}/1.0")
}

fn http_response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        r.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// How a case's command is wired.
enum Env {
    /// Signature auth against the emulator.
    Emu,
    /// OAuth2 against the emulator.
    EmuOAuth2,
    /// Signature auth against the emulator, plus these variables.
    EmuPlus(Vec<(&'static str, String)>),
    /// Against the emulator without OKMS_ID.
    EmuNoOkmsId,
    /// Only these variables (no emulator credentials).
    Only(Vec<(&'static str, String)>),
}

struct Case {
    name: &'static str,
    env: Env,
    args: Vec<String>,
    code: i32,
    /// Lower-case substrings that must all appear in stderr.
    needles: Vec<String>,
}

fn case(name: &'static str, env: Env, args: &[&str], code: i32, needles: &[&str]) -> Case {
    Case {
        name,
        env,
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code,
        needles: needles.iter().map(|s| s.to_lowercase()).collect(),
    }
}

fn create(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["credential", "create", "--csr", "c.csr"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v
}

#[test]
fn online_bad_inputs() {
    let emu = emulator();
    let s = Sandbox::new();
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    s.key("other.pem", "ecdsa-p256");
    s.write("existing.key", "precious key\n");
    s.write("existing.cert", "precious cert\n");
    s.write("bad-request.json", "{\"name\": \"x\", \"identityURNs\": [");
    // A certificate for k.pem, issued once and deleted at the end of setup? No: kept READY.
    cli(&s, &emu, AuthMode::Signature)
        .args([
            "credential",
            "create",
            "--csr",
            "c.csr",
            "--name",
            "fixture",
        ])
        .args(["--identity", URN, "--cert-out", "fixture.cert"])
        .assert()
        .success();
    let baseline_creds = emu.credentials().len();

    let iam_body = br#"{"class":"Client::Forbidden","message":"User not granted for this request (missing IAM permissions: okms:apiovh:credential/get)","details":{"unauthorizedActionsByIAM":"okms:apiovh:credential/get"}}"#;
    let iam = canned_server(http_response(
        "403 Forbidden",
        &[
            ("content-type", "application/json"),
            ("x-ovh-queryid", "EU.ext-1.test-iam"),
        ],
        iam_body,
    ));
    let html = canned_server(http_response(
        "200 OK",
        &[("content-type", "text/html")],
        b"<html><body>maintenance</body></html>",
    ));
    let huge = canned_server(http_response(
        "200 OK",
        &[
            ("content-type", "application/json"),
            ("content-length", "50000000"),
        ],
        b"[",
    ));
    let token_env = |url: &str| {
        Env::Only(vec![
            ("OVH_ENDPOINT", url.to_owned()),
            ("OVH_ACCESS_TOKEN", "tok-123".to_owned()),
            ("OKMS_ID", emu.okms_id().to_string()),
        ])
    };
    let name51 = "n".repeat(51);
    let mut many: Vec<String> = vec!["--name".into(), "many".into()];
    for i in 0..26 {
        many.push("--identity".into());
        many.push(format!("urn:v1:eu:identity:user:xx1111-ovh/u{i}"));
    }

    let mut cases = vec![
        case(
            "name of 51 characters",
            Env::Emu,
            &create(&["--name", &name51, "--root"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            3,
            &["name", "at most 50"],
        ),
        case(
            "validity 0",
            Env::Emu,
            &[
                "credential",
                "create",
                "--csr",
                "c.csr",
                "--name",
                "v",
                "--identity",
                URN,
                "--validity",
                "0",
            ],
            3,
            &["validity", "1..=365"],
        ),
        case(
            "validity 366",
            Env::Emu,
            &[
                "credential",
                "create",
                "--csr",
                "c.csr",
                "--name",
                "v",
                "--identity",
                URN,
                "--validity",
                "366",
            ],
            3,
            &["validity", "366"],
        ),
        Case {
            name: "26 URNs",
            env: Env::Emu,
            args: create(&many.iter().map(String::as_str).collect::<Vec<_>>()),
            code: 3,
            needles: vec!["26 urns".into(), "at most 25".into()],
        },
        case(
            "malformed URN",
            Env::Emu,
            &[
                "credential",
                "create",
                "--csr",
                "c.csr",
                "--name",
                "u",
                "--identity",
                "urn:v1:mars:identity:user:xx1111-ovh/j",
            ],
            3,
            &["not an identity urn", "region", "--identity"],
        ),
        case(
            "non-ASCII description",
            Env::Emu,
            &[
                "credential",
                "create",
                "--csr",
                "c.csr",
                "--name",
                "d",
                "--identity",
                URN,
                "--description",
                "café",
            ],
            3,
            &["description", "printable ascii"],
        ),
        case(
            "bad user login",
            Env::Emu,
            &[
                "credential",
                "create",
                "--csr",
                "c.csr",
                "--name",
                "d",
                "--user",
                "john smith",
            ],
            3,
            &["user login", "--user"],
        ),
        case(
            "unknown endpoint name",
            Env::Emu,
            &["--endpoint", "ovh-mars", "whoami"],
            3,
            &["unknown endpoint", "ovh-mars", "ovh-eu"],
        ),
        case(
            "http:// to a non-loopback host",
            Env::Emu,
            &["--endpoint", "http://api.example.com/1.0", "whoami"],
            3,
            &["http://api.example.com/1.0", "loopback"],
        ),
        case(
            "mixed auth methods",
            Env::EmuPlus(vec![
                ("OVH_CLIENT_ID", "abc".into()),
                ("OVH_CLIENT_SECRET", "def".into()),
            ]),
            &["whoami"],
            7,
            &[
                "multiple authentication methods",
                "application_key",
                "client_id",
            ],
        ),
        case(
            "invalid access token",
            Env::Only(vec![
                ("OVH_ENDPOINT", emu.api_url().to_owned()),
                ("OVH_ACCESS_TOKEN", "expired-or-invalid".into()),
            ]),
            &["whoami"],
            7,
            &["401", "access token"],
        ),
        case(
            "wrong application secret",
            Env::EmuPlus(vec![("OVH_APPLICATION_SECRET", "not-the-secret".into())]),
            &["credential", "list"],
            7,
            &["invalid signature", "application secret"],
        ),
        case(
            "wrong OAuth2 client secret",
            Env::Only(vec![
                ("OVH_ENDPOINT", emu.api_url().to_owned()),
                ("OVH_CLIENT_ID", emu.info().client_id.clone()),
                ("OVH_CLIENT_SECRET", "wrong".into()),
                ("OKMS_ID", emu.okms_id().to_string()),
            ]),
            &["credential", "list"],
            7,
            &["invalid_client"],
        ),
        case(
            "no API credentials at all",
            Env::Only(vec![("OVH_ENDPOINT", emu.api_url().to_owned())]),
            &["whoami"],
            7,
            &["no ovhcloud api credentials"],
        ),
        case(
            "server 403 with an IAM message",
            token_env(&iam),
            &["credential", "list"],
            7,
            &[
                "403",
                "client::forbidden",
                "okms:apiovh:credential/get",
                "eu.ext-1.test-iam",
                "iam permission",
            ],
        ),
        case(
            "non-JSON server answer",
            token_env(&html),
            &["credential", "list"],
            6,
            &["cannot decode", "maintenance"],
        ),
        case(
            "oversized server answer",
            token_env(&huge),
            &["domain", "list"],
            6,
            &["larger than"],
        ),
        case(
            "existing --key-out file",
            Env::Emu,
            &[
                "credential",
                "create",
                "--name",
                "g",
                "--root",
                "--key-out",
                "existing.key",
            ],
            5,
            &["existing.key", "already exists", "never replaced"],
        ),
        case(
            "existing --key-out file even with --force",
            Env::Emu,
            &[
                "credential",
                "create",
                "--name",
                "g",
                "--root",
                "--key-out",
                "existing.key",
                "--force",
            ],
            5,
            &["existing.key", "already exists"],
        ),
        case(
            "existing --cert-out file",
            Env::Emu,
            &[
                "credential",
                "create",
                "--csr",
                "c.csr",
                "--name",
                "c",
                "--root",
                "--cert-out",
                "existing.cert",
            ],
            5,
            &["existing.cert", "already exists", "--force"],
        ),
        case(
            "missing --okms-id",
            Env::EmuNoOkmsId,
            &["credential", "list"],
            2,
            &["--okms-id"],
        ),
        case(
            "malformed --okms-id",
            Env::Emu,
            &["credential", "list", "--okms-id", "not-a-uuid"],
            3,
            &["--okms-id", "not-a-uuid", "uuid"],
        ),
        case(
            "unknown credential id",
            Env::Emu,
            &["credential", "get", UNKNOWN_ID],
            6,
            &["404", "client::notfound", "x-ovh-query-id", UNKNOWN_ID],
        ),
        case(
            "unknown credential id (OAuth2)",
            Env::EmuOAuth2,
            &["credential", "get", UNKNOWN_ID, "--cert-out", "never.cert"],
            6,
            &["404", "client::notfound"],
        ),
        case(
            "unknown domain",
            Env::Emu,
            &["domain", "show", UNKNOWN_ID],
            6,
            &["404", "client::notfound"],
        ),
        case(
            "malformed credential id",
            Env::Emu,
            &["credential", "wait", "12345"],
            3,
            &["credential id", "12345"],
        ),
        case(
            "delete an unknown credential",
            Env::Emu,
            &["credential", "delete", UNKNOWN_ID, "--yes"],
            6,
            &["404"],
        ),
        case(
            "CSR with a broken signature",
            Env::Emu,
            &[
                "credential",
                "create",
                "--csr",
                "tampered.csr",
                "--name",
                "t",
                "--root",
            ],
            4,
            &["signature"],
        ),
        case(
            "CSR and certificate type together",
            Env::Emu,
            &[
                "credential",
                "create",
                "--csr",
                "c.csr",
                "--certificate-type",
                "rsa",
                "--name",
                "t",
                "--root",
            ],
            2,
            &["--certificate-type"],
        ),
        case(
            "no identity",
            Env::Emu,
            &["credential", "create", "--csr", "c.csr", "--name", "t"],
            2,
            &["--identity", "--root"],
        ),
        case(
            "request file that is not JSON",
            Env::Emu,
            &["credential", "create", "--request", "bad-request.json"],
            3,
            &["bad-request.json", "not a credential request"],
        ),
        case(
            "--okms-profile with a CSR but no key is refused before sending",
            Env::Emu,
            &[
                "credential",
                "create",
                "--csr",
                "c.csr",
                "--name",
                "p",
                "--root",
                "--okms-profile",
                "x",
            ],
            2,
            &["--okms-profile-key"],
        ),
        case(
            "missing --config file",
            Env::Emu,
            &["--config", "nope.conf", "whoami"],
            3,
            &["nope.conf"],
        ),
        case(
            "check with another key",
            Env::Emu,
            &[
                "credential",
                "check",
                "--cert",
                "fixture.cert",
                "--key",
                "other.pem",
            ],
            4,
            &["fixture.cert", "other.pem", "public key"],
        ),
        case(
            "check against a domain the certificate is not for",
            Env::Emu,
            &[
                "credential",
                "check",
                "--cert",
                "fixture.cert",
                "--key",
                "k.pem",
                "--okms-id",
                UNKNOWN_ID,
            ],
            4,
            &["issued for domain", UNKNOWN_ID],
        ),
        case(
            "wait with a bad duration",
            Env::Emu,
            &["credential", "wait", UNKNOWN_ID, "--timeout", "5 days"],
            2,
            &["invalid duration"],
        ),
    ];
    // A CSR whose signature is broken: flip one byte near the end of the DER.
    let csr = s.read_string("c.csr");
    let b64: String = csr.lines().filter(|l| !l.starts_with("-----")).collect();
    let tampered = csr.replacen(&b64[b64.len() - 8..b64.len() - 4], "AAAA", 1);
    let tampered = if tampered == csr {
        csr.replacen(&b64[b64.len() - 8..b64.len() - 4], "BBBB", 1)
    } else {
        tampered
    };
    s.write("tampered.csr", tampered);

    assert!(cases.len() >= 30, "{} cases", cases.len());
    for c in cases.drain(..) {
        let before = s.snapshot();
        let mut cmd = match &c.env {
            Env::Emu => cli(&s, &emu, AuthMode::Signature),
            Env::EmuOAuth2 => cli(&s, &emu, AuthMode::OAuth2),
            Env::EmuPlus(vars) => {
                let mut cmd = cli(&s, &emu, AuthMode::Signature);
                for (k, v) in vars {
                    cmd.env(k, v);
                }
                cmd
            }
            Env::EmuNoOkmsId => {
                let mut cmd = cli(&s, &emu, AuthMode::Signature);
                cmd.env_remove("OKMS_ID");
                cmd
            }
            Env::Only(vars) => {
                let mut cmd = s.cmd();
                bare_env(&mut cmd, &s);
                for (k, v) in vars {
                    cmd.env(k, v);
                }
                cmd
            }
        };
        let out = cmd.args(&c.args).output().unwrap();
        let err = stderr_of(&out);
        let lower = err.to_lowercase();
        eprintln!("--- {} (exit {:?})\n{err}", c.name, out.status.code());
        assert_eq!(
            out.status.code(),
            Some(c.code),
            "{}: wrong exit code; stderr:\n{err}",
            c.name
        );
        for n in &c.needles {
            assert!(lower.contains(n), "{}: stderr lacks {n:?}:\n{err}", c.name);
        }
        assert!(!lower.contains("panicked"), "{}: panic:\n{err}", c.name);
        assert_eq!(s.snapshot(), before, "{}: files changed", c.name);
        assert_eq!(
            emu.credentials().len(),
            baseline_creds,
            "{}: a credential was created",
            c.name
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("PRIVATE KEY") && !err.contains("PRIVATE KEY"));
    }
}

/// The generated key cannot be written where asked (a read-only directory, or /proc for
/// root): it is saved to a fallback file, the command says where and fails, and the key
/// matches the certificate.
#[test]
fn unwritable_key_out_falls_back_and_fails() {
    use std::os::unix::fs::PermissionsExt;
    let emu = emulator();
    let s = Sandbox::new();
    let key_out = if is_root() {
        // Root ignores directory modes; /proc refuses new files to everyone.
        "/proc/okms-cli-test.key".to_owned()
    } else {
        std::fs::create_dir(s.path("ro")).unwrap();
        std::fs::set_permissions(s.path("ro"), std::fs::Permissions::from_mode(0o555)).unwrap();
        "ro/domain.key".to_owned()
    };
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "create", "--name", "fallback", "--root"])
        .args(["--key-out", &key_out])
        .output()
        .unwrap();
    if !is_root() {
        std::fs::set_permissions(s.path("ro"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let creds = emu.credentials();
    assert_eq!(creds.len(), 1);
    let id = creds[0].id.to_string();
    let file_name = std::path::Path::new(&key_out)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let rescued = format!("{file_name}.{id}.rescued");
    assert!(err.contains(&rescued), "{err}");
    assert!(err.contains("saved to"), "{err}");
    assert!(!err.contains("PRIVATE KEY"));
    assert!(s.exists(&rescued), "{err}");
    assert_eq!(s.mode(&rescued), 0o600);
    assert_eq!(
        fingerprint(&s, "cert", "client.cert"),
        fingerprint(&s, "key", &rescued)
    );
}

/// A ready access token that has expired: exit 7 naming the expiry, nothing written.
#[test]
fn expired_access_token() {
    let emu = emulator();
    let s = Sandbox::new();
    // Fetch a real token from the emulator's OAuth2 endpoint, by hand.
    let info = emu.info();
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        info.client_id, info.client_secret
    );
    let mut stream = std::net::TcpStream::connect(info.api_addr).unwrap();
    write!(
        stream,
        "POST /auth/oauth2/token HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        info.api_addr,
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let json_start = answer.find('{').unwrap();
    let v: serde_json::Value = serde_json::from_str(answer[json_start..].trim()).unwrap();
    let token = v["access_token"].as_str().unwrap().to_owned();

    let run = |s: &Sandbox| {
        let mut cmd = s.cmd();
        bare_env(&mut cmd, s);
        cmd.env("OVH_ENDPOINT", emu.api_url())
            .env("OVH_ACCESS_TOKEN", &token)
            .args(["whoami"])
            .output()
            .unwrap()
    };
    assert!(run(&s).status.success(), "the fresh token works");
    emu.advance_clock(std::time::Duration::from_secs(2 * 3600));
    let before = s.snapshot();
    let out = run(&s);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("expired"), "{err}");
    assert!(!err.contains(&token));
    assert_eq!(s.snapshot(), before);
}

/// No place at all to keep the generated key (requested path, working directory and temporary
/// directory all refuse): the credential is revoked, since nobody could hold its key, and the
/// command fails saying so.
#[test]
fn key_with_nowhere_to_go_revokes_the_credential() {
    let emu = emulator();
    let s = Sandbox::new();
    let cert = s.path("c.cert");
    let mut cmd = cli(&s, &emu, AuthMode::Signature);
    // /proc refuses new files to everyone, root included.
    cmd.current_dir("/proc").env("TMPDIR", "/proc");
    let out = cmd
        .args(["credential", "create", "--name", "nowhere", "--root"])
        .args(["--key-out", "/proc/okms-cli-test.key", "--cert-out"])
        .arg(&cert)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("could not be written anywhere"), "{err}");
    assert!(err.contains("was deleted"), "{err}");
    assert!(!err.contains("PRIVATE KEY"));
    let creds = emu.credentials();
    assert_eq!(creds.len(), 1);
    assert!(
        matches!(
            creds[0].phase,
            okms_emulator::CredentialPhase::Deleting | okms_emulator::CredentialPhase::Deleted
        ),
        "{creds:?}"
    );
    assert!(!cert.exists());
}
