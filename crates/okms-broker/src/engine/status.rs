//! `GET /v1/status`: when the presented certificate is due, by okms-lifecycle's schedule and
//! the domain's policy.

use okms_api::broker::StatusAnswer;
use okms_api::{Clock, Transport};
use okms_lifecycle::{Decision, Lifetime, RenewAt, decide};

use super::Engine;
use super::refused::Refused;
use crate::service::{AuditFacts, PeerCertificate};

impl<T: Transport, C: Clock> Engine<T, C> {
    pub(crate) async fn status_of(
        &self,
        peer: &PeerCertificate,
        audit: &mut AuditFacts,
    ) -> Result<StatusAnswer, Refused> {
        let presenter = self.authenticate(peer, audit).await?;
        let lifetime = Lifetime::of_certificate(&presenter.certificate)
            .map_err(|e| Refused::internal(format!("the client certificate's lifetime: {e}")))?;
        let at = presenter
            .policy
            .renew_before_days
            .map_or(RenewAt::TwoThirds, RenewAt::DaysLeft);
        let (renew_after, due) = match decide(&lifetime, at, self.now()) {
            Decision::Due { since } => (since, true),
            Decision::NotDue { until } => (until, false),
        };
        Ok(StatusAnswer {
            credential_id: presenter.credential.id,
            okms_id: presenter.okms_id,
            name: presenter.credential.name.clone(),
            not_after: presenter.certificate.not_after(),
            renew_after,
            due,
            pending_successor: self
                .ledger
                .newest(&presenter.key(), presenter.credential.id),
        })
    }
}
