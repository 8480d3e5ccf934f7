//! The one error type of okms-web: which field of the page is wrong and what to do.

use serde::Serialize;

/// A field of the page's form, by the `id` of its input element (the page highlights it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Field {
    /// The key algorithm (`csr new --algorithm`).
    Algorithm,
    /// The CSR's common name (`csr new --cn`).
    CommonName,
    /// The credential name (`request new --name`).
    Name,
    /// The account (NIC handle) the built URNs name (`--nic`).
    Nic,
    /// The region plate of the built URNs (`--region`).
    Region,
    /// The identities as a whole (none given, too many).
    Identities,
    /// The user logins, one a line (`--user`).
    Users,
    /// The group names, one a line (`--group`).
    Groups,
    /// The service accounts' OAuth2 client ids, one a line (`--service-account`).
    ServiceAccounts,
    /// The validity in days (`--validity`).
    Validity,
    /// The passphrase that encrypts the key.
    Passphrase,
    /// The passphrase typed a second time.
    PassphraseConfirm,
    /// The form as a whole: the page and the module disagree (a bug of the page, not the user's).
    Form,
}

/// Why the page cannot make a key, a CSR or a request.
///
/// The messages are the ones okms-cli prints for the same input (its `error:` line and its
/// `caused by:` line joined, with the page's field name where the CLI names a flag), so that a
/// user reading either gets the same explanation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field okms-cli would refuse too; nothing was generated.
    #[error("{message}")]
    Invalid {
        /// The field to fix.
        field: Field,
        /// What is wrong, in okms-cli's words.
        message: String,
        /// How to fix it, when that is known.
        hint: Option<String>,
    },
    /// Generating, signing or encoding failed (a browser without a working random generator,
    /// for instance).
    #[error("{context}: {cause}")]
    Crypto {
        /// What was being done.
        context: String,
        /// The error of okms-csr.
        cause: okms_csr::Error,
    },
    /// The request could not be encoded as JSON.
    #[error("cannot encode the request: {0}")]
    Encode(okms_api::Error),
}

impl Error {
    pub(crate) fn invalid(field: Field, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn with_hint(self, hint: impl Into<String>) -> Self {
        match self {
            Error::Invalid { field, message, .. } => Error::Invalid {
                field,
                message,
                hint: Some(hint.into()),
            },
            other => other,
        }
    }

    /// The field to fix, when one is at fault.
    #[must_use]
    pub fn field(&self) -> Option<Field> {
        match self {
            Error::Invalid { field, .. } => Some(*field),
            Error::Crypto { .. } | Error::Encode(_) => None,
        }
    }

    /// The hint that goes with the message, if any.
    #[must_use]
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Invalid { hint, .. } => hint.as_deref(),
            Error::Crypto { .. } | Error::Encode(_) => None,
        }
    }
}
