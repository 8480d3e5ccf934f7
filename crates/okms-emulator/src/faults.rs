//! Fault injection: latency, 5xx answers, 429 with `Retry-After`, connections dropped before
//! or after the request is processed. Decisions come from a seeded generator, so the same
//! seed and the same order of requests give the same faults.
//!
//! Textual form (the CLI's `--fault`), comma-separated:
//! `KIND[:ARG][,rate=R][,skip=N][,times=N][,route=[METHOD:]PATH]`
//!
//! | kind | ARG | effect |
//! |---|---|---|
//! | `latency` | milliseconds | waits before answering |
//! | `error` | `500`, `502`, `503` (default: one of them at random) | answers that status without processing |
//! | `throttle` | seconds for `Retry-After` (default 1) | answers 429 without processing |
//! | `drop-before` | – | closes the connection without processing or answering |
//! | `drop-after` | – | processes the request (state changes) then closes without answering |
//!
//! `rate` (0..=1, default 1) is the share of matching requests hit; `skip` lets the first N
//! matching requests through; `times` caps how often the fault fires. `PATH` matches the request
//! path without its query; `*` matches one segment and a final `**` any rest, e.g.
//! `route=POST:/v2/okms/resource/*/credential`.

use std::{str::FromStr, time::Duration};

use crate::error::Error;

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Delay before the request is handled.
    Latency(Duration),
    /// Answer this status (500, 502 or 503) without processing.
    Status(u16),
    /// Answer 500, 502 or 503, picked by the seeded generator, without processing.
    ServerError,
    /// Answer 429 with `Retry-After: <secs>` without processing.
    TooManyRequests {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Close the connection before the request is processed.
    DropBeforeProcessing,
    /// Process the request (state changes), then close the connection without an answer.
    DropAfterProcessing,
}

/// Which requests a fault applies to: an optional method and a path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutePattern {
    method: Option<String>,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

impl RoutePattern {
    /// Parses `[METHOD:]PATH`, e.g. `POST:/v2/okms/resource/*/credential` or `/1.0/auth/time`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::FaultSpec {
            spec: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (method, path) = match s.split_once(':') {
            Some((m, p)) => {
                if m.is_empty() || !m.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(bad("the method before ':' must be letters, e.g. POST"));
                }
                (Some(m.to_ascii_uppercase()), p)
            }
            None => (None, s),
        };
        if !path.starts_with('/') {
            return Err(bad("the route path must start with '/'"));
        }
        let parts: Vec<&str> = path[1..].split('/').collect();
        let mut segments = Vec::with_capacity(parts.len());
        for (i, p) in parts.iter().enumerate() {
            segments.push(match *p {
                "*" => Segment::One,
                "**" if i + 1 == parts.len() => Segment::Rest,
                "**" => return Err(bad("'**' may only be the last path segment")),
                lit => Segment::Literal(lit.to_owned()),
            });
        }
        Ok(Self { method, segments })
    }

    /// Whether a request matches.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        let parts: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        let mut i = 0;
        for seg in &self.segments {
            match seg {
                Segment::Rest => return true,
                Segment::One => {
                    if i >= parts.len() {
                        return false;
                    }
                }
                Segment::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return false;
                    }
                }
            }
            i += 1;
        }
        i == parts.len()
    }
}

/// One fault: what it does, how often, and to which requests.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpec {
    /// The effect.
    pub kind: FaultKind,
    /// Share of eligible matching requests hit, 0..=1.
    pub rate: f64,
    /// Only requests matching this pattern (all when None).
    pub route: Option<RoutePattern>,
    /// The first `skip` matching requests are let through.
    pub skip: u64,
    /// Fires at most this many times (unbounded when None).
    pub times: Option<u64>,
}

impl FaultSpec {
    /// A fault hitting every request.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            rate: 1.0,
            route: None,
            skip: 0,
            times: None,
        }
    }

    /// Sets the share of requests hit (clamped to 0..=1).
    #[must_use]
    pub fn rate(mut self, rate: f64) -> Self {
        self.rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        self
    }

    /// Restricts the fault to one route, `[METHOD:]PATH`.
    pub fn route(mut self, pattern: &str) -> Result<Self, Error> {
        self.route = Some(RoutePattern::parse(pattern)?);
        Ok(self)
    }

    /// Lets the first `n` matching requests through.
    #[must_use]
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }

    /// Fires at most `n` times.
    #[must_use]
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }
}

