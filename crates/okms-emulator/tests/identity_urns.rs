//! Identity URNs and the description over HTTP: the emulator checks only a URN's structure
//! (an unusual account part is accepted, as OVHcloud's Terraform acceptance test shows the API
//! does), refuses a bad one with `CredentialIdentityURNsInvalidURN` naming the part, and
//! accepts an empty description as the schema allows (nullable, at most 200).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use okms_emulator::{CredentialPhase, RunningEmulator};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn post(emu: &RunningEmulator, body: &Value) -> (StatusCode, Value) {
    json(signed(
        emu,
        Method::POST,
        &cred_path(emu),
        Some(&body.to_string()),
    ))
}

#[test]
fn terraform_acceptance_urn_reaches_ready() {
    let emu = start(fast());
    let urns = [
        "urn:v1:eu:identity:user:badnic-ovh/user1",
        "urn:v1:eu:identity:account:badnic-ovh",
        "urn:v1:labeu:identity:group:x1-ovh/ops",
        "URN:V1:CA:IDENTITY:CREDENTIAL:xx1234567-ovh/OAUTH2-0f0f",
    ];
    let (status, v) = post(&emu, &json!({"name": "tf", "identityURNs": urns}));
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "CREATING");
    assert_eq!(v["identityURNs"], json!(urns));
    let id = v["id"].as_str().unwrap().to_owned();
    let (status, v) = wait_while(&emu, &id, "CREATING");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "READY", "{v}");
    assert_eq!(v["identityURNs"], json!(urns));
    assert!(v["certificatePEM"].as_str().is_some());
}

#[test]
fn bad_urns_are_refused_naming_the_part() {
    let emu = start(fast());
    for (urn, part) in [
        ("urx:v1:eu:identity:user:xx1111-ovh/j", "the prefix \"urx\""),
        ("urn:v2:eu:identity:user:xx1111-ovh/j", "the version \"v2\""),
        ("urn:v1:xx:identity:user:xx1111-ovh/j", "the region \"xx\""),
        (
            "urn:v1:eu:resource:account:xx1111-ovh",
            "the namespace \"resource\"",
        ),
        (
            "urn:v1:eu:identity:robot:xx1111-ovh/r2",
            "the type \"robot\"",
        ),
        ("urn:v1:eu:identity:user", "the account is missing"),
        ("urn:v1:eu:identity:user:/j", "the account is empty"),
        ("urn:v1:eu:identity:account:", "the account is empty"),
        ("urn:v1:eu:identity:user:xx1111-ovh", "needs a /name"),
        (
            "urn:v1:eu:identity:user:xx1111-ovh/",
            "the name after '/' is empty",
        ),
        ("urn:v1:eu:identity:account:xx1111-ovh/j", "takes no /name"),
        (
            "urn:v1:eu:identity:user:xx1111-ovh/john smith",
            "the name \"john smith\"",
        ),
        (
            "urn:v1:eu:identity:credential:xx1111-ovh/app",
            "oauth2-{clientId}",
        ),
    ] {
        let (status, v) = post(&emu, &json!({"name": "n", "identityURNs": [urn]}));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{urn}: {v}");
        assert_eq!(
            v["class"], "Client::BadRequest::CredentialIdentityURNsInvalidURN",
            "{urn}: {v}"
        );
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(part), "{urn}: {message}");
    }
    assert!(emu.credentials().is_empty());
}

#[test]
fn empty_description_is_accepted_and_returned() {
    let emu = start(fast());
    let (status, v) = post(
        &emu,
        &json!({"name": "blank", "identityURNs": [URN], "description": ""}),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["description"], "");
    let id = v["id"].as_str().unwrap().to_owned();
    let (_, v) = wait_while(&emu, &id, "CREATING");
    assert_eq!(v["status"], "READY");
    assert_eq!(v["description"], "");
    // null is "not given", as the schema's nullable says.
    let (status, v) = post(
        &emu,
        &json!({"name": "null", "identityURNs": [URN], "description": null}),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["description"].is_null());
    let snapshots = emu.credentials();
    assert_eq!(snapshots.len(), 2);
    assert_eq!(snapshots[0].description.as_deref(), Some(""));
    assert_eq!(snapshots[0].phase, CredentialPhase::Ready);
    assert_eq!(snapshots[1].description, None);
    // The limits still hold for a description that is given.
    let (status, v) = post(
        &emu,
        &json!({"name": "n", "identityURNs": [URN], "description": "d".repeat(201)}),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["class"],
        "Client::BadRequest::CredentialDescriptionMaximumExceeded"
    );
}
