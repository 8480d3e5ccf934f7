//! Soak test: many create → wait → check runs of the real okms-cli against an emulator that
//! injects faults on every API route (5xx, 429 with Retry-After, connections dropped before and
//! after processing, latency), seeded.
//!
//! The rule under test (issue 5): "No path leaves two live credentials for one request or a
//! credential whose private key nobody holds, unless the user is told and the command fails."
//! So, for every run (each has its own credential name) and again at the end:
//!
//! * the run succeeded, or failed with a clean non-zero exit (no signal, no panic, no hang, a
//!   message on stderr);
//! * a successful run has exactly one live (CREATING/READY) credential of its name: READY, the
//!   id the CLI reported, its certificate holding the key on disk, `credential check` passed;
//! * live credentials of a failed run: at most one, unless the CLI named every one of them in
//!   its error; and each one's certificate holds a private key on disk in the run's directory
//!   (the CSR's key, the generated key, or the CLI's rescue file) unless the CLI named it (or,
//!   when it could not list the credentials after losing the create answer, said that a
//!   credential of that name may have been created and what to do);
//! * no live credential whose name belongs to no run.
//!
//! The renewal loop (issue 12) deploys one pair and renews it `--force` over and over under
//! the same API faults, with a hook that fails every fourth time. After every renewal, faults
//! off: the deployed certificate and key match and `credential check` passes, and every live
//! credential's key is held (the deployed key, a `.bak` backup the output said is still live,
//! or a `.new` key left on disk); then the test does what the output's hint says, as a user
//! would, so that at the end only the deployed credential is live.
//!
//! One renewal in two of that loop (issue 19) is cut short at a random moment by SIGKILL or
//! SIGTERM, still under faults; then, faults off, one plain `credential renew` (the timer's
//! command, no extra flags) must leave exactly one live credential of the name, deployed and
//! working, and no `KEY.new`, with no human step. The test prints how many kills, SIGTERMs,
//! leftovers and recoveries there were.
//!
//! Size: `OKMS_SOAK_RUNS` (default 24), `OKMS_SOAK_THREADS` (default 4), `OKMS_SOAK_RENEWALS`
//! (default 12), `OKMS_SOAK_SEED`.
//! The seed fixes the fault generator; with parallel runs the order of requests, hence which
//! request a fault hits, still varies between test runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{AuthMethod, Ran, online, run_bounded};
use okms_csr::{Certificate, PrivateKey, PublicKey, same_public_key};
use okms_emulator::{
    CredentialPhase, CredentialSnapshot, EmulatorConfig, FaultKind, FaultSpec, RunningEmulator,
};

const URN: &str = "urn:v1:eu:identity:account:xx1111-ovh";
/// Longest any single okms-cli invocation may take before it counts as a hang.
const STEP_LIMIT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `csr new`, then `credential create --csr`.
    Csr,
    /// `csr new`, `request new`, then `credential create --request`.
    Request,
    /// OVHcloud generates an ECDSA key.
    GeneratedEcdsa,
    /// OVHcloud generates an RSA key (to the default `domain.key`).
    GeneratedRsa,
}

