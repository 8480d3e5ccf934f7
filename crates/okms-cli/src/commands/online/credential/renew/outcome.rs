//! How a stopped renewal is told: okms-lifecycle says what is deployed and what is live
//! (typed), this module words it with the paths, labels and commands the user knows.

use okms_api::Uuid;
use okms_lifecycle::{Cause, Error, KeyFate, RenewalFailure, Step, StopReason};

use super::{Deployment, Old};
use crate::error::CliError;
use crate::error::api_failure;
use crate::exit::Exit;

/// How a key home names its new key and the old pair in messages.
pub(super) trait Words {
    /// The new key, as in "created for the new key (…)".
    fn new_key_shown(&self) -> String;
    /// The old pair, unchanged and working.
    fn unchanged(&self) -> String;
    /// Where an undiscarded new key is: "at PATH", "on the token as LABEL".
    fn kept(&self) -> String;
    /// What the user does to remove the new key by hand.
    fn removal(&self) -> String;
    /// The new key was discarded, said on its own.
    fn discarded(&self) -> String;
    /// The new key was discarded, said after "the new credential ID was revoked and".
    fn revoked_and_discarded(&self) -> String {
        self.discarded()
    }
    /// Discarding the new key failed with `e`.
    fn discard_failed(&self, e: &CliError) -> String;
    /// Deployment stopped half way, with both credentials live.
    fn half_deployed(&self, cause: CliError, old: &Old, new_id: Uuid) -> CliError;
}

/// A stopped renewal as a CLI error naming what is deployed, what is live and what to do.
pub(super) fn failure<W: Words>(
    f: RenewalFailure<CliError, Deployment>,
    home: &W,
    old: &Old,
) -> CliError {
    let (okms_id, old_id) = (old.okms_id, old.id);
    let unchanged = home.unchanged();
    match f {
        RenewalFailure::NotCreated {
            cause: Cause::Home(cause),
            new_key: KeyFate::NeverMade,
            ..
        } => cause,
        RenewalFailure::NotCreated {
            cause: Cause::Home(cause),
            new_key,
            ..
        } => cause.context(format!(
            "renewal stopped; {}; {unchanged}",
            fate(home, &new_key)
        )),
        RenewalFailure::NotCreated {
            cause: Cause::Lifecycle(e),
            new_key: KeyFate::Kept,
            name,
        } => lifecycle_failure(e, unchanged).hint(format!(
            "the new key is kept {kept}: if `okms-cli credential list --okms-id {okms_id}` shows a new credential named {name:?}, it holds this key; delete that credential, then {removal}",
            kept = home.kept(),
            name = name.unwrap_or_default(),
            removal = home.removal()
        )),
        RenewalFailure::NotCreated {
            cause: Cause::Lifecycle(e),
            new_key: KeyFate::NeverMade,
            ..
        } => lifecycle_failure(e, format!("nothing was created; {unchanged}")),
        RenewalFailure::NotCreated {
            cause: Cause::Lifecycle(e),
            new_key,
            ..
        } => {
            let fate = fate(home, &new_key);
            lifecycle_failure(e, format!("nothing was created; {fate}; {unchanged}"))
                .hint_unless_hinted("run the renewal again")
        }
        RenewalFailure::Abandoned {
            new_id,
            cause,
            revoked,
            new_key,
        } => {
            let cause = match cause {
                Cause::Home(e) => e,
                Cause::Lifecycle(e) => before_deploy(e, okms_id),
            };
            match revoked {
                Ok(()) => {
                    let fate = match &new_key {
                        KeyFate::Discarded => home.revoked_and_discarded(),
                        other => fate(home, other),
                    };
                    cause.context(format!(
                        "renewal failed; the new credential {new_id} was revoked and {fate}; {unchanged}"
                    ))
                }
                Err(e) => cause
                    .context(format!(
                        "renewal failed, and the new credential {new_id} could not be revoked ({e}); its key is kept {}; {unchanged}",
                        home.kept()
                    ))
                    .hint(format!(
                        "revoke it: okms-cli credential delete {new_id} --okms-id {okms_id} --yes, then {}",
                        home.removal()
                    )),
            }
        }
        RenewalFailure::HalfDeployed { new_id, cause } => home.half_deployed(cause, old, new_id),
        RenewalFailure::HookFailed { cause, .. } => cause,
        RenewalFailure::OldNotRevoked { new_id, cause, .. } => lifecycle_failure(
            cause,
            format!(
                "the new pair (credential {new_id}) is in place and works, but the old credential {old_id} is still live"
            ),
        )
        .hint(format!(
            "revoke it: okms-cli credential delete {old_id} --okms-id {okms_id} --yes"
        )),
    }
}