impl FromStr for FaultSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: String| Error::FaultSpec {
            spec: s.to_owned(),
            reason,
        };
        let mut parts = s.split(',').map(str::trim);
        let head = parts.next().unwrap_or("");
        let (kind, arg) = match head.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (head, None),
        };
        let num = |a: Option<&str>, what: &str| -> Result<Option<u64>, Error> {
            a.map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad(format!("{what} must be a whole number, got {v:?}")))
            })
            .transpose()
        };
        let kind = match kind {
            "latency" => {
                let ms = num(arg, "the latency in milliseconds")?
                    .ok_or_else(|| bad("latency needs milliseconds, e.g. latency:250".into()))?;
                FaultKind::Latency(Duration::from_millis(ms))
            }
            "error" => match arg {
                None | Some("5xx") => FaultKind::ServerError,
                Some("500") => FaultKind::Status(500),
                Some("502") => FaultKind::Status(502),
                Some("503") => FaultKind::Status(503),
                Some(other) => {
                    return Err(bad(format!(
                        "error status must be 500, 502, 503 or 5xx, got {other:?}"
                    )));
                }
            },
            "throttle" | "429" => FaultKind::TooManyRequests {
                retry_after_secs: num(arg, "the Retry-After seconds")?.unwrap_or(1),
            },
            "drop-before" if arg.is_none() => FaultKind::DropBeforeProcessing,
            "drop-after" if arg.is_none() => FaultKind::DropAfterProcessing,
            other => {
                return Err(bad(format!(
                    "unknown fault kind {other:?}; use latency:MS, error[:500|502|503], \
                     throttle[:SECS], drop-before or drop-after"
                )));
            }
        };
        let mut spec = FaultSpec::new(kind);
        for opt in parts {
            let (k, v) = opt
                .split_once('=')
                .ok_or_else(|| bad(format!("option {opt:?} must be key=value")))?;
            match k {
                "rate" => {
                    let r: f64 = v
                        .parse()
                        .map_err(|_| bad(format!("rate must be a number in 0..=1, got {v:?}")))?;
                    if !(0.0..=1.0).contains(&r) {
                        return Err(bad(format!("rate must be in 0..=1, got {r}")));
                    }
                    spec.rate = r;
                }
                "skip" => spec.skip = num(Some(v), "skip")?.unwrap_or(0),
                "times" => spec.times = num(Some(v), "times")?,
                "route" => spec.route = Some(RoutePattern::parse(v)?),
                other => {
                    return Err(bad(format!(
                        "unknown option {other:?}; use rate=, skip=, times= or route="
                    )));
                }
            }
        }
        Ok(spec)
    }
}

/// What the serving layer must do with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Answer this status without processing (500/502/503).
    Status(u16),
    /// Answer 429 with this Retry-After.
    TooManyRequests(u64),
    /// Close before processing.
    DropBefore,
    /// Process, then close.
    DropAfter,
}

/// The decision for one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Decision {
    pub latency: Duration,
    pub action: Option<Action>,
}

#[derive(Debug)]
struct Armed {
    spec: FaultSpec,
    seen: u64,
    fired: u64,
}

/// The faults in force and the generator that decides them.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    armed: Vec<Armed>,
    rng: SplitMix64,
}

impl FaultEngine {
    pub fn new(seed: u64, specs: Vec<FaultSpec>) -> Self {
        Self {
            armed: specs
                .into_iter()
                .map(|spec| Armed {
                    spec,
                    seen: 0,
                    fired: 0,
                })
                .collect(),
            rng: SplitMix64(seed),
        }
    }

    /// Replaces the faults; the generator keeps its position.
    pub fn replace(&mut self, specs: Vec<FaultSpec>) {
        let seed = self.rng.0;
        *self = Self::new(seed, specs);
    }

    /// Each fault with how many times it has fired since the faults were last set.
    pub fn fired(&self) -> Vec<(FaultSpec, u64)> {
        self.armed
            .iter()
            .map(|a| (a.spec.clone(), a.fired))
            .collect()
    }

    pub fn decide(&mut self, method: &str, path: &str) -> Decision {
        let mut decision = Decision::default();
        for armed in &mut self.armed {
            let spec = &armed.spec;
            let is_action = !matches!(spec.kind, FaultKind::Latency(_));
            if is_action && decision.action.is_some() {
                continue;
            }
            if let Some(route) = &spec.route
                && !route.matches(method, path)
            {
                continue;
            }
            armed.seen += 1;
            if armed.seen <= spec.skip || spec.times.is_some_and(|t| armed.fired >= t) {
                continue;
            }
            if spec.rate < 1.0 && self.rng.next_f64() >= spec.rate {
                continue;
            }
            armed.fired += 1;
            match &spec.kind {
                FaultKind::Latency(d) => decision.latency += *d,
                FaultKind::Status(s) => decision.action = Some(Action::Status(*s)),
                FaultKind::ServerError => {
                    let s = [500, 502, 503][(self.rng.next_u64() % 3) as usize];
                    decision.action = Some(Action::Status(s));
                }
                FaultKind::TooManyRequests { retry_after_secs } => {
                    decision.action = Some(Action::TooManyRequests(*retry_after_secs));
                }
                FaultKind::DropBeforeProcessing => decision.action = Some(Action::DropBefore),
                FaultKind::DropAfterProcessing => decision.action = Some(Action::DropAfter),
            }
        }
        decision
    }
}