#[derive(Debug)]
struct RunResult {
    index: usize,
    name: String,
    mode: Mode,
    auth: AuthMethod,
    dir: PathBuf,
    /// `None` on success; else the step that failed and its output.
    failure: Option<(String, Ran)>,
    /// The id `credential create` reported.
    reported_id: Option<String>,
    /// All stderr of the run's online steps.
    stderr: String,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One fault kind on every API route (not the KMS data plane, whose single mTLS call in
/// `credential check` is not retried by design).
fn on_api_routes(kind: FaultKind, rate: f64, out: &mut Vec<FaultSpec>) {
    for route in ["/1.0/**", "/v1/**", "/v2/**", "/auth/**"] {
        out.push(
            FaultSpec::new(kind.clone())
                .rate(rate)
                .route(route)
                .unwrap(),
        );
    }
}

fn faults() -> Vec<FaultSpec> {
    let create = "POST:/v2/okms/resource/*/credential";
    // Listed first: the first action fault that fires decides a request. The create POST gets
    // extra lost answers and gateway errors, the paths that need reconciliation.
    let mut f = vec![
        FaultSpec::new(FaultKind::DropAfterProcessing)
            .rate(0.15)
            .route(create)
            .unwrap(),
        FaultSpec::new(FaultKind::ServerError)
            .rate(0.05)
            .route(create)
            .unwrap(),
        FaultSpec::new(FaultKind::DropBeforeProcessing)
            .rate(0.05)
            .route(create)
            .unwrap(),
    ];
    on_api_routes(FaultKind::ServerError, 0.06, &mut f);
    on_api_routes(
        FaultKind::TooManyRequests {
            retry_after_secs: 1,
        },
        0.03,
        &mut f,
    );
    on_api_routes(FaultKind::DropBeforeProcessing, 0.03, &mut f);
    on_api_routes(FaultKind::DropAfterProcessing, 0.04, &mut f);
    on_api_routes(FaultKind::Latency(Duration::from_millis(40)), 0.2, &mut f);
    f
}

fn step(
    emu: &RunningEmulator,
    auth: AuthMethod,
    dir: &Path,
    args: &[&str],
    stderr: &mut String,
) -> Ran {
    let mut cmd = online(emu, auth, dir);
    cmd.env("OKMS_CA_FILE", &emu.info().ca_file).args(args);
    let ran = run_bounded(&mut cmd, STEP_LIMIT);
    stderr.push_str(&ran.stderr);
    ran
}

fn offline(dir: &Path, args: &[&str]) {
    let ran = run_bounded(common::okms_cli().current_dir(dir).args(args), STEP_LIMIT);
    assert!(ran.success(), "offline step {args:?} failed: {ran:?}");
}

fn one_run(emu: &RunningEmulator, index: usize, root: &Path) -> RunResult {
    let mode = [
        Mode::Csr,
        Mode::GeneratedEcdsa,
        Mode::Request,
        Mode::GeneratedRsa,
    ][index % 4];
    let auth = if (index / 4).is_multiple_of(2) {
        AuthMethod::Signature
    } else {
        AuthMethod::OAuth2
    };
    let no_wait = (index / 2) % 2 == 1;
    let name = format!("soak-{index}");
    let dir = root.join(&name);
    std::fs::create_dir(&dir).unwrap();
    let mut r = RunResult {
        index,
        name: name.clone(),
        mode,
        auth,
        dir: dir.clone(),
        failure: None,
        reported_id: None,
        stderr: String::new(),
    };

    // Offline preparation: never faulted.
    if matches!(mode, Mode::Csr | Mode::Request) {
        offline(
            &dir,
            &[
                "csr",
                "new",
                "--key-out",
                "client.key",
                "--cn",
                &name,
                "--out",
                "client.csr",
            ],
        );
    }
    if mode == Mode::Request {
        offline(
            &dir,
            &[
                "request",
                "new",
                "--csr",
                "client.csr",
                "--name",
                &name,
                "--identity",
                URN,
                "--out",
                "request.json",
            ],
        );
    }

    let mut args: Vec<&str> = vec![
        "credential",
        "create",
        "--json",
        "--timeout",
        "60s",
        "--cert-out",
        "client.cert",
    ];
    if mode == Mode::Request {
        args.extend(["--request", "request.json"]);
    } else {
        args.extend(["--name", &name]);
        // Half the runs name the identity, half have it built from the account (one more GET).
        if index.is_multiple_of(3) {
            args.push("--root");
        } else {
            args.extend(["--identity", URN]);
        }
    }
    match mode {
        Mode::Csr => args.extend(["--csr", "client.csr"]),
        Mode::GeneratedEcdsa => {
            args.extend(["--certificate-type", "ecdsa", "--key-out", "generated.key"])
        }
        Mode::GeneratedRsa => args.extend(["--certificate-type", "rsa"]),
        Mode::Request => {}
    }
    if no_wait {
        args.push("--no-wait");
    }
    let key_file = match mode {
        Mode::Csr | Mode::Request => "client.key",
        Mode::GeneratedEcdsa => "generated.key",
        Mode::GeneratedRsa => "domain.key",
    };

    let created = step(emu, auth, &dir, &args, &mut r.stderr);
    if !created.success() {
        r.failure = Some(("create".into(), created));
        return r;
    }
    let v: serde_json::Value = serde_json::from_str(&created.stdout)
        .unwrap_or_else(|e| panic!("{name}: create --json printed no JSON ({e}): {created:?}"));
    let id = v["credential"]["id"].as_str().unwrap().to_owned();
    r.reported_id = Some(id.clone());

    if no_wait {
        let waited = step(
            emu,
            auth,
            &dir,
            &[
                "credential",
                "wait",
                &id,
                "--timeout",
                "60s",
                "--cert-out",
                "client.cert",
            ],
            &mut r.stderr,
        );
        if !waited.success() {
            r.failure = Some(("wait".into(), waited));
            return r;
        }
    }
    let checked = step(
        emu,
        auth,
        &dir,
        &[
            "credential",
            "check",
            "--cert",
            "client.cert",
            "--key",
            key_file,
        ],
        &mut r.stderr,
    );
    if !checked.success() {
        r.failure = Some(("check".into(), checked));
    }
    r
}

/// The public keys of every private key file in a run's directory (CSR key, generated key,
/// rescue files), by file name.
fn keys_on_disk(dir: &Path) -> Vec<(String, PublicKey)> {
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let file = entry.file_name().to_string_lossy().into_owned();
        if !(file.ends_with(".key") || file.ends_with(".rescued")) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        let key = PrivateKey::import(&bytes, None)
            .unwrap_or_else(|e| panic!("{}: unreadable key file: {e}", entry.path().display()));
        assert_eq!(
            common::mode(&entry.path()),
            0o600,
            "{} must be mode 0600",
            entry.path().display()
        );
        keys.push((file, key.public_key()));
    }
    keys
}

fn live(c: &CredentialSnapshot) -> bool {
    matches!(c.phase, CredentialPhase::Creating | CredentialPhase::Ready)
}

/// The rule, for one run against one snapshot of the emulator. Returns what is wrong.
fn violations(r: &RunResult, all: &[CredentialSnapshot]) -> Vec<String> {
    let mut bad = Vec::new();
    let mut say = |s: String| bad.push(format!("{} ({:?}, {:?}): {s}", r.name, r.mode, r.auth));
    let mine: Vec<&CredentialSnapshot> =
        all.iter().filter(|c| c.name == r.name && live(c)).collect();
    let keys = keys_on_disk(&r.dir);
    let held = |c: &CredentialSnapshot| {
        let cert = Certificate::from_pem(&c.certificate_pem).unwrap();
        keys.iter()
            .any(|(_, k)| same_public_key(&cert.public_key(), k))
    };
    match &r.failure {
        None => {
            if mine.len() != 1 {
                say(format!(
                    "succeeded but has {} live credentials: {:?}",
                    mine.len(),
                    mine.iter().map(|c| c.id).collect::<Vec<_>>()
                ));
                return bad;
            }
            let c = mine[0];
            if c.phase != CredentialPhase::Ready {
                say(format!("succeeded but {} is {:?}", c.id, c.phase));
            }
            if r.reported_id.as_deref() != Some(c.id.to_string().as_str()) {
                say(format!(
                    "reported id {:?}, live credential {}",
                    r.reported_id, c.id
                ));
            }
            if !held(c) {
                say(format!("the certificate of {} holds no key on disk", c.id));
            }
            let on_disk = std::fs::read_to_string(r.dir.join("client.cert")).unwrap();
            if on_disk.trim() != c.certificate_pem.trim() {
                say(format!("client.cert is not the certificate of {}", c.id));
            }
        }
        Some((step, ran)) => {
            if ran.timed_out {
                say(format!("{step} hung (killed after {STEP_LIMIT:?})"));
            }
            match ran.code {
                None => say(format!("{step} died from a signal: {ran:?}")),
                Some(0) => say(format!("{step} counted as failed with exit 0")),
                Some(101) => say(format!("{step} panicked: {}", ran.stderr)),
                Some(_) => {}
            }
            if ran.stderr.contains("panicked") || !ran.stderr.contains("error") {
                say(format!(
                    "{step} failed without a clear error message: {}",
                    ran.stderr
                ));
            }
            // Told: the CLI named the credential, or (when it could not even list the
            // credentials after losing the create answer) said one of this name may exist.
            let maybe = format!("a credential named {:?} may have been created", r.name);
            let told = |c: &CredentialSnapshot| {
                r.stderr.contains(&c.id.to_string()) || r.stderr.contains(&maybe)
            };
            if mine.len() > 1 && !mine.iter().all(|c| told(c)) {
                say(format!(
                    "failed with {} live credentials, not all named: {:?}\nstderr: {}",
                    mine.len(),
                    mine.iter().map(|c| c.id).collect::<Vec<_>>(),
                    r.stderr
                ));
            }
            for c in &mine {
                if !held(c) && !told(c) {
                    say(format!(
                        "left {} ({:?}, answer lost: {}) whose private key nobody holds, without naming it\nstderr: {}",
                        c.id, c.phase, c.answer_lost, r.stderr
                    ));
                }
            }
        }
    }
    bad
}

/// A short label for why a run failed, for the counts.
fn reason(step: &str, ran: &Ran) -> String {
    // The error and its causes only: warnings above them (reconciliation told as it happens)
    // mention the faults it overcame.
    let error: String = ran
        .stderr
        .lines()
        .filter(|l| l.starts_with("error") || l.starts_with("caused by"))
        .collect::<Vec<_>>()
        .join("\n");
    let kind = if error.contains("lost twice") {
        "create answer lost twice"
    } else if error.contains("may have been created") {
        "listing failed after a lost answer (user told)"
    } else if error.contains("cannot tell what became") {
        "reconciliation undecided (ids named)"
    } else if error.contains("429") && step == "create" {
        "429 (the create POST is not retried)"
    } else if error.contains("429") {
        "429 after retries"
    } else if error.contains("status code 50") {
        "5xx after retries"
    } else if error.contains("connection") {
        "connection dropped after retries"
    } else if error.contains("did not become READY") {
        "wait"
    } else {
        "other"
    };
    format!("{step}: exit {:?}: {kind}", ran.code)
}

/// A fault kind, for the counts.
fn fault_label(kind: &FaultKind) -> &'static str {
    match kind {
        FaultKind::Latency(_) => "latency",
        FaultKind::Status(_) | FaultKind::ServerError => "5xx",
        FaultKind::TooManyRequests { .. } => "429",
        FaultKind::DropBeforeProcessing => "drop-before",
        FaultKind::DropAfterProcessing => "drop-after",
        _ => "other",
    }
}