fn fate<W: Words>(home: &W, key: &KeyFate<CliError>) -> String {
    match key {
        KeyFate::DiscardFailed(e) => home.discard_failed(e),
        KeyFate::Kept => format!("the new key is kept {}", home.kept()),
        _ => home.discarded(),
    }
}

/// A failure between READY and the proof, as the user is told it.
fn before_deploy(e: Error, okms_id: Uuid) -> CliError {
    match &e {
        Error::Api {
            step: Step::WaitReady,
            ..
        } => lifecycle_failure(e, "the new credential is not usable"),
        Error::Api {
            step: Step::FindEndpoint,
            ..
        }
        | Error::NoRestEndpoint { .. } => endpoint_error(e, okms_id),
        _ => lifecycle_failure(e, "the new pair does not work"),
    }
}

/// Finding the domain's REST endpoint (`okms_lifecycle::rest_endpoint`) failed, worded as
/// `credential check` words it.
pub(crate) fn endpoint_error(e: Error, okms_id: Uuid) -> CliError {
    match e {
        Error::NoRestEndpoint { .. } => CliError::new(
            Exit::Api,
            format!("the API reports no REST endpoint for domain {okms_id}"),
        )
        .hint("give it with --kms-url"),
        Error::Api {
            step: Step::FindEndpoint,
            source,
        } => api_failure(
            source,
            format!("cannot read OKMS domain {okms_id} to find its REST endpoint"),
        ),
        other => lifecycle_failure(other, "cannot find the domain's REST endpoint"),
    }
}

/// A lifecycle error as a CLI error, with the state the user is left in.
pub(super) fn lifecycle_failure(e: Error, state: impl std::fmt::Display) -> CliError {
    let exit = match &e {
        Error::ProofRefused { .. } => Exit::Api,
        Error::Stopped {
            reason: StopReason::Interrupted,
            ..
        } => Exit::Interrupted,
        Error::Stopped { .. } => Exit::Timeout,
        _ => Exit::Error,
    };
    let deadline = matches!(
        e,
        Error::Stopped {
            reason: StopReason::DeadlineExceeded,
            ..
        }
    );
    match e {
        Error::Api { step, source } => {
            api_failure(source, format!("renewal stopped while {step}; {state}"))
        }
        other if deadline => CliError::new(exit, format!("renewal stopped: {other}; {state}"))
            .hint("--timeout bounds the whole run (every call and wait): give it more time, e.g. --timeout 10m"),
        other => CliError::new(exit, format!("renewal stopped: {other}; {state}")),
    }
}

/// A schedule or threshold refused by okms-lifecycle, with the flag that fixes it: the
/// library names no flag.
pub(crate) fn schedule_error(e: Error) -> CliError {
    let fix = match &e {
        Error::ThresholdsInverted { .. } => ": use a --crit no greater than --warn".to_owned(),
        Error::EmptyLifetime { .. } => "; renew it with --force".to_owned(),
        Error::BeforeTooLong { max_days, .. } => {
            format!(": use a --before of at most {max_days}")
        }
        _ => String::new(),
    };
    CliError::new(Exit::InvalidInput, format!("{e}{fix}"))
}
