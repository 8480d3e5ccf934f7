//! okms-api's IAM calls against OVHcloud's published schema (iam-v2.json, me-identity-v1.json,
//! kms-rest.json): what it sends has the schema's required fields and types, what the schema
//! lets the server answer parses with nothing lost, and bad bodies are refused before anything
//! is sent, naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../okms-emulator/tests/schema/mod.rs"]
mod schema;

use okms_api::iam::{
    self, AuthorizeResponse, IamGroup, IamUser, Policy, PolicyBody, PolicyFilter, ServiceAccount,
    actions, ops,
};
use okms_api::kms::{self, DataPlaneOutcome};
use okms_api::{Error, OffsetDateTime, Plate, Uuid};
use schema::{Schema, Tweak};
use serde_json::{Value, json};

const OKMS_ID: &str = "e90c5841-f39e-4983-8596-62ff0c538b6b";
const ALICE: &str = "urn:v1:eu:identity:user:xx1111-ovh/alice";

fn okms_id() -> Uuid {
    OKMS_ID.parse().unwrap()
}

fn body() -> PolicyBody {
    let mut b = PolicyBody::new(
        "okms-kms-read",
        vec![ALICE.to_owned()],
        iam::domain_resource_urn(Plate::Eu, okms_id()),
        actions::preset("kms-read")
            .unwrap()
            .actions
            .iter()
            .map(|a| (*a).to_owned())
            .collect(),
    );
    b.description = Some("KMS read access for alice".into());
    b
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn sent_json(req: &okms_api::ApiRequest) -> Value {
    serde_json::from_slice(req.body.as_deref().expect("a body")).unwrap()
}

fn field_of(e: &Error) -> String {
    match e {
        Error::InvalidField { field, .. } => field.to_string(),
        other => panic!("not a field error: {other}"),
    }
}

#[test]
fn the_create_and_update_bodies_match_the_schema_models() {
    let Some(schema) = schema::load_or_skip("iam bodies") else {
        return;
    };
    let mut full = body();
    full.permissions.except = iam::to_actions(vec!["okms:apikms:random/get".into()]);
    full.permissions.deny = iam::to_actions(vec!["okms:apikms:serviceKey/delete".into()]);
    full.expired_at = Some(now() + time::Duration::days(30));
    for (b, what) in [(body(), "minimal"), (full, "full")] {
        let create = ops::create_policy(&b, now()).unwrap();
        assert_eq!(create.method, http::Method::POST);
        assert_eq!(create.path, "/v2/iam/policy");
        let sent = sent_json(&create);
        for model in ["iam.policy.Creation", "iam.policy.Update"] {
            let problems = schema.check(model, &sent);
            assert!(problems.is_empty(), "{what} body vs {model}: {problems:?}");
            let properties = schema.model(model).unwrap()["properties"]
                .as_object()
                .unwrap();
            for (k, spec) in properties {
                if spec["required"] == true {
                    assert!(
                        sent.get(k).is_some(),
                        "{what} body lacks required {model}.{k}"
                    );
                }
            }
            for k in sent.as_object().unwrap().keys() {
                assert!(
                    properties.contains_key(k),
                    "{what} body sends {k}, not in {model}"
                );
            }
        }
        let id: Uuid = "f18b5e0d-75b8-40a3-9b0e-71ffe5ff03cb".parse().unwrap();
        let update = ops::update_policy(id, &b, now()).unwrap();
        assert_eq!(update.method, http::Method::PUT);
        assert_eq!(update.path, format!("/v2/iam/policy/{id}"));
        assert_eq!(sent_json(&update), sent, "a PUT sends the whole policy");
    }
    let sent = sent_json(&ops::create_policy(&body(), now()).unwrap());
    assert_eq!(
        sent["resources"],
        json!([{ "urn": format!("urn:v1:eu:resource:okms:{OKMS_ID}") }])
    );
    assert_eq!(
        sent["permissions"]["allow"],
        json!([{ "action": "okms:apikms:serviceKey/get" }, { "action": "okms:apikms:random/get" }])
    );
    assert_eq!(sent["identities"], json!([ALICE]));
}

/// Each key of `kept` exists in the model, and every value the model example had is kept.
fn assert_kept(schema: &Schema, model: &str, sent: &Value, kept: &Value, skip: &[&str]) {
    let properties = schema.model(model).unwrap()["properties"]
        .as_object()
        .unwrap();
    for k in kept.as_object().unwrap().keys() {
        assert!(
            properties.contains_key(k),
            "{model}: writes back {k}, not in the schema"
        );
    }
    for (k, v) in sent.as_object().unwrap() {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let back = kept.get(k).unwrap_or_else(|| panic!("{model}.{k} is lost"));
        let same = back == v
            || matches!(
                (
                    v.as_str().and_then(|s| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()),
                    back.as_str().and_then(|s| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
                ),
                (Some(a), Some(b)) if a == b
            );
        assert!(same, "{model}.{k}: sent {v}, kept {back}");
    }
}

#[test]
fn schema_shaped_answers_parse_with_nothing_lost() {
    let Some(schema) = schema::load_or_skip("iam answers") else {
        return;
    };
    // `conditions` nests itself without end in the schema: left out of the generated example.
    let no_conditions = Tweak {
        absent: Some(("iam.policy.Response", "conditions")),
        ..Tweak::default()
    };
    let policy = schema.example("iam.policy.Response", &no_conditions);
    let parsed: Policy = serde_json::from_value(policy.clone()).unwrap();
    assert_kept(
        &schema,
        "iam.policy.Response",
        &policy,
        &serde_json::to_value(&parsed).unwrap(),
        &["resources", "permissionsGroups"],
    );
    assert_eq!(parsed.resources[0].urn, policy["resources"][0]["urn"]);
    // Every nullable field of the policy itself null, or absent.
    for key in ["description", "expiredAt", "updatedAt", "conditions"] {
        let mut p = policy.clone();
        p[key] = Value::Null;
        serde_json::from_value::<Policy>(p.clone()).unwrap_or_else(|e| panic!("{key} null: {e}"));
        p.as_object_mut().unwrap().remove(key);
        serde_json::from_value::<Policy>(p).unwrap_or_else(|e| panic!("{key} absent: {e}"));
    }
    let mut nulls = policy.clone();
    for k in ["allow", "except", "deny"] {
        nulls["permissions"][k] = Value::Null;
    }
    let p: Policy = serde_json::from_value(nulls).unwrap();
    assert!(p.permissions.allow.is_empty());

    for (model, skip) in [
        (
            "auth.User",
            &[
                "creation",
                "lastUpdate",
                "passwordLastUpdate",
                "type",
                "email",
            ][..],
        ),
        ("auth.Group", &["creation", "lastUpdate"][..]),
        ("oauth2.client", &["callbackUrls", "createdAt"][..]),
        ("iam.AuthorizeResponse", &[][..]),
    ] {
        let full = schema.example(model, &Tweak::default());
        let kept = match model {
            "auth.User" => {
                serde_json::to_value(serde_json::from_value::<IamUser>(full.clone()).unwrap())
            }
            "auth.Group" => {
                serde_json::to_value(serde_json::from_value::<IamGroup>(full.clone()).unwrap())
            }
            "oauth2.client" => serde_json::to_value(
                serde_json::from_value::<ServiceAccount>(full.clone()).unwrap(),
            ),
            _ => serde_json::to_value(
                serde_json::from_value::<AuthorizeResponse>(full.clone()).unwrap(),
            ),
        }
        .unwrap();
        assert_kept(&schema, model, &full, &kept, skip);
        let all_null = schema.example(
            model,
            &Tweak {
                all_nullable_null: true,
                ..Tweak::default()
            },
        );
        let ok = match model {
            "auth.User" => serde_json::from_value::<IamUser>(all_null).is_ok(),
            "auth.Group" => serde_json::from_value::<IamGroup>(all_null).is_ok(),
            "oauth2.client" => serde_json::from_value::<ServiceAccount>(all_null).is_ok(),
            _ => serde_json::from_value::<AuthorizeResponse>(all_null).is_ok(),
        };
        assert!(ok, "{model} with every nullable field null does not parse");
    }
    let mut wide = parsed.clone();
    wide.resources[0].urn = "urn:v1:eu:resource:okms:*".into();
    assert!(wide.covers_resource(&format!("urn:v1:eu:resource:okms:{OKMS_ID}")));
    assert!(!parsed.covers_resource(&format!("urn:v1:eu:resource:okms:{OKMS_ID}")));
    let group: IamGroup =
        serde_json::from_value(json!({"name": "admins", "role": "ADMIN"})).unwrap();
    assert!(group.is_admin());
}

#[test]
fn the_authorization_check_and_listing_requests() {
    let Some(schema) = schema::load_or_skip("iam requests") else {
        return;
    };
    let urn = iam::domain_resource_urn(Plate::Eu, okms_id());
    let actions = vec!["okms:apiovh:credential/create".to_owned()];
    let req = ops::check_authorization(&urn, &actions).unwrap();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(
        req.path,
        format!("/v2/iam/resource/urn:v1:eu:resource:okms:{OKMS_ID}/authorization/check")
    );
    let sent = sent_json(&req);
    assert!(schema.check("iam.AuthorizeRequest", &sent).is_empty());
    assert_eq!(
        sent,
        json!({ "actions": ["okms:apiovh:credential/create"] })
    );
    assert!(
        schema.operation("POST", &req.path).is_some(),
        "{}",
        req.path
    );

    let filter = PolicyFilter {
        identities: vec![ALICE.into()],
        resource_urns: vec![urn.clone()],
        actions: Vec::new(),
    };
    let list = ops::list_policies(&filter, Some("cursor-2")).unwrap();
    assert_eq!(
        list.path,
        format!(
            "/v2/iam/policy?identity=urn%3Av1%3Aeu%3Aidentity%3Auser%3Axx1111-ovh%2Falice&resourceURN=urn%3Av1%3Aeu%3Aresource%3Aokms%3A{OKMS_ID}"
        )
    );
    assert_eq!(list.headers[0].1, "cursor-2");
    for req in [
        ops::list_users(),
        ops::get_user("alice"),
        ops::list_groups(),
        ops::get_group("kms operators"),
        ops::list_service_accounts(),
        ops::get_service_account("EU.ci-runner"),
        ops::get_policy(okms_id()),
        ops::delete_policy(okms_id()),
    ] {
        assert!(
            schema.operation(req.method.as_str(), &req.path).is_some(),
            "{} {} is not a schema route",
            req.method,
            req.path
        );
    }
    assert_eq!(
        ops::get_group("kms operators").path,
        "/v1/me/identity/group/kms%20operators"
    );

    let refused = AuthorizeResponse {
        authorized_actions: Vec::new(),
        unauthorized_actions: actions.clone(),
    };
    assert_eq!(refused.missing(&actions), ["okms:apiovh:credential/create"]);
    assert!(
        AuthorizeResponse::default().missing(&actions).len() == 1,
        "silence grants nothing"
    );
}

#[test]
fn bad_bodies_are_refused_naming_the_field() {
    let mut b = body();
    b.permissions.allow.clear();
    let e = ops::create_policy(&b, now()).unwrap_err();
    assert_eq!(field_of(&e), "permissions.allow");

    let mut b = body();
    b.identities = vec!["urn:v1:eu:identity:account:xx1111-ovh".into()];
    let e = b.validate(now()).unwrap_err();
    assert_eq!(field_of(&e), "identities[0]");
    assert!(e.to_string().contains("root"), "{e}");

    let mut b = body();
    b.identities.push("urn:v1:eu:identity:nobody".into());
    assert_eq!(field_of(&b.validate(now()).unwrap_err()), "identities[1]");

    let mut b = body();
    b.identities.clear();
    assert_eq!(field_of(&b.validate(now()).unwrap_err()), "identities");

    let mut b = body();
    b.expired_at = Some(now() - time::Duration::hours(1));
    let e = b.validate(now()).unwrap_err();
    assert_eq!(field_of(&e), "expiredAt");

    let mut b = body();
    b.permissions.deny = iam::to_actions(vec!["okms:apikms:serviceKey/delet".into()]);
    match b.validate(now()).unwrap_err() {
        Error::UnknownAction { action, suggestion } => {
            assert_eq!(action, "okms:apikms:serviceKey/delet");
            assert_eq!(suggestion.as_deref(), Some("okms:apikms:serviceKey/delete"));
        }
        other => panic!("{other}"),
    }
    match actions::preset("kms-reed").unwrap_err() {
        Error::UnknownPreset {
            suggestion, valid, ..
        } => {
            assert_eq!(suggestion.as_deref(), Some("kms-read"));
            assert!(valid.contains("credential-manager"), "{valid}");
        }
        other => panic!("{other}"),
    }
    let mut b = body();
    b.name = String::new();
    assert_eq!(field_of(&b.validate(now()).unwrap_err()), "name");
}

#[test]
fn presets_hold_what_the_issue_asks_for() {
    for name in [
        "kms-read",
        "kms-crypto",
        "kms-admin",
        "secrets-read",
        "secrets-write",
        "kmip",
        "credential-manager",
    ] {
        let p = actions::preset(name).unwrap();
        for a in p.actions {
            actions::check_action(a).unwrap();
        }
    }
    let read = actions::preset("kms-read").unwrap();
    assert!(read.actions.contains(&kms::RANDOM_ACTION));
    assert!(read.actions.contains(&kms::SERVICEKEY_LIST_ACTION));
    let manager = actions::preset("credential-manager").unwrap();
    assert!(manager.actions.contains(&"okms:apiovh:credential/create"));
}

#[test]
fn every_data_plane_action_of_kms_rest_is_known() {
    let Some(dir) = schema::schema_dir().ok() else {
        okms_test_support::skip_or_fail("kms actions: no schema", "OKMS_REQUIRE_SCHEMA");
        return;
    };
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    for op in read("kms-rest.json")["operations"].as_array().unwrap() {
        for a in op["iamActions"].as_array().unwrap() {
            let a = a["action"].as_str().unwrap();
            assert!(
                actions::KMS_ACTIONS.contains(&a),
                "{a} missing from KMS_ACTIONS"
            );
        }
    }
    for op in read("okms-v2.json")["operations"].as_array().unwrap() {
        for a in op["iamActions"].as_array().unwrap() {
            let a = a.as_str().unwrap();
            assert!(
                actions::API_ACTIONS.contains(&a),
                "{a} missing from API_ACTIONS"
            );
        }
    }
}

#[test]
fn the_random_route_request_and_answers() {
    let Some(schema) = schema::load_or_skip("random route") else {
        return;
    };
    let req = kms::random_request("https://eu-west-rbx.okms.ovh.net/", okms_id(), 16).unwrap();
    assert_eq!(
        req.uri(),
        format!("https://eu-west-rbx.okms.ovh.net/api/{OKMS_ID}/v1/random?length=16").as_str()
    );
    assert!(schema.operation("GET", req.uri().path()).is_some());
    assert!(kms::random_request("https://kms.example", okms_id(), 0).is_err());
    assert!(kms::random_request("https://kms.example", okms_id(), 4097).is_err());
    assert!(kms::random_request("http://kms.example", okms_id(), 4).is_err());

    let answer = json!({ "bytes": "3q2+7w==" });
    let reference = json!({ "$ref": "#/components/schemas/GetRandomResponse" });
    assert!(schema.check_openapi(&reference, &answer).is_empty());
    let resp = http::Response::builder()
        .status(200)
        .body(serde_json::to_vec(&answer).unwrap())
        .unwrap();
    let parsed = kms::parse_random_response(&resp);
    assert!(parsed.is_success());
    match parsed.outcome {
        DataPlaneOutcome::Random(r) => assert_eq!(r.decode().unwrap(), [0xde, 0xad, 0xbe, 0xef]),
        other => panic!("{other:?}"),
    }
    let refused = http::Response::builder()
        .status(403)
        .body(br#"{"error_code":17125377,"errors":["not allowed"],"request_id":"r1"}"#.to_vec())
        .unwrap();
    let parsed = kms::parse_random_response(&refused);
    assert!(!parsed.is_success());
    assert!(matches!(parsed.outcome, DataPlaneOutcome::Error(_)));
}

/// The `Client` methods over HTTP against the emulator's IAM model.
#[cfg(feature = "reqwest")]
mod over_http {
    use okms_api::iam::{self, PolicyBody, PolicyFilter};
    use okms_api::{Auth, Client, Config, Endpoint, OffsetDateTime, Plate};
    use okms_emulator::{EmulatorConfig, RunningEmulator};

    use super::ALICE;

    fn client(emu: &RunningEmulator) -> Client {
        let info = emu.info();
        Client::new(Config::new(
            Endpoint::parse(&info.api_url).unwrap(),
            Auth::ApplicationKey {
                application_key: info.application_key.clone(),
                application_secret: info.application_secret.as_str().into(),
                consumer_key: info.consumer_key.as_str().into(),
            },
        ))
        .unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn policies_round_trip_and_the_authorization_check_follows_them() {
        let emu = RunningEmulator::spawn_in_thread(EmulatorConfig::default()).unwrap();
        let c = client(&emu);
        let domain = iam::domain_resource_urn(Plate::Eu, emu.okms_id());
        let mut body = PolicyBody::new(
            "ci",
            vec![ALICE.to_owned()],
            domain.clone(),
            vec!["okms:apiovh:credential/*".to_owned()],
        );
        let created = c.create_policy(&body).await.unwrap();
        assert!(body.same_as(&created), "{created:?}");
        let mine = PolicyFilter {
            identities: vec![ALICE.to_owned()],
            ..PolicyFilter::default()
        };
        assert_eq!(
            c.list_policies(&mine).await.unwrap(),
            std::slice::from_ref(&created)
        );
        let others = PolicyFilter {
            identities: vec!["urn:v1:eu:identity:user:xx1111-ovh/bob".to_owned()],
            ..PolicyFilter::default()
        };
        assert!(c.list_policies(&others).await.unwrap().is_empty());

        // As alice: credential/create is allowed by the pattern, credential/delete too,
        // resource/get is not.
        emu.set_api_caller_identity(Some(ALICE.to_owned()));
        let asked = vec![
            "okms:apiovh:credential/create".to_owned(),
            "okms:apiovh:resource/get".to_owned(),
        ];
        let answer = c.check_authorization(&domain, &asked).await.unwrap();
        assert_eq!(answer.missing(&asked), ["okms:apiovh:resource/get"]);
        emu.set_api_caller_identity(None);

        body.permissions.deny = iam::to_actions(vec!["okms:apiovh:credential/delete".to_owned()]);
        body.expired_at = Some(OffsetDateTime::now_utc() + time::Duration::days(1));
        let updated = c.update_policy(created.id, &body).await.unwrap();
        assert!(body.same_as(&updated), "{updated:?}");
        assert_eq!(c.get_policy(created.id).await.unwrap(), updated);
        c.delete_policy(created.id).await.unwrap();
        assert!(c.get_policy(created.id).await.unwrap_err().is_not_found());
        assert!(emu.policies().is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn identities_come_with_the_urns_the_api_gives() {
        let emu = RunningEmulator::spawn_in_thread(EmulatorConfig::default()).unwrap();
        let found = client(&emu).identities().await.unwrap();
        assert!(found.failed.is_empty(), "{:?}", found.failed);
        let alice = found.users.iter().find(|u| u.login == "alice").unwrap();
        assert_eq!(alice.urn.as_deref(), Some(ALICE));
        let admins = found.groups.iter().find(|g| g.name == "admins").unwrap();
        assert!(admins.is_admin());
        assert!(
            !found
                .groups
                .iter()
                .find(|g| g.name == "kms-operators")
                .unwrap()
                .is_admin()
        );
        assert!(
            found
                .service_accounts
                .iter()
                .any(|s| s.client_id == "EU.ci-runner" && s.identity.is_some())
        );
    }
}
