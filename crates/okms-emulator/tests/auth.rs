//! Authentication: `/auth/time`, the `$1$` signature and its refusals in both shapes (the
//! API's current `{"class","message"}` and, behind `legacy_auth_errors`, the older
//! `{"errorCode","httpCode","message"}`), OAuth2 tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use okms_emulator::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn auth_error(resp: reqwest::blocking::Response) -> (StatusCode, String, Value) {
    assert!(resp.headers().contains_key("x-ovh-queryid"));
    let (status, v) = json(resp);
    (status, v["errorCode"].as_str().unwrap_or("").to_owned(), v)
}

/// Status, class and message of a current-shape refusal, which must carry no `errorCode`.
fn api_refusal(resp: reqwest::blocking::Response) -> (StatusCode, String, String) {
    assert!(resp.headers().contains_key("x-ovh-queryid"));
    let (status, v) = json(resp);
    assert!(v.get("errorCode").is_none(), "{v}");
    let text = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    (status, text("class"), text("message"))
}

#[test]
fn time_on_every_prefix_and_query_id_everywhere() {
    let emu = start(fast());
    let c = client();
    let b = base(&emu);
    for path in ["/1.0/auth/time", "/v1/auth/time", "/auth/time"] {
        let resp = c.get(format!("{b}{path}")).send().unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let qid = resp.headers()["x-ovh-queryid"].to_str().unwrap().to_owned();
        assert!(qid.starts_with("EU."), "{qid}");
        let t: i64 = resp.json().unwrap();
        assert!((t - now_secs()).abs() <= 2);
    }
    // An unknown route answers the API's error shape, with a query id too.
    let resp = c.get(format!("{b}/v2/nothing/here")).send().unwrap();
    assert!(resp.headers().contains_key("x-ovh-queryid"));
    let (status, v) = json(resp);
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["class"], "Client::NotFound");
    let resp = c.put(format!("{b}/1.0/auth/time")).send().unwrap();
    let (status, v) = json(resp);
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(v["class"], "Client::MethodNotAllowed");
}

