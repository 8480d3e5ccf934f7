//! The clock sync of signed calls against the emulator, in both refusal shapes (the API's
//! current `{"class","message"}`, where a stale timestamp reads "Invalid signature", and the
//! older `{"errorCode":"QUERY_TIME_OUT",...}`): a stale sync is renewed once and the call
//! succeeds; a refusal right after a sync is reported at once; a create POST is sent at most
//! twice and makes at most one credential.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use okms_api::{
    Auth, BoxFuture, Client, Clock, Config, CredentialRequest, Endpoint, Error, ReqwestTransport,
    Transport, TransportError,
};
use okms_emulator::{EmulatorConfig, RunningEmulator};

/// The system clock, which the test can step forward (suspend and resume, an NTP correction).
#[derive(Default)]
struct SteppedClock {
    ahead: Mutex<Duration>,
}

impl SteppedClock {
    fn step(&self, by: Duration) {
        *self.ahead.lock().unwrap() += by;
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + *self.ahead.lock().unwrap()
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The real transport, noting `METHOD path status` for every exchange.
struct Recording {
    inner: ReqwestTransport,
    seen: Mutex<Vec<String>>,
}

impl Recording {
    fn new() -> Arc<Self> {
        Arc::new(Recording {
            inner: ReqwestTransport::new().unwrap(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// What was exchanged since the last call, with the domain id shortened to `{id}`.
    fn take(&self, emu: &RunningEmulator) -> Vec<String> {
        let id = emu.okms_id().to_string();
        std::mem::take(&mut *self.seen.lock().unwrap())
            .into_iter()
            .map(|l| l.replace(&id, "{id}"))
            .collect()
    }
}

impl Transport for Recording {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> BoxFuture<'_, Result<http::Response<Vec<u8>>, TransportError>> {
        let line = format!("{} {}", request.method(), request.uri().path());
        Box::pin(async move {
            let answer = self.inner.send(request).await;
            let status = answer.as_ref().map_or(0, |r| r.status().as_u16());
            self.seen.lock().unwrap().push(format!("{line} {status}"));
            answer
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Current,
    Legacy,
}

fn emulator(shape: Shape) -> RunningEmulator {
    let _ = okms_api::tls::ring_provider().install_default();
    RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(100),
        legacy_auth_errors: shape == Shape::Legacy,
        ..EmulatorConfig::default()
    })
    .unwrap()
}

type TestClient = Client<Arc<Recording>, Arc<SteppedClock>>;

fn client_with_secret(
    emu: &RunningEmulator,
    secret: &str,
) -> (TestClient, Arc<Recording>, Arc<SteppedClock>) {
    let info = emu.info();
    let config = Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: secret.into(),
            consumer_key: info.consumer_key.as_str().into(),
        },
    );
    let transport = Recording::new();
    let clock = Arc::new(SteppedClock::default());
    let client = Client::with_transport(config, transport.clone(), clock.clone());
    (client, transport, clock)
}

fn client(emu: &RunningEmulator) -> (TestClient, Arc<Recording>, Arc<SteppedClock>) {
    client_with_secret(emu, &emu.info().application_secret)
}

/// Time passes for both sides, so that the client's last sync is this old.
fn let_time_pass(emu: &RunningEmulator, clock: &SteppedClock, by: Duration) {
    emu.advance_clock(by);
    clock.step(by);
}

const SIX_MINUTES: Duration = Duration::from_secs(6 * 60);

fn request(name: &str) -> CredentialRequest {
    CredentialRequest::new(name, vec!["urn:v1:eu:identity:account:xx1111-ovh".into()])
}

/// The refusal as each shape words it.
fn assert_clock_refusal(e: &Error, shape: Shape) {
    let api = e
        .api_error()
        .unwrap_or_else(|| panic!("not an API error: {e}"));
    assert_eq!(api.status, 400, "{e}");
    match shape {
        Shape::Current => {
            assert_eq!(api.class.as_deref(), Some("Client::BadRequest"), "{e}");
            assert_eq!(api.message, "Invalid signature");
        }
        Shape::Legacy => assert_eq!(api.code.as_deref(), Some("QUERY_TIME_OUT"), "{e}"),
    }
}

#[tokio::test]
async fn a_stale_sync_is_renewed_once_and_the_call_succeeds() {
    for shape in [Shape::Current, Shape::Legacy] {
        let emu = emulator(shape);
        let (client, seen, clock) = client(&emu);
        client.list_credentials(emu.okms_id()).await.unwrap();
        assert_eq!(
            seen.take(&emu),
            [
                "GET /1.0/auth/time 200",
                "GET /v2/okms/resource/{id}/credential 200"
            ],
            "{shape:?}: synced before the first signed call"
        );

        // Six minutes on, the server's clock has stepped 20 minutes: our offset is wrong.
        let_time_pass(&emu, &clock, SIX_MINUTES);
        emu.set_clock_skew(20 * 60);
        client.list_credentials(emu.okms_id()).await.unwrap();
        assert_eq!(
            seen.take(&emu),
            [
                "GET /v2/okms/resource/{id}/credential 400",
                "GET /1.0/auth/time 200",
                "GET /v2/okms/resource/{id}/credential 200"
            ],
            "{shape:?}"
        );

        // The same for the create POST: refused before any processing, so sent once more.
        let_time_pass(&emu, &clock, SIX_MINUTES);
        emu.set_clock_skew(-20 * 60);
        let created = client
            .create_credential(emu.okms_id(), &request("after-a-step"))
            .await
            .unwrap();
        assert_eq!(
            seen.take(&emu),
            [
                "POST /v2/okms/resource/{id}/credential 400",
                "GET /1.0/auth/time 200",
                "POST /v2/okms/resource/{id}/credential 200"
            ],
            "{shape:?}"
        );
        let credentials = emu.credentials();
        assert_eq!(credentials.len(), 1, "{shape:?}: exactly one credential");
        assert_eq!(credentials[0].id, created.credential.id);
    }
}

#[tokio::test]
async fn a_refusal_right_after_a_sync_is_reported_without_a_new_sync() {
    for shape in [Shape::Current, Shape::Legacy] {
        let emu = emulator(shape);
        let (client, seen, _clock) = client(&emu);
        client.list_credentials(emu.okms_id()).await.unwrap();
        seen.take(&emu);

        // The server's clock steps an hour, seconds after our sync.
        emu.set_clock_skew(3600);
        let e = client.list_credentials(emu.okms_id()).await.unwrap_err();
        assert_clock_refusal(&e, shape);
        assert_eq!(
            seen.take(&emu),
            ["GET /v2/okms/resource/{id}/credential 400"],
            "{shape:?}: no sync, no resend"
        );
        let e = client
            .create_credential(emu.okms_id(), &request("refused"))
            .await
            .unwrap_err();
        assert_clock_refusal(&e, shape);
        assert!(!e.is_create_outcome_unknown(), "{e}");
        assert_eq!(
            seen.take(&emu),
            ["POST /v2/okms/resource/{id}/credential 400"],
            "{shape:?}"
        );
        assert!(emu.credentials().is_empty());
    }
}

#[tokio::test]
async fn a_signature_that_stays_refused_is_sent_at_most_twice() {
    // A wrong application secret: the refusal reads like a clock problem, and a stale sync
    // earns one new sync and one resend, never more.
    for shape in [Shape::Current, Shape::Legacy] {
        let emu = emulator(shape);
        let (client, seen, clock) = client_with_secret(&emu, "not-the-application-secret");
        let e = client.list_credentials(emu.okms_id()).await.unwrap_err();
        let status = e.status();
        assert_eq!(status, Some(400), "{shape:?}: {e}");
        assert_eq!(
            seen.take(&emu),
            [
                "GET /1.0/auth/time 200",
                "GET /v2/okms/resource/{id}/credential 400"
            ],
            "{shape:?}: a fresh sync is not renewed"
        );

        let_time_pass(&emu, &clock, SIX_MINUTES);
        let e = client
            .create_credential(emu.okms_id(), &request("never"))
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(400), "{shape:?}: {e}");
        assert!(!e.is_create_outcome_unknown(), "{e}");
        assert_eq!(
            seen.take(&emu),
            [
                "POST /v2/okms/resource/{id}/credential 400",
                "GET /1.0/auth/time 200",
                "POST /v2/okms/resource/{id}/credential 400"
            ],
            "{shape:?}: one new sync, one resend"
        );
        assert!(emu.credentials().is_empty(), "{shape:?}");
    }
}
