//! The load behind `cargo xtask bench --broker` (not a test): an in-process emulator with no
//! READY delay, `HOSTS` credentials created on it through the API, one `okms-broker serve`
//! process (the binary given), then every host renewing at once (up to `CONCURRENCY` in
//! flight): a new P-256 key and CSR, `POST /v1/renew` with the old certificate, `POST
//! /v1/confirm` with the new one, each over its own mutual-TLS connection. Prints one JSON line:
//! renewals per second, latency percentiles, the broker's peak RSS (VmHWM), the API calls per
//! renewal as the emulator counted them, the broker's own time per renewal beyond the API's
//! (from its /metrics), and per request (from its audit lines) the time it added beyond its
//! own API calls, split into waiting for the API and the broker's own work.
//!
//! `cargo run -p okms-e2e-tests --example broker_load -- BROKER_BIN HOSTS CONCURRENCY`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use okms_api::broker::{CONFIRM_PATH, METRICS_PATH, RENEW_PATH, RenewAnswer};
use okms_api::{
    Auth, Client, Config, CredentialRequest, Endpoint, IdentityUrn, Plate, SecretString, WaitPolicy,
};
use okms_csr::{CsrBuilder, ExposeSecret, KeyAlgorithm, KeyFormat, PrivateKey};
use okms_emulator::{EmulatorConfig, FaultKind, FaultSpec, RoutePattern, RunningEmulator};
use serde_json::json;

struct Host {
    cert_pem: String,
    key_pem: String,
}

fn pem_of(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
}

fn key_pem(key: &PrivateKey) -> String {
    key.to_pem(KeyFormat::Pkcs8)
        .unwrap()
        .expose_secret()
        .to_string()
}

fn new_key_and_csr() -> (PrivateKey, String) {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = CsrBuilder::new("CN=bench".parse().unwrap())
        .build(&key)
        .unwrap();
    (key, csr.to_pem())
}

fn https(ca_pem: &str, cert: &str, key: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap())
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