/// The older `errorCode` shape, kept behind `legacy_auth_errors` so that clients stay tested on
/// it: every code the sources show, with the emulator's statuses.
#[test]
fn signed_calls_and_every_auth_error() {
    let emu = start(EmulatorConfig {
        legacy_auth_errors: true,
        ..fast()
    });
    let info = emu.info().clone();
    let (status, v) = json(signed(&emu, Method::GET, "/v1/auth/details", None));
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["method"], "account");
    assert_eq!(v["account"], "xx1111-ovh");
    assert_eq!(v["identities"][0], "urn:v1:eu:identity:account:xx1111-ovh");
    // /1.0 paths are signed with /1.0 in the URL.
    let (status, _) = json(signed(&emu, Method::GET, "/1.0/me", None));
    assert_eq!(status, StatusCode::OK);
    // The query string is part of the signed URL.
    let (status, _) = json(signed(
        &emu,
        Method::GET,
        &format!("/v2/okms/resource/{}?publicCA=true", emu.okms_id()),
        None,
    ));
    assert_eq!(status, StatusCode::OK);

    let c = client();
    let url = format!("{}/v1/me", base(&emu));
    let ts = now_secs().to_string();
    let good_sig = okms_emulator::signature::compute(
        &info.application_secret,
        &info.consumer_key,
        "GET",
        &url,
        b"",
        &ts,
    );

    // No credentials at all.
    let (status, code, _) = auth_error(c.get(&url).send().unwrap());
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "NOT_AUTHENTICATED")
    );

    // Unknown application key.
    let (status, code, v) = auth_error(
        c.get(&url)
            .header("X-Ovh-Application", "nope")
            .header("X-Ovh-Consumer", &info.consumer_key)
            .header("X-Ovh-Timestamp", &ts)
            .header("X-Ovh-Signature", &good_sig)
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "INVALID_KEY")
    );
    assert_eq!(v["httpCode"], "403 Forbidden");

    // Application key without consumer key.
    let (status, code, _) = auth_error(
        c.get(&url)
            .header("X-Ovh-Application", &info.application_key)
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "NOT_CREDENTIAL")
    );

    // Unknown consumer key.
    let (status, code, _) = auth_error(
        c.get(&url)
            .header("X-Ovh-Application", &info.application_key)
            .header("X-Ovh-Consumer", "wrongwrongwrongwrongwrongwrong12")
            .header("X-Ovh-Timestamp", &ts)
            .header("X-Ovh-Signature", &good_sig)
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "INVALID_CREDENTIAL")
    );

    // Missing timestamp, timestamp outside the skew window.
    let (status, code, _) = auth_error(
        c.get(&url)
            .header("X-Ovh-Application", &info.application_key)
            .header("X-Ovh-Consumer", &info.consumer_key)
            .header("X-Ovh-Signature", &good_sig)
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "QUERY_TIME_OUT")
    );
    let resp = signed_at(&emu, Method::GET, "/v1/me", None, now_secs() - 301, &[]);
    let (status, code, _) = auth_error(resp);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "QUERY_TIME_OUT")
    );
    // ... but within the window it passes.
    let resp = signed_at(&emu, Method::GET, "/v1/me", None, now_secs() - 250, &[]);
    assert_eq!(resp.status(), StatusCode::OK);

    // Wrong or missing signature.
    for sig in [None, Some("$1$0000000000000000000000000000000000000000")] {
        let mut req = c
            .get(&url)
            .header("X-Ovh-Application", &info.application_key)
            .header("X-Ovh-Consumer", &info.consumer_key)
            .header("X-Ovh-Timestamp", &ts);
        if let Some(s) = sig {
            req = req.header("X-Ovh-Signature", s);
        }
        let (status, code, _) = auth_error(req.send().unwrap());
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "INVALID_SIGNATURE")
        );
    }
    // Signed for another host or scheme (the URL is part of the signature).
    let other = okms_emulator::signature::compute(
        &info.application_secret,
        &info.consumer_key,
        "GET",
        &url.replace("http://127.0.0.1", "http://localhost"),
        b"",
        &ts,
    );
    let (_, code, _) = auth_error(
        c.get(&url)
            .header("X-Ovh-Application", &info.application_key)
            .header("X-Ovh-Consumer", &info.consumer_key)
            .header("X-Ovh-Timestamp", &ts)
            .header("X-Ovh-Signature", other)
            .send()
            .unwrap(),
    );
    assert_eq!(code, "INVALID_SIGNATURE");
    // A body that differs from the signed one.
    let path = cred_path(&emu);
    let body = create_body("");
    let url = format!("{}{path}", base(&emu));
    let sig = okms_emulator::signature::compute(
        &info.application_secret,
        &info.consumer_key,
        "POST",
        &url,
        body.as_bytes(),
        &ts,
    );
    let (_, code, _) = auth_error(
        c.post(&url)
            .header("X-Ovh-Application", &info.application_key)
            .header("X-Ovh-Consumer", &info.consumer_key)
            .header("X-Ovh-Timestamp", &ts)
            .header("X-Ovh-Signature", sig)
            .body(body.replace("test", "tesT"))
            .send()
            .unwrap(),
    );
    assert_eq!(code, "INVALID_SIGNATURE");
    assert!(
        emu.credentials().is_empty(),
        "a refused call changes nothing"
    );
    // An unknown bearer token.
    let (status, code, _) = auth_error(c.get(&url).bearer_auth("not-a-token").send().unwrap());
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIAL")
    );
}

