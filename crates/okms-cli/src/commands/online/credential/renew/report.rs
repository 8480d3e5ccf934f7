//! `credential renew --json`: one object on stdout for every run, failed or not, saying what
//! is deployed, which credentials are live and what to do. A timer's wrapper reads it instead
//! of parsing stderr, so a failure after the swap (the new pair deployed, the old credential
//! kept) is as visible as a success.

use std::cell::RefCell;

use okms_api::Uuid;
use okms_lifecycle::{DeployedPair, RenewalFailure};
use serde::Serialize;

use crate::error::CliError;

/// Which pair is deployed, as the report names it.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum Deployed {
    /// The pair that was there before this run (nothing changed, or everything was undone).
    Old,
    /// The new pair.
    New,
    /// Neither wholly: deployment stopped half way.
    Partly,
}

impl From<DeployedPair> for Deployed {
    fn from(p: DeployedPair) -> Self {
        match p {
            DeployedPair::Old => Deployed::Old,
            DeployedPair::New => Deployed::New,
            DeployedPair::Partly => Deployed::Partly,
        }
    }
}

/// A run that renewed, or found nothing due.
#[derive(Serialize)]
pub(super) struct RenewReport {
    pub renewed: bool,
    pub okms_id: Uuid,
    pub old_id: Uuid,
    pub new_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_due_until: Option<String>,
    pub cert: String,
    pub key: String,
    pub backup_cert: Option<String>,
    pub backup_key: Option<String>,
    pub old_revoked: bool,
    pub deployed: Deployed,
    /// The credentials of this renewal still live, old and new.
    pub live: Vec<Uuid>,
    /// The `--p12-out` file swapped in with the new pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p12: Option<crate::commands::cert_export::P12Report>,
}

/// A run that stopped.
#[derive(Serialize)]
struct FailedReport<'a> {
    renewed: bool,
    okms_id: Option<Uuid>,
    old_id: Option<Uuid>,
    new_id: Option<Uuid>,
    cert: &'a str,
    key: &'a str,
    deployed: Deployed,
    live: Vec<Uuid>,
    exit: u8,
    error: String,
    hint: Option<&'a str>,
    command: Option<String>,
}

/// What a run has learnt so far, for the report of a failure at any point.
#[derive(Default)]
pub(super) struct RunState {
    inner: RefCell<Known>,
}

#[derive(Default, Clone, Copy)]
struct Known {
    okms_id: Option<Uuid>,
    old_id: Option<Uuid>,
    new_id: Option<Uuid>,
    deployed: Option<Deployed>,
    new_live: Option<Uuid>,
}

impl RunState {
    /// The credential being renewed is known.
    pub fn old(&self, okms_id: Uuid, old_id: Uuid) {
        let mut k = self.inner.borrow_mut();
        k.okms_id = Some(okms_id);
        k.old_id = Some(old_id);
    }

    /// The saga stopped: what it left deployed and live. The old credential is live on every
    /// path of a failure (only the last step revokes it).
    pub fn saga_failed<E, D>(&self, f: &RenewalFailure<E, D>) {
        let mut k = self.inner.borrow_mut();
        k.deployed = Some(f.deployed_pair().into());
        k.new_live = f.new_live();
        k.new_id = match f {
            RenewalFailure::NotCreated { .. } => None,
            RenewalFailure::Abandoned { new_id, .. }
            | RenewalFailure::HalfDeployed { new_id, .. }
            | RenewalFailure::HookFailed { new_id, .. }
            | RenewalFailure::OldNotRevoked { new_id, .. } => Some(*new_id),
        };
    }

    /// The key a failed saga kept was resolved: the credential that held it is revoked.
    pub fn leftover_resolved(&self) {
        self.inner.borrow_mut().new_live = None;
    }

    /// The failure report of `e`.
    pub fn failure_json(&self, e: &CliError, cert: &str, key: &str) -> serde_json::Value {
        let k = *self.inner.borrow();
        let live = k.old_id.into_iter().chain(k.new_live).collect();
        let report = FailedReport {
            renewed: false,
            okms_id: k.okms_id,
            old_id: k.old_id,
            new_id: k.new_id,
            cert,
            key,
            deployed: k.deployed.unwrap_or(Deployed::Old),
            live,
            exit: e.exit.code(),
            error: format!("{:#}", e.error),
            hint: e.hint.as_deref(),
            command: e.hint.as_deref().and_then(command_of),
        };
        serde_json::to_value(report).unwrap_or(serde_json::Value::Null)
    }
}

/// The `okms-cli` command a hint tells the user to run, as printed: quoted in backticks, or
/// after a colon up to the end of its clause.
pub(super) fn command_of(hint: &str) -> Option<String> {
    if let Some(start) = hint.find("`okms-cli ") {
        let rest = &hint[start + 1..];
        return rest.find('`').map(|end| rest[..end].to_owned());
    }
    let start = hint.find("okms-cli ")?;
    let rest = &hint[start..];
    let end = [", then", "; ", " (", ". "]
        .iter()
        .filter_map(|stop| rest.find(stop))
        .min()
        .unwrap_or(rest.len());
    Some(rest[..end].trim_end_matches('.').to_owned())
}

#[cfg(test)]
mod tests {
    use super::command_of;

    #[test]
    fn the_command_of_a_hint_is_what_the_user_types() {
        assert_eq!(
            command_of("revoke it: okms-cli credential delete X --okms-id Y --yes, then remove K")
                .as_deref(),
            Some("okms-cli credential delete X --okms-id Y --yes")
        );
        assert_eq!(
            command_of("see `okms-cli credential list --okms-id Y` for a credential").as_deref(),
            Some("okms-cli credential list --okms-id Y")
        );
        assert_eq!(command_of("run the renewal again"), None);
    }
}
