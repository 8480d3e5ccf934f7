//! What a module says of a token in one of its slots, before any session is opened: what
//! [`Module`](crate::Module) lists and a [`Token`](crate::Token) remembers, in a module of its
//! own so that neither has to reach into the other for it.

use std::fmt;

use cryptoki::slot::Slot;

/// A token present in a slot, as the module describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenDescription {
    /// The slot number (`slot-id=`).
    pub slot_id: u64,
    /// The token label (`token=`).
    pub label: String,
    /// The token manufacturer (`manufacturer=`).
    pub manufacturer: String,
    /// The token model (`model=`).
    pub model: String,
    /// The token serial number (`serial=`).
    pub serial: String,
    /// Whether the token has been initialized (only initialized tokens hold keys).
    pub initialized: bool,
    /// Whether the token has a PIN pad or other protected path (log in without a PIN).
    pub protected_authentication_path: bool,
    /// Whether the user PIN is locked.
    pub user_pin_locked: bool,
    pub(crate) slot_description: String,
    pub(crate) slot_manufacturer: String,
    pub(crate) slot: Slot,
}

impl fmt::Display for TokenDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} (slot {}, serial {})",
            self.label, self.slot_id, self.serial
        )
    }
}
