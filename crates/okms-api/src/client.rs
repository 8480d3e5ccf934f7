//! The high-level async client: authentication state, retries, pagination, waiting.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroize;

#[cfg(feature = "reqwest")]
use crate::clock::TokioClock;
use crate::clock::{Clock, unix_seconds};
use crate::config::{Auth, Config};
use crate::endpoint::{Endpoint, Plate};
use crate::error::{Error, Field};
use crate::oauth2::{parse_token_response, token_request};
use crate::request::CredentialRequest;
#[cfg(feature = "reqwest")]
use crate::reqwest_transport::ReqwestTransport;
use crate::retry::{RetryPolicy, is_retryable_status};
use crate::sans_io::{
    ApiRequest, RequestAuth, build_request, check_status, next_cursor, ops, parse_error,
    parse_json, parse_json_secret, retry_after,
};
use crate::transport::{Transport, TransportError};
use crate::types::{AuthDetails, CreatedCredential, Credential, CredentialStatus, Domain, Me};
use crate::wait::WaitPolicy;

/// Guard against a server that never stops paginating.
const MAX_PAGES: usize = 10_000;

/// How old the last `/auth/time` sync must be before a signed call refused for the time, the
/// timestamp or the signature is answered by syncing again and sending once more.
///
/// Five minutes, because a younger sync cannot have gone wrong by drift (a computer clock
/// drifts by far less than a second an hour), so a refusal right after a sync is about the
/// credentials (a wrong application secret also reads "Invalid signature"), and syncing again
/// would only double the requests of a call that cannot succeed. Only a clock step (suspend
/// and resume, an NTP correction) spoils a recent sync; such a client recovers on its first
/// call once the sync is five minutes old. It also caps the extra `/auth/time` calls of a
/// client with wrong credentials at one per five minutes.
pub(crate) const CLOCK_RESYNC_MIN_AGE: Duration = Duration::from_secs(5 * 60);

/// The server clock offset and when it was measured (local clock).
#[derive(Clone, Copy)]
struct TimeSync {
    /// Server clock minus local clock, in seconds.
    delta: i64,
    synced_at: SystemTime,
}

struct CachedToken {
    token: SecretString,
    renew_at: SystemTime,
}

/// Declares [`Client`] with the given type parameters: its defaults name the reqwest transport
/// and the Tokio clock, which exist only with the `reqwest` feature.
macro_rules! declare_client {
    ($($params:tt)*) => {
        /// An OVHcloud API client for OKMS credentials.
        ///
        /// Idempotent calls (GET, DELETE) are retried on transient failures per the
        /// [`RetryPolicy`]; every attempt is authenticated afresh (a new signature timestamp, a
        /// renewed token when needed). The create POST is sent again only after an answer proving
        /// that nothing was created (see [`Client::create_credential`]).
        ///
        /// It needs no particular async runtime: it waits only through its [`Clock`] and its one
        /// lock (the OAuth2 token, held while a token is fetched so that concurrent calls fetch
        /// one) is Tokio's `sync` mutex, which works under any executor.
        pub struct Client<$($params)*> {
            endpoint: Endpoint,
            auth: Auth,
            transport: T,
            clock: C,
            retry: RetryPolicy,
            /// `X-Pagination-Size` of every list call; the API's default when `None`.
            page_size: Option<u32>,
            /// The server clock offset, fetched from `/auth/time` before the first signed call
            /// (again after a refusal for the time or the signature when it is
            /// [`CLOCK_RESYNC_MIN_AGE`] old).
            time_sync: std::sync::Mutex<Option<TimeSync>>,
            token: tokio::sync::Mutex<Option<CachedToken>>,
        }
    };
}

#[cfg(feature = "reqwest")]
declare_client!(T = ReqwestTransport, C = TokioClock);
#[cfg(not(feature = "reqwest"))]
declare_client!(T, C);

impl<T, C> std::fmt::Debug for Client<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "reqwest")]
impl Client<ReqwestTransport, TokioClock> {
    /// A client with the default reqwest transport and the Tokio clock.
    pub fn new(config: Config) -> Result<Self, Error> {
        Ok(Client::with_transport(
            config,
            ReqwestTransport::new()?,
            TokioClock,
        ))
    }
}

