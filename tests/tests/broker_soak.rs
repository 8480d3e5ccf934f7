//! Issue 22's soak: a fleet of hosts (okms-cli processes, each with its own key files and no
//! API credential) renews through TWO broker replicas over one emulator, several rounds, with
//! API faults on (5xx, 429, connections dropped before and after processing). A failed run is
//! retried as the host's timer would. Then faults off, both replicas restarted (a start
//! reconciles), one more run for a host whose last one failed, and the invariants: each
//! host's deployed pair works, exactly one live credential per host name (the deployed one),
//! and no live credential whose key no host holds.
//!
//! Size: `OKMS_BROKER_SOAK_HOSTS` (default 100), `OKMS_BROKER_SOAK_ROUNDS` (default 3),
//! `OKMS_BROKER_SOAK_THREADS` (default 32: hosts renewing at once; a renewal mostly waits on
//! the emulator and the broker, so a third of the fleet at once costs little more CPU than a
//! few, and a round is not several renewals long), `OKMS_BROKER_SOAK_SEED`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod broker_common;
mod common;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use broker_common::{Fleet, Host, STEP_LIMIT, live_credentials, openssl, policy_yaml};
use common::run_bounded;
use okms_emulator::{EmulatorConfig, FaultKind, FaultSpec, RoutePattern, RunningEmulator};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn api_faults() -> Vec<FaultSpec> {
    let on_api = |kind: FaultKind, rate: f64| {
        let mut spec = FaultSpec::new(kind).rate(rate);
        spec.route = Some(RoutePattern::parse("/v2/**").unwrap());
        spec
    };
    vec![
        on_api(FaultKind::ServerError, 0.04),
        on_api(
            FaultKind::TooManyRequests {
                retry_after_secs: 1,
            },
            0.02,
        ),
        on_api(FaultKind::DropBeforeProcessing, 0.02),
        on_api(FaultKind::DropAfterProcessing, 0.02),
    ]
}

/// Runs `work` for every index below `count` on `threads` threads.
fn in_parallel(count: usize, threads: usize, work: impl Fn(usize) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    work(i);
                }
            });
        }
    });
}

#[test]
fn a_fleet_renews_through_two_replicas_under_api_faults_and_converges() {
    let Some(openssl) = openssl("the broker soak") else {
        return;
    };
    let hosts_wanted = setting("OKMS_BROKER_SOAK_HOSTS", 100) as usize;
    let rounds = setting("OKMS_BROKER_SOAK_ROUNDS", 3) as usize;
    let threads = setting("OKMS_BROKER_SOAK_THREADS", 32) as usize;
    let emulator = RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(100),
        delete_delay: Duration::from_millis(100),
        seed: setting("OKMS_BROKER_SOAK_SEED", 22),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let mut fleet = Fleet::new(openssl, emulator, |id| {
        policy_yaml(id, &["soak-*"], "    min_renew_interval: 0s\n")
    });
    fleet.start_broker();
    fleet.start_broker();
    let started = Instant::now();

    let hosts: Mutex<Vec<Host>> = Mutex::new(Vec::new());
    in_parallel(hosts_wanted, threads, |i| {
        let host = fleet.new_host(&format!("soak-{i:03}"));
        hosts.lock().unwrap().push(host);
    });
    let mut hosts = hosts.into_inner().unwrap();
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    eprintln!("{} hosts created in {:?}", hosts.len(), started.elapsed());

    fleet.emulator.set_faults(api_faults());
    let last_failed: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());
    let failures = AtomicUsize::new(0);
    for round in 0..rounds {
        let round_start = Instant::now();
        in_parallel(hosts.len(), threads, |i| {
            let host = &hosts[i];
            // Hosts alternate between the replicas, and switch every round.
            let replica = (i + round) % 2;
            let mut ok = false;
            for attempt in 0..3 {
                let ran = run_bounded(&mut fleet.renew_command(host, replica, &[]), STEP_LIMIT);
                assert!(
                    ran.code.is_some() && !ran.timed_out,
                    "{} round {round}: the renewal crashed or hung: {ran:?}",
                    host.name
                );
                if ran.success() {
                    ok = true;
                    break;
                }
                failures.fetch_add(1, Ordering::Relaxed);
                assert!(!ran.stderr.trim().is_empty(), "a failure says why: {ran:?}");
                std::thread::sleep(Duration::from_millis(200 * (attempt + 1)));
            }
            let mut failed = last_failed.lock().unwrap();
            if ok {
                failed.remove(&i);
            } else {
                failed.insert(i);
            }
        });
        eprintln!(
            "round {round}: {:?}, {} runs failed so far, faults fired {:?}",
            round_start.elapsed(),
            failures.load(Ordering::Relaxed),
            fleet
                .emulator
                .fault_counts()
                .iter()
                .map(|(_, n)| n)
                .collect::<Vec<_>>()
        );
    }

    // Quiescence: faults off, both replicas restarted (each reconciles at start), one more
    // run for the hosts whose last renewal failed.
    fleet.emulator.set_faults(Vec::new());
    fleet.restart_broker(0);
    fleet.restart_broker(1);
    let failed: Vec<usize> = last_failed.into_inner().unwrap().into_iter().collect();
    for &i in &failed {
        let ran = fleet.renew(&hosts[i], 0);
        assert!(ran.success(), "{}: {ran:?}", hosts[i].name);
    }
    in_parallel(hosts.len(), threads, |i| fleet.assert_settled(&hosts[i]));
    let names: BTreeSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let strays: Vec<String> = live_credentials(&fleet.emulator)
        .into_iter()
        .filter(|c| !names.contains(c.name.as_str()))
        .map(|c| format!("{} {}", c.name, c.id))
        .collect();
    assert!(
        strays.is_empty(),
        "live credentials no host holds: {strays:?}"
    );
    assert_eq!(
        live_credentials(&fleet.emulator).len(),
        hosts.len(),
        "one live credential per host"
    );
    eprintln!(
        "soak: {} hosts × {rounds} rounds through 2 replicas in {:?}; {} failed runs retried, {} hosts needed a run after the faults",
        hosts.len(),
        started.elapsed(),
        failures.load(Ordering::Relaxed),
        failed.len()
    );
}