/// The shape the API answers today: `{"class","message"}` with the classes and, where a public
/// source shows one, the message OVHcloud uses.
#[test]
fn every_auth_error_in_the_current_shape() {
    let emu = start(fast());
    let info = emu.info().clone();
    let c = client();
    let url = format!("{}/v1/me", base(&emu));
    let ts = now_secs().to_string();
    let good_sig = okms_emulator::signature::compute(
        &info.application_secret,
        &info.consumer_key,
        "GET",
        &url,
        b"",
        &ts,
    );
    let with = |ak: Option<&str>, ck: Option<&str>, ts: Option<&str>, sig: Option<&str>| {
        let mut r = c.get(&url);
        for (name, value) in [
            ("X-Ovh-Application", ak),
            ("X-Ovh-Consumer", ck),
            ("X-Ovh-Timestamp", ts),
            ("X-Ovh-Signature", sig),
        ] {
            if let Some(v) = value {
                r = r.header(name, v);
            }
        }
        api_refusal(r.send().unwrap())
    };
    let ak = Some(info.application_key.as_str());
    let ck = Some(info.consumer_key.as_str());
    let unauthorized = |m: &str| {
        (
            StatusCode::UNAUTHORIZED,
            "Client::Unauthorized".to_owned(),
            m.to_owned(),
        )
    };
    let forbidden = |m: &str| {
        (
            StatusCode::FORBIDDEN,
            "Client::Forbidden".to_owned(),
            m.to_owned(),
        )
    };
    let bad_signature = (
        StatusCode::BAD_REQUEST,
        "Client::BadRequest".to_owned(),
        "Invalid signature".to_owned(),
    );

    assert_eq!(
        with(None, None, None, None),
        unauthorized("You must login first")
    );
    assert_eq!(
        with(Some("nope"), ck, Some(&ts), Some(&good_sig)),
        forbidden("Invalid application key")
    );
    assert_eq!(
        with(ak, None, None, None),
        unauthorized("You must login first")
    );
    assert_eq!(
        with(
            ak,
            Some("wrongwrongwrongwrongwrongwrong12"),
            Some(&ts),
            Some(&good_sig)
        ),
        forbidden("This credential is not valid")
    );
    // A missing or stale timestamp reads like a bad signature: the timestamp is signed.
    assert_eq!(with(ak, ck, None, Some(&good_sig)), bad_signature);
    assert_eq!(with(ak, ck, Some("soon"), Some(&good_sig)), bad_signature);
    let resp = signed_at(&emu, Method::GET, "/v1/me", None, now_secs() - 301, &[]);
    assert_eq!(api_refusal(resp), bad_signature);
    assert_eq!(with(ak, ck, Some(&ts), None), bad_signature);
    assert_eq!(
        with(
            ak,
            ck,
            Some(&ts),
            Some("$1$0000000000000000000000000000000000000000")
        ),
        bad_signature
    );
    assert_eq!(with(ak, ck, Some(&ts), Some(&good_sig)).0, StatusCode::OK);

    // Bearer tokens: 401 Client::Unauthorized, unknown or expired.
    let (status, class, message) =
        api_refusal(c.get(&url).bearer_auth("not-a-token").send().unwrap());
    assert_eq!(
        (status, class.as_str()),
        (StatusCode::UNAUTHORIZED, "Client::Unauthorized")
    );
    assert!(message.contains("access token is not valid"), "{message}");

    // A refused create changes nothing.
    let path = cred_path(&emu);
    let stale = now_secs() - 3600;
    let resp = signed_at(
        &emu,
        Method::POST,
        &path,
        Some(&create_body("")),
        stale,
        &[],
    );
    assert_eq!(api_refusal(resp), bad_signature);
    assert!(emu.credentials().is_empty());
}

