//! Which identities a credential (or an IAM policy) names, as a person selects them: full URNs,
//! or the account's root, users, groups and service accounts by name, turned into URNs once
//! the account and its region are known.
//!
//! Sans-IO: the account comes from the caller (a flag, a form, `/v1/auth/details`), so the
//! same selection serves an offline request and an online call.
//!
//! ```
//! use okms_api::{IdentitySelection, Plate};
//! let sel = IdentitySelection {
//!     root: true,
//!     users: vec!["john.smith".into()],
//!     ..IdentitySelection::default()
//! };
//! sel.check()?;
//! let urns = sel.to_urns(Plate::Eu, "xx1111-ovh")?;
//! assert_eq!(
//!     urns.urns(),
//!     [
//!         "urn:v1:eu:identity:account:xx1111-ovh",
//!         "urn:v1:eu:identity:user:xx1111-ovh/john.smith",
//!     ]
//! );
//! # Ok::<(), okms_api::Error>(())
//! ```

use std::collections::HashSet;

use crate::endpoint::Plate;
use crate::error::Error;
use crate::urn::IdentityUrn;

/// The identities a person selected. Errors name the value at fault through
/// [`Error::InvalidField`]'s [`Field`](crate::Field): `IdentityUrns` for a full URN, `Nic` for
/// the account, `UserLogin`, `GroupName` or `ClientId` for a name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentitySelection {
    /// Full identity URNs, taken as they are (after validation).
    pub urns: Vec<String>,
    /// The account's root identity.
    pub root: bool,
    /// Local users, by login.
    pub users: Vec<String>,
    /// User groups, by name.
    pub groups: Vec<String>,
    /// Service accounts, by OAuth2 client id.
    pub service_accounts: Vec<String>,
}

/// The URNs of a selection, in the order selected, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityUrns {
    urns: Vec<String>,
    duplicates_dropped: bool,
}

impl IdentityUrns {
    /// The URNs: the full ones first, then root, users, groups, service accounts.
    #[must_use]
    pub fn urns(&self) -> &[String] {
        &self.urns
    }

    /// The URNs, owned.
    #[must_use]
    pub fn into_urns(self) -> Vec<String> {
        self.urns
    }

    /// Whether the selection named some identity more than once (it is kept once).
    #[must_use]
    pub fn duplicates_dropped(&self) -> bool {
        self.duplicates_dropped
    }
}

type Build = fn(Plate, &str, &str) -> Result<IdentityUrn, Error>;

impl IdentitySelection {
    /// Nothing selected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.urns.is_empty() && !self.needs_account()
    }

    /// Whether some identity is selected by name, so that its URN needs the account and
    /// region.
    #[must_use]
    pub fn needs_account(&self) -> bool {
        self.root
            || !self.users.is_empty()
            || !self.groups.is_empty()
            || !self.service_accounts.is_empty()
    }

    /// Checks every value that can be checked without the account: the full URNs, then the
    /// logins, group names and client ids. Lets a bad value be refused before the account is
    /// looked up.
    ///
    /// # Errors
    /// [`Error::InvalidField`] for the first value that is wrong.
    pub fn check(&self) -> Result<(), Error> {
        self.parsed_urns()?;
        for u in &self.users {
            IdentityUrn::check_user_login(u)?;
        }
        for g in &self.groups {
            IdentityUrn::check_group_name(g)?;
        }
        for c in &self.service_accounts {
            IdentityUrn::check_client_id(c)?;
        }
        Ok(())
    }

    /// The URNs for `account` (its NIC handle, e.g. `xx1111-ovh`) in region `plate`: the full
    /// URNs first, then root, users, groups and service accounts, each once.
    ///
    /// # Errors
    /// [`Error::InvalidField`] for the first value that cannot be put in a URN
    /// ([`Field::Nic`](crate::Field::Nic) when the account itself is at fault).
    pub fn to_urns(&self, plate: Plate, account: &str) -> Result<IdentityUrns, Error> {
        let mut urns = self.parsed_urns()?;
        if self.root {
            urns.push(IdentityUrn::root_account(plate, account)?.into_string());
        }
        let kinds: [(&[String], Build); 3] = [
            (&self.users, IdentityUrn::user),
            (&self.groups, IdentityUrn::group),
            (&self.service_accounts, IdentityUrn::service_account),
        ];
        for (values, build) in kinds {
            for value in values {
                urns.push(build(plate, account, value)?.into_string());
            }
        }
        Ok(IdentityUrns::once_each(urns))
    }

    /// The full URNs alone, each once: every URN of a selection that does not
    /// [need the account](Self::needs_account), and what can be checked of the others'
    /// request before the account is known.
    ///
    /// # Errors
    /// [`Error::InvalidField`] for the first URN that is wrong.
    pub fn given_urns(&self) -> Result<IdentityUrns, Error> {
        Ok(IdentityUrns::once_each(self.parsed_urns()?))
    }

    fn parsed_urns(&self) -> Result<Vec<String>, Error> {
        self.urns
            .iter()
            .map(|u| IdentityUrn::parse(u).map(IdentityUrn::into_string))
            .collect()
    }
}

impl IdentityUrns {
    fn once_each(mut urns: Vec<String>) -> Self {
        let mut seen = HashSet::new();
        let before = urns.len();
        urns.retain(|u| seen.insert(u.clone()));
        Self {
            duplicates_dropped: urns.len() != before,
            urns,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Field;

    fn field(e: &Error) -> Option<Field> {
        match e {
            Error::InvalidField { field, .. } => Some(*field),
            _ => None,
        }
    }

    #[test]
    fn full_urns_come_first_and_duplicates_are_dropped() {
        let sel = IdentitySelection {
            urns: vec!["urn:v1:eu:identity:group:xx1111-ovh/ops".into()],
            groups: vec!["ops".into()],
            service_accounts: vec!["EU.abc".into()],
            ..IdentitySelection::default()
        };
        let urns = sel.to_urns(Plate::Eu, "xx1111-ovh").unwrap();
        assert_eq!(
            urns.urns(),
            [
                "urn:v1:eu:identity:group:xx1111-ovh/ops",
                "urn:v1:eu:identity:credential:xx1111-ovh/oauth2-EU.abc",
            ]
        );
        assert!(urns.duplicates_dropped());
    }

    #[test]
    fn errors_name_the_value_at_fault() {
        let bad_user = IdentitySelection {
            users: vec![" bob".into()],
            ..IdentitySelection::default()
        };
        assert_eq!(
            field(&bad_user.check().unwrap_err()),
            Some(Field::UserLogin)
        );
        let root = IdentitySelection {
            root: true,
            ..IdentitySelection::default()
        };
        assert!(root.check().is_ok());
        let e = root.to_urns(Plate::Eu, "bad nic").unwrap_err();
        assert_eq!(field(&e), Some(Field::Nic));
    }

    #[test]
    fn emptiness_and_account_need() {
        assert!(IdentitySelection::default().is_empty());
        let urn_only = IdentitySelection {
            urns: vec!["urn:v1:eu:identity:account:xx1111-ovh".into()],
            ..IdentitySelection::default()
        };
        assert!(!urn_only.is_empty());
        assert!(!urn_only.needs_account());
    }
}
