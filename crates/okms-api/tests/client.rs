//! The client over a fake transport and a fake clock: retries, signing, pagination, OAuth2,
//! create semantics, waiting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use std::time::Duration;

use okms_api::{
    Auth, Client, Config, CredentialRequest, CredentialStatus, Endpoint, Error, ExposeSecret,
    RetryPolicy, TransportErrorKind, WaitPolicy,
};

fn no_jitter() -> RetryPolicy {
    RetryPolicy {
        jitter: false,
        ..RetryPolicy::default()
    }
}

fn request() -> CredentialRequest {
    CredentialRequest::new(
        "John Smith",
        vec!["urn:v1:eu:identity:user:xx1111-ovh/john.smith".into()],
    )
}

#[tokio::test]
async fn get_is_retried_and_re_signed_with_fresh_timestamps() {
    let t = FakeTransport::with_time(1_000_100);
    let clock = FakeClock::at(1_000_000);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone())
        .with_retry_policy(no_jitter());
    t.push_json(
        503,
        r#"{"class":"Server::ServiceUnavailable","message":"busy"}"#,
    );
    t.push(transport_err(TransportErrorKind::Io));
    t.push_json(200, &credential_json("READY", None));
    let c = client.get_credential(okms(), cred_id()).await.unwrap();
    assert_eq!(c.status, CredentialStatus::Ready);

    let reqs = t.api_requests();
    assert_eq!(reqs.len(), 3);
    // /auth/time fetched once for all attempts.
    assert_eq!(t.all_requests().len(), 4);
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_millis(500), Duration::from_secs(1)]
    );
    let stamps: Vec<i64> = reqs
        .iter()
        .map(|r| {
            r.headers()["X-Ovh-Timestamp"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    // Server is 100 s ahead; the fake clock moved by each sleep (rounded down to seconds).
    assert_eq!(stamps, vec![1_000_100, 1_000_100, 1_000_101]);
    for r in &reqs {
        let ts: i64 = r.headers()["X-Ovh-Timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let expected = okms_api::signature::sign(AS, CK, "GET", &r.uri().to_string(), b"", ts);
        assert_eq!(r.headers()["X-Ovh-Signature"], expected.as_str());
        assert_eq!(
            r.uri(),
            format!("https://eu.api.ovh.com/v2/okms/resource/{OKMS}/credential/{CRED}").as_str()
        );
    }
    // The third signature differs from the first because the timestamp changed.
    assert_ne!(
        reqs[0].headers()["X-Ovh-Signature"],
        reqs[2].headers()["X-Ovh-Signature"]
    );
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_returned() {
    let t = FakeTransport::with_time(0);
    let clock = FakeClock::at(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone())
        .with_retry_policy(RetryPolicy {
            max_attempts: 3,
            ..no_jitter()
        });
    for _ in 0..5 {
        t.push_json(
            500,
            r#"{"class":"Server::InternalServerError","message":"boom"}"#,
        );
    }
    let e = client.list_credentials(okms()).await.unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(t.api_requests().len(), 3);
    assert_eq!(clock.sleeps().len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_and_capped() {
    let t = FakeTransport::with_time(0);
    let clock = FakeClock::at(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone())
        .with_retry_policy(no_jitter());
    t.push(Ok(json(
        429,
        r#"{"message":"slow down"}"#,
        &[("Retry-After", "7")],
    )));
    t.push(Ok(json(429, "", &[("Retry-After", "100000")])));
    t.push_json(200, "[]");
    assert!(client.list_credentials(okms()).await.unwrap().is_empty());
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(7), Duration::from_secs(60)]
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let t = FakeTransport::with_time(0);
    let clock = FakeClock::at(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone());
    t.push(Ok(json(
        404,
        r#"{"class":"Client::NotFound","message":"no such credential"}"#,
        &[("X-Ovh-QueryID", "EU.q")],
    )));
    let e = client.get_credential(okms(), cred_id()).await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.query_id(), Some("EU.q"));
    assert_eq!(t.api_requests().len(), 1);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn delete_is_retried_on_connection_failure() {
    let t = FakeTransport::with_time(0);
    let clock = FakeClock::at(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone())
        .with_retry_policy(no_jitter());
    t.push(transport_err(TransportErrorKind::Connect));
    t.push_json(200, &credential_json("DELETING", None));
    let c = client
        .delete_credential(okms(), cred_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status, CredentialStatus::Deleting);
    let reqs = t.api_requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.method() == http::Method::DELETE));
    // An empty answer is fine too.
    t.push(Ok(json(200, "", &[])));
    assert!(
        client
            .delete_credential(okms(), cred_id())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn create_post_is_never_retried() {
    for (reply, unknown) in [
        (transport_err(TransportErrorKind::Io), true),
        (transport_err(TransportErrorKind::Timeout), true),
        (Ok(json(502, "bad gateway", &[])), true),
        (Ok(json(503, r#"{"message":"down"}"#, &[])), true),
        (Ok(json(500, r#"{"message":"boom"}"#, &[])), true),
        (Ok(json(200, "{truncated", &[])), true),
        (transport_err(TransportErrorKind::Connect), false),
        (
            Ok(json(
                400,
                r#"{"class":"Client::BadRequest::CredentialNameInvalidCharacter","message":"bad"}"#,
                &[],
            )),
            false,
        ),
    ] {
        let t = FakeTransport::with_time(0);
        let clock = FakeClock::at(1_700_000_000);
        let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone());
        t.push(reply);
        t.push_json(200, &credential_json("CREATING", None));
        let e = client
            .create_credential(okms(), &request())
            .await
            .unwrap_err();
        assert_eq!(e.is_create_outcome_unknown(), unknown, "{e}");
        if let Error::CreateOutcomeUnknown {
            name,
            okms_id,
            sent_at,
            ..
        } = &e
        {
            assert_eq!(name, "John Smith");
            assert_eq!(*okms_id, okms());
            assert_eq!(sent_at.unix_timestamp(), 1_700_000_000);
        }
        let posts = t.api_requests();
        assert_eq!(posts.len(), 1, "POST sent once: {e}");
        assert_eq!(posts[0].method(), http::Method::POST);
        assert!(clock.sleeps().is_empty());
    }
}

#[tokio::test]
async fn create_post_refused_with_429_is_sent_again_after_retry_after_within_bounds() {
    // Accepted on the second try: two POSTs, one wait of Retry-After.
    let t = FakeTransport::with_time(0);
    let clock = FakeClock::at(1_700_000_000);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone());
    t.push(Ok(json(
        429,
        r#"{"message":"slow"}"#,
        &[("Retry-After", "2")],
    )));
    t.push_json(200, &credential_json("CREATING", None));
    client.create_credential(okms(), &request()).await.unwrap();
    assert_eq!(t.api_requests().len(), 2);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2)]);

    // Throttled every time: bounded, and the 429 is reported (nothing was created).
    let t = FakeTransport::with_time(0);
    let clock = FakeClock::at(1_700_000_000);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone());
    for _ in 0..20 {
        t.push(Ok(json(
            429,
            r#"{"message":"slow"}"#,
            &[("Retry-After", "1")],
        )));
    }
    let e = client
        .create_credential(okms(), &request())
        .await
        .unwrap_err();
    assert!(!e.is_create_outcome_unknown(), "{e}");
    let posts = t.api_requests().len();
    assert!((2..=5).contains(&posts), "bounded resends, got {posts}");
}

#[tokio::test]
async fn create_sends_exact_signed_body_and_returns_the_key() {
    let t = FakeTransport::with_time(1_700_000_000);
    let clock = FakeClock::at(1_700_000_000);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone());
    let mut body = credential_json("CREATING", None);
    body.pop();
    body.push_str(
        r#","privateKeyPEM":"-----BEGIN EC PRIVATE KEY-----\nK\n-----END EC PRIVATE KEY-----\n"}"#,
    );
    t.push_json(200, &body);
    let created = client
        .create_credential(okms(), &request().with_validity(30))
        .await
        .unwrap();
    assert_eq!(created.credential.status, CredentialStatus::Creating);
    assert!(
        created
            .private_key_pem
            .unwrap()
            .expose_secret()
            .contains("EC PRIVATE KEY")
    );
    let post = &t.api_requests()[0];
    let expected_body = br#"{"name":"John Smith","identityURNs":["urn:v1:eu:identity:user:xx1111-ovh/john.smith"],"validity":30}"#;
    assert_eq!(post.body(), expected_body);
    assert_eq!(
        post.headers()["Content-Type"],
        "application/json;charset=utf-8"
    );
    let url = format!("https://eu.api.ovh.com/v2/okms/resource/{OKMS}/credential");
    assert_eq!(post.uri(), url.as_str());
    assert_eq!(
        post.headers()["X-Ovh-Signature"],
        okms_api::signature::sign(AS, CK, "POST", &url, expected_body, 1_700_000_000).as_str()
    );
}

#[tokio::test]
async fn create_validates_before_sending() {
    let t = FakeTransport::with_time(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), FakeClock::at(0));
    let e = client
        .create_credential(okms(), &request().with_validity(400))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidField { ref field, .. } if field == "validity"),
        "{e}"
    );
    assert!(t.all_requests().is_empty());
}

#[tokio::test]
async fn list_follows_every_page() {
    let t = FakeTransport::with_time(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), FakeClock::at(0));
    let one = format!("[{}]", credential_json("READY", None));
    t.push(Ok(json(
        200,
        &one,
        &[("X-Pagination-Cursor-Next", "page2")],
    )));
    t.push(Ok(json(
        200,
        &one,
        &[("X-Pagination-Cursor-Next", "page3")],
    )));
    t.push(Ok(json(200, &one, &[])));
    assert_eq!(client.list_credentials(okms()).await.unwrap().len(), 3);
    let cursors: Vec<Option<String>> = t
        .api_requests()
        .iter()
        .map(|r| {
            r.headers()
                .get("X-Pagination-Cursor")
                .map(|v| v.to_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        cursors,
        vec![None, Some("page2".into()), Some("page3".into())]
    );

    // A server that repeats a cursor is stopped.
    t.push(Ok(json(200, "[]", &[("X-Pagination-Cursor-Next", "a")])));
    t.push(Ok(json(200, "[]", &[("X-Pagination-Cursor-Next", "a")])));
    assert!(client.list_domains().await.is_err());
}

#[tokio::test]
async fn a_page_size_is_asked_for_on_every_page_only_when_set() {
    let t = FakeTransport::with_time(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), FakeClock::at(0));
    t.push(Ok(json(200, "[]", &[])));
    client.list_credentials(okms()).await.unwrap();
    let sized = Client::with_transport(app_key_config("ovh-eu"), t.clone(), FakeClock::at(0))
        .with_page_size(1000);
    let one = format!("[{}]", credential_json("READY", None));
    t.push(Ok(json(200, &one, &[("X-Pagination-Cursor-Next", "p2")])));
    t.push(Ok(json(200, &one, &[])));
    assert_eq!(sized.list_credentials(okms()).await.unwrap().len(), 2);
    let sizes: Vec<Option<String>> = t
        .api_requests()
        .iter()
        .map(|r| {
            r.headers()
                .get("X-Pagination-Size")
                .map(|v| v.to_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(sizes, vec![None, Some("1000".into()), Some("1000".into())]);
}

#[tokio::test]
async fn find_by_name_filters_on_name_and_time() {
    let t = FakeTransport::with_time(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), FakeClock::at(0));
    let mine = credential_json("READY", None);
    let other = mine.replace("John Smith", "Other");
    let old = mine.replace("2024-04-04T12:26:28.856619+02:00", "2020-01-01T00:00:00Z");
    t.push_json(200, &format!("[{mine},{other},{old}]"));
    let after = okms_api::OffsetDateTime::from_unix_timestamp(1_672_531_200).unwrap();
    let found = client
        .find_credentials_by_name(okms(), "John Smith", after)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].created_at.year(), 2024);
}

fn oauth2_config(token_url: Option<&str>) -> Config {
    Config::new(
        Endpoint::parse("ovh-eu").unwrap(),
        Auth::OAuth2 {
            client_id: "my id".into(),
            client_secret: "s3cr:t".into(),
            token_url: token_url.map(str::to_string),
        },
    )
}

#[tokio::test]
async fn oauth2_token_is_fetched_cached_and_renewed() {
    let t = FakeTransport::new();
    let clock = FakeClock::at(1_000);
    let client = Client::with_transport(oauth2_config(None), t.clone(), clock.clone());
    t.push_json(
        200,
        r#"{"access_token":"TOKEN1","token_type":"Bearer","expires_in":3600,"scope":"all"}"#,
    );
    t.push_json(200, r#"{"nichandle":"xx1111-ovh"}"#);
    t.push_json(200, r#"{"nichandle":"xx1111-ovh"}"#);
    assert_eq!(client.me().await.unwrap().nichandle, "xx1111-ovh");
    clock.advance(Duration::from_secs(3000));
    client.me().await.unwrap();

    let reqs = t.all_requests();
    assert_eq!(reqs.len(), 3, "one token fetch for two calls");
    let tok = &reqs[0];
    assert_eq!(tok.uri(), "https://www.ovh.com/auth/oauth2/token");
    assert_eq!(tok.method(), http::Method::POST);
    assert_eq!(tok.body(), b"grant_type=client_credentials&scope=all");
    assert_eq!(
        tok.headers()["Content-Type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(tok.headers()["Accept"], "application/json");
    // base64("my+id:s3cr%3At")
    assert_eq!(tok.headers()["Authorization"], "Basic bXkraWQ6czNjciUzQXQ=");
    for r in &reqs[1..] {
        assert_eq!(r.headers()["Authorization"], "Bearer TOKEN1");
        assert!(r.headers().get("X-Ovh-Signature").is_none());
    }

    // 3590 s after the fetch the token is renewed before use.
    clock.advance(Duration::from_secs(600));
    t.push_json(
        200,
        r#"{"access_token":"TOKEN2","token_type":"bearer","expires_in":3}"#,
    );
    t.push_json(200, r#"{"nichandle":"xx1111-ovh"}"#);
    client.me().await.unwrap();
    let reqs = t.all_requests();
    assert_eq!(reqs.len(), 5);
    assert!(reqs[3].uri().path().ends_with("/auth/oauth2/token"));
    assert_eq!(reqs[4].headers()["Authorization"], "Bearer TOKEN2");

    // A 3 s token is renewed after half its life.
    clock.advance(Duration::from_secs(2));
    t.push_json(200, r#"{"access_token":"TOKEN3","expires_in":3}"#);
    t.push_json(200, r#"{"nichandle":"xx1111-ovh"}"#);
    client.me().await.unwrap();
    assert_eq!(
        t.all_requests()[6].headers()["Authorization"],
        "Bearer TOKEN3"
    );
}

#[tokio::test]
async fn oauth2_401_renews_the_token_once() {
    let t = FakeTransport::new();
    let clock = FakeClock::at(0);
    let client = Client::with_transport(
        oauth2_config(Some("http://127.0.0.1:9/auth/oauth2/token")),
        t.clone(),
        clock,
    );
    t.push_json(200, r#"{"access_token":"OLD","expires_in":3600}"#);
    t.push_json(
        401,
        r#"{"class":"Client::Unauthorized","message":"expired"}"#,
    );
    t.push_json(200, r#"{"access_token":"NEW","expires_in":3600}"#);
    t.push_json(200, r#"{"account":"xx1111-ovh","identities":["urn:v1:eu:identity:account:xx1111-ovh"],"method":"oauth2_client_credentials"}"#);
    let d = client.auth_details().await.unwrap();
    assert_eq!(
        d.identities,
        vec!["urn:v1:eu:identity:account:xx1111-ovh".to_string()]
    );
    let reqs = t.all_requests();
    assert_eq!(reqs[0].uri(), "http://127.0.0.1:9/auth/oauth2/token");
    assert_eq!(reqs[3].headers()["Authorization"], "Bearer NEW");

    // A second 401 is reported, not looped on.
    t.push_json(401, r#"{"class":"Client::Unauthorized","message":"no"}"#);
    t.push_json(200, r#"{"access_token":"NEWER","expires_in":3600}"#);
    t.push_json(
        401,
        r#"{"class":"Client::Unauthorized","message":"still no"}"#,
    );
    let e = client.me().await.unwrap_err();
    assert!(e.is_unauthorized());
}

#[tokio::test]
async fn oauth2_token_errors_are_typed() {
    let t = FakeTransport::new();
    let client = Client::with_transport(oauth2_config(None), t.clone(), FakeClock::at(0));
    t.push_json(400, r#"{"error":"invalid_client", "error_description":"ovhcloud oauth2 client does not exists"}"#);
    let e = client.me().await.unwrap_err();
    let api = e.api_error().unwrap();
    assert_eq!(api.code.as_deref(), Some("invalid_client"));
    assert_eq!(t.all_requests().len(), 1);
    t.push_json(200, r#"{"token_type":"Bearer"}"#);
    assert!(matches!(
        client.me().await.unwrap_err(),
        Error::OAuth2Token { .. }
    ));
}

#[tokio::test]
async fn access_token_mode_sends_bearer() {
    let t = FakeTransport::new();
    let cfg = Config::new(
        Endpoint::parse("ovh-ca").unwrap(),
        Auth::AccessToken {
            access_token: "AT".into(),
        },
    );
    let client = Client::with_transport(cfg, t.clone(), FakeClock::at(0));
    t.push_json(200, "[]");
    client.list_domains().await.unwrap();
    let r = &t.all_requests()[0];
    assert_eq!(r.uri(), "https://ca.api.ovh.com/v2/okms/resource");
    assert_eq!(r.headers()["Authorization"], "Bearer AT");
    assert!(r.headers()["Authorization"].is_sensitive());
}

#[tokio::test]
async fn get_domain_with_public_ca_query_is_signed_with_the_query() {
    let t = FakeTransport::with_time(5);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), FakeClock::at(5));
    t.push_json(200, &format!(r#"{{"id":"{OKMS}","region":"eu-west-rbx"}}"#));
    client.get_domain(okms(), true).await.unwrap();
    let r = &t.api_requests()[0];
    let url = format!("https://eu.api.ovh.com/v2/okms/resource/{OKMS}?publicCA=true");
    assert_eq!(r.uri(), url.as_str());
    assert_eq!(
        r.headers()["X-Ovh-Signature"],
        okms_api::signature::sign(AS, CK, "GET", &url, b"", 5).as_str()
    );
}

fn wait_policy() -> WaitPolicy {
    WaitPolicy {
        timeout: Duration::from_secs(30),
        initial_interval: Duration::from_millis(500),
        max_interval: Duration::from_secs(4),
        jitter: false,
    }
}

#[tokio::test]
async fn wait_backs_off_until_ready() {
    let t = FakeTransport::with_time(0);
    let clock = FakeClock::at(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone());
    for _ in 0..5 {
        t.push_json(200, &credential_json("CREATING", None));
    }
    t.push_json(
        200,
        &credential_json(
            "READY",
            Some("-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n"),
        ),
    );
    let mut seen = Vec::new();
    let c = client
        .wait_until_ready_with(okms(), cred_id(), &wait_policy(), |c| {
            seen.push(c.status.clone())
        })
        .await
        .unwrap();
    assert!(c.certificate_pem.is_some());
    assert_eq!(seen.len(), 6);
    // A tenth of the wait so far, at least initial_interval (issue 20: READY noticed within
    // max(initial_interval, 10 % of the wait); this was a capped doubling, noticed late).
    assert_eq!(
        clock.sleeps(),
        [500, 500, 500, 500, 500]
            .map(Duration::from_millis)
            .to_vec()
    );
}

#[tokio::test]
async fn wait_stops_at_once_on_error_or_expired() {
    for status in ["ERROR", "EXPIRED", "DELETING"] {
        let t = FakeTransport::with_time(0);
        let clock = FakeClock::at(0);
        let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone());
        t.push_json(200, &credential_json("CREATING", None));
        t.push_json(200, &credential_json(status, None));
        let e = client
            .wait_until_ready(okms(), cred_id(), &wait_policy())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::UnexpectedStatus { status: s, .. } if s.as_str() == status),
            "{e}"
        );
        assert_eq!(clock.sleeps().len(), 1);
    }
}

#[tokio::test]
async fn wait_honours_the_deadline() {
    let t = FakeTransport::with_time(0);
    let clock = FakeClock::at(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone());
    for _ in 0..100 {
        t.push_json(200, &credential_json("CREATING", None));
    }
    let e = client
        .wait_until_ready(okms(), cred_id(), &wait_policy())
        .await
        .unwrap_err();
    match e {
        Error::WaitTimeout { status, waited, .. } => {
            assert_eq!(status, CredentialStatus::Creating);
            assert_eq!(waited, Duration::from_secs(30));
        }
        other => panic!("{other}"),
    }
    let total: Duration = clock.sleeps().iter().sum();
    assert_eq!(
        total,
        Duration::from_secs(30),
        "the last sleep is cut to the deadline"
    );
    // Jittered intervals stay within [95 %, 100 %] of a tenth of the wait, within bounds
    // (was [50 %, 100 %] of a doubling backoff: issue 20 bounds how late READY is noticed).
    let p = WaitPolicy {
        jitter: true,
        ..wait_policy()
    };
    for secs in [0, 1, 5, 10, 20, 40, 100] {
        let d = p.interval(Duration::from_secs(secs));
        let full = (Duration::from_secs(secs) / 10)
            .clamp(Duration::from_millis(500), Duration::from_secs(4));
        assert!(d >= full * 19 / 20 && d <= full, "{secs}: {d:?}");
    }
}

#[tokio::test]
async fn transport_errors_name_method_and_url() {
    let t = FakeTransport::with_time(0);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), FakeClock::at(0))
        .with_retry_policy(RetryPolicy::none());
    t.push(transport_err(TransportErrorKind::Connect));
    let e = client.me().await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }));
    // Issue 21: the message keeps its cause (the transport's kind and text).
    assert_eq!(
        e.to_string(),
        "GET https://eu.api.ovh.com/v1/me failed: connection failed: simulated"
    );
    let debug = format!("{client:?}");
    assert!(!debug.contains(AS) && !debug.contains(CK), "{debug}");
}

#[tokio::test]
async fn refused_timestamp_resyncs_the_clock_and_resends_once() {
    let t = FakeTransport::with_time(1_000);
    let clock = FakeClock::at(1_000);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone());
    let refused = r#"{"errorCode":"QUERY_TIME_OUT","httpCode":"400 Bad Request","message":"Query out of time"}"#;
    t.push_json(200, "[]");
    t.push_json(400, refused);
    t.push_json(200, &credential_json("CREATING", None));
    client.list_credentials(okms()).await.unwrap();
    // Six minutes later (the sync is stale), the server clock is 140 s ahead of ours.
    clock.advance(Duration::from_secs(360));
    *t.server_time.lock().unwrap() = Some(1_500);
    client.create_credential(okms(), &request()).await.unwrap();
    let all = t.all_requests();
    let paths: Vec<String> = all
        .iter()
        .map(|r| format!("{} {}", r.method(), r.uri().path()))
        .collect();
    let post = format!("POST /v2/okms/resource/{OKMS}/credential");
    assert_eq!(
        paths,
        vec![
            "GET /1.0/auth/time".to_string(),
            format!("GET /v2/okms/resource/{OKMS}/credential"),
            post.clone(),
            "GET /1.0/auth/time".into(),
            post
        ]
    );
    assert_eq!(all[2].headers()["X-Ovh-Timestamp"], "1360");
    assert_eq!(all[4].headers()["X-Ovh-Timestamp"], "1500");

    // Only once: a second refusal, right after the new sync, is reported.
    clock.advance(Duration::from_secs(360));
    t.push_json(400, refused);
    t.push_json(400, refused);
    let before = t.api_requests().len();
    let e = client
        .create_credential(okms(), &request())
        .await
        .unwrap_err();
    assert_eq!(
        e.api_error().unwrap().code.as_deref(),
        Some("QUERY_TIME_OUT")
    );
    assert_eq!(t.api_requests().len() - before, 2, "two POSTs at most");
    // GETs resync the same way once the sync is stale again.
    clock.advance(Duration::from_secs(360));
    t.push_json(400, refused);
    t.push_json(200, "[]");
    client.list_credentials(okms()).await.unwrap();
}

#[tokio::test]
async fn absurd_server_values_do_not_panic() {
    // A server clock at the edge of i64 and a token "valid" for u64::MAX seconds.
    let t = FakeTransport::with_time(i64::MIN);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), FakeClock::at(1_000));
    t.push_json(200, "[]");
    client.list_credentials(okms()).await.unwrap();

    let t = FakeTransport::new();
    let clock = FakeClock::at(0);
    let client = Client::with_transport(oauth2_config(None), t.clone(), clock.clone());
    t.push_json(
        200,
        r#"{"access_token":"T","expires_in":18446744073709551615}"#,
    );
    t.push_json(200, r#"{"nichandle":"xx1111-ovh"}"#);
    client.me().await.unwrap();
    // Renewed after a day at the latest.
    clock.advance(Duration::from_secs(24 * 3600));
    t.push_json(200, r#"{"access_token":"T2","expires_in":1}"#);
    t.push_json(200, r#"{"nichandle":"xx1111-ovh"}"#);
    client.me().await.unwrap();
    assert_eq!(t.all_requests()[3].headers()["Authorization"], "Bearer T2");

    let p = RetryPolicy {
        initial_backoff: Duration::MAX,
        max_backoff: Duration::MAX,
        ..RetryPolicy::default()
    };
    for n in [0, 1, 2, 63, 64, 1000, u32::MAX] {
        let _ = p.delay(n, None);
        let _ = WaitPolicy {
            initial_interval: Duration::MAX,
            max_interval: Duration::MAX,
            ..WaitPolicy::default()
        }
        .interval(Duration::from_secs(u64::from(n)));
    }
}

#[tokio::test]
async fn only_a_400_or_401_about_the_clock_or_signature_resyncs() {
    let t = FakeTransport::with_time(1_000);
    let clock = FakeClock::at(1_000);
    let client = Client::with_transport(app_key_config("ovh-eu"), t.clone(), clock.clone())
        .with_retry_policy(RetryPolicy::none());
    t.push_json(200, "[]");
    client.list_credentials(okms()).await.unwrap();
    for (status, body, resyncs) in [
        (
            400,
            r#"{"class":"Client::BadRequest","message":"Invalid signature"}"#,
            true,
        ),
        (
            401,
            r#"{"class":"Client::Unauthorized","message":"X-Ovh-Timestamp is too old"}"#,
            true,
        ),
        (
            400,
            r#"{"errorCode":"QUERY_TIME_OUT","httpCode":"400 Bad Request","message":"?"}"#,
            true,
        ),
        // Not about the clock or the signature.
        (
            400,
            r#"{"class":"Client::BadRequest","message":"Invalid body: sometimes"}"#,
            false,
        ),
        (
            401,
            r#"{"class":"Client::Unauthorized","message":"You must login first"}"#,
            false,
        ),
        // A 403 is an authorisation refusal, whatever it says.
        (
            403,
            r#"{"class":"Client::Forbidden","message":"Invalid signature"}"#,
            false,
        ),
    ] {
        clock.advance(Duration::from_secs(360));
        let before = t.all_requests().len();
        t.push_json(status, body);
        t.push_json(200, "[]");
        let outcome = client.list_credentials(okms()).await;
        let sent: Vec<String> = t.all_requests()[before..]
            .iter()
            .map(|r| r.uri().path().to_owned())
            .collect();
        if resyncs {
            assert!(outcome.is_ok(), "{body}");
            assert_eq!(sent.len(), 3, "{body}: {sent:?}");
            assert!(sent[1].ends_with("/auth/time"), "{body}: {sent:?}");
        } else {
            assert_eq!(outcome.unwrap_err().status(), Some(status), "{body}");
            assert_eq!(sent.len(), 1, "{body}: {sent:?}");
            // Drop the unused answer.
            t.script.lock().unwrap().clear();
        }
    }
}

#[tokio::test]
async fn iam_refusals_name_the_actions_as_a_string_or_an_array() {
    for (details, want) in [
        (
            r#"{"unauthorizedActionsByAuthentication":"","unauthorizedActionsByIAM":"okms:apiovh:credential/create"}"#,
            vec!["okms:apiovh:credential/create"],
        ),
        (
            r#"{"unauthorizedActionsByIAM":"okms:apiovh:credential/get, okms:apiovh:resource/get"}"#,
            vec!["okms:apiovh:credential/get", "okms:apiovh:resource/get"],
        ),
        (
            r#"{"unauthorizedActionsByIAM":["okms:apiovh:credential/get","okms:apiovh:resource/get"]}"#,
            vec!["okms:apiovh:credential/get", "okms:apiovh:resource/get"],
        ),
        (r#"{"unauthorizedActionsByIAM":""}"#, vec![]),
    ] {
        let t = FakeTransport::new();
        let client = Client::with_transport(
            Config::new(
                Endpoint::parse("ovh-eu").unwrap(),
                Auth::AccessToken {
                    access_token: "T".into(),
                },
            ),
            t.clone(),
            FakeClock::at(0),
        );
        t.push_json(
            403,
            &format!(
                r#"{{"class":"Client::Forbidden","message":"User not granted for this request","details":{details}}}"#
            ),
        );
        let e = client
            .create_credential(okms(), &request())
            .await
            .unwrap_err();
        assert_eq!(
            e.unauthorized_actions_by_iam(),
            want.as_slice(),
            "{details}"
        );
        let shown = e.to_string();
        assert!(
            !shown.contains("unauthorizedActionsByAuthentication"),
            "an empty detail is not shown: {shown}"
        );
        for action in &want {
            assert!(shown.contains(action), "{shown}");
        }
        assert_eq!(t.api_requests().len(), 1, "a 403 is never sent again");
    }
    // Other errors name no action.
    let e = Error::from(okms_api::sans_io::parse_error(&json(
        400,
        r#"{"class":"Client::BadRequest","message":"x"}"#,
        &[],
    )));
    assert!(e.unauthorized_actions_by_iam().is_empty());
}
