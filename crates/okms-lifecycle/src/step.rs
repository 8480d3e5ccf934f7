//! The steps of a renewal, as errors and the saga name them. A module of its own so that the
//! error type and the state machine both use it without importing each other.

use std::fmt;

/// A step of the renewal, as named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Reading the old credential.
    ReadOld,
    /// Creating the new credential (exactly once).
    Create,
    /// Waiting for the new credential to be READY.
    WaitReady,
    /// The mutual-TLS call with the new pair.
    Prove,
    /// Revoking the new credential after a failure.
    RevokeNew,
    /// Revoking the old credential once the new pair is deployed.
    RevokeOld,
    /// Reading the domain to find its REST endpoint, for the proof.
    FindEndpoint,
    /// Making the new key and its CSR in the key's home.
    NewKey,
    /// Putting the new pair in place of the old one.
    Deploy,
    /// The caller's hook, once the new pair is deployed.
    Hook,
    /// Asking a renewal broker for the new certificate (it creates the credential).
    Renew,
    /// Confirming the deployed new certificate to a renewal broker (it revokes the old one).
    Confirm,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::ReadOld => "reading the old credential",
            Step::Create => "creating the new credential",
            Step::WaitReady => "waiting for the new credential to be READY",
            Step::Prove => "the mutual-TLS call with the new certificate",
            Step::RevokeNew => "revoking the new credential",
            Step::RevokeOld => "revoking the old credential",
            Step::FindEndpoint => "reading the domain to find its REST endpoint",
            Step::NewKey => "making the new key",
            Step::Deploy => "deploying the new pair",
            Step::Hook => "running the hook",
            Step::Renew => "asking the broker for the new certificate",
            Step::Confirm => "confirming the new certificate to the broker",
        })
    }
}
