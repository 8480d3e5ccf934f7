//! The offline page (`cargo xtask web`), in headless Chromium and headless Firefox driven over
//! WebDriver, opened from a `file://` path with the network out of reach, as a user on an
//! air-gapped host opens it: fill the form, click Generate, save the three files; then openssl,
//! Python `cryptography`, okms-cli and the emulator take them as they take okms-cli's own.
//! Both browsers run the same scenarios ([`Engine`] holds what differs: the driver, its
//! capabilities, how downloads and the network are set up).
//!
//! The WebDriver client is a few lines of HTTP/1.1 over `std::net` to chromedriver or
//! geckodriver on 127.0.0.1: no browser-automation crate or Python package to install in CI.
//!
//! Skip rule: without a browser or its driver, the wasm32 target or the wasm-bindgen command
//! line, the tests are skipped (okms-test-support's `skip_or_fail`: a loud banner, and counted
//! as skipped by `cargo xtask test`) and return; under `OKMS_REQUIRE_WEB=1` they fail instead,
//! for each browser.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64ct::{Base64, Encoding};
use common::{AuthMethod, emulator, ok, okms_cli, online};
use okms_csr::{Certificate, Csr, Passphrase, PrivateKey, PublicKey, same_public_key};
use okms_test_support::{interop, skip_or_fail};
use serde_json::{Value, json};

const REQUIRE_VAR: &str = "OKMS_REQUIRE_WEB";
const PASSPHRASE: &str = "page passphrase 1";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The page, built once for this file by `cargo xtask web`; `None` after a loud skip.
fn page() -> Option<PathBuf> {
    static PAGE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = PAGE.get_or_init(|| {
        let out = Command::new(env!("CARGO"))
            .current_dir(workspace_root())
            .args(["run", "-q", "-p", "xtask", "--", "web"])
            .output()
            .map_err(|e| format!("cannot run cargo xtask web: {e}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last: Vec<&str> = stderr.lines().rev().take(3).collect();
            return Err(format!(
                "`cargo xtask web` failed ({}); run .ci/install-web-deps",
                last.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ));
        }
        Ok(target_dir().join("dist/okms-offline.html"))
    });
    match built {
        Ok(p) => Some(p.clone()),
        Err(msg) => {
            skip_or_fail(msg, REQUIRE_VAR);
            None
        }
    }
}

/// The browsers the page must work in, each with its WebDriver server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Chromium,
    Firefox,
}

