//! The refusals a caller branches on, against the emulator: bad API credentials (in both error
//! shapes), an IAM refusal and a 401 are told apart, and a transport error's message says its
//! cause.
#![cfg(feature = "reqwest")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::error::Error as _;

use okms_api::{Auth, Client, Config, Endpoint, Error, TransportErrorKind};
use okms_emulator::{EmulatorConfig, RunningEmulator};

fn emulator(config: EmulatorConfig) -> RunningEmulator {
    RunningEmulator::spawn_in_thread(config).unwrap()
}

fn signed(emu: &RunningEmulator, secret: Option<&str>, consumer_key: Option<&str>) -> Client {
    let info = emu.info();
    Client::new(Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: secret.unwrap_or(&info.application_secret).into(),
            consumer_key: consumer_key.unwrap_or(&info.consumer_key).into(),
        },
    ))
    .unwrap()
}

/// `(bad credentials, IAM refusal, 401)` for `e`, which must be an API error.
fn kinds(e: &Error) -> (bool, bool, bool) {
    assert!(e.api_error().is_some(), "not an API error: {e:?}");
    (
        e.is_bad_api_credentials(),
        e.is_iam_refusal(),
        e.is_unauthorized(),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn bad_api_credentials_are_neither_an_iam_refusal_nor_a_401() {
    for legacy_auth_errors in [false, true] {
        let emu = emulator(EmulatorConfig {
            legacy_auth_errors,
            ..EmulatorConfig::default()
        });
        let unknown_consumer_key = signed(&emu, None, Some("not-a-consumer-key"));
        let e = unknown_consumer_key.list_domains().await.unwrap_err();
        assert_eq!(e.status(), Some(403), "{e}");
        assert_eq!(
            kinds(&e),
            (true, false, false),
            "legacy {legacy_auth_errors}: {e}"
        );

        let wrong_secret = signed(&emu, Some("not-the-application-secret"), None);
        let e = wrong_secret.list_domains().await.unwrap_err();
        assert_eq!(
            kinds(&e),
            (true, false, false),
            "legacy {legacy_auth_errors}: {e}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_iam_refusal_is_not_bad_credentials() {
    let emu = emulator(EmulatorConfig {
        deny_actions: vec!["okms:apiovh:credential/*".into()],
        ..EmulatorConfig::default()
    });
    let e = signed(&emu, None, None)
        .list_credentials(emu.okms_id())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    assert_eq!(kinds(&e), (false, true, false), "{e}");
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_access_token_is_a_401_only() {
    let emu = emulator(EmulatorConfig::default());
    let client = Client::new(Config::new(
        Endpoint::parse(&emu.info().api_url).unwrap(),
        Auth::AccessToken {
            access_token: "not-a-token".into(),
        },
    ))
    .unwrap();
    let e = client.list_domains().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    assert_eq!(kinds(&e), (false, false, true), "{e}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_transport_error_says_its_cause() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(Config::new(
        Endpoint::parse(&format!("http://127.0.0.1:{port}/1.0")).unwrap(),
        Auth::AccessToken {
            access_token: "token".into(),
        },
    ))
    .unwrap()
    .with_retry_policy(okms_api::RetryPolicy {
        max_attempts: 1,
        ..okms_api::RetryPolicy::default()
    });
    let e = client.list_domains().await.unwrap_err();
    let Error::Transport { source, .. } = &e else {
        panic!("not a transport error: {e:?}");
    };
    assert_eq!(source.kind(), TransportErrorKind::Connect, "{e}");
    assert!(!e.is_untrusted_server(), "{e}");
    // The message names the refusal, not only "GET … failed".
    let message = e.to_string().to_lowercase();
    assert!(message.contains("refused"), "{message}");
    assert!(e.source().is_some(), "{e:?}");
}
