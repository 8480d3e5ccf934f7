//! How a renewal ends: what it put in place, or what it left deployed and live when it
//! stopped (typed, for the caller to word).

use std::fmt;

use okms_api::Uuid;

use crate::error::Error;
use crate::renewal::Renewed;

/// A finished renewal.
#[derive(Debug)]
pub struct Renewal<D, R = Renewed> {
    /// What the issuer did ([`Renewed`] for the API's, `BrokerRenewed` for a broker's).
    pub renewed: R,
    /// What the key home put in place.
    pub deployed: D,
}

/// What failed: an API step, or the key's home.
#[derive(Debug)]
pub enum Cause<E> {
    /// An issuer's call (the API, a broker) or the proof.
    Lifecycle(Error),
    /// The key home.
    Home(E),
}

impl<E: fmt::Display> fmt::Display for Cause<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Lifecycle(e) => e.fmt(f),
            Cause::Home(e) => e.fmt(f),
        }
    }
}

/// What became of the new key when the saga stopped before deploying it.
#[derive(Debug)]
pub enum KeyFate<E> {
    /// There never was one.
    NeverMade,
    /// It was discarded.
    Discarded,
    /// Discarding it failed; it is still in its home, and certified by no live credential.
    DiscardFailed(E),
    /// It was kept because a credential may certify it (a create reconciliation could not
    /// settle, or the new credential could not be revoked).
    Kept,
}

/// A renewal that stopped, by what it left deployed and live. The old credential is live on
/// every path (only the last step revokes it).
#[derive(Debug)]
pub enum RenewalFailure<E, D> {
    /// Stopped before the new credential existed (steps 1 and 2). The old pair is deployed.
    NotCreated {
        /// Why.
        cause: Cause<E>,
        /// The new key.
        new_key: KeyFate<E>,
        /// The name the new credential was to have (the old one's), once it was read: with
        /// [`KeyFate::Kept`], a credential of that name may hold the new key.
        name: Option<String>,
    },
    /// The new credential existed but was not deployed (steps 3 and 4, undone); the saga
    /// revoked it. The old pair is deployed.
    Abandoned {
        /// The new credential.
        new_id: Uuid,
        /// Why.
        cause: Cause<E>,
        /// The revocation: an error leaves the new credential live.
        revoked: Result<(), Error>,
        /// The new key ([`KeyFate::Kept`] when the revocation failed).
        new_key: KeyFate<E>,
    },
    /// Deployment failed and could not be undone (step 4). Both credentials stay live, since
    /// either key may now be in use.
    HalfDeployed {
        /// The new credential.
        new_id: Uuid,
        /// Why, and what the home left where.
        cause: E,
    },
    /// The new pair is deployed and works; the hook failed (step 5), so the old credential
    /// was kept live for what has not reloaded yet.
    HookFailed {
        /// The new credential.
        new_id: Uuid,
        /// What is deployed.
        deployed: D,
        /// The hook's failure.
        cause: E,
    },
    /// The new pair is deployed and works; revoking the old credential failed (step 6).
    OldNotRevoked {
        /// The new credential.
        new_id: Uuid,
        /// What is deployed.
        deployed: D,
        /// Why.
        cause: Error,
    },
}

/// Which pair is deployed after a [`RenewalFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployedPair {
    /// The old pair, as before the renewal.
    Old,
    /// Neither wholly: deployment stopped half way.
    Partly,
    /// The new pair.
    New,
}

impl<E, D> RenewalFailure<E, D> {
    /// Which pair is deployed.
    pub fn deployed_pair(&self) -> DeployedPair {
        match self {
            RenewalFailure::NotCreated { .. } | RenewalFailure::Abandoned { .. } => {
                DeployedPair::Old
            }
            RenewalFailure::HalfDeployed { .. } => DeployedPair::Partly,
            RenewalFailure::HookFailed { .. } | RenewalFailure::OldNotRevoked { .. } => {
                DeployedPair::New
            }
        }
    }

    /// The new credential if it is (or may be) live besides the old one. `None` also when a
    /// create reconciliation could not settle; then a credential named as in
    /// [`RenewalFailure::NotCreated`] may be live.
    pub fn new_live(&self) -> Option<Uuid> {
        match self {
            RenewalFailure::NotCreated { .. } => None,
            RenewalFailure::Abandoned {
                new_id, revoked, ..
            } => revoked.is_err().then_some(*new_id),
            RenewalFailure::HalfDeployed { new_id, .. }
            | RenewalFailure::HookFailed { new_id, .. }
            | RenewalFailure::OldNotRevoked { new_id, .. } => Some(*new_id),
        }
    }
}
