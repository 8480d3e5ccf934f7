//! The issuer for a host with no API credentials: a renewal broker (okms-api's `broker`
//! protocol) issues the successor of the certificate the host presents over mutual TLS.
//!
//! ```text
//! renew   POST /v1/renew   {csr}   OLD identity → the new certificate, caPEM, restEndpoint
//! prove   mutual TLS to the domain's REST endpoint with the new pair, trusting caPEM
//! abandon POST /v1/abandon {id}    OLD identity → the broker revokes the successor
//! finish  POST /v1/confirm {prev}  NEW identity → the broker revokes the old credential
//! ```
//!
//! 429 and 503 are waited out (the broker's `Retry-After`, capped, plus jitter) and the same
//! request sent again, within a bound. A renew whose answer was lost is sent again with the
//! same CSR: the broker answers with the successor it already made (never a second one).
//! Confirm and abandon are idempotent, so they are retried alike.

use std::time::Duration;

use okms_api::broker::{
    AbandonAnswer, BrokerUrl, ConfirmAnswer, RenewAnswer, StatusAnswer, abandon_request,
    confirm_request, read_abandon_answer, read_confirm_answer, read_renew_answer,
    read_status_answer, renew_request, status_request,
};
use okms_api::kms::{MtlsCheck, PropagationWait};
use okms_api::{
    ClientIdentity, ClientKey, Clock, MtlsConnector, Transport, TransportErrorKind, Uuid,
};
use time::OffsetDateTime;

use crate::error::Error;
use crate::issuer::{Finished, Issuer, Tell};
use crate::key_home::Recognizer;
use crate::renewal::prove_certificate;
use crate::request::Progress;
use crate::schedule::jitter;
use crate::step::Step;

/// How long and how often a broker call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerRetry {
    /// The longest single wait, whatever `Retry-After` says.
    pub max_wait: Duration,
    /// The most waited in all, for one call: a wait that would pass it is not made and the
    /// last refusal is returned.
    pub budget: Duration,
    /// The most attempts of one call.
    pub max_attempts: u32,
    /// Spreads the waits of a fleet (any per-host, per-run value: see [`jitter`]).
    pub seed: u64,
}

impl Default for BrokerRetry {
    /// Waits of at most 5 minutes, 10 minutes and 8 attempts in all.
    fn default() -> Self {
        BrokerRetry {
            max_wait: Duration::from_secs(300),
            budget: Duration::from_secs(600),
            max_attempts: 8,
            seed: 0,
        }
    }
}

/// One renewal through a broker, as decided by the caller.
#[derive(Debug, Clone)]
pub struct BrokerRequest {
    /// The broker.
    pub broker: BrokerUrl,
    /// The CA that signed the broker's TLS certificate (PEM), besides the platform roots.
    pub broker_ca_pem: Option<String>,
    /// The domain of the certificate being renewed (from the certificate).
    pub okms_id: Uuid,
    /// The credential being renewed (from the certificate).
    pub old_id: Uuid,
    /// The certificate being renewed (PEM): the identity renew and abandon present.
    pub old_cert_pem: String,
    /// Its key.
    pub old_key: ClientKey,
    /// Where the proof goes instead of the broker's `restEndpoint`.
    pub endpoint: Option<String>,
    /// What the proof trusts besides the broker's `caPEM` (and the platform roots).
    pub extra_ca_pem: Option<String>,
    /// How long the proof retries a refusal after READY.
    pub proof_wait: PropagationWait,
    /// How broker calls are retried.
    pub retry: BrokerRetry,
}

/// [`Issuer`] over a renewal broker, each call over a transport from `connector`, waits on
/// `clock`.
pub struct BrokerIssuer<'a, M: ?Sized, C: ?Sized> {
    connector: &'a M,
    clock: &'a C,
    request: BrokerRequest,
}

impl<'a, M: ?Sized, C: ?Sized> BrokerIssuer<'a, M, C> {
    /// The issuer of `request`'s renewal.
    pub fn new(connector: &'a M, clock: &'a C, request: BrokerRequest) -> Self {
        BrokerIssuer {
            connector,
            clock,
            request,
        }
    }
}

