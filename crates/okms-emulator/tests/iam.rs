//! The IAM model over real HTTP: identities, policies, the authorization check, and what a
//! caller or a certificate that is not root may do with and without a policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use base64ct::{Base64, Encoding};
use common::*;
use okms_emulator::{EmulatorConfig, RunningEmulator};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const NIC: &str = "xx1111-ovh";
const ALICE: &str = "urn:v1:eu:identity:user:xx1111-ovh/alice";
const BOB: &str = "urn:v1:eu:identity:user:xx1111-ovh/bob";
const OPERATORS: &str = "urn:v1:eu:identity:group:xx1111-ovh/kms-operators";
const ACCOUNT: &str = "urn:v1:eu:resource:account:xx1111-ovh";

/// The API's clock (tests move it with `advance_clock`; signatures are checked against it).
fn server_time(emu: &RunningEmulator) -> i64 {
    client()
        .get(format!("{}/auth/time", base(emu)))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn call(
    emu: &RunningEmulator,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let body = body.map(Value::to_string);
    json(signed_at(
        emu,
        method,
        path,
        body.as_deref(),
        server_time(emu),
        &[],
    ))
}

fn domain_urn(emu: &RunningEmulator) -> String {
    format!("urn:v1:eu:resource:okms:{}", emu.okms_id())
}

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

fn policy_body(identity: &str, resource: &str, allow: &[&str], deny: &[&str]) -> Value {
    let actions = |l: &[&str]| l.iter().map(|a| json!({ "action": a })).collect::<Vec<_>>();
    json!({
        "name": "test-policy",
        "identities": [identity],
        "resources": [{"urn": resource}],
        "permissions": {"allow": actions(allow), "deny": actions(deny)},
    })
}

/// Creates a policy as the root account, whoever the caller is at the moment, and restores it.
fn grant_as_root(emu: &RunningEmulator, caller: Option<&str>, body: &Value) -> String {
    emu.set_api_caller_identity(None);
    let (status, v) = call(emu, Method::POST, "/v2/iam/policy", Some(body));
    assert_eq!(status, StatusCode::OK, "{v}");
    emu.set_api_caller_identity(caller.map(str::to_owned));
    v["id"].as_str().unwrap().to_owned()
}

fn credential_for(identity: &str) -> Value {
    json!({"name": "iam-test", "identityURNs": [identity]})
}

#[test]
fn a_policy_goes_through_create_read_list_replace_and_delete() {
    let emu = start(fast());
    let domain = domain_urn(&emu);
    let mut body = policy_body(ALICE, &domain, &["okms:apikms:*"], &[]);
    body["description"] = json!("read keys");
    body["permissions"]["except"] = json!([{"action": "okms:apikms:serviceKey/delete"}]);
    body["expiredAt"] = json!("2099-01-01T00:00:00Z");
    let (status, created) = call(&emu, Method::POST, "/v2/iam/policy", Some(&body));
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(created["owner"], NIC);
    assert_eq!(created["readOnly"], false);
    assert_eq!(created["updatedAt"], Value::Null);
    assert_eq!(created["identities"], json!([ALICE]));
    assert_eq!(created["resources"], json!([{ "urn": domain }]));
    assert_eq!(
        created["permissions"]["except"],
        json!([{"action": "okms:apikms:serviceKey/delete"}])
    );
    assert!(
        created["expiredAt"]
            .as_str()
            .unwrap()
            .starts_with("2099-01-01T00:00:00")
    );
    assert_eq!(emu.policies(), vec![created.clone()]);

    let one = format!("/v2/iam/policy/{id}");
    assert_eq!(
        call(&emu, Method::GET, &one, None),
        (StatusCode::OK, created.clone())
    );

    // Filters: each given filter must match; readOnly=true finds no emulated policy.
    let other = grant_as_root(
        &emu,
        None,
        &policy_body(BOB, ACCOUNT, &["account:apiovh:me/get"], &[]),
    );
    let ids = |query: &str| -> Vec<String> {
        let (status, v) = call(&emu, Method::GET, &format!("/v2/iam/policy{query}"), None);
        assert_eq!(status, StatusCode::OK, "{query}: {v}");
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(""), [id.as_str(), other.as_str()]);
    assert_eq!(ids(&format!("?identity={ALICE}")), [id.as_str()]);
    assert_eq!(ids(&format!("?resourceURN={ACCOUNT}")), [other.as_str()]);
    assert_eq!(ids("?action=okms:apikms:random/get"), [id.as_str()]);
    assert_eq!(
        ids(&format!("?identity={ALICE}&identity={BOB}")),
        [id.as_str(), other.as_str()]
    );
    assert_eq!(
        ids(&format!("?identity={BOB}&resourceURN={domain}")),
        Vec::<String>::new()
    );
    assert_eq!(ids("?readOnly=true"), Vec::<String>::new());
    assert_eq!(ids("?readOnly=false").len(), 2);
    let (status, v) = call(&emu, Method::GET, "/v2/iam/policy?readOnly=maybe", None);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("readOnly"), "{v}");

    // Pagination as on the other v2 lists.
    let (status, v) = json(signed_at(
        &emu,
        Method::GET,
        "/v2/iam/policy",
        None,
        server_time(&emu),
        &[("X-Pagination-Size", "1")],
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 1);

    // PUT replaces the whole policy.
    let mut update = policy_body(OPERATORS, &domain, &["okms:apikms:random/get"], &[]);
    update["name"] = json!("renamed");
    let (status, replaced) = call(&emu, Method::PUT, &one, Some(&update));
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["id"], id);
    assert_eq!(replaced["name"], "renamed");
    assert_eq!(replaced["identities"], json!([OPERATORS]));
    assert_eq!(replaced["permissions"]["except"], json!([]));
    assert_eq!(replaced["expiredAt"], Value::Null);
    assert_eq!(replaced["description"], Value::Null);
    assert_eq!(replaced["createdAt"], created["createdAt"]);
    assert!(replaced["updatedAt"].is_string());

    let (status, _) = call(&emu, Method::DELETE, &one, None);
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(emu.policies().len(), 1, "one policy left");
    for method in [Method::GET, Method::DELETE] {
        let (status, v) = call(&emu, method.clone(), &one, None);
        assert_eq!(
            (status, &v["class"]),
            (StatusCode::NOT_FOUND, &json!("Client::NotFound"))
        );
        assert!(v["message"].as_str().unwrap().contains(&id), "{v}");
    }
    let (status, _) = call(&emu, Method::PUT, &one, Some(&update));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = call(&emu, Method::GET, "/v2/iam/policy/not-a-uuid", None);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("policyId"), "{v}");
}

