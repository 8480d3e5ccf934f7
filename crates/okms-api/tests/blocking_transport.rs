//! The blocking `ureq` transport of `okms_api::blocking` (feature `ureq`) against the
//! emulator, with no async runtime on the client side: the sans-IO core driven by hand, the
//! `Client` under `block_on`, the API's refusals read as answers, and transport failures
//! sorted. Runs with and without the `reqwest` feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{SystemTime, UNIX_EPOCH};

use okms_api::blocking::{BlockingClock, UreqTransport, block_on};
use okms_api::sans_io::{RequestAuth, build_request, ops, parse_auth_time, parse_json};
use okms_api::{Auth, Client, Config, Domain, Endpoint, TransportErrorKind};
use okms_emulator::{EmulatorConfig, RunningEmulator};

fn emulator() -> RunningEmulator {
    RunningEmulator::spawn_in_thread(EmulatorConfig::default()).unwrap()
}

fn config(emu: &RunningEmulator, application_secret: &str) -> Config {
    let info = emu.info();
    Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: application_secret.into(),
            consumer_key: info.consumer_key.as_str().into(),
        },
    )
}

fn unix_now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[test]
fn the_sans_io_core_over_ureq_makes_signed_calls() {
    let emu = emulator();
    let endpoint = Endpoint::parse(&emu.info().api_url).unwrap();
    let transport = UreqTransport::new().unwrap();

    let request = build_request(&endpoint, &ops::auth_time(), &RequestAuth::None).unwrap();
    let server_time = parse_auth_time(&transport.send_blocking(request).unwrap()).unwrap();
    assert!(
        (server_time - unix_now()).abs() <= 5,
        "server {server_time}, local {}",
        unix_now()
    );

    let info = emu.info();
    let request = build_request(
        &endpoint,
        &ops::list_domains(None).unwrap(),
        &RequestAuth::Signature {
            application_key: &info.application_key,
            application_secret: &info.application_secret.as_str().into(),
            consumer_key: &info.consumer_key.as_str().into(),
            timestamp: server_time,
        },
    )
    .unwrap();
    let answer = transport.send_blocking(request).unwrap();
    assert_eq!(
        answer.status(),
        200,
        "{:?}",
        String::from_utf8_lossy(answer.body())
    );
    let domains: Vec<Domain> = parse_json(&answer, "OKMS domain list").unwrap();
    assert_eq!(
        domains.iter().map(|d| d.id).collect::<Vec<_>>(),
        [emu.okms_id()]
    );
}

#[test]
fn the_client_runs_over_the_blocking_transport_without_a_runtime() {
    let emu = emulator();
    let client = Client::with_transport(
        config(&emu, &emu.info().application_secret),
        UreqTransport::new().unwrap(),
        BlockingClock,
    );
    let domains = block_on(client.list_domains()).unwrap();
    assert_eq!(
        domains.iter().map(|d| d.id).collect::<Vec<_>>(),
        [emu.okms_id()]
    );
    let credentials = block_on(client.list_credentials(emu.okms_id())).unwrap();
    assert!(credentials.is_empty(), "{credentials:?}");
}

#[test]
fn an_api_refusal_comes_back_as_the_api_error() {
    let emu = emulator();
    let client = Client::with_transport(
        config(&emu, "not-the-application-secret"),
        UreqTransport::new().unwrap(),
        BlockingClock,
    );
    let e = block_on(client.list_domains()).unwrap_err();
    let api = e
        .api_error()
        .unwrap_or_else(|| panic!("not an API error: {e}"));
    assert_eq!(api.status, 400, "{e}");
    assert_eq!(api.message, "Invalid signature", "{e}");
}

#[test]
fn a_refused_connection_is_a_connect_error_and_nothing_was_sent() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/1.0")).unwrap();
    let request = build_request(&endpoint, &ops::auth_time(), &RequestAuth::None).unwrap();
    let e = UreqTransport::new()
        .unwrap()
        .send_blocking(request)
        .unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::Connect, "{e}");
    assert!(!e.may_have_reached_server(), "{e}");
}

#[test]
fn an_answer_over_the_limit_is_refused() {
    let emu = emulator();
    let endpoint = Endpoint::parse(&emu.info().api_url).unwrap();
    let auth_time = || build_request(&endpoint, &ops::auth_time(), &RequestAuth::None).unwrap();
    let size = UreqTransport::new()
        .unwrap()
        .send_blocking(auth_time())
        .unwrap()
        .body()
        .len();

    let answer = UreqTransport::new()
        .unwrap()
        .with_limit(size)
        .send_blocking(auth_time())
        .unwrap();
    assert!(parse_auth_time(&answer).is_ok());

    let e = UreqTransport::new()
        .unwrap()
        .with_limit(size - 1)
        .send_blocking(auth_time())
        .unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::ResponseTooLarge, "{e}");
}
