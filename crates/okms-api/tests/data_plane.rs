//! The data-plane calls over a transport built by an [`MtlsConnector`], against the emulator:
//! a fresh certificate proves itself with `check_with` and `random_with` whichever HTTP client
//! carries them, and an untrusted server certificate is told apart from a refused connection.
#![cfg(any(feature = "reqwest", feature = "ureq"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use okms_api::kms::{DataPlaneOutcome, MtlsCheck, check_with, random_with};
use okms_api::{
    Auth, Client, Clock, Config, CredentialRequest, Endpoint, Error, MtlsConnector, SecretString,
    Transport, TransportErrorKind, WaitPolicy,
};
use okms_emulator::{EmulatorConfig, RunningEmulator};

fn emulator() -> RunningEmulator {
    RunningEmulator::spawn_in_thread(EmulatorConfig {
        ready_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .unwrap()
}

fn config(emu: &RunningEmulator) -> Config {
    let info = emu.info();
    Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: info.application_secret.as_str().into(),
            consumer_key: info.consumer_key.as_str().into(),
        },
    )
}

/// A READY credential whose key the emulator generated: its certificate and key.
async fn ready_identity<T: Transport, C: Clock>(
    client: &Client<T, C>,
    emu: &RunningEmulator,
) -> (String, SecretString) {
    let urn = format!("urn:v1:eu:identity:account:{}", emu.info().nic);
    let created = client
        .create_credential(
            emu.okms_id(),
            &CredentialRequest::new("data-plane", vec![urn]),
        )
        .await
        .unwrap();
    let policy = WaitPolicy {
        timeout: Duration::from_secs(20),
        initial_interval: Duration::from_millis(100),
        max_interval: Duration::from_millis(500),
        jitter: false,
    };
    let ready = client
        .wait_until_ready(emu.okms_id(), created.credential.id, &policy)
        .await
        .unwrap();
    (
        ready.certificate_pem.unwrap(),
        created.private_key_pem.unwrap(),
    )
}

fn mtls_check(emu: &RunningEmulator, cert_pem: String, key: SecretString) -> MtlsCheck {
    MtlsCheck {
        kms_url: emu.kms_url().to_owned(),
        okms_id: emu.okms_id(),
        cert_pem,
        key: key.into(),
        ca_pem: Some(emu.info().ca_pem.clone()),
    }
}

/// Both data-plane calls over `connector`'s transport succeed with the fresh certificate.
async fn proves_itself<M: MtlsConnector>(connector: &M, check: &MtlsCheck) {
    let transport = check.connect(connector).unwrap();
    let answer = check_with(&transport, &check.kms_url, check.okms_id)
        .await
        .unwrap();
    assert!(answer.is_success(), "{answer:?}");
    assert!(
        matches!(answer.outcome, DataPlaneOutcome::ServiceKeys(_)),
        "{answer:?}"
    );
    let answer = random_with(&transport, &check.kms_url, check.okms_id, 16)
        .await
        .unwrap();
    assert!(answer.is_success(), "{answer:?}");
    let DataPlaneOutcome::Random(bytes) = &answer.outcome else {
        panic!("not random bytes: {answer:?}");
    };
    assert_eq!(bytes.decode().map(|b| b.len()), Some(16));
}

/// Without the domain's CA the emulator's server certificate is not trusted: a transport
/// error of its own kind, apart from a refused connection, whose message says why.
async fn an_untrusted_server_is_told_apart_from_a_refused_connection<M: MtlsConnector>(
    connector: &M,
    check: &MtlsCheck,
) {
    let untrusting = MtlsCheck {
        ca_pem: None,
        ..check.clone()
    };
    let transport = untrusting.connect(connector).unwrap();
    let e = check_with(&transport, &check.kms_url, check.okms_id)
        .await
        .unwrap_err();
    let Error::Transport { source, .. } = &e else {
        panic!("not a transport error: {e:?}");
    };
    assert_eq!(source.kind(), TransportErrorKind::UntrustedServer, "{e}");
    assert!(e.is_untrusted_server(), "{e}");
    assert!(!source.may_have_reached_server(), "{e}");
    assert!(
        e.to_string().contains("invalid peer certificate"),
        "the message says why: {e}"
    );

    // Nothing listens on a port that was just free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let transport = check.connect(connector).unwrap();
    let e = check_with(
        &transport,
        &format!("https://127.0.0.1:{port}"),
        check.okms_id,
    )
    .await
    .unwrap_err();
    let Error::Transport { source, .. } = &e else {
        panic!("not a transport error: {e:?}");
    };
    assert_eq!(source.kind(), TransportErrorKind::Connect, "{e}");
    assert!(!e.is_untrusted_server(), "{e}");
}

#[cfg(feature = "reqwest")]
mod over_reqwest {
    use okms_api::ReqwestConnector;

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_fresh_certificate_proves_itself_through_the_reqwest_connector() {
        let emu = emulator();
        let client = Client::new(config(&emu)).unwrap();
        let (cert, key) = ready_identity(&client, &emu).await;
        let check = mtls_check(&emu, cert, key);
        proves_itself(&ReqwestConnector::new(), &check).await;
        an_untrusted_server_is_told_apart_from_a_refused_connection(
            &ReqwestConnector::new(),
            &check,
        )
        .await;
    }
}

#[cfg(feature = "ureq")]
mod over_ureq {
    use okms_api::blocking::{BlockingClock, UreqConnector, UreqTransport, block_on};

    use super::*;

    #[test]
    fn a_fresh_certificate_proves_itself_through_the_ureq_connector_without_a_runtime() {
        let emu = emulator();
        let client =
            Client::with_transport(config(&emu), UreqTransport::new().unwrap(), BlockingClock);
        let (cert, key) = block_on(ready_identity(&client, &emu));
        let check = mtls_check(&emu, cert, key);
        block_on(proves_itself(&UreqConnector::new(), &check));
        block_on(an_untrusted_server_is_told_apart_from_a_refused_connection(
            &UreqConnector::new(),
            &check,
        ));
    }
}