#[test]
fn a_bad_policy_body_is_refused_naming_the_field_and_nothing_is_stored() {
    let emu = start(fast());
    let domain = domain_urn(&emu);
    let good = policy_body(ALICE, &domain, &["okms:apikms:*"], &[]);
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("identities"))),
            "identities is required",
        ),
        (
            Box::new(|v| v["identities"] = json!(["alice"])),
            "identities[0]",
        ),
        (
            Box::new(|v| v["resources"] = json!([{"urn": ALICE}])),
            "resources[0].urn",
        ),
        (
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("name"))),
            "name is required",
        ),
        (
            Box::new(|v| v["permissions"]["allow"] = json!([{"action": ""}])),
            "permissions.allow[0].action",
        ),
        (
            Box::new(|v| v["permissions"] = json!("all")),
            "permissions must be an object",
        ),
        (
            Box::new(|v| v["expiredAt"] = json!("next week")),
            "expiredAt",
        ),
    ];
    for (edit, field) in cases {
        let mut body = good.clone();
        edit(&mut body);
        let (status, v) = call(&emu, Method::POST, "/v2/iam/policy", Some(&body));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {v}");
        assert_eq!(v["class"], "Client::BadRequest");
        assert!(
            v["message"].as_str().unwrap().contains(field),
            "{field}: {v}"
        );
    }
    assert!(emu.policies().is_empty());
}