impl<T: Transport, C: Clock> Client<T, C> {
    /// A client over any transport and clock.
    pub fn with_transport(config: Config, transport: T, clock: C) -> Self {
        Client {
            endpoint: config.endpoint,
            auth: config.auth,
            transport,
            clock,
            retry: RetryPolicy::default(),
            page_size: None,
            time_sync: std::sync::Mutex::new(None),
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Asks for pages of `size` items in every list call (`X-Pagination-Size`): a service
    /// that lists large domains often (okms-broker) makes fewer calls. The API may cap it.
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size.max(1));
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The URN plate of the endpoint, when known.
    pub fn plate(&self) -> Option<Plate> {
        self.endpoint.plate()
    }

    /// The authentication method.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    // ---- operations ----

    /// `GET /auth/time`: the server clock, Unix seconds.
    pub async fn auth_time(&self) -> Result<i64, Error> {
        let req = build_request(&self.endpoint, &ops::auth_time(), &RequestAuth::None)?;
        let resp = self.send_plain(req, true).await?;
        crate::sans_io::parse_auth_time(&resp)
    }

    /// `GET /v1/auth/details`: who the credentials are, with ready-made identity URNs.
    pub async fn auth_details(&self) -> Result<AuthDetails, Error> {
        self.get_json(&ops::auth_details(), "auth details").await
    }

    /// `GET /v1/me`: the account.
    pub async fn me(&self) -> Result<Me, Error> {
        self.get_json(&ops::me(), "account (/v1/me)").await
    }

    /// All OKMS domains (every page).
    pub async fn list_domains(&self) -> Result<Vec<Domain>, Error> {
        self.get_all_pages(ops::list_domains, "OKMS domain list")
            .await
    }

    /// One OKMS domain, with its public CA when `public_ca`.
    pub async fn get_domain(&self, okms_id: Uuid, public_ca: bool) -> Result<Domain, Error> {
        self.get_json(&ops::get_domain(okms_id, public_ca), "OKMS domain")
            .await
    }

    /// The CA that `endpoint`'s server certificate chains to, from
    /// `GET /v2/okms/resource/{okmsId}?publicCA=true`, checked to be PEM certificates.
    ///
    /// # Errors
    /// As [`get_domain`](Self::get_domain); [`Error::BadDomainCa`] when the field is absent or
    /// not PEM certificates.
    #[cfg(feature = "rustls")]
    pub async fn domain_ca(
        &self,
        okms_id: Uuid,
        endpoint: crate::KmsEndpoint,
    ) -> Result<crate::DomainCa, Error> {
        crate::DomainCa::from_domain(self.get_domain(okms_id, true).await?, endpoint)
    }

    /// All credentials of a domain (every page).
    pub async fn list_credentials(&self, okms_id: Uuid) -> Result<Vec<Credential>, Error> {
        self.get_all_pages(|c| ops::list_credentials(okms_id, c), "credential list")
            .await
    }

    /// One credential.
    pub async fn get_credential(
        &self,
        okms_id: Uuid,
        credential_id: Uuid,
    ) -> Result<Credential, Error> {
        self.get_json(&ops::get_credential(okms_id, credential_id), "credential")
            .await
    }

    /// Revokes and deletes a credential; returns it as the server last saw it, when it says.
    pub async fn delete_credential(
        &self,
        okms_id: Uuid,
        credential_id: Uuid,
    ) -> Result<Option<Credential>, Error> {
        let resp = self
            .execute(&ops::delete_credential(okms_id, credential_id))
            .await?;
        if resp.body().iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse_json(&resp, "deleted credential").map(Some)
    }

    /// Creates a credential. Validates `request` first, then sends the POST, again only after
    /// an answer proving that nothing was created (the rules are stated once, in the comment
    /// where this function sends it).
    ///
    /// When the POST may have been processed but no answer was read (connection broken after
    /// sending, timeout, a 5xx from the server or a gateway, an unreadable 2xx answer), the
    /// error is [`Error::CreateOutcomeUnknown`]: reconcile with
    /// [`find_credentials_by_name`](Self::find_credentials_by_name) before creating again.
    ///
    /// The answer's `privateKeyPEM` (present when OVHcloud generated the key) is the only copy
    /// of that key: persist it before anything else.
    pub async fn create_credential(
        &self,
        okms_id: Uuid,
        request: &CredentialRequest,
    ) -> Result<CreatedCredential, Error> {
        let req = ops::create_credential(okms_id, request)?;
        let sent_at = OffsetDateTime::from(self.clock.now());
        let unknown = |source: Error| Error::CreateOutcomeUnknown {
            name: request.name.clone(),
            okms_id,
            sent_at,
            source: Box::new(source),
        };
        let url = self.endpoint.url(&req.path);
        // The create POST is not idempotent and the API takes no idempotency key, so it is sent
        // again only after an answer that proves nothing was created, and these are the only
        // two:
        // 1. A 400/401 refusal speaking of the time, the timestamp or the signature (either
        //    error shape) while the last `/auth/time` sync is at least CLOCK_RESYNC_MIN_AGE
        //    old. Authentication is checked before a request is processed, so the refused POST
        //    did nothing: sync the clock, sign again, send again; once per call, and never
        //    after a recent sync (then the fault is not the clock, and the refusal is reported).
        // 2. A 429: rate limiting refuses before processing too. Sent again after
        //    `Retry-After`, at most `retry.max_attempts` more times.
        // Anything else (a connection lost after sending, a timeout, a 5xx, an unreadable 2xx)
        // may have created the credential: CreateOutcomeUnknown, never sent again here
        // (reconcile.rs decides from a listing of the domain).
        let mut outcome = self.send_once(&req).await?;
        let mut resynced = false;
        let mut throttled: u32 = 0;
        while let Ok(resp) = &outcome {
            if !resynced && self.stale_sync_refused(resp) {
                resynced = true;
            } else if resp.status() == http::StatusCode::TOO_MANY_REQUESTS
                && throttled < self.retry.max_attempts
            {
                throttled += 1;
                let delay = self.retry.delay(throttled, retry_after(resp));
                self.clock.sleep(delay).await;
            } else {
                break;
            }
            outcome = self.send_once(&req).await?;
        }
        match outcome {
            Err(e) => {
                let reached = e.may_have_reached_server();
                let err = Error::Transport {
                    method: "POST".into(),
                    url,
                    source: e,
                };
                Err(if reached { unknown(err) } else { err })
            }
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let result = if matches!(status, 500 | 502 | 503 | 504) {
                    Err(unknown(parse_error(&resp).into()))
                } else if let Err(e) = check_status(&resp) {
                    Err(e)
                } else {
                    parse_json_secret::<CreatedCredential>(&resp, "created credential")
                        .map_err(unknown)
                };
                // The answer may hold the generated private key.
                resp.body_mut().zeroize();
                result
            }
        }
    }

