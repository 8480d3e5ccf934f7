//! Secret hygiene: every command, offline and online, at the highest verbosity (`-vv`), with
//! every authentication method, succeeding and failing; nothing secret may appear on stdout
//! or stderr: no application secret, consumer key, client secret, access token, passphrase,
//! nor any private key's bytes (PEM body lines, the body joined on one line, the `\n`-escaped
//! JSON form). The only exceptions are outputs the user asked for (`key new --out -`, `pem
//! escape|unescape --out -` of a key), and those are checked to DO contain the key, which
//! proves the scanner finds a leak.
//!
//! Also: the `Debug` form of every type that holds a secret is redacted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{AuthMethod, Ran, okms_cli, online, run_bounded};
use okms_csr::ExposeSecret as _;
use okms_csr::{KeyFormat, Passphrase, PrivateKey};
use okms_emulator::{EmulatorConfig, RunningEmulator};

const URN: &str = "urn:v1:eu:identity:account:xx1111-ovh";
const LIMIT: Duration = Duration::from_secs(60);

/// A secret and the forms it could leak in.
struct Secret {
    what: String,
    needles: Vec<String>,
}

#[derive(Default)]
struct Scanner {
    secrets: Vec<Secret>,
    /// Commands scanned, for the summary.
    scanned: usize,
    /// How long each took.
    times: Vec<(Duration, String)>,
}

impl Scanner {
    fn plain(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 8, "{what} is too short to scan for");
        self.secrets.push(Secret {
            what: what.into(),
            needles: vec![value.to_owned()],
        });
    }

    /// A private key PEM file: its body lines, its body on one line, its `\n`-escaped form;
    /// and, decrypted (with `passphrase` if encrypted), the same forms of its PKCS#8 and
    /// traditional encodings.
    fn key_file(&mut self, path: &Path, passphrase: Option<&str>) {
        let pem = std::fs::read_to_string(path).unwrap();
        let pass = passphrase.map(Passphrase::from);
        let key = PrivateKey::import(pem.as_bytes(), pass.as_ref()).unwrap();
        // A private key's encoding also holds its public key (RSA modulus, EC point), which
        // is public (key pub, CSRs, certificates): a body line made only of public bytes is
        // not a secret. Such a line appears in the base64 of the SubjectPublicKeyInfo at one
        // of the three byte alignments.
        let spki = key.public_key().spki_der().to_vec();
        let public: Vec<String> = (0..3).map(|k| base64(&spki[k..])).collect();
        let spki_pem_body: String = key
            .public_key()
            .to_pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(
            public[0], spki_pem_body,
            "the test's base64 encoder is wrong"
        );
        self.pem(&format!("key file {}", path.display()), &pem, &public);
        for format in [KeyFormat::Pkcs8, KeyFormat::Traditional] {
            let decoded = key.to_pem(format).unwrap();
            self.pem(
                &format!("key of {} as {format:?}", path.display()),
                decoded.expose_secret(),
                &public,
            );
        }
    }

    fn pem(&mut self, what: &str, pem: &str, public: &[String]) {
        let body: Vec<&str> = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("-----") && !l.contains(':') && !l.is_empty())
            .collect();
        // Every body line but a short last one (a few base64 characters could occur by
        // chance), and but lines of public bytes only.
        let mut needles: Vec<String> = body
            .iter()
            .filter(|l| l.len() >= 16)
            .filter(|l| !public.iter().any(|p| p.contains(**l)))
            .map(|l| (*l).to_owned())
            .collect();
        assert!(!needles.is_empty(), "{what}: no PEM body");
        needles.push(body.concat());
        needles.push(pem.trim_end().replace('\n', "\\n"));
        self.secrets.push(Secret {
            what: what.into(),
            needles,
        });
    }

    /// The secrets found in `text`.
    fn leaks(&self, text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for s in &self.secrets {
            if let Some(n) = s.needles.iter().find(|n| text.contains(n.as_str())) {
                let shown: String = n.chars().take(12).collect();
                found.push(format!("{} (\"{shown}...\")", s.what));
            }
        }
        found
    }

    /// Runs a command and fails the test if stdout or stderr holds a secret. `expect_ok`
    /// says whether it must succeed (`Some(false)`: must fail with a non-zero exit and an
    /// error message).
    fn run(&mut self, label: &str, cmd: &mut Command, expect_ok: Option<bool>) -> Ran {
        let t = std::time::Instant::now();
        let ran = run_bounded(cmd, LIMIT);
        self.scanned += 1;
        self.times.push((t.elapsed(), label.to_owned()));
        assert!(!ran.timed_out, "{label}: hung");
        match expect_ok {
            Some(true) => assert!(ran.success(), "{label} failed: {ran:?}"),
            Some(false) => {
                assert!(
                    matches!(ran.code, Some(c) if c != 0 && c != 101),
                    "{label} must fail cleanly: {ran:?}"
                );
                assert!(ran.stderr.contains("error"), "{label}: no error: {ran:?}");
            }
            None => {}
        }
        assert!(!ran.stderr.contains("panicked"), "{label}: {ran:?}");
        for (stream, text) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
            let leaks = self.leaks(text);
            assert!(
                leaks.is_empty(),
                "{label}: {stream} leaks {leaks:?}:\n{text}"
            );
        }
        ran
    }
}