#[test]
fn a_user_caller_is_refused_credential_create_until_a_policy_allows_it() {
    let emu = start(fast());
    let creds = cred_path(&emu);
    let body = credential_for(ALICE);
    emu.set_api_caller_identity(Some(ALICE.to_owned()));

    assert_eq!(
        call(&emu, Method::POST, &creds, Some(&body)),
        (
            StatusCode::FORBIDDEN,
            refusal("okms:apiovh:credential/create")
        )
    );
    assert!(
        emu.credentials().is_empty(),
        "refused before anything is created"
    );
    // Nor may alice read the account or grant herself a policy.
    assert_eq!(
        call(&emu, Method::GET, "/v1/me", None),
        (StatusCode::FORBIDDEN, refusal("account:apiovh:me/get"))
    );
    assert_eq!(
        call(
            &emu,
            Method::POST,
            "/v2/iam/policy",
            Some(&policy_body(ALICE, ACCOUNT, &["*"], &[]))
        ),
        (
            StatusCode::FORBIDDEN,
            refusal("account:apiovh:iam/policy/create")
        )
    );
    // The domain list hides what she may not read instead of refusing.
    assert_eq!(
        call(&emu, Method::GET, "/v2/okms/resource", None),
        (StatusCode::OK, json!([]))
    );

    // A policy on another domain, or for another user, does not help.
    grant_as_root(
        &emu,
        Some(ALICE),
        &policy_body(
            ALICE,
            "urn:v1:eu:resource:okms:00000000-0000-4000-8000-000000000000",
            &["okms:apiovh:credential/*"],
            &[],
        ),
    );
    grant_as_root(
        &emu,
        Some(ALICE),
        &policy_body(
            "urn:v1:eu:identity:user:xx1111-ovh/carol",
            &domain_urn(&emu),
            &["*"],
            &[],
        ),
    );
    assert_eq!(
        call(&emu, Method::POST, &creds, Some(&body)).0,
        StatusCode::FORBIDDEN
    );

    // Through her group, on this domain: granted.
    grant_as_root(
        &emu,
        Some(ALICE),
        &policy_body(
            OPERATORS,
            &domain_urn(&emu),
            &["okms:apiovh:credential/*", "okms:apiovh:resource/get"],
            &[],
        ),
    );
    let (status, v) = call(&emu, Method::POST, &creds, Some(&body));
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(emu.credentials().len(), 1);
    let (status, v) = call(&emu, Method::GET, "/v2/okms/resource", None);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    // Still nothing on the account.
    assert_eq!(
        call(&emu, Method::GET, "/v1/me", None).0,
        StatusCode::FORBIDDEN
    );

    // --deny-action still applies on top of an allowing policy.
    emu.set_denied_actions(vec!["okms:apiovh:credential/create".into()])
        .unwrap();
    assert_eq!(
        call(&emu, Method::POST, &creds, Some(&body)),
        (
            StatusCode::FORBIDDEN,
            refusal("okms:apiovh:credential/create")
        )
    );
}

#[test]
fn an_admin_group_member_and_the_root_account_pass_without_any_policy() {
    let emu = start(fast());
    let creds = cred_path(&emu);
    for caller in [
        Some(BOB),
        Some("urn:v1:eu:identity:group:xx1111-ovh/admins"),
        None,
    ] {
        emu.set_api_caller_identity(caller.map(str::to_owned));
        let (status, v) = call(&emu, Method::POST, &creds, Some(&credential_for(ALICE)));
        assert_eq!(status, StatusCode::OK, "{caller:?}: {v}");
        assert_eq!(call(&emu, Method::GET, "/v1/me", None).0, StatusCode::OK);
        assert_eq!(
            call(&emu, Method::GET, "/v2/iam/policy", None).0,
            StatusCode::OK
        );
    }
    assert!(emu.policies().is_empty());
}

