//! Bridges from an OKMS access certificate (read with okms-csr) to what the renewal works
//! with: its credential id, its domain, its lifetime, and "does this certificate hold my key".
//!
//! okms-api parses no certificate, and the state machine takes ids, lifetimes and a
//! [`Recognizer`] as plain values; these are the readings okms-cli makes, so that an embedder
//! need not rewrite them.

use okms_api::Uuid;
use okms_csr::{Certificate, PublicKey, same_public_key};

use crate::error::Result;
use crate::key_home::Recognizer;
use crate::schedule::Lifetime;

/// The credential a certificate was issued for: OKMS puts the credential id in the serial
/// number. `None` for a certificate OKMS did not issue (a serial that is no credential id).
pub fn credential_id(certificate: &Certificate) -> Option<Uuid> {
    certificate.credential_id()?.parse().ok()
}

/// The OKMS domain a certificate belongs to (its `okms.domain:` otherName); `None` when it
/// names none.
pub fn okms_domain(certificate: &Certificate) -> Option<Uuid> {
    certificate.okms_domain()?.parse().ok()
}

impl Lifetime {
    /// The certificate's validity (`notBefore` to `notAfter`), to [`decide`](crate::decide)
    /// on.
    ///
    /// # Errors
    /// [`Error::EmptyLifetime`](crate::Error::EmptyLifetime) when `notAfter` is not after
    /// `notBefore`.
    pub fn of_certificate(certificate: &Certificate) -> Result<Self> {
        Lifetime::new(certificate.not_before(), certificate.not_after())
    }
}

/// Whether a certificate (PEM) holds `public`: the check an exactly-once create uses to
/// recognise the credential a lost request made ([`KeyHome::recognizer`](crate::KeyHome::recognizer),
/// [`Plan::create`](crate::Plan::create)'s `is_ours`). Says `None` for PEM that is no
/// certificate: it cannot tell, and reconciliation then treats the candidate as undecided.
pub fn holds_key(public: PublicKey) -> Recognizer {
    Box::new(move |pem: &str| {
        let certificate = Certificate::from_pem(pem).ok()?;
        Some(same_public_key(&certificate.public_key(), &public))
    })
}
