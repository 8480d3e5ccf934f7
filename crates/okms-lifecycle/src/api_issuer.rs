//! The issuer that calls OVHcloud's API itself, through okms-api's `Client`: the renewal state
//! machine ([`Plan`] → [`Created`] → [`Ready`] → [`Proved`]) as the saga's other side.

use okms_api::{
    Client, ClientKey, Clock, Credential, MtlsConnector, ReconcileEvent, Transport, Uuid,
};

use crate::error::Error;
use crate::issuer::{Issuer, Tell};
use crate::key_home::Recognizer;
use crate::renewal::{Created, Plan, Proved, Ready, Renewed, rest_endpoint};
use crate::request::{Endpoint, Progress, RenewalRequest};
use crate::step::Step;

/// [`Issuer`] over OVHcloud's API: reads the old credential, creates its successor through
/// okms-api's exactly-once create, waits READY, proves the pair over a transport from
/// `connector`, and revokes the old credential (or the successor, when abandoned).
pub struct ApiIssuer<'a, T, C, M: ?Sized> {
    client: &'a Client<T, C>,
    connector: &'a M,
    request: &'a RenewalRequest,
    /// Where the proof goes, once known.
    kms_url: Option<String>,
    /// The old credential, once read.
    old: Option<Credential>,
}

impl<'a, T, C, M: ?Sized> ApiIssuer<'a, T, C, M> {
    /// The issuer of `request`'s renewal: API calls through `client`, the proof's mutual-TLS
    /// call over a transport from `connector`.
    pub fn new(client: &'a Client<T, C>, connector: &'a M, request: &'a RenewalRequest) -> Self {
        ApiIssuer {
            client,
            connector,
            request,
            kms_url: None,
            old: None,
        }
    }
}

impl<T, C, M> Issuer for ApiIssuer<'_, T, C, M>
where
    T: Transport,
    C: Clock,
    M: MtlsConnector + ?Sized,
{
    type Created = Created;
    type Ready = Ready;
    type Proved = Proved;
    type Renewed = Renewed;

    async fn prepare(&mut self, tell: Tell<'_>) -> Result<(), Error> {
        let (client, request) = (self.client, self.request);
        self.kms_url = Some(match &request.endpoint {
            Endpoint::Given(url) => url.clone(),
            Endpoint::AsReported => {
                tell.step(Step::FindEndpoint);
                rest_endpoint(client, request.okms_id).await?
            }
        });
        tell.step(Step::ReadOld);
        let old = client
            .get_credential(request.okms_id, request.old_id)
            .await
            .map_err(|source| Error::Api {
                step: Step::ReadOld,
                source,
            })?;
        self.old = Some(old);
        Ok(())
    }

    fn successor_name(&self) -> Option<String> {
        self.old.as_ref().map(|old| old.name.clone())
    }

    async fn issue(
        &mut self,
        csr_pem: String,
        recognizer: Recognizer,
        tell: Tell<'_>,
    ) -> Result<Created, Error> {
        let request = self.request;
        let Some(old) = self.old.clone() else {
            return Err(not_prepared(request.okms_id, Step::Create));
        };
        let plan = Plan::from_old(request.okms_id, old, csr_pem);
        let plan = match request.validity {
            Some(days) => plan.with_validity(days),
            None => plan,
        };
        tell.step(Step::Create);
        let is_ours = move |c: &Credential| recognizer(c.certificate_pem.as_deref()?);
        let on_event = |e: &ReconcileEvent| tell.progress(&Progress::Reconcile(e.clone()));
        plan.create(self.client, &is_ours, &request.reconcile, &on_event)
            .await
    }

    fn issue_undecided(&self, error: &Error) -> bool {
        // A candidate reconciliation could not settle may hold the key.
        matches!(
            error,
            Error::Api {
                source: okms_api::Error::ReconcileFailed { .. },
                ..
            }
        )
    }

    fn new_id(&self, created: &Created) -> Uuid {
        created.new_id()
    }

    async fn wait_ready(&self, created: &Created, tell: Tell<'_>) -> Result<Ready, Error> {
        tell.step(Step::WaitReady);
        created.wait_ready(self.client, &self.request.settle).await
    }

    fn certificate_pem<'r>(&self, ready: &'r Ready) -> &'r str {
        ready.certificate_pem()
    }

    async fn prove(&self, ready: &Ready, key: ClientKey, tell: Tell<'_>) -> Result<Proved, Error> {
        let Some(kms_url) = self.kms_url.as_deref() else {
            return Err(not_prepared(self.request.okms_id, Step::Prove));
        };
        let new_id = ready.new_id();
        ready
            .prove_within(
                self.connector,
                kms_url,
                key,
                self.request.ca_pem.clone(),
                self.client.clock(),
                self.request.proof_wait,
                |retry| tell.awaiting_proof(new_id, retry),
            )
            .await
    }

    async fn abandon(&self, created: Created) -> Result<(), Error> {
        created
            .abandon(self.client, &self.request.settle)
            .await
            .map(|_| ())
    }

    async fn finish(
        &self,
        proved: Proved,
        _key: ClientKey,
        tell: Tell<'_>,
    ) -> Result<Renewed, Error> {
        if !self.request.keep_old {
            tell.step(Step::RevokeOld);
        }
        proved.finish(self.client, self.request.keep_old).await
    }
}

/// A step called before [`Issuer::prepare`] succeeded: the saga never does, an embedder's
/// own driver might.
fn not_prepared(okms_id: Uuid, step: Step) -> Error {
    Error::NotPrepared { okms_id, step }
}