#[test]
fn deny_beats_allow_and_an_expired_policy_grants_nothing() {
    let emu = start(fast());
    let creds = cred_path(&emu);
    let domain = domain_urn(&emu);
    grant_as_root(
        &emu,
        None,
        &policy_body(ALICE, &domain, &["okms:apiovh:credential/*"], &[]),
    );
    let (status, v) = call(&emu, Method::POST, &creds, Some(&credential_for(ALICE)));
    assert_eq!(status, StatusCode::OK, "{v}");
    let one = format!("{creds}/{}", v["id"].as_str().unwrap());
    // A deny for her group, in another policy, wins over her own allow.
    grant_as_root(
        &emu,
        None,
        &policy_body(OPERATORS, &domain, &[], &["okms:apiovh:credential/delete"]),
    );
    emu.set_api_caller_identity(Some(ALICE.to_owned()));
    assert_eq!(call(&emu, Method::GET, &one, None).0, StatusCode::OK);
    assert_eq!(
        call(&emu, Method::DELETE, &one, None),
        (
            StatusCode::FORBIDDEN,
            refusal("okms:apiovh:credential/delete")
        )
    );

    // Expiry: carol's grant holds for an hour of the emulator's clock, then nothing.
    let carol = "urn:v1:eu:identity:user:xx1111-ovh/carol";
    let mut body = policy_body(carol, &domain, &["okms:apiovh:credential/get"], &[]);
    let in_one_hour = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    body["expiredAt"] = json!(
        in_one_hour
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    grant_as_root(&emu, Some(carol), &body);
    assert_eq!(call(&emu, Method::GET, &creds, None).0, StatusCode::OK);
    emu.advance_clock(Duration::from_secs(2 * 3600));
    assert_eq!(
        call(&emu, Method::GET, &creds, None),
        (StatusCode::FORBIDDEN, refusal("okms:apiovh:credential/get"))
    );
    // The expired policy is still listed (it is not deleted, only no longer applied).
    assert_eq!(emu.policies().len(), 3);
}

#[test]
fn the_authorization_check_answers_for_the_caller() {
    let emu = start(fast());
    let domain = domain_urn(&emu);
    let check = |resource: &str, actions: Value| {
        call(
            &emu,
            Method::POST,
            &format!("/v2/iam/resource/{resource}/authorization/check"),
            Some(&json!({ "actions": actions })),
        )
    };
    let asked = json!([
        "okms:apiovh:credential/get",
        "okms:apiovh:credential/create"
    ]);
    // Root: everything.
    assert_eq!(
        check(&domain, asked.clone()),
        (
            StatusCode::OK,
            json!({"authorizedActions": asked, "unauthorizedActions": []})
        )
    );
    grant_as_root(
        &emu,
        Some(ALICE),
        &policy_body(
            ALICE,
            &domain,
            &["okms:apiovh:credential/*"],
            &["okms:apiovh:credential/create"],
        ),
    );
    // The route needs no action itself: alice may ask about her own rights.
    assert_eq!(
        check(&domain, asked.clone()),
        (
            StatusCode::OK,
            json!({
                "authorizedActions": ["okms:apiovh:credential/get"],
                "unauthorizedActions": ["okms:apiovh:credential/create"],
            })
        )
    );
    // A percent-encoded URN is the same resource.
    let encoded = domain.replace(':', "%3A");
    assert_eq!(
        check(&encoded, json!(["okms:apiovh:credential/get"])).1["authorizedActions"],
        json!(["okms:apiovh:credential/get"])
    );
    let (status, v) = check(ACCOUNT, json!(["account:apiovh:me/get"]));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["unauthorizedActions"], json!(["account:apiovh:me/get"]));

    let (status, v) = check("okms-domain", json!(["x"]));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        v["message"].as_str().unwrap().contains("resourceURN"),
        "{v}"
    );
    let (status, v) = call(
        &emu,
        Method::POST,
        &format!("/v2/iam/resource/{domain}/authorization/check"),
        Some(&json!({})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("actions"), "{v}");
}

#[test]
fn identities_are_listed_with_the_urns_the_api_gives_them() {
    let emu = start(fast());
    assert_eq!(
        call(&emu, Method::GET, "/v1/me/identity/user", None),
        (StatusCode::OK, json!(["alice", "bob"]))
    );
    let (status, alice) = call(&emu, Method::GET, "/v1/me/identity/user/alice", None);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alice["urn"], ALICE);
    assert_eq!(alice["group"], "kms-operators");
    assert_eq!(
        call(&emu, Method::GET, "/v1/me/identity/group", None),
        (StatusCode::OK, json!(["kms-operators", "admins"]))
    );
    let (_, admins) = call(&emu, Method::GET, "/v1/me/identity/group/admins", None);
    assert_eq!(admins["role"], "ADMIN");
    assert_eq!(admins["urn"], "urn:v1:eu:identity:group:xx1111-ovh/admins");

    let own = emu.info().client_id.clone();
    assert_eq!(
        call(&emu, Method::GET, "/v1/me/api/oauth2/client", None),
        (StatusCode::OK, json!(["EU.ci-runner", own]))
    );
    let (_, ci) = call(
        &emu,
        Method::GET,
        "/v1/me/api/oauth2/client/EU.ci-runner",
        None,
    );
    assert_eq!(
        ci["identity"],
        "urn:v1:eu:identity:credential:xx1111-ovh/oauth2-EU.ci-runner"
    );
    assert_eq!(ci["name"], "ci-runner");
    let (_, mine) = call(
        &emu,
        Method::GET,
        &format!("/v1/me/api/oauth2/client/{own}"),
        None,
    );
    assert_eq!(
        mine["identity"],
        format!("urn:v1:eu:identity:credential:xx1111-ovh/oauth2-{own}")
    );

    for path in [
        "/v1/me/identity/user/carol",
        "/v1/me/identity/group/nobody",
        "/v1/me/api/oauth2/client/EU.nobody",
    ] {
        let (status, v) = call(&emu, Method::GET, path, None);
        assert_eq!(
            (status, &v["class"]),
            (StatusCode::NOT_FOUND, &json!("Client::NotFound")),
            "{path}"
        );
        let name = path.rsplit('/').next().unwrap();
        assert!(v["message"].as_str().unwrap().contains(name), "{v}");
    }

    // Reading identities is an account right like any other.
    emu.set_api_caller_identity(Some(ALICE.to_owned()));
    assert_eq!(
        call(&emu, Method::GET, "/v1/me/identity/user", None),
        (
            StatusCode::FORBIDDEN,
            refusal("account:apiovh:me/identity/user/get")
        )
    );
    // /auth/details names the identity the caller acts as.
    let (_, details) = call(&emu, Method::GET, "/v1/auth/details", None);
    assert_eq!(details["identities"], json!([ALICE]));
    assert_eq!(details["user"], "alice");
}