/// Standard base64 with padding (the tests crate has no base64 dependency).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Fetches an access token from the emulator's OAuth2 route with a plain HTTP/1.1 request.
fn fetch_token(emu: &RunningEmulator) -> String {
    let info = emu.info();
    let secret = okms_api::SecretString::from(info.client_secret.clone());
    let req =
        okms_api::oauth2::token_request(&info.oauth2_token_url, &info.client_id, &secret).unwrap();
    let mut raw = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        req.method(),
        req.uri().path(),
        info.api_addr,
        req.body().len()
    );
    for (k, v) in req.headers() {
        raw.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    raw.push_str("\r\n");
    let mut stream = std::net::TcpStream::connect(info.api_addr).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    stream.write_all(req.body()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "token: {answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    // The body may be chunked; the JSON object is what lies between the braces.
    let json = &body[body.find('{').unwrap()..=body.rfind('}').unwrap()];
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// okms-cli pointed at the emulator with a ready access token.
fn with_token(emu: &RunningEmulator, token: &str, dir: &Path) -> Command {
    let mut c = okms_cli();
    c.current_dir(dir)
        .env("OVH_ENDPOINT", emu.api_url())
        .env("OKMS_ID", emu.okms_id().to_string())
        .env("OVH_ACCESS_TOKEN", token);
    c
}

#[derive(Clone, Copy, Debug)]
enum How {
    Auth(AuthMethod),
    Token,
}

fn cli(emu: &RunningEmulator, how: How, token: &str, dir: &Path) -> Command {
    let mut c = match how {
        How::Auth(a) => online(emu, a, dir),
        How::Token => with_token(emu, token, dir),
    };
    c.env("OKMS_CA_FILE", &emu.info().ca_file).arg("-vv");
    c
}

fn offline(dir: &Path) -> Command {
    let mut c = okms_cli();
    c.current_dir(dir).arg("-vv");
    c
}

#[test]
fn no_secret_in_any_output_at_the_highest_verbosity() {
    // Build the binary before the clock starts.
    drop(okms_cli());
    let start = std::time::Instant::now();
    let emu = RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(100),
        delete_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let info = emu.info();
    let token = fetch_token(&emu);
    let passphrase = "correct horse battery staple 7Qx";
    let wrong_passphrase = "wrong passphrase for the scan 9Zk";
    let wrong_consumer_key = "WrongConsumerKeyAbcdefghij012345";
    let wrong_app_secret = "WrongApplicationSecretXyz0123456";
    let wrong_client_secret = "WrongClientSecretQwertyuiop98765";
    let mut s = Scanner::default();
    s.plain("application secret", &info.application_secret);
    s.plain("consumer key", &info.consumer_key);
    s.plain("client secret", &info.client_secret);
    s.plain("access token", &token);
    s.plain("passphrase", passphrase);
    s.plain("wrong passphrase", wrong_passphrase);
    s.plain("wrong consumer key", wrong_consumer_key);
    s.plain("wrong application secret", wrong_app_secret);
    s.plain("wrong client secret", wrong_client_secret);
    std::fs::write(dir.join("pass.txt"), format!("{passphrase}\n")).unwrap();
    std::fs::write(dir.join("wrong.txt"), format!("{wrong_passphrase}\n")).unwrap();

    // --- Offline ---------------------------------------------------------------------------
    s.run(
        "key new",
        offline(dir).args(["key", "new", "--out", "plain.key"]),
        Some(true),
    );
    s.run(
        "key new rsa traditional",
        offline(dir).args([
            "key",
            "new",
            "--algorithm",
            "rsa-2048",
            "--format",
            "traditional",
            "--out",
            "rsa.key",
        ]),
        Some(true),
    );
    s.run(
        "key new --encrypt --passphrase-file",
        offline(dir).args([
            "key",
            "new",
            "--encrypt",
            "--passphrase-file",
            "pass.txt",
            "--out",
            "enc-file.key",
        ]),
        Some(true),
    );
    s.run(
        "key new --encrypt --passphrase-env",
        offline(dir).env("SCAN_PASSPHRASE", passphrase).args([
            "key",
            "new",
            "--algorithm",
            "ecdsa-p384",
            "--encrypt",
            "--passphrase-env",
            "SCAN_PASSPHRASE",
            "--out",
            "enc-env.key",
        ]),
        Some(true),
    );
    s.run(
        "csr new --key-out --encrypt",
        offline(dir).env("SCAN_PASSPHRASE", passphrase).args([
            "csr",
            "new",
            "--key-out",
            "csr-made.key",
            "--encrypt",
            "--passphrase-env",
            "SCAN_PASSPHRASE",
            "--cn",
            "scan-made",
            "--out",
            "made.csr",
        ]),
        Some(true),
    );
    // From here on, every key on disk is a secret to look for.
    s.key_file(&dir.join("plain.key"), None);
    s.key_file(&dir.join("rsa.key"), None);
    s.key_file(&dir.join("enc-file.key"), Some(passphrase));
    s.key_file(&dir.join("enc-env.key"), Some(passphrase));
    s.key_file(&dir.join("csr-made.key"), Some(passphrase));
    // Commands that ran before the keys were known are re-checked by the --out - cases below
    // and by the runs that follow, which read the same keys.

    for (label, args) in [
        ("key show", vec!["key", "show", "plain.key"]),
        ("key show rsa", vec!["key", "show", "rsa.key"]),
        (
            "key show encrypted",
            vec![
                "key",
                "show",
                "enc-file.key",
                "--passphrase-file",
                "pass.txt",
            ],
        ),
        ("key pub", vec!["key", "pub", "plain.key"]),
        (
            "key pub encrypted",
            vec![
                "key",
                "pub",
                "enc-env.key",
                "--passphrase-env",
                "SCAN_PASSPHRASE",
            ],
        ),
        (
            "csr new --key",
            vec![
                "csr",
                "new",
                "--key",
                "plain.key",
                "--cn",
                "scan",
                "--out",
                "plain.csr",
            ],
        ),
        (
            "csr new --key encrypted",
            vec![
                "csr",
                "new",
                "--key",
                "enc-file.key",
                "--passphrase-file",
                "pass.txt",
                "--subject",
                "CN=scan-enc,O=Example",
                "--san",
                "dns:scan.example",
                "--out",
                "enc.csr",
            ],
        ),
        (
            "csr new to stdout",
            vec![
                "csr", "new", "--key", "rsa.key", "--cn", "scan-rsa", "--out", "-",
            ],
        ),
        ("csr show", vec!["csr", "show", "plain.csr"]),
        (
            "csr verify --key",
            vec![
                "csr",
                "verify",
                "enc.csr",
                "--key",
                "enc-file.key",
                "--passphrase-file",
                "pass.txt",
            ],
        ),
        (
            "pem escape key to file",
            vec!["pem", "escape", "plain.key", "--out", "plain.key.escaped"],
        ),
        (
            "pem escape key quoted to file",
            vec![
                "pem",
                "escape",
                "rsa.key",
                "--quoted",
                "--out",
                "rsa.key.quoted",
            ],
        ),
        (
            "pem escape key without --out",
            vec!["pem", "escape", "plain.key"],
        ),
        (
            "pem unescape key to file",
            vec![
                "pem",
                "unescape",
                "plain.key.escaped",
                "--out",
                "plain-again.key",
            ],
        ),
        (
            "pem unescape key without --out",
            vec!["pem", "unescape", "rsa.key.quoted"],
        ),
        ("pem escape csr", vec!["pem", "escape", "plain.csr"]),
        (
            "request new",
            vec![
                "request",
                "new",
                "--csr",
                "plain.csr",
                "--name",
                "scan-request",
                "--identity",
                URN,
                "--out",
                "request.json",
            ],
        ),
        ("request show", vec!["request", "show", "request.json"]),
    ] {
        let ok = !label.ends_with("without --out");
        s.run(
            label,
            offline(dir).env("SCAN_PASSPHRASE", passphrase).args(&args),
            if ok { Some(true) } else { None },
        );
    }
    assert_eq!(
        std::fs::read(dir.join("plain-again.key")).unwrap(),
        std::fs::read(dir.join("plain.key")).unwrap(),
        "the unescaped key is the key"
    );
    for (label, args) in [
        (
            "key show, wrong passphrase file",
            vec![
                "key",
                "show",
                "enc-file.key",
                "--passphrase-file",
                "wrong.txt",
            ],
        ),
        (
            "csr new, wrong passphrase env",
            vec![
                "csr",
                "new",
                "--key",
                "enc-env.key",
                "--passphrase-env",
                "SCAN_WRONG",
                "--cn",
                "x",
                "--out",
                "never.csr",
            ],
        ),
        (
            "key pub, encrypted key without passphrase source",
            vec!["key", "pub", "enc-file.key"],
        ),
        (
            "key new over an existing key",
            vec!["key", "new", "--out", "plain.key"],
        ),
    ] {
        s.run(
            label,
            offline(dir).env("SCAN_WRONG", wrong_passphrase).args(&args),
            Some(false),
        );
    }

    // The exceptions: the user asked for the key on stdout. The scanner must see it there,
    // or it would not see a leak either.
    let asked = run_bounded(offline(dir).args(["key", "new", "--out", "-"]), LIMIT);
    assert!(asked.success(), "{asked:?}");
    let printed = dir.join("printed.key");
    std::fs::write(&printed, &asked.stdout).unwrap();
    let mut probe = Scanner::default();
    probe.key_file(&printed, None);
    assert!(
        !probe.leaks(&asked.stdout).is_empty(),
        "the scanner must find the key `key new --out -` printed"
    );
    assert!(
        probe.leaks(&asked.stderr).is_empty(),
        "key new --out -: the key goes to stdout only"
    );
    for args in [
        vec!["pem", "escape", "plain.key", "--out", "-"],
        vec!["pem", "unescape", "plain.key.escaped", "--out", "-"],
        vec!["pem", "unescape", "rsa.key.quoted", "--out", "-"],
    ] {
        let asked = run_bounded(offline(dir).args(&args), LIMIT);
        assert!(asked.success(), "{args:?}: {asked:?}");
        assert!(
            !s.leaks(&asked.stdout).is_empty(),
            "{args:?}: the scanner must find the key printed on request:\n{}",
            asked.stdout
        );
        assert!(s.leaks(&asked.stderr).is_empty(), "{args:?}: {asked:?}");
    }

    // --- Online, with each way to authenticate -----------------------------------------------
    let okms_id = emu.okms_id().to_string();
    for (n, how) in [
        How::Auth(AuthMethod::Signature),
        How::Auth(AuthMethod::OAuth2),
        How::Token,
    ]
    .into_iter()
    .enumerate()
    {
        let c = |s: &mut Scanner, label: &str, args: &[&str], ok: Option<bool>| -> Ran {
            s.run(
                &format!("{how:?}: {label}"),
                cli(&emu, how, &token, dir).args(args),
                ok,
            )
        };
        c(&mut s, "whoami", &["whoami"], Some(true));
        c(&mut s, "whoami --json", &["--json", "whoami"], Some(true));
        c(&mut s, "domain list", &["domain", "list"], Some(true));
        c(
            &mut s,
            "domain show",
            &["domain", "show", &okms_id],
            Some(true),
        );
        c(
            &mut s,
            "domain show --json",
            &["--json", "domain", "show", &okms_id],
            Some(true),
        );

        // From a CSR, waiting for READY.
        let csr_cert = format!("csr-{n}.cert");
        let created = c(
            &mut s,
            "credential create --csr",
            &[
                "--json",
                "credential",
                "create",
                "--name",
                &format!("scan-csr-{n}"),
                "--root",
                "--csr",
                "plain.csr",
                "--cert-out",
                &csr_cert,
            ],
            Some(true),
        );
        let v: serde_json::Value = serde_json::from_str(&created.stdout).unwrap();
        let csr_id = v["credential"]["id"].as_str().unwrap().to_owned();

        // OVHcloud generates the key: from now on it is a secret too.
        let gen_key = format!("generated-{n}.key");
        let gen_cert = format!("generated-{n}.cert");
        let created = c(
            &mut s,
            "credential create (generated key)",
            &[
                "credential",
                "create",
                "--name",
                &format!("scan-gen-{n}"),
                "--identity",
                URN,
                "--certificate-type",
                if n % 2 == 0 { "ecdsa" } else { "rsa" },
                "--key-out",
                &gen_key,
                "--no-wait",
            ],
            Some(true),
        );
        s.key_file(&dir.join(&gen_key), None);
        // Scanned again now that the key is known.
        assert!(s.leaks(&created.stdout).is_empty() && s.leaks(&created.stderr).is_empty());
        let gen_id = created
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("Credential id"))
            .map(|l| l.trim_start_matches([':', ' ']).trim().to_owned())
            .unwrap_or_else(|| panic!("no credential id in {created:?}"));
        c(
            &mut s,
            "credential wait",
            &["credential", "wait", &gen_id, "--cert-out", &gen_cert],
            Some(true),
        );
        c(
            &mut s,
            "credential get",
            &[
                "credential",
                "get",
                &csr_id,
                "--cert-out",
                &format!("got-{n}.cert"),
            ],
            Some(true),
        );
        c(
            &mut s,
            "credential get --json",
            &["--json", "credential", "get", &gen_id],
            Some(true),
        );
        c(
            &mut s,
            "credential list",
            &["credential", "list"],
            Some(true),
        );
        c(
            &mut s,
            "credential list --json",
            &["--json", "credential", "list"],
            Some(true),
        );
        c(
            &mut s,
            "credential check (generated key)",
            &[
                "credential",
                "check",
                "--cert",
                &gen_cert,
                "--key",
                &gen_key,
            ],
            Some(true),
        );
        c(
            &mut s,
            "credential check --json (CSR key)",
            &[
                "--json",
                "credential",
                "check",
                "--cert",
                &csr_cert,
                "--key",
                "plain.key",
            ],
            Some(true),
        );
        c(
            &mut s,
            "credential check, wrong key",
            &[
                "credential",
                "check",
                "--cert",
                &csr_cert,
                "--key",
                &gen_key,
            ],
            Some(false),
        );
        c(
            &mut s,
            "cert show --key",
            &["cert", "show", &gen_cert, "--key", &gen_key],
            Some(true),
        );
        c(
            &mut s,
            "credential create --request",
            &[
                "credential",
                "create",
                "--request",
                "request.json",
                "--cert-out",
                &format!("request-{n}.cert"),
            ],
            Some(true),
        );
        c(
            &mut s,
            "credential create, existing --key-out",
            &[
                "credential",
                "create",
                "--name",
                "scan-refused",
                "--identity",
                URN,
                "--key-out",
                &gen_key,
            ],
            Some(false),
        );
        c(
            &mut s,
            "credential delete",
            &["credential", "delete", &gen_id, "--yes"],
            Some(true),
        );
        c(
            &mut s,
            "credential delete --json",
            &["--json", "credential", "delete", &csr_id, "--yes"],
            Some(true),
        );
        c(
            &mut s,
            "credential get, unknown id",
            &["credential", "get", "00000000-0000-4000-8000-000000000000"],
            Some(false),
        );
    }

    // --- Online failures: refused credentials ------------------------------------------------
    let failing: Vec<(&str, Command)> = vec![
        ("wrong consumer key (403)", {
            let mut c = cli(&emu, How::Auth(AuthMethod::Signature), &token, dir);
            c.env("OVH_CONSUMER_KEY", wrong_consumer_key);
            c
        }),
        ("wrong application secret", {
            let mut c = cli(&emu, How::Auth(AuthMethod::Signature), &token, dir);
            c.env("OVH_APPLICATION_SECRET", wrong_app_secret);
            c
        }),
        ("wrong client secret (401 at the token route)", {
            let mut c = cli(&emu, How::Auth(AuthMethod::OAuth2), &token, dir);
            c.env("OVH_CLIENT_SECRET", wrong_client_secret);
            c
        }),
        ("unknown access token (401)", {
            let mut c = cli(&emu, How::Token, &token, dir);
            c.env("OVH_ACCESS_TOKEN", wrong_client_secret);
            c
        }),
        ("two auth methods at once", {
            let mut c = cli(&emu, How::Auth(AuthMethod::Signature), &token, dir);
            c.env("OVH_CLIENT_ID", &info.client_id)
                .env("OVH_CLIENT_SECRET", &info.client_secret);
            c
        }),
    ];
    for (label, base) in failing {
        for args in [
            vec!["whoami"],
            vec!["credential", "list"],
            vec![
                "credential",
                "create",
                "--name",
                "scan-denied",
                "--identity",
                URN,
                "--key-out",
                "denied.key",
            ],
        ] {
            let mut cmd = Command::new(base.get_program());
            cmd.current_dir(dir);
            for (k, v) in base.get_envs() {
                match v {
                    Some(v) => cmd.env(k, v),
                    None => cmd.env_remove(k),
                };
            }
            cmd.args(base.get_args()).args(&args);
            let ran = s.run(&format!("{label}: {args:?}"), &mut cmd, Some(false));
            assert_eq!(
                ran.code,
                Some(okms_cli::exit::Exit::Auth as i32),
                "{label}: {args:?}: an authentication failure, got {ran:?}"
            );
        }
    }
    assert!(
        !dir.join("denied.key").exists(),
        "no key file from a refused create"
    );

    // ovh.conf: the secrets come from a file, valid or not (a parse error must not quote it).
    // (Not named ovh.conf in the working directory, which okms-cli reads by default.)
    let api = emu.api_url();
    std::fs::write(
        dir.join("scan-ovh.conf"),
        format!(
            "[default]\nendpoint={api}\n[{api}]\napplication_key={}\napplication_secret={}\nconsumer_key={}\n",
            info.application_key, info.application_secret, info.consumer_key
        ),
    )
    .unwrap();
    s.run(
        "ovh.conf: whoami",
        offline(dir).args(["--config", "scan-ovh.conf", "whoami"]),
        Some(true),
    );
    for (n, text) in [
        format!(
            "[default]\nendpoint={api}\n[{api}]\napplication_key={}\napplication_secret=\"{}\nconsumer_key={}\n",
            info.application_key, info.application_secret, info.consumer_key
        ),
        format!("[default]\nendpoint={api}\n[{api}\napplication_secret={}\n", info.application_secret),
        format!("client_secret {} [x\n\\", info.client_secret),
        format!(
            "[default]\nendpoint={api}\n[{api}]\napplication_key={}\napplication_secret={}\nconsumer_key={}\nclient_id={}\nclient_secret={}\n",
            info.application_key, info.application_secret, info.consumer_key, info.client_id, info.client_secret
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let file = format!("bad-{n}.conf");
        std::fs::write(dir.join(&file), text).unwrap();
        s.run(
            &format!("broken or ambiguous ovh.conf {n}"),
            offline(dir).args(["--config", &file, "credential", "list"]).env("OKMS_ID", emu.okms_id().to_string()),
            Some(false),
        );
    }

    // An expired token: move the emulator's clock past the token's lifetime.
    emu.advance_clock(Duration::from_secs(2 * 3600));
    for args in [vec!["whoami"], vec!["credential", "list"]] {
        let ran = s.run(
            &format!("expired access token: {args:?}"),
            cli(&emu, How::Token, &token, dir).args(&args),
            Some(false),
        );
        assert!(
            ran.stderr.contains("401") || ran.stderr.to_lowercase().contains("expired"),
            "{ran:?}"
        );
    }
    eprintln!(
        "secret scan: {} command runs scanned for {} secrets in {:.1}s",
        s.scanned,
        s.secrets.len(),
        start.elapsed().as_secs_f64()
    );
    s.times.sort();
    for (d, label) in s.times.iter().rev().take(8) {
        eprintln!("secret scan: slowest: {d:?} {label}");
    }
}

/// `Debug` of every type holding a secret shows none of it.
#[test]
fn debug_forms_are_redacted() {
    let secret = "TopSecretValue0123456789abcdefXYZ";
    let secret2 = "AnotherSecretValue98765zyxwvu";
    let check = |what: &str, dbg: String| {
        for s in [secret, secret2] {
            assert!(!dbg.contains(s), "Debug of {what} shows a secret: {dbg}");
        }
    };

    // okms-api configuration, for each method.
    use okms_api::{Config, ConfigOverrides, ConfigSources, SecretString};
    let none = ConfigSources::default();
    for o in [
        ConfigOverrides {
            endpoint: Some("ovh-eu".into()),
            application_key: Some("ak123".into()),
            application_secret: Some(SecretString::from(secret)),
            consumer_key: Some(SecretString::from(secret2)),
            ..ConfigOverrides::default()
        },
        ConfigOverrides {
            endpoint: Some("ovh-eu".into()),
            client_id: Some("cid".into()),
            client_secret: Some(SecretString::from(secret)),
            ..ConfigOverrides::default()
        },
        ConfigOverrides {
            endpoint: Some("ovh-eu".into()),
            access_token: Some(SecretString::from(secret2)),
            ..ConfigOverrides::default()
        },
    ] {
        check("ConfigOverrides", format!("{o:?}"));
        let config = Config::load(&o, &none).unwrap();
        check("Config", format!("{config:?}"));
        check("Auth", format!("{:?}", config.auth));
        check("Config (alternate)", format!("{config:#?}"));
        let client = okms_api::Client::new(config).unwrap();
        check("Client", format!("{client:?}"));
    }
    let token = okms_api::oauth2::AccessToken {
        token: SecretString::from(secret),
        expires_in: None,
    };
    check("AccessToken", format!("{token:?}"));

    // A create answer holding a generated key.
    let key = PrivateKey::generate(okms_csr::KeyAlgorithm::EcdsaP256).unwrap();
    let pem = key.to_pem(KeyFormat::Pkcs8).unwrap();
    let body_line = pem.expose_secret().lines().nth(1).unwrap().to_owned();
    let json = serde_json::json!({
        "id": "0b5bc7d9-2f0e-4b1e-9c4e-1d6f3a2b9c8d",
        "name": "n",
        "identityURNs": [URN],
        "status": "CREATING",
        "createdAt": "2026-01-01T00:00:00Z",
        "expiredAt": "2027-01-01T00:00:00Z",
        "privateKeyPEM": pem.expose_secret(),
    });
    let created: okms_api::CreatedCredential = serde_json::from_value(json).unwrap();
    let dbg = format!("{created:?}");
    assert!(!dbg.contains(&body_line), "CreatedCredential Debug: {dbg}");

    // okms-csr keys and secrets.
    for alg in [
        okms_csr::KeyAlgorithm::EcdsaP256,
        okms_csr::KeyAlgorithm::Rsa2048,
    ] {
        let key = PrivateKey::generate(alg).unwrap();
        for format in [KeyFormat::Pkcs8, KeyFormat::Traditional] {
            let pem = key.to_pem(format).unwrap();
            for dbg in [format!("{key:?}"), format!("{key:#?}"), format!("{pem:?}")] {
                for line in pem
                    .expose_secret()
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                {
                    assert!(
                        line.len() < 16 || !dbg.contains(line),
                        "Debug of a {alg:?} key shows its bytes: {dbg}"
                    );
                }
            }
        }
    }
    check("Passphrase", format!("{:?}", Passphrase::from(secret)));

    // The emulator's connection details and settings.
    let creds = okms_emulator::ApiCredentials {
        application_key: "ak".into(),
        application_secret: secret.into(),
        consumer_key: secret2.into(),
        client_id: "cid".into(),
        client_secret: secret.into(),
    };
    check("ApiCredentials", format!("{creds:?}"));
    let config = EmulatorConfig {
        credentials: Some(creds),
        ..EmulatorConfig::default()
    };
    check("EmulatorConfig", format!("{config:?}"));
    let emu = RunningEmulator::spawn_in_thread(config).unwrap();
    check("EmulatorInfo", format!("{:?}", emu.info()));
    check("RunningEmulator", format!("{emu:?}"));
}
