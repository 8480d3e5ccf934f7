//! A refusal as the engine makes it: the answer the host gets, and the precise reason the
//! audit line keeps (the host is told less when it failed authentication).

use std::time::Duration;

use okms_api::broker::{BrokerRefusal, RefusalCode};

/// What the host is told when its certificate is not one this broker serves: which check
/// failed stays in the audit line.
const NOT_RENEWABLE: &str = "the client certificate is not a READY credential this broker renews";

/// How long a host waits before retrying when the API is unavailable. The API's own
/// `Retry-After` was already honoured by okms-api's retries, which this outlasted.
const API_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A refused request.
#[derive(Debug)]
pub(crate) struct Refused {
    /// The answer.
    pub refusal: BrokerRefusal,
    /// For the audit line.
    pub detail: String,
}

impl Refused {
    fn new(status: u16, code: RefusalCode, message: String, detail: String) -> Self {
        Refused {
            refusal: BrokerRefusal {
                status,
                code,
                message,
                retry_after: None,
            },
            detail,
        }
    }

    fn retry_after(mut self, after: Duration) -> Self {
        self.refusal.retry_after = Some(after);
        self
    }

    /// 403: the presented certificate failed authentication for `detail`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Refused::new(
            403,
            RefusalCode::Forbidden,
            NOT_RENEWABLE.to_owned(),
            detail.into(),
        )
    }

    /// 403 for an authenticated host asking for what it may not (the message says what).
    pub fn not_allowed(message: impl Into<String>) -> Self {
        let message = message.into();
        Refused::new(403, RefusalCode::Forbidden, message.clone(), message)
    }

    /// 400 with a request the route does not take.
    pub fn bad_request(message: impl Into<String>) -> Self {
        let message = message.into();
        Refused::new(400, RefusalCode::BadRequest, message.clone(), message)
    }

    /// 400: the CSR is unusable, `message` says why.
    pub fn bad_csr(message: impl Into<String>) -> Self {
        let message = message.into();
        Refused::new(400, RefusalCode::BadCsr, message.clone(), message)
    }

    /// 409: a different CSR while a successor waits for its confirm.
    pub fn conflict(message: impl Into<String>) -> Self {
        let message = message.into();
        Refused::new(409, RefusalCode::Conflict, message.clone(), message)
    }

    /// 429: a new successor for this name came too recently.
    pub fn rate_limited(message: impl Into<String>, after: Duration) -> Self {
        let message = message.into();
        Refused::new(429, RefusalCode::RateLimited, message.clone(), message).retry_after(after)
    }

    /// The API failed at `step`: 503 with `Retry-After` when it may recover (5xx, 429, a lost
    /// or unknown answer, a wait that ran out), else 500. The host is told the step only; the
    /// audit line keeps the error.
    pub fn api(step: &str, error: &okms_api::Error) -> Self {
        if api_may_recover(error) {
            Refused::new(
                503,
                RefusalCode::Unavailable,
                format!("the OVHcloud API is unavailable ({step}); retry later"),
                format!("{step}: {error}"),
            )
            .retry_after(API_RETRY_AFTER)
        } else {
            Refused::internal(format!("{step}: {error}"))
        }
    }

    /// 500: the broker failed; `detail` for the audit line.
    pub fn internal(detail: impl Into<String>) -> Self {
        Refused::new(
            500,
            RefusalCode::Internal,
            "the broker failed; nothing is left that it will not reconcile".to_owned(),
            detail.into(),
        )
    }
}

/// Whether the same call may succeed later.
fn api_may_recover(error: &okms_api::Error) -> bool {
    use okms_api::Error as E;
    match error {
        E::Transport { .. }
        | E::CreateOutcomeUnknown { .. }
        | E::ReconcileFailed { .. }
        | E::WaitTimeout { .. } => true,
        other => other
            .status()
            .is_some_and(|s| s == 429 || (500..=599).contains(&s)),
    }
}