/// Creates (as root) a READY credential for `identity` and returns a client presenting it.
fn certificate_client(emu: &RunningEmulator, identity: &str) -> reqwest::blocking::Client {
    emu.set_api_caller_identity(None);
    let (status, v) = call(
        emu,
        Method::POST,
        &cred_path(emu),
        Some(&credential_for(identity)),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    let key = v["privateKeyPEM"].as_str().unwrap().to_owned();
    let (_, ready) = wait_while(emu, v["id"].as_str().unwrap(), "CREATING");
    let cert = ready["certificatePEM"].as_str().unwrap().to_owned();
    mtls_client(emu, Some((&cert, &key)))
}

#[test]
fn the_data_plane_evaluates_the_certificate_identities() {
    let emu = start(fast());
    let random = format!(
        "{}/api/{}/v1/random?length=32",
        emu.kms_url(),
        emu.okms_id()
    );
    let keys = format!("{}/api/{}/v1/servicekey", emu.kms_url(), emu.okms_id());
    let alice = certificate_client(&emu, ALICE);

    let (status, v) = json(alice.get(&random).send().unwrap());
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "kms-rest.json declares no 403: {v}"
    );
    assert_eq!(
        v["error_code"], 16_924_673,
        "CCM / IAM / Authorization: {v}"
    );
    let message = v["errors"][0].as_str().unwrap();
    assert!(message.contains("okms:apikms:random/get"), "{message}");
    // A list hides what she may not see; it does not refuse.
    let (status, v) = json(alice.get(&keys).send().unwrap());
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["objects_list"], json!([]));

    // A grant on a key action does not cover random bytes; the right action does, here on
    // every domain (a resource URN ending in `*`).
    grant_as_root(
        &emu,
        None,
        &policy_body(
            OPERATORS,
            &domain_urn(&emu),
            &["okms:apikms:serviceKey/*"],
            &[],
        ),
    );
    assert_eq!(
        alice.get(&random).send().unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    grant_as_root(
        &emu,
        None,
        &policy_body(
            ALICE,
            "urn:v1:eu:resource:okms:*",
            &["okms:apikms:random/get"],
            &[],
        ),
    );
    let (status, v) = json(alice.get(&random).send().unwrap());
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        Base64::decode_vec(v["bytes"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );

    // A certificate of an ADMIN-group member needs no policy; length is bounded as specified.
    let bob = certificate_client(&emu, BOB);
    let (status, v) = json(
        bob.get(format!("{}/api/{}/v1/random", emu.kms_url(), emu.okms_id()))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        Base64::decode_vec(v["bytes"].as_str().unwrap())
            .unwrap()
            .len(),
        1,
        "default length 1"
    );
    for bad in ["0", "4097", "x"] {
        let url = format!(
            "{}/api/{}/v1/random?length={bad}",
            emu.kms_url(),
            emu.okms_id()
        );
        let (status, v) = json(bob.get(&url).send().unwrap());
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v["errors"][0].as_str().unwrap().contains("length"), "{v}");
    }
}

