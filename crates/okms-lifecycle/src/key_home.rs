//! Where a renewal's new key lives: the caller's side of the saga.

use std::future::Future;

use okms_api::{ClientKey, Uuid};

/// Where the new key lives, and what can be done with it there.
///
/// The saga calls these in order: [`make_key`](Self::make_key), [`sign_csr`](Self::sign_csr),
/// [`recognizer`](Self::recognizer) (while creating), [`check_certificate`](Self::check_certificate)
/// and [`proof_key`](Self::proof_key) (once READY), [`deploy`](Self::deploy); and
/// [`discard`](Self::discard) whenever the new key will certainly never be deployed.
///
/// The steps that may wait (on a token, a disk, a remote host) are futures, and `Send`, so that
/// a saga whose home is `Send` can run on a multi-threaded runtime.
pub trait KeyHome {
    /// The new key until it is deployed or discarded.
    type Key;
    /// What deployment put in place, handed to the hook and returned on success.
    type Deployed;
    /// The home's own failures.
    type Error;

    /// Makes the new key; nothing certifies it yet.
    ///
    /// # Errors
    /// When no key could be made; the saga then stops, with nothing to discard.
    fn make_key(&mut self) -> impl Future<Output = Result<Self::Key, Self::Error>> + Send;

    /// The new key's CSR, as PEM.
    ///
    /// # Errors
    /// When it cannot be signed; the key is then discarded.
    fn sign_csr(
        &mut self,
        key: &Self::Key,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send;

    /// Whether a certificate (PEM) holds the new key, `None` when it cannot tell: how an
    /// exactly-once create recognises the credential a lost request made.
    fn recognizer(&self, key: &Self::Key) -> Recognizer;

    /// Checks the READY certificate of credential `new_id` against the new key.
    ///
    /// # Errors
    /// When it does not hold the key (or cannot be read); the new credential is then revoked.
    fn check_certificate(
        &self,
        key: &Self::Key,
        new_id: Uuid,
        certificate_pem: &str,
    ) -> Result<(), Self::Error>;

    /// The new key as a mutual-TLS client key, for the proof.
    ///
    /// # Errors
    /// When it cannot be used so; the new credential is then revoked.
    fn proof_key(
        &mut self,
        key: &mut Self::Key,
    ) -> impl Future<Output = Result<ClientKey, Self::Error>> + Send;

    /// Puts the proved certificate and the new key in place of the old pair.
    ///
    /// # Errors
    /// [`DeployError::Undone`] when the old pair is deployed as before (the new credential is
    /// then revoked and the key discarded), [`DeployError::Stuck`] when it could not be put
    /// back (both credentials then stay live).
    fn deploy(
        &mut self,
        key: &Self::Key,
        certificate_pem: &str,
    ) -> impl Future<Output = Result<Self::Deployed, DeployError<Self::Error>>> + Send;

    /// Discards the new key, which no live credential certifies.
    ///
    /// # Errors
    /// When it could not be discarded; the failure names it for the caller to remove.
    fn discard(&mut self, key: Self::Key) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Whether a certificate (PEM) holds a given key; `None` when it cannot tell.
pub type Recognizer = Box<dyn Fn(&str) -> Option<bool> + Send + Sync>;

/// A failed deployment, by what it left deployed.
#[derive(Debug)]
pub enum DeployError<E> {
    /// Everything deployment changed was put back: the old pair is deployed.
    Undone(E),
    /// Putting back failed too: the old pair is not (wholly) deployed any more.
    Stuck(E),
}