/// The broker's answer: the successor, READY.
#[derive(Debug, Clone)]
pub struct BrokerCreated {
    answer: RenewAnswer,
}

impl BrokerCreated {
    /// The broker's answer.
    pub fn answer(&self) -> &RenewAnswer {
        &self.answer
    }
}

/// The successor's pair works against the KMS.
#[derive(Debug, Clone)]
pub struct BrokerProved {
    answer: RenewAnswer,
}

/// A renewal the broker finished: the new credential confirmed, the old one revoked.
#[derive(Debug, Clone)]
pub struct BrokerRenewed {
    /// The credential that was replaced.
    pub old_id: Uuid,
    /// The new credential.
    pub new_id: Uuid,
    /// Its certificate (PEM).
    pub certificate_pem: String,
    /// When it expires.
    pub not_after: OffsetDateTime,
    /// What the confirm revoked (empty when an earlier confirm already had).
    pub revoked: Vec<Uuid>,
}

impl Finished for BrokerRenewed {
    fn old_id(&self) -> Uuid {
        self.old_id
    }

    fn new_id(&self) -> Uuid {
        self.new_id
    }

    fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    fn old_revoked(&self) -> bool {
        true
    }
}

impl<M, C> Issuer for BrokerIssuer<'_, M, C>
where
    M: MtlsConnector + ?Sized,
    C: Clock + ?Sized,
{
    type Created = BrokerCreated;
    type Ready = BrokerCreated;
    type Proved = BrokerProved;
    type Renewed = BrokerRenewed;

    async fn prepare(&mut self, _tell: Tell<'_>) -> Result<(), Error> {
        // The broker reads the old credential itself, when it authenticates the renew.
        Ok(())
    }

    fn successor_name(&self) -> Option<String> {
        None
    }

    async fn issue(
        &mut self,
        csr_pem: String,
        _recognizer: Recognizer,
        tell: Tell<'_>,
    ) -> Result<BrokerCreated, Error> {
        tell.step(Step::Renew);
        let base = &self.request.broker;
        let answer = self
            .call(
                self.old_identity(),
                Step::Renew,
                || renew_request(base, &csr_pem),
                read_renew_answer,
                tell,
            )
            .await?;
        Ok(BrokerCreated { answer })
    }

    fn issue_undecided(&self, error: &Error) -> bool {
        // The broker may have made the successor: an answer lost, or an API failure after the
        // create (it keeps that successor for a renew with the same CSR).
        match error {
            Error::Api { source, .. } => match source {
                okms_api::Error::Transport { source, .. } => source.may_have_reached_server(),
                okms_api::Error::Broker(refusal) => refusal.status >= 500,
                okms_api::Error::Decode { .. } => true,
                _ => false,
            },
            _ => false,
        }
    }

    fn new_id(&self, created: &BrokerCreated) -> Uuid {
        created.answer.credential_id
    }

    async fn wait_ready(
        &self,
        created: &BrokerCreated,
        tell: Tell<'_>,
    ) -> Result<BrokerCreated, Error> {
        // The broker answers once the successor is READY; what is left is to check that it is
        // this renewal's.
        tell.step(Step::WaitReady);
        let (answer, request) = (&created.answer, &self.request);
        let misfit = |what: &str, got: Uuid, want: Uuid| {
            Err(Error::UnexpectedAnswer {
                reason: format!("it names {what} {got}, not {want}"),
            })
        };
        if answer.previous_credential_id != request.old_id {
            return misfit(
                "the previous credential",
                answer.previous_credential_id,
                request.old_id,
            );
        }
        if answer.okms_id != request.okms_id {
            return misfit("domain", answer.okms_id, request.okms_id);
        }
        if answer.credential_id == request.old_id {
            return Err(Error::UnexpectedAnswer {
                reason: format!(
                    "it names the presented credential {} as the new one",
                    request.old_id
                ),
            });
        }
        Ok(created.clone())
    }

    fn certificate_pem<'r>(&self, ready: &'r BrokerCreated) -> &'r str {
        &ready.answer.certificate_pem
    }

    async fn prove(
        &self,
        ready: &BrokerCreated,
        key: ClientKey,
        tell: Tell<'_>,
    ) -> Result<BrokerProved, Error> {
        let answer = &ready.answer;
        let kms_url = match (&self.request.endpoint, &answer.rest_endpoint) {
            (Some(url), _) | (None, Some(url)) => url.clone(),
            (None, None) => {
                return Err(Error::NoRestEndpoint {
                    okms_id: answer.okms_id,
                });
            }
        };
        let check = MtlsCheck {
            kms_url,
            okms_id: answer.okms_id,
            cert_pem: answer.certificate_pem.clone(),
            key,
            ca_pem: Some(match &self.request.extra_ca_pem {
                Some(extra) => format!("{}\n{extra}", answer.ca_pem.trim_end()),
                None => answer.ca_pem.clone(),
            }),
        };
        let new_id = answer.credential_id;
        prove_certificate(
            self.connector,
            check,
            new_id,
            self.clock,
            self.request.proof_wait,
            |retry| tell.awaiting_proof(new_id, retry),
        )
        .await?;
        Ok(BrokerProved {
            answer: answer.clone(),
        })
    }

    async fn abandon(&self, created: BrokerCreated) -> Result<(), Error> {
        // No progress to tell: the saga already said it is revoking the new credential.
        let silent = |_: &Progress| {};
        self.abandon_successor(created.answer.credential_id, &silent)
            .await
            .map(|_| ())
    }

    async fn finish(
        &self,
        proved: BrokerProved,
        key: ClientKey,
        tell: Tell<'_>,
    ) -> Result<BrokerRenewed, Error> {
        tell.step(Step::Confirm);
        let answer = proved.answer;
        let new_identity = ClientIdentity {
            cert_pem: answer.certificate_pem.clone(),
            key,
        };
        let previous = Some(answer.previous_credential_id);
        let on_progress = |p: &Progress| tell.progress(p);
        let confirmed = self
            .confirm_deployed(new_identity, previous, &on_progress)
            .await?;
        Ok(BrokerRenewed {
            old_id: answer.previous_credential_id,
            new_id: answer.credential_id,
            certificate_pem: answer.certificate_pem,
            not_after: answer.not_after,
            revoked: confirmed.revoked,
        })
    }
}

