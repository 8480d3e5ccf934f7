//! The broker's policy: which domains and credential names may renew through it, and how.
//! The types are the checked form; [`Policy::from_yaml`] reads and validates the file.

use std::time::Duration;

use okms_api::Uuid;
use okms_csr::KeyAlgorithm;

mod parse;

pub use parse::{DEFAULT_GRACE, DEFAULT_MIN_RENEW_INTERVAL, MAX_POLICY_DURATION, POLICY_VERSION};

/// The whole policy, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// One entry per domain, no domain twice.
    pub domains: Vec<DomainPolicy>,
}

/// What one domain allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainPolicy {
    /// The domain.
    pub okms_id: Uuid,
    /// Credential names that may renew (at least one pattern).
    pub credentials: Vec<NamePattern>,
    /// The new certificate's validity in days; the old credential's when `None`.
    pub validity_days: Option<u32>,
    /// Key algorithms a new key may use (default: every one okms-csr supports).
    pub key_algorithms: Vec<KeyAlgorithm>,
    /// Renewal is due when at most this many days are left; at two thirds of the lifetime
    /// when `None` (okms-lifecycle's `decide`).
    pub renew_before_days: Option<u32>,
    /// How long an unconfirmed successor lives before it is revoked (default 24 h).
    pub grace: Duration,
    /// At most one new successor per host within this time (default 1 h); a repeated CSR is
    /// not a new one.
    pub min_renew_interval: Duration,
}

impl Policy {
    /// The entry for `okms_id`.
    pub fn domain(&self, okms_id: Uuid) -> Option<&DomainPolicy> {
        self.domains.iter().find(|d| d.okms_id == okms_id)
    }
}

impl DomainPolicy {
    /// Whether a credential of this name may renew.
    pub fn allows(&self, name: &str) -> bool {
        self.credentials.iter().any(|p| p.matches(name))
    }
}

/// A credential-name pattern: literal characters and `*` (any run, also empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern(String);

impl NamePattern {
    /// The pattern as written. Checking it is [`Policy::from_yaml`]'s job.
    pub fn new_unchecked(pattern: impl Into<String>) -> Self {
        NamePattern(pattern.into())
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        glob_matches(self.0.as_bytes(), name.as_bytes())
    }
}

// Iterative `*` matching with one backtrack point: linear in practice, no recursion.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if Some(c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::NamePattern;

    #[test]
    fn patterns_match_whole_names() {
        let p = NamePattern::new_unchecked("web-*");
        assert!(p.matches("web-1") && p.matches("web-"));
        assert!(!p.matches("db-web-1") && !p.matches("web"));
        let exact = NamePattern::new_unchecked("db-1");
        assert!(exact.matches("db-1") && !exact.matches("db-10"));
        let mid = NamePattern::new_unchecked("a*b*c");
        assert!(mid.matches("abc") && mid.matches("axxbyyc") && !mid.matches("axxbyy"));
    }
}