    /// Credentials of the domain with exactly this `name`, created at or after
    /// `created_after` (server time). Pass the local send time minus a margin for clock skew.
    pub async fn find_credentials_by_name(
        &self,
        okms_id: Uuid,
        name: &str,
        created_after: OffsetDateTime,
    ) -> Result<Vec<Credential>, Error> {
        Ok(self
            .list_credentials(okms_id)
            .await?
            .into_iter()
            .filter(|c| c.name == name && c.created_at >= created_after)
            .collect())
    }

    /// Polls until the credential is READY with a certificate; see [`WaitPolicy`].
    pub async fn wait_until_ready(
        &self,
        okms_id: Uuid,
        credential_id: Uuid,
        policy: &WaitPolicy,
    ) -> Result<Credential, Error> {
        self.wait_until_ready_with(okms_id, credential_id, policy, |_| {})
            .await
    }

    /// Like [`wait_until_ready`](Self::wait_until_ready), calling `on_poll` after every poll
    /// (e.g. to draw progress).
    pub async fn wait_until_ready_with(
        &self,
        okms_id: Uuid,
        credential_id: Uuid,
        policy: &WaitPolicy,
        mut on_poll: impl FnMut(&Credential) + Send,
    ) -> Result<Credential, Error> {
        let start = self.clock.now();
        loop {
            let c = self.get_credential(okms_id, credential_id).await?;
            on_poll(&c);
            match &c.status {
                CredentialStatus::Ready if c.certificate_pem.is_some() => return Ok(c),
                CredentialStatus::Error
                | CredentialStatus::Expired
                | CredentialStatus::Deleting => {
                    return Err(Error::UnexpectedStatus {
                        id: credential_id,
                        status: c.status,
                    });
                }
                // CREATING, READY without certificate yet, or a status we do not know: wait.
                _ => {}
            }
            let waited = self.clock.now().duration_since(start).unwrap_or_default();
            let Some(remaining) = policy.timeout.checked_sub(waited).filter(|r| !r.is_zero())
            else {
                return Err(Error::WaitTimeout {
                    id: credential_id,
                    status: c.status,
                    waited,
                });
            };
            self.clock
                .sleep(policy.interval(waited).min(remaining))
                .await;
        }
    }

    // ---- machinery ----

