//! The engine's Prometheus metrics: renewals by outcome, confirms, abandons, API calls and
//! their latency, the API gate's occupancy and queue, successors pending.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use okms_api::broker::RefusalCode;

/// Upper bounds (seconds) of the API latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Counters shared by every request.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Renewals by outcome label (`created`, `repeated`, `refused:CODE`).
    renewals: Mutex<BTreeMap<String, u64>>,
    confirms: AtomicU64,
    abandons: AtomicU64,
    api_calls: AtomicU64,
    api_failures: AtomicU64,
    /// Count per bucket (not cumulative), then the sum in microseconds.
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_sum_micros: AtomicU64,
    /// Time API-using steps waited for the concurrency bound, in microseconds.
    wait_sum_micros: AtomicU64,
    /// API-using steps running now.
    pub in_flight: AtomicU64,
    /// API-using steps waiting for the gate.
    pub queued: AtomicU64,
    /// Unconfirmed successors in the ledger (set by whoever changes it).
    pub pending: AtomicU64,
}

/// How a renew ended, for its counter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RenewOutcome {
    Created,
    Repeated,
    Refused(RefusalCode),
}

impl Stats {
    pub fn renewal(&self, outcome: RenewOutcome) {
        let label = match outcome {
            RenewOutcome::Created => "outcome=\"created\"".to_owned(),
            RenewOutcome::Repeated => "outcome=\"repeated\"".to_owned(),
            RenewOutcome::Refused(code) => {
                format!("outcome=\"refused\",code=\"{}\"", code_name(code))
            }
        };
        let mut renewals = self
            .renewals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *renewals.entry(label).or_default() += 1;
    }

    pub fn confirmed(&self) {
        self.confirms.fetch_add(1, Ordering::Relaxed);
    }

    pub fn abandoned(&self) {
        self.abandons.fetch_add(1, Ordering::Relaxed);
    }

    /// One API-using step waited `waited` for the concurrency bound, then took `elapsed`.
    pub fn api_call(&self, elapsed: Duration, waited: Duration, failed: bool) {
        self.api_calls.fetch_add(1, Ordering::Relaxed);
        let waited = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.wait_sum_micros.fetch_add(waited, Ordering::Relaxed);
        if failed {
            self.api_failures.fetch_add(1, Ordering::Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&le| secs <= le)
            && let Some(bucket) = self.latency_buckets.get(i)
        {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Appends the metrics in the Prometheus text format.
    pub fn write(&self, out: &mut String) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        metric(
            "okms_broker_renewals_total",
            "counter",
            "Renew requests by outcome (created, repeated, refused by code).",
        );
        let renewals = self
            .renewals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for (label, n) in &renewals {
            let _ = writeln!(out, "okms_broker_renewals_total{{{label}}} {n}");
        }
        let simple = [
            (
                "okms_broker_confirms_total",
                "counter",
                "Confirms answered.",
                load(&self.confirms),
            ),
            (
                "okms_broker_abandons_total",
                "counter",
                "Abandons answered.",
                load(&self.abandons),
            ),
            (
                "okms_broker_api_calls_total",
                "counter",
                "API-using steps (a step's own retries inside okms-api are one).",
                load(&self.api_calls),
            ),
            (
                "okms_broker_api_failures_total",
                "counter",
                "API-using steps that failed.",
                load(&self.api_failures),
            ),
            (
                "okms_broker_api_in_flight",
                "gauge",
                "API-using steps running now.",
                load(&self.in_flight),
            ),
            (
                "okms_broker_api_queue_depth",
                "gauge",
                "API-using steps waiting for the concurrency bound.",
                load(&self.queued),
            ),
            (
                "okms_broker_pending_successors",
                "gauge",
                "Successors made and not yet confirmed, abandoned or past their grace.",
                load(&self.pending),
            ),
        ];
        for (name, kind, help, value) in simple {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        let name = "okms_broker_api_wait_seconds_total";
        let waited = Duration::from_micros(load(&self.wait_sum_micros)).as_secs_f64();
        let _ = writeln!(
            out,
            "# HELP {name} Time API-using steps waited for the concurrency bound.\n\
             # TYPE {name} counter\n{name} {waited}"
        );
        let name = "okms_broker_api_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time of each API-using step.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0u64;
        for (le, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            cumulative += load(bucket);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let count = load(&self.api_calls);
        let sum = Duration::from_micros(load(&self.latency_sum_micros)).as_secs_f64();
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}"
        );
    }
}

/// The refusal code as the wire spells it (`bad_csr`).
pub(crate) fn code_name(code: RefusalCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative_and_counts_every_call() {
        let stats = Stats::default();
        stats.api_call(Duration::from_millis(3), Duration::ZERO, false);
        stats.api_call(Duration::from_millis(40), Duration::from_millis(500), true);
        stats.api_call(Duration::from_secs(60), Duration::ZERO, false);
        stats.renewal(RenewOutcome::Refused(RefusalCode::BadCsr));
        let mut out = String::new();
        stats.write(&mut out);
        assert!(out.contains("okms_broker_api_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(out.contains("okms_broker_api_duration_seconds_bucket{le=\"0.05\"} 2\n"));
        assert!(out.contains("okms_broker_api_duration_seconds_bucket{le=\"30\"} 2\n"));
        assert!(out.contains("okms_broker_api_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(out.contains("okms_broker_renewals_total{outcome=\"refused\",code=\"bad_csr\"} 1"));
        assert!(out.contains("okms_broker_api_failures_total 1"));
        assert!(out.contains("okms_broker_api_wait_seconds_total 0.5\n"));
    }
}