#[test]
fn soak_create_wait_check_under_faults() {
    let runs = env_usize("OKMS_SOAK_RUNS", 24);
    let threads = env_usize("OKMS_SOAK_THREADS", 4).max(1);
    let seed = std::env::var("OKMS_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_129_u64);
    // Build the binary before the clock starts.
    drop(common::okms_cli());
    let emu = RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(300),
        delete_delay: Duration::from_millis(200),
        seed,
        faults: faults(),
        ..EmulatorConfig::default()
    })
    .expect("start the emulator");
    let root = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<RunResult>> = Mutex::new(Vec::new());
    let problems: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= runs {
                        break;
                    }
                    let r = one_run(&emu, i, root.path());
                    // Other runs use other names: their activity cannot affect this check.
                    let v = violations(&r, &emu.credentials());
                    problems.lock().unwrap().extend(v);
                    results.lock().unwrap().push(r);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.index);
    let elapsed = start.elapsed();

    // Let CREATING and DELETING phases run out, then check everything again on the final state.
    std::thread::sleep(Duration::from_millis(600));
    let all = emu.credentials();
    let mut problems = problems.into_inner().unwrap();
    for r in &results {
        problems.extend(violations(r, &all));
    }
    let names: HashMap<&str, &RunResult> = results.iter().map(|r| (r.name.as_str(), r)).collect();
    for c in all.iter().filter(|c| live(c)) {
        if !names.contains_key(c.name.as_str()) {
            problems.push(format!("live credential {} has no run: {:?}", c.id, c.name));
        }
    }

    // Counts.
    let ok = results.iter().filter(|r| r.failure.is_none()).count();
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for r in &results {
        if let Some((step, ran)) = &r.failure {
            *by_reason.entry(reason(step, ran)).or_default() += 1;
            let error: Vec<&str> = ran
                .stderr
                .lines()
                .filter(|l| {
                    l.starts_with("error") || l.starts_with("caused by") || l.starts_with("hint")
                })
                .collect();
            eprintln!("soak: {} failed at {step}: {}", r.name, error.join(" | "));
        }
    }
    let count = |needle: &str| {
        results
            .iter()
            .map(|r| r.stderr.matches(needle).count())
            .sum::<usize>()
    };
    let lost_answers = all.iter().filter(|c| c.answer_lost).count();
    let left_live_by_failed = all
        .iter()
        .filter(|c| {
            live(c)
                && names
                    .get(c.name.as_str())
                    .is_some_and(|r| r.failure.is_some())
        })
        .count();
    eprintln!(
        "soak: {runs} runs on {threads} threads in {:.1}s (seed {seed}): {ok} succeeded, {} failed",
        elapsed.as_secs_f64(),
        runs - ok
    );
    for (why, n) in &by_reason {
        eprintln!("soak:   failed {n}x at {why}");
    }
    eprintln!(
        "soak: credentials created {}, create answers lost (drop-after) {lost_answers}, live ones left by failed runs {left_live_by_failed} (all with their key on disk or named)",
        all.len()
    );
    eprintln!(
        "soak: reconciliation in stderr: outcome unknown {}, adopted {}, orphans deleted {}, nothing created {}, resent {}",
        count("the answer to the create request was lost"),
        count("adopted it"),
        count("deleted credential(s)"),
        count("that request created nothing"),
        count("sent the create request a second time"),
    );
    let mut fired: BTreeMap<String, u64> = BTreeMap::new();
    for (spec, n) in emu.fault_counts() {
        *fired.entry(fault_label(&spec.kind).into()).or_default() += n;
    }
    eprintln!("soak: faults injected: {fired:?}");

    assert!(
        problems.is_empty(),
        "{} violation(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The faults must have been real, or the test proves nothing.
    assert!(
        fired.values().sum::<u64>() > 0,
        "no fault fired: the soak exercised nothing"
    );
    // Most runs succeed: retries and reconciliation work (a failure rate this high would mean
    // they do not).
    assert!(
        ok * 2 >= runs,
        "only {ok} of {runs} runs succeeded: {by_reason:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Renewal loop (issue 12): one deployed pair renewed over and over under the same API faults.

/// The name of the renewed credential; every credential of the domain in this test has it.
const RENEWED: &str = "soak-renewed";

/// What one `credential renew --force` did, as the loop counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Renewal {
    /// Exit 0: new pair deployed, old credential revoked.
    Renewed,
    /// The hook failed after the swap: the new pair is in place, the old credential kept live.
    HookFailed,
    /// Stopped before the swap: the old pair stays deployed.
    StoppedBeforeSwap,
    /// The new pair is in place but revoking the old credential failed.
    OldNotRevoked,
}

/// The certificate and key deployed in `dir`, read as a user's service would.
fn deployed_pair(dir: &Path) -> (Certificate, PublicKey) {
    let cert = std::fs::read_to_string(dir.join("svc.cert")).unwrap();
    let cert = Certificate::from_pem(&cert).unwrap();
    let key = std::fs::read(dir.join("svc.key")).unwrap();
    let key = PrivateKey::import(&key, None).unwrap();
    (cert, key.public_key())
}

/// The public key of a private key file in `dir`, if there is one.
fn key_file(dir: &Path, file: &str) -> Option<PublicKey> {
    let bytes = std::fs::read(dir.join(file)).ok()?;
    let key = PrivateKey::import(&bytes, None)
        .unwrap_or_else(|e| panic!("{file}: unreadable key file: {e}"));
    assert_eq!(common::mode(&dir.join(file)), 0o600, "{file} must be 0600");
    Some(key.public_key())
}

/// The `okms-cli credential delete ...` command a hint in `stderr` tells the user to run.
fn hinted_delete(stderr: &str) -> Option<Vec<String>> {
    let hint = stderr
        .lines()
        .filter(|l| l.starts_with("hint"))
        .find_map(|l| l.split_once("okms-cli credential delete "))?
        .1;
    let command = hint.split(',').next().unwrap_or(hint);
    Some(
        ["credential", "delete"]
            .into_iter()
            .map(str::to_owned)
            .chain(command.split_whitespace().map(str::to_owned))
            .collect(),
    )
}

/// `credential check` of the deployed pair.
fn check_pair(emu: &RunningEmulator, dir: &Path) -> Ran {
    let pair = ["--cert", "svc.cert", "--key", "svc.key"];
    let args: Vec<&str> = ["credential", "check"].into_iter().chain(pair).collect();
    step(emu, AuthMethod::Signature, dir, &args, &mut String::new())
}

/// The rule after one renewal, with faults off: the deployed pair matches and works, and every
/// live credential's key is held (deployed, a `.bak` the output says is still live, or a `.new`
/// key left on disk). Returns what is wrong.
fn renewal_violations(
    emu: &RunningEmulator,
    dir: &Path,
    iteration: usize,
    ran: &Ran,
    before_id: &str,
) -> Vec<String> {
    let mut bad = Vec::new();
    let mut say = |s: String| bad.push(format!("renewal {iteration}: {s}"));
    match ran.code {
        None => say(format!("died from a signal or hung: {ran:?}")),
        Some(101) => say(format!("panicked: {}", ran.stderr)),
        Some(0) => {}
        Some(_) if !ran.stderr.contains("error") => {
            say(format!("failed without a clear error: {}", ran.stderr));
        }
        Some(_) => {}
    }
    let (cert, deployed_key) = deployed_pair(dir);
    if !same_public_key(&cert.public_key(), &deployed_key) {
        say("the deployed certificate and key do not match".into());
    }
    let deployed_id = cert.credential_id().unwrap_or_default();
    if ran.success() {
        let v: serde_json::Value = serde_json::from_str(&ran.stdout)
            .unwrap_or_else(|e| panic!("renew --json printed no JSON ({e}): {ran:?}"));
        if v["renewed"] != true || v["old_revoked"] != true || v["old_id"] != before_id {
            say(format!("exit 0 but the report says otherwise: {v}"));
        }
        if v["new_id"] != deployed_id.as_str() {
            say(format!(
                "reported {} but {deployed_id} is deployed",
                v["new_id"]
            ));
        }
        if emu
            .credentials()
            .iter()
            .any(|c| c.id.to_string() == before_id && live(c))
        {
            say(format!(
                "exit 0 but the old credential {before_id} is still live"
            ));
        }
    }
    let check = check_pair(emu, dir);
    if !check.success() {
        say(format!("the deployed pair does not work: {}", check.stderr));
    }

    let backup = key_file(dir, "svc.key.bak");
    let leftover = key_file(dir, "svc.key.new");
    let said_live = |id: &str| {
        ran.stderr
            .contains(&format!("old credential {id} was kept live"))
            || ran
                .stderr
                .contains(&format!("old credential {id} is still live"))
    };
    for c in emu.credentials().iter().filter(|c| live(c)) {
        let public = Certificate::from_pem(&c.certificate_pem)
            .unwrap()
            .public_key();
        let id = c.id.to_string();
        let held = same_public_key(&public, &deployed_key)
            || (backup.as_ref().is_some_and(|k| same_public_key(&public, k)) && said_live(&id))
            || leftover
                .as_ref()
                .is_some_and(|k| same_public_key(&public, k));
        if !held {
            say(format!(
                "live credential {id} ({:?}, answer lost: {}) holds no deployed, live-backup or leftover key\nstderr: {}",
                c.phase, c.answer_lost, ran.stderr
            ));
        }
        if c.name != RENEWED {
            say(format!(
                "live credential {id} has another name: {:?}",
                c.name
            ));
        }
    }
    // What the output says is still live must be: the user is told to revoke it by hand.
    for c in emu.credentials() {
        let id = c.id.to_string();
        if said_live(&id) && !live(&c) {
            say(format!(
                "the output says credential {id} is still live, but it is {:?}: {}",
                c.phase, ran.stderr
            ));
        }
    }
    if deployed_id != before_id && ran.code != Some(0) && !said_live(before_id) {
        say(format!(
            "failed after deploying {deployed_id} without saying that {before_id} is still live: {}",
            ran.stderr
        ));
    }
    bad
}

/// Does what the output of a failed renewal tells the user to do, so that the next one starts
/// clean: the `credential delete` of its hint, and for a `.new` key left behind, deleting the
/// credential that holds it (the one of that name `credential list` would show), then the file.
/// Returns how many credentials it deleted, and what went wrong doing so.
fn follow_the_hints(emu: &RunningEmulator, dir: &Path, ran: &Ran) -> (usize, Vec<String>) {
    let mut deleted = 0;
    let mut bad = Vec::new();
    let mut delete = |args: &[&str]| {
        let done = step(emu, AuthMethod::Signature, dir, args, &mut String::new());
        if done.success() {
            deleted += 1;
        } else {
            bad.push(format!(
                "{args:?}, run as the hint says, failed: {}",
                done.stderr
            ));
        }
    };
    if let Some(args) = hinted_delete(&ran.stderr) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        delete(&args);
    }
    if let Some(leftover) = key_file(dir, "svc.key.new") {
        for c in emu.credentials().iter().filter(|c| live(c)) {
            let public = Certificate::from_pem(&c.certificate_pem)
                .unwrap()
                .public_key();
            if same_public_key(&public, &leftover) {
                let id = c.id.to_string();
                delete(&["credential", "delete", &id, "--yes"]);
            }
        }
        std::fs::remove_file(dir.join("svc.key.new")).unwrap();
        let _ = std::fs::remove_file(dir.join("svc.cert.new"));
    }
    (deleted, bad)
}

