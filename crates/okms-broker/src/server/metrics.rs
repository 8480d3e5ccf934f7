//! The server's own Prometheus metrics: requests by route and status, requests in flight,
//! requests refused because the broker was saturated, request durations, and the broker's
//! own share of them (the duration less the request's API calls and its waits for the API).
//! The service appends its own (API calls, renewals by outcome) after these.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the duration histogram's buckets: a renewal waits for READY,
/// which takes seconds on the real API.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, took: Duration) {
        let secs = took.as_secs_f64();
        for (count, bound) in self.counts.iter_mut().zip(BUCKETS) {
            if secs <= bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// Writes one histogram family, a series per route.
fn write_histograms(
    out: &mut String,
    name: &str,
    help: &str,
    series: &BTreeMap<&'static str, Histogram>,
) -> std::fmt::Result {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} histogram")?;
    for (route, h) in series {
        for (count, bound) in h.counts.iter().zip(BUCKETS) {
            writeln!(
                out,
                "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
            )?;
        }
        writeln!(
            out,
            "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
            h.count
        )?;
        writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", h.sum)?;
        writeln!(out, "{name}_count{{route=\"{route}\"}} {}", h.count)?;
    }
    Ok(())
}

/// Counters shared by every connection.
#[derive(Default)]
pub(crate) struct ServerMetrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    durations: Mutex<BTreeMap<&'static str, Histogram>>,
    own: Mutex<BTreeMap<&'static str, Histogram>>,
    in_flight: AtomicU64,
    saturated: AtomicU64,
    connections_refused: AtomicU64,
}

impl ServerMetrics {
    pub(crate) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A handled request took `took`, of which `own` was the broker's own work.
    pub(crate) fn finished(&self, route: &'static str, status: u16, took: Duration, own: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.answered(route, status, took);
        lock(&self.own).entry(route).or_default().observe(own);
    }

    /// Counts an answer (also one given without handling the request: saturated).
    pub(crate) fn answered(&self, route: &'static str, status: u16, took: Duration) {
        *lock(&self.requests).entry((route, status)).or_default() += 1;
        lock(&self.durations)
            .entry(route)
            .or_default()
            .observe(took);
    }

    pub(crate) fn saturated(&self) {
        self.saturated.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition of these metrics.
    pub(crate) fn write(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = self.write_inner(out);
    }

    fn write_inner(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP okms_broker_requests_total Requests answered, by route and status."
        )?;
        writeln!(out, "# TYPE okms_broker_requests_total counter")?;
        for ((route, status), n) in lock(&self.requests).iter() {
            writeln!(
                out,
                "okms_broker_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            )?;
        }
        writeln!(
            out,
            "# HELP okms_broker_requests_in_flight Requests being handled now."
        )?;
        writeln!(out, "# TYPE okms_broker_requests_in_flight gauge")?;
        writeln!(
            out,
            "okms_broker_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "# HELP okms_broker_requests_saturated_total Requests refused with 503 because \
             the in-flight bound was reached."
        )?;
        writeln!(out, "# TYPE okms_broker_requests_saturated_total counter")?;
        writeln!(
            out,
            "okms_broker_requests_saturated_total {}",
            self.saturated.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "# HELP okms_broker_connections_refused_total Connections closed at once because \
             the connection bound was reached."
        )?;
        writeln!(out, "# TYPE okms_broker_connections_refused_total counter")?;
        writeln!(
            out,
            "okms_broker_connections_refused_total {}",
            self.connections_refused.load(Ordering::Relaxed)
        )?;
        write_histograms(
            out,
            "okms_broker_request_duration_seconds",
            "Time from a request's head to its answer, by route.",
            &lock(&self.durations),
        )?;
        write_histograms(
            out,
            "okms_broker_request_own_seconds",
            "The broker's own share of a request's time, by route: its duration less the \
             time in its API calls and waiting for the API (the concurrency bound, a shared \
             listing).",
            &lock(&self.own),
        )?;
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters stay meaningful after a panic elsewhere: keep counting.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = ServerMetrics::default();
        m.started();
        m.finished(
            "/v1/renew",
            201,
            Duration::from_millis(30),
            Duration::from_millis(4),
        );
        m.started();
        m.finished(
            "/v1/renew",
            201,
            Duration::from_secs(3),
            Duration::from_millis(20),
        );
        let mut out = String::new();
        m.write(&mut out);
        assert!(out.contains("okms_broker_requests_total{route=\"/v1/renew\",status=\"201\"} 2"));
        assert!(out.contains("_bucket{route=\"/v1/renew\",le=\"0.05\"} 1"));
        assert!(out.contains("_bucket{route=\"/v1/renew\",le=\"5\"} 2"));
        assert!(out.contains("_count{route=\"/v1/renew\"} 2"));
        assert!(out.contains("okms_broker_requests_in_flight 0"));
        assert!(out.contains(
            "okms_broker_request_own_seconds_bucket{route=\"/v1/renew\",le=\"0.005\"} 1"
        ));
        assert!(out.contains(
            "okms_broker_request_own_seconds_bucket{route=\"/v1/renew\",le=\"0.025\"} 2"
        ));
    }
}