/// Calls outside a saga, retried as the saga's are: what a host needs to resolve what an
/// interrupted run left (a successor never deployed, a deployed one never confirmed).
impl<M, C> BrokerIssuer<'_, M, C>
where
    M: MtlsConnector + ?Sized,
    C: Clock + ?Sized,
{
    /// `GET /v1/status` presenting the request's old identity: when its renewal is due, and
    /// the successor pending for it, if any. A refusal (403: not a READY credential the broker
    /// renews) is an [`Error::Api`] over `okms_api::Error::Broker`.
    ///
    /// # Errors
    /// [`Error::Api`] at [`Step::ReadOld`].
    pub async fn status(
        &self,
        on_progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<StatusAnswer, Error> {
        let base = &self.request.broker;
        let no_step = |_: Step| {};
        let tell = Tell::new(on_progress, &no_step);
        self.call(
            self.old_identity(),
            Step::ReadOld,
            || status_request(base),
            read_status_answer,
            tell,
        )
        .await
    }

    /// `POST /v1/abandon` presenting the old identity: the broker revokes successor `id`.
    ///
    /// # Errors
    /// [`Error::Api`] at [`Step::RevokeNew`].
    pub async fn abandon_successor(
        &self,
        id: Uuid,
        on_progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<AbandonAnswer, Error> {
        let base = &self.request.broker;
        let no_step = |_: Step| {};
        let tell = Tell::new(on_progress, &no_step);
        self.call(
            self.old_identity(),
            Step::RevokeNew,
            || abandon_request(base, id),
            read_abandon_answer,
            tell,
        )
        .await
    }

    /// `POST /v1/confirm` presenting `deployed` (the certificate a run deployed, and its
    /// key): the broker revokes `previous` (and any other credential of the name).
    ///
    /// # Errors
    /// [`Error::Api`] at [`Step::Confirm`].
    pub async fn confirm_deployed(
        &self,
        deployed: ClientIdentity,
        previous: Option<Uuid>,
        on_progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<ConfirmAnswer, Error> {
        let base = &self.request.broker;
        let no_step = |_: Step| {};
        let tell = Tell::new(on_progress, &no_step);
        self.call(
            deployed,
            Step::Confirm,
            || confirm_request(base, previous),
            read_confirm_answer,
            tell,
        )
        .await
    }
}

impl<M, C> BrokerIssuer<'_, M, C>
where
    M: MtlsConnector + ?Sized,
    C: Clock + ?Sized,
{
    fn old_identity(&self) -> ClientIdentity {
        ClientIdentity {
            cert_pem: self.request.old_cert_pem.clone(),
            key: self.request.old_key.clone(),
        }
    }

    /// One broker call presenting `identity`, sent again while the broker asks to wait (429,
    /// 503) or the answer was lost, within [`BrokerRetry`]'s bounds.
    async fn call<T>(
        &self,
        identity: ClientIdentity,
        step: Step,
        build: impl Fn() -> Result<okms_api::http::Request<Vec<u8>>, okms_api::Error>,
        read: impl Fn(&okms_api::http::Response<Vec<u8>>) -> Result<T, okms_api::Error>,
        tell: Tell<'_>,
    ) -> Result<T, Error> {
        let api = |source| Error::Api { step, source };
        let retry = self.request.retry;
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            let request = build().map_err(api)?;
            let outcome = self
                .send_once(&identity, request)
                .await
                .and_then(|r| read(&r));
            let error = match outcome {
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            let Some(wait) = retry_wait(&error, attempt) else {
                return Err(api(error));
            };
            // Capped first, so that the spread stays within a quarter of what is waited.
            let wait = wait.min(retry.max_wait);
            let spread = jitter(wait / 4, retry.seed.wrapping_add(u64::from(attempt)));
            let wait = wait.saturating_add(spread);
            if attempt >= retry.max_attempts || waited.saturating_add(wait) > retry.budget {
                return Err(api(error));
            }
            tell.progress(&Progress::Retrying {
                step,
                wait,
                reason: error.to_string(),
            });
            self.clock.sleep(wait).await;
            waited = waited.saturating_add(wait);
        }
    }

    /// One exchange on a transport of its own (a new TLS connection presenting `identity`).
    async fn send_once(
        &self,
        identity: &ClientIdentity,
        request: okms_api::http::Request<Vec<u8>>,
    ) -> Result<okms_api::http::Response<Vec<u8>>, okms_api::Error> {
        let transport = self
            .connector
            .connect(identity.clone(), self.request.broker_ca_pem.as_deref())?;
        let (method, url) = (request.method().to_string(), request.uri().to_string());
        transport
            .send(request)
            .await
            .map_err(|source| okms_api::Error::Transport {
                method,
                url,
                source,
            })
    }
}

/// How long to wait before sending again after `error` (attempt `attempt`), or `None` when
/// sending again cannot help.
fn retry_wait(error: &okms_api::Error, attempt: u32) -> Option<Duration> {
    match error {
        okms_api::Error::Broker(refusal) if refusal.is_retryable() => {
            Some(refusal.retry_after.unwrap_or(Duration::from_secs(5)))
        }
        okms_api::Error::Transport { source, .. } => match source.kind() {
            // Not sent, or sent and its answer lost: every broker call may be sent again.
            TransportErrorKind::Connect | TransportErrorKind::Timeout | TransportErrorKind::Io => {
                let doubling = 1u64 << attempt.saturating_sub(1).min(4);
                Some(Duration::from_secs(doubling))
            }
            _ => None,
        },
        _ => None,
    }
}