    /// Sends `req` and decodes the JSON answer (`what` names it in errors).
    pub(crate) async fn get_json<R: DeserializeOwned>(
        &self,
        req: &ApiRequest,
        what: &'static str,
    ) -> Result<R, Error> {
        let resp = self.execute(req).await?;
        parse_json(&resp, what)
    }

    /// Every page of a paginated list, following `X-Pagination-Cursor-Next`, refusing a
    /// repeated cursor or an endless list.
    pub(crate) async fn get_all_pages<R: DeserializeOwned>(
        &self,
        make: impl Fn(Option<&str>) -> Result<ApiRequest, Error>,
        what: &'static str,
    ) -> Result<Vec<R>, Error> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut request = make(cursor.as_deref())?;
            if let Some(size) = self.page_size {
                request.headers.push((
                    http::HeaderName::from_static(crate::sans_io::PAGINATION_SIZE),
                    http::HeaderValue::from(size),
                ));
            }
            let resp = self.execute(&request).await?;
            let page: Vec<R> = parse_json(&resp, what)?;
            out.extend(page);
            match next_cursor(&resp) {
                None => return Ok(out),
                Some(c) if !seen.insert(c.clone()) => {
                    return Err(Error::invalid(
                        Field::PaginationCursor,
                        format!("the server repeated cursor {c:?}; stopping to avoid a loop"),
                    ));
                }
                Some(c) => cursor = Some(c),
            }
        }
        Err(Error::invalid(
            Field::PaginationCursor,
            format!("more than {MAX_PAGES} pages; stopping"),
        ))
    }

    /// Sends an API request with retries (idempotent methods only), re-authenticating each
    /// attempt. Returns the 2xx answer, or the error.
    pub(crate) async fn execute(&self, req: &ApiRequest) -> Result<http::Response<Vec<u8>>, Error> {
        let idempotent = req.is_idempotent();
        let mut attempt: u32 = 0;
        let mut token_renewed = false;
        let mut clock_resynced = false;
        loop {
            attempt += 1;
            let outcome = self.send_once(req).await?;
            // An authentication refusal happens before processing: resending cannot act twice.
            if let Ok(resp) = &outcome
                && !clock_resynced
                && self.stale_sync_refused(resp)
            {
                clock_resynced = true;
                continue;
            }
            if let Ok(resp) = &outcome
                && resp.status() == http::StatusCode::UNAUTHORIZED
                && idempotent
                && !token_renewed
                && matches!(self.auth, Auth::OAuth2 { .. })
            {
                // The cached token may have been revoked or expired early: fetch a new one once.
                token_renewed = true;
                *self.token.lock().await = None;
                continue;
            }
            match self.next_step(attempt, idempotent, outcome) {
                Step::Done(r) => {
                    return r.map_err(|e| self.transport_error(req.method.as_str(), &req.path, e));
                }
                Step::Retry(delay) => self.clock.sleep(delay).await,
            }
        }
    }

    /// One attempt: authenticate, build, send. The outer error means nothing was sent.
    async fn send_once(
        &self,
        req: &ApiRequest,
    ) -> Result<Result<http::Response<Vec<u8>>, TransportError>, Error> {
        let http_req = match (&self.auth, req.authenticated) {
            (_, false) => build_request(&self.endpoint, req, &RequestAuth::None)?,
            (
                Auth::ApplicationKey {
                    application_key,
                    application_secret,
                    consumer_key,
                },
                true,
            ) => {
                let timestamp = self.timestamp().await?;
                build_request(
                    &self.endpoint,
                    req,
                    &RequestAuth::Signature {
                        application_key,
                        application_secret,
                        consumer_key,
                        timestamp,
                    },
                )?
            }
            (Auth::AccessToken { access_token }, true) => {
                build_request(&self.endpoint, req, &RequestAuth::Bearer(access_token))?
            }
            (Auth::OAuth2 { .. }, true) => {
                let token = self.oauth2_token().await?;
                build_request(&self.endpoint, req, &RequestAuth::Bearer(&token))?
            }
        };
        Ok(self.transport.send(http_req).await)
    }

    /// Sends a pre-built request (no authentication state involved) with retries.
    async fn send_plain(
        &self,
        req: http::Request<Vec<u8>>,
        idempotent: bool,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = self.transport.send(clone_request(&req)).await;
            match self.next_step(attempt, idempotent, outcome) {
                Step::Done(r) => {
                    return r.map_err(|e| {
                        self.transport_error(req.method().as_str(), &req.uri().to_string(), e)
                    });
                }
                Step::Retry(delay) => self.clock.sleep(delay).await,
            }
        }
    }

    fn next_step(
        &self,
        attempt: u32,
        idempotent: bool,
        outcome: Result<http::Response<Vec<u8>>, TransportError>,
    ) -> Step {
        let can_retry = idempotent && attempt < self.retry.max_attempts;
        match outcome {
            Err(e) if can_retry && e.is_transient() => Step::Retry(self.retry.delay(attempt, None)),
            Err(e) => Step::Done(Err(StepError::Transport(e))),
            Ok(resp) if resp.status().is_success() => Step::Done(Ok(resp)),
            Ok(resp) if can_retry && is_retryable_status(resp.status().as_u16()) => {
                Step::Retry(self.retry.delay(attempt, retry_after(&resp)))
            }
            Ok(resp) => Step::Done(Err(StepError::Api(parse_error(&resp).into()))),
        }
    }

    fn transport_error(&self, method: &str, path_or_url: &str, e: StepError) -> Error {
        match e {
            StepError::Api(e) => e,
            StepError::Transport(source) => Error::Transport {
                method: method.to_string(),
                url: if path_or_url.starts_with('/') {
                    self.endpoint.url(path_or_url)
                } else {
                    path_or_url.to_string()
                },
                source,
            },
        }
    }

    /// The signature timestamp: local clock corrected by the server offset.
    async fn timestamp(&self) -> Result<i64, Error> {
        let cached = *self
            .time_sync
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let delta = match cached {
            Some(sync) => sync.delta,
            None => {
                // Concurrent first calls may both fetch; the answers agree, so that is harmless.
                let server = self.auth_time().await?;
                let synced_at = self.clock.now();
                let delta = server.saturating_sub(unix_seconds(synced_at));
                *self
                    .time_sync
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some(TimeSync { delta, synced_at });
                delta
            }
        };
        Ok(unix_seconds(self.clock.now()).saturating_add(delta))
    }

    /// Whether `resp` is a signed call's refusal that a new clock sync may cure: a 400 or 401
    /// speaking of the time, the timestamp or the signature while the last sync is at least
    /// [`CLOCK_RESYNC_MIN_AGE`] old. If so, forgets the offset so that the next attempt
    /// fetches it again.
    fn stale_sync_refused(&self, resp: &http::Response<Vec<u8>>) -> bool {
        if !matches!(self.auth, Auth::ApplicationKey { .. })
            || !matches!(resp.status().as_u16(), 400 | 401)
            || !parse_error(resp).is_signature_refusal()
        {
            return false;
        }
        let now = self.clock.now();
        let mut sync = self
            .time_sync
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stale = match *sync {
            // Another call already forgot it: the next attempt syncs anyway.
            None => true,
            // A clock that went back since the sync has stepped: the offset is wrong.
            Some(s) => now
                .duration_since(s.synced_at)
                .map_or(true, |age| age >= CLOCK_RESYNC_MIN_AGE),
        };
        if stale {
            *sync = None;
        }
        stale
    }

    /// A valid OAuth2 access token, fetched or renewed as needed.
    async fn oauth2_token(&self) -> Result<SecretString, Error> {
        let Auth::OAuth2 {
            client_id,
            client_secret,
            token_url,
        } = &self.auth
        else {
            return Err(Error::invalid(Field::Auth, "not in OAuth2 mode"));
        };
        let mut cached = self.token.lock().await;
        if let Some(c) = cached.as_ref()
            && self.clock.now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let url = match token_url {
            Some(u) => u.clone(),
            None => self.endpoint.oauth2_token_url()?,
        };
        let fetched_at = self.clock.now();
        let mut resp = self
            .send_plain(token_request(&url, client_id, client_secret)?, true)
            .await?;
        let token = parse_token_response(&resp);
        resp.body_mut().zeroize();
        let token = token?;
        *cached = Some(CachedToken {
            token: token.token.clone(),
            renew_at: fetched_at
                .checked_add(token.renew_after())
                .unwrap_or(fetched_at),
        });
        Ok(token.token)
    }
}

enum StepError {
    Transport(TransportError),
    Api(Error),
}

enum Step {
    Done(Result<http::Response<Vec<u8>>, StepError>),
    Retry(Duration),
}

fn clone_request(req: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut r = http::Request::new(req.body().clone());
    *r.method_mut() = req.method().clone();
    *r.uri_mut() = req.uri().clone();
    *r.version_mut() = req.version();
    *r.headers_mut() = req.headers().clone();
    r
}