#[test]
fn clock_skew_needs_time_sync() {
    let emu = start(EmulatorConfig {
        clock_skew_secs: -3600,
        ..fast()
    });
    let server: i64 = client()
        .get(format!("{}/auth/time", emu.api_url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let delta = now_secs() - server;
    assert!((3598..=3602).contains(&delta), "delta {delta}");
    // A client that does not sync is refused, in the words of a bad signature today ...
    let (status, v) = json(signed(&emu, Method::GET, "/v1/me", None));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["class"], "Client::BadRequest");
    assert_eq!(v["message"], "Invalid signature");
    // ... one that uses local - delta passes.
    let resp = signed_at(&emu, Method::GET, "/v1/me", None, now_secs() - delta, &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    // Skew can change at run time.
    emu.set_clock_skew(0);
    assert_eq!(
        signed(&emu, Method::GET, "/v1/me", None).status(),
        StatusCode::OK
    );

    // ... and with `QUERY_TIME_OUT` in the legacy shape.
    let legacy = start(EmulatorConfig {
        clock_skew_secs: -3600,
        legacy_auth_errors: true,
        ..fast()
    });
    let (status, v) = json(signed(&legacy, Method::GET, "/v1/me", None));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorCode"], "QUERY_TIME_OUT");
    assert!(v["message"].as_str().unwrap().contains("/auth/time"), "{v}");
}

fn token_form(emu: &okms_emulator::RunningEmulator, basic: bool) -> reqwest::blocking::Response {
    let info = emu.info();
    let c = client().post(&info.oauth2_token_url);
    if basic {
        c.basic_auth(&info.client_id, Some(&info.client_secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=all")
            .send()
            .unwrap()
    } else {
        c.header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                info.client_id, info.client_secret
            ))
            .send()
            .unwrap()
    }
}

fn bearer(emu: &okms_emulator::RunningEmulator, token: &str, path: &str) -> (StatusCode, Value) {
    json(
        client()
            .get(format!("{}{path}", base(emu)))
            .bearer_auth(token)
            .send()
            .unwrap(),
    )
}

#[test]
fn oauth2_tokens_basic_and_form_and_expiry() {
    let emu = start(EmulatorConfig {
        token_ttl: Duration::from_secs(60),
        ..fast()
    });
    let info = emu.info().clone();
    for basic in [true, false] {
        let (status, v) = json(token_form(&emu, basic));
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["expires_in"], 60);
        assert_eq!(v["scope"], "all");
        let token = v["access_token"].as_str().unwrap().to_owned();
        let (status, d) = bearer(&emu, &token, "/v1/auth/details");
        assert_eq!(status, StatusCode::OK, "{d}");
        assert_eq!(d["method"], "oauth2_client_credentials");
        assert_eq!(
            d["identities"][0],
            format!(
                "urn:v1:eu:identity:credential:xx1111-ovh/oauth2-{}",
                info.client_id
            )
        );
        let (status, _) = bearer(&emu, &token, &cred_path(&emu));
        assert_eq!(status, StatusCode::OK);
    }
    // A token stops working once expired (time travel instead of a one-minute sleep).
    let (_, v) = json(token_form(&emu, true));
    let token = v["access_token"].as_str().unwrap().to_owned();
    emu.advance_clock(Duration::from_secs(61));
    let (status, v) = bearer(&emu, &token, "/v1/me");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["class"], "Client::Unauthorized");
    assert!(v["message"].as_str().unwrap().contains("expired"));
    // Unknown token.
    let (status, v) = bearer(&emu, "not-a-token", "/v1/me");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["class"], "Client::Unauthorized");
    assert!(v["message"].as_str().unwrap().contains("not valid"));
}

#[test]
fn oauth2_token_expires_in_real_time() {
    let emu = start(EmulatorConfig {
        token_ttl: Duration::from_secs(1),
        ..fast()
    });
    let (_, v) = json(token_form(&emu, true));
    let token = v["access_token"].as_str().unwrap().to_owned();
    assert_eq!(bearer(&emu, &token, "/v1/me").0, StatusCode::OK);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(bearer(&emu, &token, "/v1/me").0, StatusCode::UNAUTHORIZED);
}

#[test]
fn oauth2_errors() {
    let emu = start(fast());
    let info = emu.info().clone();
    let post = |body: &str, basic: Option<(&str, &str)>| {
        let mut r = client()
            .post(&info.oauth2_token_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some((id, secret)) = basic {
            r = r.basic_auth(id, Some(secret));
        }
        json(r.send().unwrap())
    };
    let creds = Some((info.client_id.as_str(), info.client_secret.as_str()));
    let (status, v) = post("grant_type=password", creds);
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (status, v) = post("scope=all", creds);
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, v) = post("grant_type=client_credentials", None);
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, v) = post("grant_type=client_credentials", Some(("0000", "x")));
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client"))
    );
    assert_eq!(
        v["error_description"],
        "ovhcloud oauth2 client does not exists"
    );
    let (status, v) = post(
        "grant_type=client_credentials",
        Some((info.client_id.as_str(), "wrong")),
    );
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client"))
    );
}