/// A proxy port on which nothing listens (discard): every request the browser would make,
/// loopback included, fails there. The page must not need any.
const DEAD_PROXY_PORT: u16 = 9;

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
        }
    }

    /// The browser and its driver, or `None` after a loud skip.
    fn installed(self) -> Option<(PathBuf, PathBuf)> {
        let (browser, driver, install) = match self {
            Engine::Chromium => (
                on_path("chromium").or_else(|| on_path("chromium-browser")),
                on_path("chromedriver"),
                "`apt-get install chromium chromium-driver`",
            ),
            Engine::Firefox => (
                on_path("firefox-esr").or_else(|| on_path("firefox")),
                // `cargo install geckodriver` puts it in Cargo's bin directory, which a shell
                // that did not source Cargo's env file lacks on PATH.
                on_path("geckodriver").or_else(|| {
                    cargo_home()
                        .map(|h| h.join("bin/geckodriver"))
                        .filter(|p| p.is_file())
                }),
                "`apt-get install firefox-esr` and `cargo install geckodriver --locked`",
            ),
        };
        match (browser, driver) {
            (Some(b), Some(d)) => Some((b, d)),
            _ => {
                skip_or_fail(
                    &format!(
                        "{} or its WebDriver server is not installed; install them with \
                         {install} (or run .ci/install-web-deps) to run the offline page's \
                         browser tests",
                        self.name()
                    ),
                    REQUIRE_VAR,
                );
                None
            }
        }
    }

    fn driver_args(self, port: u16) -> Vec<String> {
        match self {
            Engine::Chromium => vec![format!("--port={port}")],
            // Marionette on a port the system picks, so that two Firefoxes run side by side.
            Engine::Firefox => vec![
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--marionette-port".into(),
                "0".into(),
            ],
        }
    }

    /// The new-session capabilities: headless, downloads saved to `downloads` without a
    /// prompt, and every request sent to a proxy that is not there.
    fn capabilities(self, binary: &Path, downloads: &Path, profile: &Path) -> Value {
        let downloads = downloads.to_string_lossy();
        match self {
            Engine::Chromium => {
                let args = [
                    "--headless".to_owned(),
                    "--no-sandbox".to_owned(),
                    "--disable-gpu".to_owned(),
                    "--disable-quic".to_owned(),
                    "--no-first-run".to_owned(),
                    "--disable-background-networking".to_owned(),
                    "--disable-component-update".to_owned(),
                    "--disable-sync".to_owned(),
                    format!("--proxy-server=http://127.0.0.1:{DEAD_PROXY_PORT}"),
                    // Loopback is not exempt: a request to this host fails too.
                    "--proxy-bypass-list=<-loopback>".to_owned(),
                    "--window-size=1000,2400".to_owned(),
                    format!("--user-data-dir={}", profile.display()),
                ];
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": binary.to_string_lossy(),
                        "args": args,
                        "prefs": {
                            "download.default_directory": downloads,
                            "download.prompt_for_download": false,
                        },
                    },
                }}})
            }
            // geckodriver makes its own profile (with Marionette's prefs that already turn off
            // updates, telemetry and the like); these prefs go on top.
            Engine::Firefox => json!({"capabilities": {"alwaysMatch": {
                "browserName": "firefox",
                "moz:firefoxOptions": {
                    "binary": binary.to_string_lossy(),
                    "args": ["-headless"],
                    "prefs": {
                        "browser.download.folderList": 2,
                        "browser.download.dir": downloads,
                        "browser.download.useDownloadDir": true,
                        "browser.download.always_ask_before_handling_new_types": false,
                        "browser.download.manager.showWhenStarting": false,
                        "browser.download.alwaysOpenPanel": false,
                        "browser.helperApps.neverAsk.saveToDisk":
                            "application/x-pem-file,application/pkcs10,application/json,application/octet-stream,text/plain",
                        "network.proxy.type": 1,
                        "network.proxy.http": "127.0.0.1",
                        "network.proxy.http_port": DEAD_PROXY_PORT,
                        "network.proxy.ssl": "127.0.0.1",
                        "network.proxy.ssl_port": DEAD_PROXY_PORT,
                        "network.proxy.share_proxy_settings": true,
                        "network.proxy.no_proxies_on": "",
                        // Loopback is not exempt: a request to this host fails too.
                        "network.proxy.allow_hijacking_localhost": true,
                        "network.trr.mode": 5,
                        "network.dns.disablePrefetch": true,
                        "network.prefetch-next": false,
                        "network.captive-portal-service.enabled": false,
                        "network.connectivity-service.enabled": false,
                        "browser.safebrowsing.malware.enabled": false,
                        "browser.safebrowsing.phishing.enabled": false,
                        "browser.safebrowsing.downloads.enabled": false,
                        "browser.safebrowsing.downloads.remote.enabled": false,
                        "app.update.auto": false,
                        "extensions.update.enabled": false,
                    },
                },
            }}}),
        }
    }
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// One HTTP/1.1 exchange with the WebDriver server; the status and the body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(addr).expect("connect to the WebDriver server");
    stream
        .set_read_timeout(Some(Duration::from_secs(180)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // A server may keep the connection open: read the head, then exactly the body.
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the WebDriver server closed the connection");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().expect("a content length"));
    let complete = |raw: &[u8]| match length {
        Some(len) => raw.len() >= head_end + len,
        None => raw.ends_with(b"0\r\n\r\n"),
    };
    while !complete(&raw) {
        let n = stream.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "the WebDriver server closed the connection mid-answer"
        );
        raw.extend_from_slice(&buf[..n]);
    }
    let rest = String::from_utf8_lossy(&raw[head_end..]).into_owned();
    let body = if length.is_none() {
        dechunk(&rest)
    } else {
        rest
    };
    (status, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").expect("a chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("a hex chunk size");
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

/// A WebDriver server with one headless browser session; both end with it.
struct Browser {
    engine: Engine,
    addr: SocketAddr,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(engine: Engine, binary: &Path, driver_path: &Path, downloads: &Path) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        // The driver's log is kept beside the screenshots: the one place that says why a
        // browser did not start in CI.
        let logs = target_dir().join("web-test");
        std::fs::create_dir_all(&logs).unwrap();
        let log = std::fs::File::create(logs.join(format!("{}-driver-{port}.log", engine.name())))
            .unwrap();
        let driver = Command::new(driver_path)
            .args(engine.driver_args(port))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_path.display()));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} did not listen",
                driver_path.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = engine.capabilities(binary, downloads, profile.path());
        let (status, body) = http(addr, "POST", "/session", Some(&caps));
        assert_eq!(status, 200, "new {} session: {body}", engine.name());
        let answer: Value = serde_json::from_str(&body).unwrap();
        let session = answer["value"]["sessionId"].as_str().unwrap().to_owned();
        let browser = Browser {
            engine,
            addr,
            session,
            driver,
            _profile: profile,
        };
        if engine == Engine::Firefox {
            // Firefox has no window-size flag; the screenshot shows the whole result.
            browser.call(
                "POST",
                "/window/rect",
                Some(json!({"width": 1000, "height": 2400})),
            );
        }
        if engine == Engine::Chromium {
            browser.call(
                "POST",
                "/goog/cdp/execute",
                Some(json!({"cmd": "Browser.setDownloadBehavior", "params":
                    {"behavior": "allow", "downloadPath": downloads.to_string_lossy()}})),
            );
        }
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, text) = http(self.addr, method, &path, body.as_ref());
        assert_eq!(status, 200, "{method} {path}: {text}");
        serde_json::from_str::<Value>(&text).unwrap()["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn script(&self, body: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": body, "args": args})),
        )
    }

    fn element(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn text(&self, id: &str) -> String {
        self.script(
            "return document.getElementById(arguments[0]).textContent;",
            json!([id]),
        )
        .as_str()
        .unwrap()
        .to_owned()
    }

    fn wait_for(&self, condition: &str, what: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.script(condition, json!([])) != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "{}: timed out waiting for {what}",
                self.engine.name()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, path: &Path) {
        let png = self.call("GET", "/screenshot", None);
        let bytes = Base64::decode_vec(png.as_str().unwrap()).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    /// Opens the page and waits until its module is loaded.
    fn open_page(&self, page: &Path) {
        let url = format!("file://{}", page.canonicalize().unwrap().display());
        self.open(&url);
        self.wait_for(
            "return document.body.dataset.ready === 'true';",
            "the WebAssembly module to load",
            Duration::from_secs(60),
        );
    }

    /// Clicks Generate and waits for the result or a refusal.
    fn generate(&self) {
        self.click("#generate");
        self.wait_for(
            "return !document.getElementById('result').hidden || \
             !document.getElementById('error').hidden;",
            "the page to answer",
            Duration::from_secs(120),
        );
    }

    fn refusal(&self) -> Option<String> {
        let shown = self.script(
            "const e = document.getElementById('error'); return e.hidden ? null : e.textContent;",
            json!([]),
        );
        shown.as_str().map(str::to_owned)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.session);
        let _ = http(self.addr, "DELETE", &path, None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Waits for a finished download. Chromium writes `name.crdownload`, then renames it; Firefox
/// makes an empty `name` at once and writes `name.part` beside it until the end.
fn downloaded(dir: &Path, name: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let path = dir.join(name);
        let in_progress = [".crdownload", ".part"]
            .iter()
            .any(|ext| dir.join(format!("{name}{ext}")).exists());
        // Firefox first makes an empty placeholder under the final name, then the `.part` it
        // writes and renames over it: an empty file is not the download yet (the page offers
        // no empty file), seen when a loaded machine slows the browser between the two.
        let written = std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() > 0);
        if written && !in_progress {
            return std::fs::read(path).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{name} was not downloaded into {}: {:?}",
            dir.display(),
            std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn prerequisites(engine: Engine) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let (binary, driver) = engine.installed()?;
    let page = page()?;
    Some((binary, driver, page))
}

#[test]
fn chromium_the_page_makes_a_key_csr_and_request_that_openssl_python_okms_cli_and_the_api_accept() {
    the_page_makes_a_key_csr_and_request_that_openssl_python_okms_cli_and_the_api_accept(
        Engine::Chromium,
    );
}

#[test]
fn firefox_the_page_makes_a_key_csr_and_request_that_openssl_python_okms_cli_and_the_api_accept() {
    the_page_makes_a_key_csr_and_request_that_openssl_python_okms_cli_and_the_api_accept(
        Engine::Firefox,
    );
}

#[test]
fn chromium_the_page_refuses_what_okms_cli_refuses_before_making_a_key() {
    the_page_refuses_what_okms_cli_refuses_before_making_a_key(Engine::Chromium);
}

#[test]
fn firefox_the_page_refuses_what_okms_cli_refuses_before_making_a_key() {
    the_page_refuses_what_okms_cli_refuses_before_making_a_key(Engine::Firefox);
}

fn the_page_makes_a_key_csr_and_request_that_openssl_python_okms_cli_and_the_api_accept(
    engine: Engine,
) {
    let Some((binary, driver, page)) = prerequisites(engine) else {
        return;
    };
    let Some(openssl) = interop::openssl("the offline page's interop tests") else {
        return;
    };
    let Some(python) = interop::python_cryptography("the offline page's interop tests") else {
        return;
    };
    let emulator = emulator();
    let downloads = tempfile::tempdir().unwrap();
    let dir = downloads.path();
    let browser = Browser::start(engine, &binary, &driver, dir);
    browser.open_page(&page);

    // Nothing was fetched to show the page, and the policy refuses a fetch even to this host.
    let resources = browser.script(
        "return performance.getEntriesByType('resource').map(e => e.name);",
        json!([]),
    );
    assert_eq!(resources, json!([]), "the page loads no other resource");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let probe = format!("http://{}/probe", listener.local_addr().unwrap());
    let answer = browser.call(
        "POST",
        "/execute/async",
        Some(json!({"script": "const done = arguments[arguments.length - 1]; const seen = [];
            document.addEventListener('securitypolicyviolation', e => seen.push(e.effectiveDirective));
            fetch(arguments[0]).then(() => done({fetched: true, seen}),
                () => setTimeout(() => done({fetched: false, seen}), 200));",
            "args": [probe]})),
    );
    assert_eq!(answer["fetched"], json!(false), "{answer}");
    assert_eq!(
        answer["seen"],
        json!(["connect-src"]),
        "the CSP refused it: {answer}"
    );
    assert!(
        listener.accept().is_err(),
        "no connection reached 127.0.0.1"
    );

    browser.click("#algorithm option[value='ecdsa-p384']");
    browser.type_into("#common_name", "payments");
    browser.type_into("#name", "payments-web");
    browser.type_into("#validity", "30");
    browser.type_into("#nic", &emulator.info().nic);
    browser.click("#region option[value='eu']");
    browser.click("#root");
    browser.type_into("#passphrase", PASSPHRASE);
    browser.type_into("#passphrase_confirm", PASSPHRASE);
    browser.generate();
    assert_eq!(browser.refusal(), None);
    browser.screenshot(&target_dir().join(format!(
        "web-test/okms-offline-generated-{}.png",
        engine.name()
    )));

    let fingerprint = browser.text("fingerprint");
    let csr_shown = browser.text("csr");
    let request_shown = browser.text("request");
    assert!(browser.text("status").contains("Nothing was sent anywhere"));
    assert!(
        browser
            .text("key_state")
            .contains("encrypted with your passphrase")
    );
    browser.click("#download_key");
    browser.click("#download_csr");
    browser.click("#download_request");
    let key_pem = downloaded(dir, "domain.key");
    let csr_pem = downloaded(dir, "client.csr");
    let request = downloaded(dir, "request.json");
    assert_eq!(String::from_utf8(csr_pem).unwrap(), csr_shown);
    assert_eq!(String::from_utf8(request.clone()).unwrap(), request_shown);
    assert!(key_pem.starts_with(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));

    // okms-csr reads what the page wrote, and the fingerprint shown is the key's.
    let key = PrivateKey::import(&key_pem, Some(&Passphrase::from(PASSPHRASE))).unwrap();
    assert_eq!(key.public_key().fingerprint_sha256(), fingerprint);
    let csr = Csr::from_pem(&csr_shown).unwrap();
    csr.verify().unwrap();
    assert_eq!(csr.subject(), "CN=payments");
    assert!(same_public_key(&csr.public_key(), &key.public_key()));

    // openssl and Python cryptography: the CSR verifies, the key opens with the passphrase.
    openssl.verify_csr(dir, "client.csr");
    let der = openssl.public_key_der(dir, "domain.key", Some(PASSPHRASE));
    assert_eq!(
        PublicKey::parse(&der).unwrap().fingerprint_sha256(),
        fingerprint
    );
    let said = python.run(
        dir,
        &format!(
            "from cryptography import x509\n\
             from cryptography.hazmat.primitives import serialization as s\n\
             csr = x509.load_pem_x509_csr(open('client.csr','rb').read())\n\
             key = s.load_pem_private_key(open('domain.key','rb').read(), password={PASSPHRASE:?}.encode())\n\
             f = s.PublicFormat.SubjectPublicKeyInfo\n\
             same = key.public_key().public_bytes(s.Encoding.DER, f) == csr.public_key().public_bytes(s.Encoding.DER, f)\n\
             print(csr.is_signature_valid, same, key.curve.name)"
        ),
    );
    assert_eq!(said.trim(), "True True secp384r1");

    // okms-cli opens the key with the passphrase and shows the same fingerprint.
    let shown = ok(okms_cli()
        .current_dir(dir)
        .env("WEB_PASS", PASSPHRASE)
        .args(["key", "show", "domain.key", "--passphrase-env", "WEB_PASS"]));
    assert!(shown.contains(&fingerprint), "{shown}");
    ok(okms_cli()
        .current_dir(dir)
        .env("WEB_PASS", PASSPHRASE)
        .args([
            "csr",
            "verify",
            "client.csr",
            "--key",
            "domain.key",
            "--passphrase-env",
            "WEB_PASS",
        ]));

    // The connected host: the page's request goes through the API as request new's does.
    let connected = tempfile::tempdir().unwrap();
    std::fs::write(connected.path().join("request.json"), &request).unwrap();
    ok(
        online(&emulator, AuthMethod::Signature, connected.path()).args([
            "credential",
            "create",
            "--request",
            "request.json",
            "--cert-out",
            "client.cert",
        ]),
    );
    let cert = Certificate::from_pem(
        &std::fs::read_to_string(connected.path().join("client.cert")).unwrap(),
    )
    .unwrap();
    assert!(same_public_key(&cert.public_key(), &key.public_key()));
    let body: Value = serde_json::from_slice(&request).unwrap();
    assert_eq!(body["name"], "payments-web");
    assert_eq!(body["validity"], 30);
    assert_eq!(
        body["identityURNs"],
        json!([format!(
            "urn:v1:eu:identity:account:{}",
            emulator.info().nic
        )])
    );
}

/// okms-cli's words for the same input: its `error:` line and first `caused by:` line.
fn cli_refusal(dir: &Path, args: &[&str]) -> String {
    let out = okms_cli().current_dir(dir).args(args).output().unwrap();
    assert!(!out.status.success(), "okms-cli {args:?} should refuse");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    match stderr.lines().find_map(|l| l.strip_prefix("caused by: ")) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_owned(),
    }
}

fn the_page_refuses_what_okms_cli_refuses_before_making_a_key(engine: Engine) {
    let Some((binary, driver, page)) = prerequisites(engine) else {
        return;
    };
    let downloads = tempfile::tempdir().unwrap();
    let dir = downloads.path();
    let browser = Browser::start(engine, &binary, &driver, dir);
    browser.open_page(&page);
    let nothing_made = |browser: &Browser| {
        assert_eq!(browser.text("status"), "Nothing was generated.");
        let result = browser.script(
            "return [document.getElementById('result').hidden, document.getElementById('download_key').getAttribute('href')];",
            json!([]),
        );
        assert_eq!(result, json!([true, "#"]), "no key was offered");
    };
    let invalid_field = |browser: &Browser| {
        browser.script(
            "const e = document.querySelector('[aria-invalid=true]'); return e ? e.id : null;",
            json!([]),
        )
    };

    // A CSR for okms-cli to refuse the same fields with.
    ok(okms_cli().current_dir(dir).args([
        "csr",
        "new",
        "--cn",
        "x",
        "--key-out",
        "k.pem",
        "--out",
        "x.csr",
    ]));

    // An empty name, everything else right.
    browser.type_into("#common_name", "app1");
    browser.type_into("#nic", "xx1111-ovh");
    browser.click("#root");
    browser.generate();
    let shown = browser.refusal().expect("an empty name is refused");
    let cli = cli_refusal(
        dir,
        &[
            "request",
            "new",
            "--csr",
            "x.csr",
            "--name",
            "",
            "--root",
            "--nic",
            "xx1111-ovh",
            "--region",
            "eu",
            "--out",
            "r.json",
        ],
    );
    assert_eq!(
        cli,
        "the request would be rejected by the API: invalid name: must not be empty"
    );
    assert_eq!(shown, format!("error: {cli}"));
    assert_eq!(invalid_field(&browser), json!("name"));
    nothing_made(&browser);

    // The two passphrases differ: okms-cli's prompt says "the two passphrases differ".
    browser.type_into("#name", "app1-cert");
    browser.type_into("#passphrase", "one passphrase");
    browser.type_into("#passphrase_confirm", "another one");
    browser.generate();
    let shown = browser
        .refusal()
        .expect("different passphrases are refused");
    assert!(
        shown.starts_with("error: the two passphrases differ"),
        "{shown}"
    );
    assert_eq!(invalid_field(&browser), json!("passphrase_confirm"));
    nothing_made(&browser);
    browser.type_into("#passphrase", "");
    browser.type_into("#passphrase_confirm", "");

    // A user login with a space, and a common name okms-cli refuses: the same words.
    browser.type_into("#users", "john smith");
    browser.generate();
    let shown = browser.refusal().expect("a login with a space is refused");
    let cli = cli_refusal(
        dir,
        &[
            "request",
            "new",
            "--csr",
            "x.csr",
            "--name",
            "n",
            "--user",
            "john smith",
            "--nic",
            "xx1111-ovh",
            "--region",
            "eu",
            "--out",
            "r.json",
        ],
    );
    assert!(
        shown.starts_with(&format!("error: {cli}")),
        "{shown} / {cli}"
    );
    assert_eq!(invalid_field(&browser), json!("users"));
    nothing_made(&browser);
    browser.type_into("#users", "");

    browser.type_into("#common_name", "");
    browser.generate();
    let shown = browser.refusal().expect("an empty common name is refused");
    let cli = cli_refusal(
        dir,
        &[
            "csr",
            "new",
            "--cn",
            "",
            "--key-out",
            "k2.pem",
            "--out",
            "y.csr",
        ],
    );
    let cli_cause = cli.split_once(": ").unwrap().1;
    assert!(
        shown.starts_with("error: invalid common name \"\": "),
        "{shown}"
    );
    assert!(shown.contains(cli_cause), "{shown} / {cli}");
    assert_eq!(invalid_field(&browser), json!("common_name"));
    nothing_made(&browser);
    assert!(!dir.join("k2.pem").exists());
    browser.type_into("#common_name", "app1");

    // Each field `request new` checks, one at a time, everything else right: the page shows
    // okms-cli's words and marks the field.
    let request_new = |extra: &[&str]| {
        let mut args = vec![
            "request", "new", "--csr", "x.csr", "--out", "r.json", "--region", "eu",
        ];
        args.extend_from_slice(extra);
        cli_refusal(dir, &args)
    };
    let long_name = "n".repeat(51);
    let same_words: [(&str, &str, &str, Vec<&str>); 5] = [
        (
            "validity",
            "#validity",
            "0",
            vec![
                "--name",
                "n",
                "--root",
                "--nic",
                "xx1111-ovh",
                "--validity",
                "0",
            ],
        ),
        (
            "name",
            "#name",
            &long_name,
            vec!["--name", &long_name, "--root", "--nic", "xx1111-ovh"],
        ),
        (
            "nic",
            "#nic",
            "xx1111/ovh",
            vec!["--name", "n", "--root", "--nic", "xx1111/ovh"],
        ),
        (
            "groups",
            "#groups",
            "ops team",
            vec![
                "--name",
                "n",
                "--root",
                "--nic",
                "xx1111-ovh",
                "--group",
                "ops team",
            ],
        ),
        (
            "service_accounts",
            "#service_accounts",
            "EU abc",
            vec![
                "--name",
                "n",
                "--root",
                "--nic",
                "xx1111-ovh",
                "--service-account",
                "EU abc",
            ],
        ),
    ];
    for (field, css, bad, cli_args) in same_words {
        let before = browser.script(
            "return document.querySelector(arguments[0]).value;",
            json!([css]),
        );
        browser.type_into(css, bad);
        browser.generate();
        let shown = browser
            .refusal()
            .unwrap_or_else(|| panic!("{field} {bad:?} is refused"));
        assert_eq!(
            shown,
            format!("error: {}", request_new(&cli_args)),
            "{field}"
        );
        assert_eq!(invalid_field(&browser), json!(field));
        nothing_made(&browser);
        browser.type_into(css, before.as_str().unwrap());
    }

    // Not a number of days: clap's reason for --validity, after the page's field name.
    browser.type_into("#validity", "1y");
    browser.generate();
    let shown = browser.refusal().expect("a validity in words is refused");
    let cli = request_new(&[
        "--name",
        "n",
        "--root",
        "--nic",
        "xx1111-ovh",
        "--validity",
        "1y",
    ]);
    let cli_reason = cli.rsplit_once(": ").unwrap().1;
    assert!(
        shown.starts_with(&format!("error: invalid validity \"1y\": {cli_reason}")),
        "{shown} / {cli}"
    );
    assert_eq!(invalid_field(&browser), json!("validity"));
    nothing_made(&browser);
    browser.type_into("#validity", "");

    // No account for the root identity, then no identity at all.
    browser.type_into("#nic", "");
    browser.generate();
    let shown = browser
        .refusal()
        .expect("the root without an account is refused");
    assert_eq!(
        shown,
        "error: the root, users, groups and service accounts need the account ID \
         (your NIC handle, e.g. xx1111-ovh)"
    );
    assert_eq!(invalid_field(&browser), json!("nic"));
    nothing_made(&browser);
    browser.type_into("#nic", "xx1111-ovh");
    browser.click("#root");
    browser.generate();
    let shown = browser.refusal().expect("no identity is refused");
    assert!(
        shown.starts_with(
            "error: the request would be rejected by the API: invalid identityURNs: at least one identity URN is required"
        ),
        "{shown}"
    );
    assert_eq!(invalid_field(&browser), json!("identities"));
    nothing_made(&browser);
    browser.click("#root");

    // A passphrase typed only in the second field: encryption with an empty passphrase, which
    // `csr new --encrypt` refuses with the same words (its key file named as the page's).
    browser.type_into("#passphrase_confirm", "only here");
    browser.generate();
    let shown = browser.refusal().expect("an empty passphrase is refused");
    std::fs::write(dir.join("empty-passphrase"), "").unwrap();
    let cli = cli_refusal(
        dir,
        &[
            "csr",
            "new",
            "--cn",
            "x",
            "--encrypt",
            "--passphrase-file",
            "empty-passphrase",
            "--key-out",
            "domain.key",
            "--out",
            "z.csr",
        ],
    );
    assert_eq!(cli, "the passphrase for domain.key is empty");
    assert!(shown.starts_with(&format!("error: {cli}")), "{shown}");
    assert_eq!(invalid_field(&browser), json!("passphrase"));
    nothing_made(&browser);
    assert!(!dir.join("domain.key").exists());
    browser.type_into("#passphrase_confirm", "");

    // Everything fixed: the same form goes through.
    browser.generate();
    assert_eq!(browser.refusal(), None);
    assert!(browser.text("status").contains("Nothing was sent anywhere"));
}