/// A xorshift step: the soak's choices, reproducible from its seed.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// The interrupted renewals of the loop, counted.
#[derive(Default)]
struct Interrupted {
    kills: usize,
    terms: usize,
    /// Runs that had ended before the signal reached them.
    finished_first: usize,
    /// SIGTERMs that came before the run listened for them (before anything was made).
    terms_before_listening: usize,
    leftover_keys: usize,
    pending_revocations: usize,
    /// Plain runs that said they resolved what an interrupted one left.
    recoveries: usize,
}

impl Interrupted {
    /// A forced renewal under API faults, sent `signal` after `after`; then, faults off, one
    /// plain `credential renew` (the timer's command, no extra flags). After it: exactly one
    /// live credential of the name, deployed, its pair working, no `KEY.new`. Returns what is
    /// wrong.
    fn run(
        &mut self,
        emu: &RunningEmulator,
        dir: &Path,
        i: usize,
        signal: &str,
        after: Duration,
    ) -> Vec<String> {
        let mut bad = Vec::new();
        let created_before = emu.credentials().len();
        emu.set_faults(faults());
        let mut cmd = online(emu, AuthMethod::Signature, dir);
        let mut child = cmd
            .env("OKMS_CA_FILE", &emu.info().ca_file)
            .args(["credential", "renew", "--force", "--cert", "svc.cert"])
            .args(["--key", "svc.key"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(after);
        if child.try_wait().unwrap().is_some() {
            self.finished_first += 1;
        }
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success() || child.try_wait().unwrap().is_some());
        if signal == "KILL" {
            self.kills += 1;
        } else {
            self.terms += 1;
        }
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > STEP_LIMIT {
                let _ = child.kill();
                bad.push(format!("renewal {i}: hung after SIG{signal}"));
                break child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // Before its first API write the run has not started listening, and the default
        // action (the end) is harmless: nothing is made yet. After it, SIGTERM must stop it.
        if signal == "TERM" && status.code().is_none() {
            if emu.credentials().len() == created_before {
                self.terms_before_listening += 1;
            } else {
                bad.push(format!(
                    "renewal {i}: SIGTERM killed it after it had created a credential: {status:?}"
                ));
            }
        }
        emu.set_faults(Vec::new());

        let leftover_key = dir.join("svc.key.new").exists();
        let pending = dir.join("svc.cert.revoke").exists();
        self.leftover_keys += usize::from(leftover_key);
        self.pending_revocations += usize::from(pending);
        let plain = step(
            emu,
            AuthMethod::Signature,
            dir,
            &[
                "credential",
                "renew",
                "--cert",
                "svc.cert",
                "--key",
                "svc.key",
            ],
            &mut String::new(),
        );
        if !plain.success() {
            bad.push(format!(
                "renewal {i}: after SIG{signal}, the plain run failed (a human step): {plain:?}"
            ));
        }
        if plain.stderr.contains("interrupted renewal") {
            self.recoveries += 1;
        }
        if dir.join("svc.key.new").exists() {
            bad.push(format!("renewal {i}: svc.key.new is still there"));
        }
        std::thread::sleep(Duration::from_millis(300));
        let deployed_id = deployed_pair(dir).0.credential_id().unwrap();
        let live_ids: Vec<String> = emu
            .credentials()
            .iter()
            .filter(|c| live(c) && c.name == RENEWED)
            .map(|c| c.id.to_string())
            .collect();
        if live_ids != [deployed_id.clone()] {
            bad.push(format!(
                "renewal {i}: after SIG{signal} and a plain run, live {live_ids:?}, deployed {deployed_id}: {}",
                plain.stderr
            ));
        }
        let check = check_pair(emu, dir);
        if !check.success() {
            bad.push(format!(
                "renewal {i}: the deployed pair does not work: {}",
                check.stderr
            ));
        }
        bad
    }
}

#[test]
fn soak_renewal_loop_under_faults() {
    let iterations = env_usize("OKMS_SOAK_RENEWALS", 12);
    let seed = std::env::var("OKMS_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_130_u64);
    drop(common::okms_cli());
    let emu = RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(300),
        delete_delay: Duration::from_millis(200),
        seed,
        ..EmulatorConfig::default()
    })
    .expect("start the emulator");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();

    // The first deployment, unfaulted: the loop is about renewing.
    offline(
        dir,
        &[
            "csr",
            "new",
            "--key-out",
            "svc.key",
            "--cn",
            RENEWED,
            "--out",
            "svc.csr",
        ],
    );
    let created = step(
        &emu,
        AuthMethod::Signature,
        dir,
        &[
            "credential",
            "create",
            "--csr",
            "svc.csr",
            "--name",
            RENEWED,
            "--identity",
            URN,
            "--cert-out",
            "svc.cert",
        ],
        &mut String::new(),
    );
    assert!(created.success(), "the first deployment: {created:?}");

    let start = Instant::now();
    let mut outcomes: BTreeMap<Renewal, usize> = BTreeMap::new();
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut fired: BTreeMap<String, u64> = BTreeMap::new();
    let mut hints_followed = 0;
    let mut problems = Vec::new();
    let mut interrupted = Interrupted::default();
    let mut rng = seed | 1;
    for i in 0..iterations {
        // One run in two is cut short at a random moment, by SIGKILL or SIGTERM, then the
        // timer's plain command must put everything right by itself.
        let cut = next_random(&mut rng);
        if cut % 2 == 1 {
            let signal = if cut % 4 == 1 { "KILL" } else { "TERM" };
            let after = Duration::from_millis(next_random(&mut rng) % 2500);
            problems.extend(interrupted.run(&emu, dir, i, signal, after));
            continue;
        }
        let before_id = deployed_pair(dir).0.credential_id().unwrap();
        let auth = if i.is_multiple_of(2) {
            AuthMethod::Signature
        } else {
            AuthMethod::OAuth2
        };
        let mut args = vec![
            "credential",
            "renew",
            "--json",
            "--force",
            "--timeout",
            "60s",
            "--cert",
            "svc.cert",
            "--key",
            "svc.key",
        ];
        // A hook that fails now and then, one that succeeds, and none.
        match i % 4 {
            1 => args.extend(["--exec", "/bin/false"]),
            3 => args.extend(["--exec", "/bin/true"]),
            _ => {}
        }
        emu.set_faults(faults());
        let ran = step(&emu, auth, dir, &args, &mut String::new());
        for (spec, n) in emu.fault_counts() {
            *fired.entry(fault_label(&spec.kind).into()).or_default() += n;
        }
        // Faults off from here: the checks and the clean-up are the user's, after the fact.
        emu.set_faults(Vec::new());

        let deployed_id = deployed_pair(dir).0.credential_id().unwrap();
        let outcome = if ran.success() {
            Renewal::Renewed
        } else if deployed_id == before_id {
            Renewal::StoppedBeforeSwap
        } else if ran.stderr.contains("the hook") {
            Renewal::HookFailed
        } else {
            Renewal::OldNotRevoked
        };
        *outcomes.entry(outcome).or_default() += 1;
        let failing_hook = i % 4 == 1;
        if failing_hook && outcome == Renewal::Renewed {
            problems.push(format!(
                "renewal {i}: the hook /bin/false failed but the renewal exited 0: {ran:?}"
            ));
        }
        if !failing_hook && outcome == Renewal::HookFailed {
            problems.push(format!(
                "renewal {i}: a hook that succeeds was reported failed: {ran:?}"
            ));
        }
        if !ran.success() {
            let why = if outcome == Renewal::HookFailed {
                format!("renew: exit {:?}: the hook failed (as arranged)", ran.code)
            } else {
                reason("renew", &ran)
            };
            *failures.entry(why).or_default() += 1;
            let error: Vec<&str> = ran
                .stderr
                .lines()
                .filter(|l| l.starts_with("error") || l.starts_with("hint"))
                .collect();
            eprintln!("soak: renewal {i} ({outcome:?}): {}", error.join(" | "));
        }
        problems.extend(renewal_violations(&emu, dir, i, &ran, &before_id));
        let (deleted, bad) = follow_the_hints(&emu, dir, &ran);
        hints_followed += deleted;
        problems.extend(bad.into_iter().map(|b| format!("renewal {i}: {b}")));
    }
    let elapsed = start.elapsed();

    // After the hints are followed and DELETING has run out: exactly the deployed credential.
    std::thread::sleep(Duration::from_millis(400));
    let deployed_id = deployed_pair(dir).0.credential_id().unwrap();
    let all = emu.credentials();
    let live_ids: Vec<String> = all
        .iter()
        .filter(|c| live(c))
        .map(|c| c.id.to_string())
        .collect();
    if live_ids != [deployed_id.clone()] {
        problems.push(format!(
            "at the end, live credentials {live_ids:?}; only the deployed {deployed_id} should be"
        ));
    }

    eprintln!(
        "soak: {iterations} renewals in {:.1}s (seed {seed}): {outcomes:?}",
        elapsed.as_secs_f64()
    );
    for (why, n) in &failures {
        eprintln!("soak:   failed {n}x at {why}");
    }
    eprintln!(
        "soak: credentials created {}, create answers lost {}, credentials deleted by following hints {hints_followed}",
        all.len(),
        all.iter().filter(|c| c.answer_lost).count()
    );
    eprintln!("soak: faults injected: {fired:?}");
    eprintln!(
        "soak: interrupted renewals: {} SIGKILL, {} SIGTERM ({} of them before the run listened, nothing made yet; {} runs ended before the signal); leftovers found by the next plain run: {} (KEY.new {}, old credential to revoke {}); recoveries (plain runs that resolved one): {}",
        interrupted.kills,
        interrupted.terms,
        interrupted.terms_before_listening,
        interrupted.finished_first,
        interrupted.leftover_keys + interrupted.pending_revocations,
        interrupted.leftover_keys,
        interrupted.pending_revocations,
        interrupted.recoveries
    );

    assert!(
        problems.is_empty(),
        "{} violation(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        fired.values().sum::<u64>() > 0,
        "no fault fired: the soak exercised nothing"
    );
    assert!(
        outcomes.get(&Renewal::Renewed).copied().unwrap_or(0) > 0,
        "no renewal succeeded: {failures:?}"
    );
}
