//! A renewal broker's refusals (okms-api's `Error::Broker`) as exit codes and hints: the host
//! side of `credential renew --broker`, which holds no API credential and so can only be told
//! what the broker's operator or the next run can fix.

use okms_api::broker::{BrokerRefusal, RefusalCode};

use super::CliError;
use crate::exit::Exit;

/// Maps a broker refusal to its exit code and hint, under `context`; `e` is an
/// `okms_api::Error::Broker`.
pub(super) fn broker_refusal(
    e: okms_api::Error,
    refusal: &BrokerRefusal,
    context: impl std::fmt::Display + Send + Sync + 'static,
) -> CliError {
    let (exit, what, hint) = match refusal.code {
        RefusalCode::Forbidden => (
            Exit::Auth,
            "the broker does not renew this certificate: it is not a READY credential its policy allows (revoked, expired, of another domain, or a name its policy does not list)",
            "check the pair with `okms-cli credential check --cert CERT --key KEY`; if it works, ask the broker's operator whether its policy lists this credential's name and domain",
        ),
        RefusalCode::Conflict => (
            Exit::BrokerRefused,
            "the broker holds a successor of this certificate, not yet confirmed, made for another key",
            "run the renewal again: a leftover new key is abandoned first; otherwise the broker revokes that successor at the end of its grace period",
        ),
        RefusalCode::BadCsr => (
            Exit::BrokerRefused,
            "the broker refused the new key's CSR",
            "its message says why; --algorithm chooses a key algorithm its policy allows",
        ),
        RefusalCode::RateLimited | RefusalCode::Unavailable => (
            Exit::BrokerBusy,
            "the broker is busy or rate-limits this host, and the retries ran out",
            "nothing was deployed: the next run (the timer's) tries again; --timeout gives the retries more time",
        ),
        RefusalCode::BadRequest | RefusalCode::NotFound | RefusalCode::TooLarge => (
            Exit::BrokerRefused,
            "the broker does not take this request",
            "check --broker (its path, if the broker is behind a proxy) and that the broker speaks this version of the protocol (/v1)",
        ),
        _ if refusal.is_retryable() => (
            Exit::BrokerBusy,
            "the broker stayed unavailable, and the retries ran out",
            "nothing was deployed: the next run (the timer's) tries again",
        ),
        _ => (
            Exit::BrokerRefused,
            "the broker failed",
            "its log names the request (the audit line); run the renewal again later",
        ),
    };
    CliError {
        exit,
        error: anyhow::Error::new(e).context(format!("{context}: {what}")),
        hint: Some(hint.to_owned()),
    }
}