/// SplitMix64: tiny, seedable, and good enough to pick which requests fail.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        // 53 random mantissa bits give a uniform value in [0, 1).
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_every_kind() {
        let f: FaultSpec = "latency:250".parse().unwrap();
        assert_eq!(f.kind, FaultKind::Latency(Duration::from_millis(250)));
        let f: FaultSpec = "error:503,rate=0.5".parse().unwrap();
        assert_eq!(f.kind, FaultKind::Status(503));
        assert!((f.rate - 0.5).abs() < f64::EPSILON);
        let f: FaultSpec = "error".parse().unwrap();
        assert_eq!(f.kind, FaultKind::ServerError);
        let f: FaultSpec = "throttle:7".parse().unwrap();
        assert_eq!(
            f.kind,
            FaultKind::TooManyRequests {
                retry_after_secs: 7
            }
        );
        let f: FaultSpec = "drop-after,times=1,skip=2,route=POST:/v2/okms/resource/*/credential"
            .parse()
            .unwrap();
        assert_eq!(f.kind, FaultKind::DropAfterProcessing);
        assert_eq!((f.skip, f.times), (2, Some(1)));
        assert!(f.route.is_some());
        let f: FaultSpec = "drop-before".parse().unwrap();
        assert_eq!(f.kind, FaultKind::DropBeforeProcessing);
    }

    #[test]
    fn rejects_bad_specs_with_reason() {
        for bad in [
            "latency",
            "latency:abc",
            "error:404",
            "explode",
            "drop-after:3",
            "error,rate=2",
            "error,rate=x",
            "error,route=v2/x",
            "error,route=/a/**/b",
            "error,colour=red",
            "error,norate",
        ] {
            let err = bad.parse::<FaultSpec>().unwrap_err();
            assert!(matches!(err, Error::FaultSpec { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn route_matching() {
        let r = RoutePattern::parse("POST:/v2/okms/resource/*/credential").unwrap();
        assert!(r.matches("POST", "/v2/okms/resource/abc/credential"));
        assert!(r.matches("post", "/v2/okms/resource/abc/credential"));
        assert!(!r.matches("GET", "/v2/okms/resource/abc/credential"));
        assert!(!r.matches("POST", "/v2/okms/resource/abc/credential/x"));
        assert!(!r.matches("POST", "/v2/okms/resource/credential"));
        let r = RoutePattern::parse("/v2/**").unwrap();
        assert!(r.matches("DELETE", "/v2/okms/resource/a/credential/b"));
        assert!(!r.matches("GET", "/1.0/auth/time"));
        let r = RoutePattern::parse("/1.0/auth/time").unwrap();
        assert!(r.matches("GET", "/1.0/auth/time"));
        assert!(!r.matches("GET", "/1.0/auth/time/x"));
    }

    #[test]
    fn skip_and_times_bound_the_fault() {
        let spec = FaultSpec::new(FaultKind::DropAfterProcessing)
            .skip(1)
            .times(2);
        let mut e = FaultEngine::new(1, vec![spec]);
        let got: Vec<bool> = (0..5)
            .map(|_| e.decide("GET", "/x").action.is_some())
            .collect();
        assert_eq!(got, [false, true, true, false, false]);
        assert_eq!(e.fired()[0].1, 2);
    }

    #[test]
    fn same_seed_same_decisions() {
        let specs = vec![
            FaultSpec::new(FaultKind::ServerError).rate(0.3),
            FaultSpec::new(FaultKind::Latency(Duration::from_millis(5))).rate(0.5),
        ];
        let run = |seed| {
            let mut e = FaultEngine::new(seed, specs.clone());
            (0..200).map(|_| e.decide("GET", "/x")).collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let hits = run(42).iter().filter(|d| d.action.is_some()).count();
        assert!((30..=90).contains(&hits), "rate 0.3 of 200 gave {hits}");
    }

    #[test]
    fn latency_combines_with_an_action() {
        let specs = vec![
            FaultSpec::new(FaultKind::Latency(Duration::from_millis(5))),
            FaultSpec::new(FaultKind::Status(502)),
            FaultSpec::new(FaultKind::Status(503)),
        ];
        let mut e = FaultEngine::new(0, specs);
        let d = e.decide("GET", "/x");
        assert_eq!(d.latency, Duration::from_millis(5));
        assert_eq!(d.action, Some(Action::Status(502)));
    }
}