#[test]
fn the_binary_takes_an_iam_seed_and_a_caller_identity() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        r#"{"users":[{"login":"dave","group":"ops"}],"groups":[{"name":"ops","role":"REGULAR"}]}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_okms-emulator"))
        .arg("--iam-seed")
        .arg(&seed)
        .args([
            "--api-caller-identity",
            "urn:v1:eu:identity:user:xx1111-ovh/dave",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    let c = client();
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
    let base = info["api_url"]
        .as_str()
        .unwrap()
        .trim_end_matches("/1.0")
        .to_owned();
    let get = |path: &str| {
        json(
            c.get(format!("{base}{path}"))
                .bearer_auth(token["access_token"].as_str().unwrap())
                .send()
                .unwrap(),
        )
    };
    // dave is the caller: refused without a policy, and the seed is what is listed.
    assert_eq!(
        get("/v1/me/identity/user"),
        (
            StatusCode::FORBIDDEN,
            refusal("account:apiovh:me/identity/user/get")
        )
    );
    let check = c
        .post(format!(
            "{base}/v2/iam/resource/{ACCOUNT}/authorization/check"
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .header("Content-Type", "application/json")
        .body(r#"{"actions":["account:apiovh:me/identity/user/get"]}"#)
        .send()
        .unwrap();
    assert_eq!(
        json(check).1["unauthorizedActions"],
        json!(["account:apiovh:me/identity/user/get"])
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());

    // A seed with a loose end stops the binary with the reason.
    std::fs::write(&seed, r#"{"users":[{"login":"dave","group":"ops"}]}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_okms-emulator"))
        .arg("--iam-seed")
        .arg(&seed)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"ops\"") && err.contains("not among the seeded groups"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_okms-emulator"))
        .args(["--api-caller-identity", "dave"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"dave\"") && err.contains("not an identity URN"),
        "{err}"
    );
}

#[test]
fn a_seed_in_the_library_config_replaces_the_default_identities() {
    let emu = start(EmulatorConfig {
        iam: okms_emulator::IamSeed {
            users: Vec::new(),
            groups: Vec::new(),
            service_accounts: Vec::new(),
            api_caller: Some(ALICE.to_owned()),
            oauth2_caller: None,
        },
        ..fast()
    });
    // alice is not seeded: she is a bare identity without group, refused like any other.
    assert_eq!(
        call(&emu, Method::GET, "/v1/me", None),
        (StatusCode::FORBIDDEN, refusal("account:apiovh:me/get"))
    );
    emu.set_api_caller_identity(None);
    assert_eq!(
        call(&emu, Method::GET, "/v1/me/identity/user", None),
        (StatusCode::OK, json!([]))
    );
    assert_eq!(
        call(&emu, Method::GET, "/v1/me/api/oauth2/client", None),
        (StatusCode::OK, json!([emu.info().client_id]))
    );
}

#[test]
fn each_credential_set_can_act_as_its_own_identity() {
    let emu = start(fast());
    let info = emu.info().clone();
    let service_account = format!(
        "urn:v1:eu:identity:credential:{NIC}/oauth2-{}",
        info.client_id
    );
    emu.set_oauth2_caller_identity(Some(service_account.clone()));
    let c = client();
    let token: Value = c
        .post(&info.oauth2_token_url)
        .basic_auth(&info.client_id, Some(&info.client_secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=all")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let bearer = token["access_token"].as_str().unwrap().to_owned();
    let create = || {
        json(
            c.post(format!("{}{}", base(&emu), cred_path(&emu)))
                .bearer_auth(&bearer)
                .json(&credential_for(&service_account))
                .send()
                .unwrap(),
        )
    };
    let details = json(
        c.get(format!("{}/v1/auth/details", base(&emu)))
            .bearer_auth(&bearer)
            .send()
            .unwrap(),
    )
    .1;
    assert_eq!(details["identities"], json!([service_account]));

    // The OAuth2 client is its own service account, with no policy yet...
    assert_eq!(
        create(),
        (
            StatusCode::FORBIDDEN,
            refusal("okms:apiovh:credential/create")
        )
    );
    // ...while the signed AK/CK caller is still the root account.
    let (status, v) = call(
        &emu,
        Method::POST,
        &cred_path(&emu),
        Some(&credential_for(&service_account)),
    );
    assert_eq!(status, StatusCode::OK, "{v}");

    grant_as_root(
        &emu,
        None,
        &policy_body(
            &service_account,
            &domain_urn(&emu),
            &["okms:apiovh:credential/*"],
            &[],
        ),
    );
    assert_eq!(create().0, StatusCode::OK);
}