/// The sum of a metric's samples (all label sets) in a Prometheus text page.
fn metric_sum(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// One renewal and its confirm; its duration.
async fn renew_one(url: &str, ca_pem: &str, host: &Host) -> Result<Duration, String> {
    let start = Instant::now();
    let (key, csr) = new_key_and_csr();
    let old = https(ca_pem, &host.cert_pem, &host.key_pem);
    let mut answer = None;
    for _ in 0..20 {
        let sent = old
            .post(format!("{url}{RENEW_PATH}"))
            .json(&json!({ "csr": csr }))
            .send()
            .await
            .map_err(|e| format!("renew: {e}"))?;
        let status = sent.status().as_u16();
        if status == 503 || status == 429 {
            let wait = sent
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait.min(5))).await;
            continue;
        }
        if !(200..300).contains(&status) {
            return Err(format!(
                "renew: {status} {}",
                sent.text().await.unwrap_or_default()
            ));
        }
        answer = Some(
            sent.json::<RenewAnswer>()
                .await
                .map_err(|e| e.to_string())?,
        );
        break;
    }
    let answer = answer.ok_or("renew: still refused after 20 tries")?;
    let new = https(ca_pem, &answer.certificate_pem, &key_pem(&key));
    let confirmed = new
        .post(format!("{url}{CONFIRM_PATH}"))
        .json(&json!({ "previousCredentialId": answer.previous_credential_id }))
        .send()
        .await
        .map_err(|e| format!("confirm: {e}"))?;
    if !confirmed.status().is_success() {
        return Err(format!("confirm: {}", confirmed.status()));
    }
    Ok(start.elapsed())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let _ = okms_api::tls::ring_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let [_, broker_bin, hosts, concurrency] = args.as_slice() else {
        panic!("usage: broker_load BROKER_BIN HOSTS CONCURRENCY");
    };
    let hosts: usize = hosts.parse().unwrap();
    let concurrency: usize = concurrency.parse().unwrap();

    let emulator = RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::ZERO,
        delete_delay: Duration::ZERO,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let info = emulator.info();
    let config = Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: SecretString::from(info.application_secret.clone()),
            consumer_key: SecretString::from(info.consumer_key.clone()),
        },
    );
    let client = Arc::new(Client::new(config).unwrap());
    let root = IdentityUrn::root_account(Plate::Eu, &info.nic).unwrap();

    // The fleet's first credentials, made with API access (not measured).
    let setup = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    let mut made = Vec::new();
    for i in 0..hosts {
        let (client, gate, root) = (client.clone(), gate.clone(), root.clone());
        let okms_id = info.okms_id;
        made.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let (key, csr) = new_key_and_csr();
            let request =
                CredentialRequest::from_csr(format!("bench-{i:04}"), vec![root.into_string()], csr)
                    .with_validity(30);
            let created = client.create_credential(okms_id, &request).await.unwrap();
            let ready = client
                .wait_until_ready(
                    okms_id,
                    created.credential.id,
                    &WaitPolicy::with_timeout(Duration::from_secs(60)),
                )
                .await
                .unwrap();
            Host {
                cert_pem: ready.certificate_pem.unwrap(),
                key_pem: key_pem(&key),
            }
        }));
    }
    let mut fleet = Vec::new();
    for m in made {
        fleet.push(m.await.unwrap());
    }
    let setup_time = setup.elapsed();

    // The broker: its own CA-issued TLS certificate, the policy, the API credentials.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tls_ca = okms_emulator::Ca::generate().unwrap();
    let (cert_der, key_der) = tls_ca.issue_server_certificate().unwrap();
    std::fs::write(d.join("broker.pem"), pem_of("CERTIFICATE", &cert_der)).unwrap();
    std::fs::write(d.join("broker.key"), pem_of("PRIVATE KEY", &key_der)).unwrap();
    std::fs::write(
        d.join("policy.yaml"),
        format!(
            "version: 1\ndomains:\n  - okms_id: {}\n    credentials: [\"bench-*\"]\n    min_renew_interval: 0s\n",
            info.okms_id
        ),
    )
    .unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut broker = Command::new(broker_bin)
        .current_dir(d)
        .env("HOME", d)
        .env("OVH_ENDPOINT", &info.api_url)
        .env("OVH_APPLICATION_KEY", &info.application_key)
        .env("OVH_APPLICATION_SECRET", &info.application_secret)
        .env("OVH_CONSUMER_KEY", &info.consumer_key)
        .args(["serve", "--listen", &addr.to_string()])
        .args(["--tls-cert", "broker.pem", "--tls-key", "broker.key"])
        .args(["--policy", "policy.yaml", "--audit-log", "audit.jsonl"])
        .args(["--max-in-flight", &(concurrency.max(512)).to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the broker does not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("https://localhost:{}", addr.port());
    let ca_pem = tls_ca.cert_pem().to_owned();
    let metrics_client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let metrics = |client: reqwest::Client, url: String| async move {
        client
            .get(format!("{url}{METRICS_PATH}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = metrics(metrics_client.clone(), url.clone()).await;

    // Count the API calls from here: a zero latency fault on every API route counts them.
    let mut counter = FaultSpec::new(FaultKind::Latency(Duration::ZERO));
    counter.route = Some(RoutePattern::parse("/v2/**").unwrap());
    emulator.set_faults(vec![counter]);

    let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let started = Instant::now();
    let mut runs = Vec::new();
    let fleet = Arc::new(fleet);
    for i in 0..fleet.len() {
        let (gate, fleet, url, ca_pem) = (gate.clone(), fleet.clone(), url.clone(), ca_pem.clone());
        runs.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            renew_one(&url, &ca_pem, &fleet[i]).await
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    for run in runs {
        match run.await.unwrap() {
            Ok(took) => latencies.push(took),
            Err(e) => failures.push(e),
        }
    }
    let wall = started.elapsed();
    let api_calls: u64 = emulator.fault_counts().iter().map(|(_, n)| n).sum();
    let after = metrics(metrics_client, url).await;
    let peak_kib = vm_hwm_kib(broker.id());
    let _ = Command::new("kill")
        .args(["-TERM", &broker.id().to_string()])
        .status();
    let _ = broker.wait();

    latencies.sort();
    let percentile = |p: f64| -> f64 {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let time_split = per_request_split(&d.join("audit.jsonl"));
    let renewals = latencies.len() as f64;
    let delta = |name: &str| metric_sum(&after, name) - metric_sum(&before, name);
    let request_seconds = delta("okms_broker_request_duration_seconds_sum");
    let api_seconds = delta("okms_broker_api_duration_seconds_sum");
    println!(
        "{}",
        json!({
            "hosts": hosts,
            "concurrency": concurrency,
            "renewals": latencies.len(),
            "failures": failures.len(),
            "first_failures": failures.iter().take(3).collect::<Vec<_>>(),
            "setup_seconds": setup_time.as_secs_f64(),
            "wall_seconds": wall.as_secs_f64(),
            "renewals_per_second": renewals / wall.as_secs_f64(),
            "p50_ms": percentile(0.50),
            "p99_ms": percentile(0.99),
            "max_ms": percentile(1.0),
            "api_calls_per_renewal": api_calls as f64 / renewals.max(1.0),
            "broker_api_calls_per_renewal": delta("okms_broker_api_calls_total") / renewals.max(1.0),
            "broker_request_ms_per_renewal": request_seconds * 1000.0 / renewals.max(1.0),
            "api_ms_per_renewal": api_seconds * 1000.0 / renewals.max(1.0),
            "broker_own_ms_per_renewal": (request_seconds - api_seconds) * 1000.0 / renewals.max(1.0),
            "peak_rss_kib": peak_kib,
            "per_request": time_split,
        })
    );
}

/// The `p` quantile (0..=1) of sorted milliseconds.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0.0)
}

/// Per answered renew and confirm request, from the broker's audit lines: the time it added
/// beyond its own API calls (`durationMs - apiMs`), split into waiting for the API (its
/// concurrency bound, a shared listing: `apiWaitMs`) and the broker's own work (the rest);
/// p50 and p99 of each, in milliseconds.
fn per_request_split(audit: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(audit).unwrap_or_default();
    let (mut added, mut waiting, mut own, mut api) = (vec![], vec![], vec![], vec![]);
    for line in text.lines() {
        let Ok(l) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let route = l["route"].as_str().unwrap_or_default();
        let ok = l["status"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s));
        if !ok || (route != RENEW_PATH && route != CONFIRM_PATH) {
            continue;
        }
        let number = |k: &str| l[k].as_f64().unwrap_or(0.0);
        let beyond = (number("durationMs") - number("apiMs")).max(0.0);
        added.push(beyond);
        waiting.push(number("apiWaitMs"));
        own.push((beyond - number("apiWaitMs")).max(0.0));
        api.push(number("apiMs"));
    }
    let mut out = serde_json::Map::new();
    out.insert("requests".into(), json!(added.len()));
    for (name, mut values) in [
        ("api", api),
        ("added", added),
        ("api_wait", waiting),
        ("own", own),
    ] {
        values.sort_by(f64::total_cmp);
        out.insert(format!("{name}_p50_ms"), json!(quantile(&values, 0.50)));
        out.insert(format!("{name}_p99_ms"), json!(quantile(&values, 0.99)));
    }
    serde_json::Value::Object(out)
}
