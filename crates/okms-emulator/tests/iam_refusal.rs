//! The IAM refusal: a denied action answers 403 `Client::Forbidden` "User not granted for this
//! request" naming it in `details.unauthorizedActionsByIAM`, before any processing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use okms_emulator::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn refusal(action: &str) -> Value {
    json!({
        "class": "Client::Forbidden",
        "message": "User not granted for this request",
        "details": {
            "unauthorizedActionsByAuthentication": "",
            "unauthorizedActionsByIAM": action,
        }
    })
}

#[test]
fn a_denied_action_is_refused_before_processing_and_named() {
    let emu = start(EmulatorConfig {
        deny_actions: vec!["okms:apiovh:credential/create".into()],
        ..fast()
    });
    let path = cred_path(&emu);
    let (status, v) = json(signed(&emu, Method::POST, &path, Some(&create_body(""))));
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v, refusal("okms:apiovh:credential/create"));
    assert!(emu.credentials().is_empty(), "nothing created");
    // Other actions stay granted.
    let (status, _) = json(signed(&emu, Method::GET, &path, None));
    assert_eq!(status, StatusCode::OK);
    // Refused before the route looks at its input: even a body that would fail validation.
    let (status, v) = json(signed(&emu, Method::POST, &path, Some("{}")));
    assert_eq!(
        (status, &v["class"]),
        (StatusCode::FORBIDDEN, &json!("Client::Forbidden"))
    );

    // An OAuth2 caller is refused the same way.
    let info = emu.info();
    let token: Value = client()
        .post(&info.oauth2_token_url)
        .basic_auth(&info.client_id, Some(&info.client_secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=all")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let (status, v) = json(
        client()
            .post(format!("{}{path}", base(&emu)))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .header("Content-Type", "application/json")
            .body(create_body(""))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v, refusal("okms:apiovh:credential/create"));
    assert!(emu.credentials().is_empty());
}

#[test]
fn prefixes_and_run_time_changes() {
    let emu = start(fast());
    let path = cred_path(&emu);
    let domain = format!("/v2/okms/resource/{}", emu.okms_id());
    let status = |method: Method, p: &str| json(signed(&emu, method, p, None));

    emu.set_denied_actions(vec!["okms:apiovh:credential/*".into()])
        .unwrap();
    assert_eq!(
        status(Method::GET, &path),
        (StatusCode::FORBIDDEN, refusal("okms:apiovh:credential/get"))
    );
    let one = format!("{path}/{}", uuid::Uuid::new_v4());
    assert_eq!(
        status(Method::DELETE, &one),
        (
            StatusCode::FORBIDDEN,
            refusal("okms:apiovh:credential/delete")
        )
    );
    assert_eq!(status(Method::GET, &domain).0, StatusCode::OK);
    assert_eq!(status(Method::GET, "/v1/me").0, StatusCode::OK);

    emu.set_denied_actions(vec!["*".into()]).unwrap();
    assert_eq!(
        status(Method::GET, &domain),
        (StatusCode::FORBIDDEN, refusal("okms:apiovh:resource/get"))
    );
    assert_eq!(
        status(Method::GET, "/v1/me"),
        (StatusCode::FORBIDDEN, refusal("account:apiovh:me/get"))
    );
    // `/auth/details` needs no IAM action in the schema files.
    assert_eq!(status(Method::GET, "/v1/auth/details").0, StatusCode::OK);

    // A malformed pattern is refused with what to write instead; the list stays as it was.
    let e = emu
        .set_denied_actions(vec!["okms:*:credential/get".into()])
        .unwrap_err();
    assert!(e.to_string().contains("only at the end"), "{e}");
    assert_eq!(status(Method::GET, "/v1/me").0, StatusCode::FORBIDDEN);

    emu.set_denied_actions(Vec::new()).unwrap();
    assert_eq!(status(Method::GET, &path).0, StatusCode::OK);
}

#[test]
fn the_binary_takes_deny_action_and_legacy_auth_errors() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_okms-emulator"))
        .args([
            "--deny-action",
            "okms:apiovh:credential/get",
            "--deny-action",
            "okms:apiovh:resource/*",
            "--legacy-auth-errors",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    let api = info["api_url"].as_str().unwrap();
    let base = api.trim_end_matches("/1.0");
    let c = client();
    // Unsigned: the legacy shape.
    let (status, v) = json(c.get(format!("{base}/v1/me")).send().unwrap());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["errorCode"], "NOT_AUTHENTICATED");
    // With a token: both denied actions are refused.
    let token: Value = c
        .post(info["oauth2_token_url"].as_str().unwrap())
        .basic_auth(
            info["client_id"].as_str().unwrap(),
            info["client_secret"].as_str(),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=all")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let okms_id = info["okms_id"].as_str().unwrap();
    for (path, action) in [
        (
            format!("/v2/okms/resource/{okms_id}/credential"),
            "okms:apiovh:credential/get",
        ),
        (
            format!("/v2/okms/resource/{okms_id}"),
            "okms:apiovh:resource/get",
        ),
    ] {
        let (status, v) = json(
            c.get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .unwrap(),
        );
        assert_eq!((status, v), (StatusCode::FORBIDDEN, refusal(action)));
    }
    // SIGTERM, so that the emulator removes its temporary directory.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());

    // A malformed pattern stops the binary with the reason.
    let out = Command::new(env!("CARGO_BIN_EXE_okms-emulator"))
        .args(["--deny-action", "okms:apiovh:credential/get,x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("okms:apiovh:credential/get,x") && err.contains("comma"),
        "{err}"
    );
}
