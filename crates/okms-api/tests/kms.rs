//! okms-api's reading of the KMS data plane against kms-rest.json: the request's query, the
//! `ListServiceKeysResponse` fields (an empty `continuation_token` is no cursor) and the
//! `ErrorResponse` with okms-sdk-go's published `error_code`s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The schema finder shared with okms-api's field test and the emulator's conformance test.
#[path = "../../okms-emulator/tests/schema/mod.rs"]
mod schema;

use okms_api::kms::{DataPlaneOutcome, parse_servicekey_response, servicekey_request};
use serde_json::Value;

const OKMS: &str = "e90c5841-f39e-4983-8596-62ff0c538b6b";

fn answer(status: u16, body: &str) -> okms_api::kms::DataPlaneResponse {
    parse_servicekey_response(
        &http::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap(),
    )
}

/// kms-rest.json, or `None` after the skip rule's loud line (a failure under
/// `OKMS_REQUIRE_SCHEMA=1`).
fn schema() -> Option<Value> {
    let dir = match schema::schema_dir() {
        Ok(dir) => dir,
        Err(why) => {
            okms_test_support::skip_or_fail(
                &format!("the data-plane schema checks: {why}"),
                "OKMS_REQUIRE_SCHEMA",
            );
            return None;
        }
    };
    let text = std::fs::read_to_string(dir.join(schema::KMS_FILE)).unwrap();
    Some(serde_json::from_str(&text).unwrap())
}

#[test]
fn the_request_uses_only_declared_query_parameters_in_range() {
    let request =
        servicekey_request("https://eu-west-rbx.okms.ovh.net/", OKMS.parse().unwrap()).unwrap();
    let uri = request.uri();
    assert_eq!(uri.path(), format!("/api/{OKMS}/v1/servicekey"));
    let query: Vec<(&str, &str)> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap())
        .collect();
    assert_eq!(query, [("max", "10")]);
    let Some(spec) = schema() else { return };
    let op = spec["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["method"] == "GET" && o["path"] == "/api/{okmsId}/v1/servicekey")
        .unwrap();
    assert_eq!(op["operationId"], "ListServiceKeys");
    for (name, value) in query {
        let param = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name && p["in"] == "query")
            .unwrap_or_else(|| panic!("{name} is not a declared query parameter"));
        let n: u64 = value.parse().unwrap();
        assert!(param["schema"]["minimum"].as_u64().unwrap() <= n);
        assert!(n <= param["schema"]["maximum"].as_u64().unwrap());
    }
}

#[test]
fn the_fields_read_are_the_schemas() {
    let Some(spec) = schema() else { return };
    let list = &spec["schemas"]["ListServiceKeysResponse"]["properties"];
    assert_eq!(list["objects_list"]["type"], "array");
    assert_eq!(list["continuation_token"]["type"], "string");
    assert_eq!(list["continuation_token"]["minLength"], 1);
    assert_eq!(list["is_truncated"]["type"], "boolean");
    let error = &spec["schemas"]["ErrorResponse"]["properties"];
    assert_eq!(error["error_id"]["type"], "string");
    assert_eq!(error["error_code"]["type"], "integer");
    assert_eq!(error["errors"]["type"], "array");
    assert_eq!(error["errors"]["items"]["type"], "string");
    assert_eq!(error["request_id"]["type"], "string");
    // Each field name okms-api reads, round-tripped through its types, is a schema property.
    let read = answer(
        200,
        r#"{"objects_list":[],"continuation_token":"t","is_truncated":true}"#,
    );
    let DataPlaneOutcome::ServiceKeys(l) = read.outcome else {
        panic!("{read:?}")
    };
    for field in serde_json::to_value(&l)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            list.get(field).is_some(),
            "{field} is not in ListServiceKeysResponse"
        );
    }
    let read = answer(
        401,
        r#"{"error_id":"i","error_code":50475011,"errors":["m"],"request_id":"r"}"#,
    );
    let DataPlaneOutcome::Error(e) = read.outcome else {
        panic!("{read:?}")
    };
    for field in serde_json::to_value(&e)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            error.get(field).is_some(),
            "{field} is not in ErrorResponse"
        );
    }
}

#[test]
fn an_empty_continuation_token_is_no_cursor() {
    for body in [
        r#"{"objects_list":[],"continuation_token":"","is_truncated":true}"#,
        r#"{"objects_list":[],"is_truncated":true}"#,
    ] {
        let r = answer(200, body);
        let DataPlaneOutcome::ServiceKeys(l) = r.outcome else {
            panic!("{body}: {r:?}")
        };
        assert_eq!(l.continuation_token, None, "{body}");
        assert_eq!(l.next_page_token(), None, "{body}");
        // Written back, it is left out rather than sent as "".
        let json = serde_json::to_value(&l).unwrap();
        assert!(json.get("continuation_token").is_none(), "{json}");
    }
}

#[test]
fn the_next_page_is_asked_for_only_when_the_list_is_truncated() {
    let complete = answer(
        200,
        r#"{"objects_list":[{"id":"a"}],"continuation_token":"end","is_truncated":false}"#,
    );
    let DataPlaneOutcome::ServiceKeys(l) = complete.outcome else {
        panic!("{complete:?}")
    };
    assert_eq!(l.continuation_token.as_deref(), Some("end"));
    assert_eq!(l.next_page_token(), None);
    let partial = answer(
        200,
        r#"{"objects_list":[{"id":"a"}],"continuation_token":"p2","is_truncated":true}"#,
    );
    let DataPlaneOutcome::ServiceKeys(l) = partial.outcome else {
        panic!("{partial:?}")
    };
    assert_eq!(l.next_page_token(), Some("p2"));
}

#[test]
fn published_error_codes_are_named_as_okms_sdk_go_names_them() {
    // Codes from okms-sdk-go's errors_test.go, with the names its errors.go gives.
    for (code, system, component, category) in [
        (16_846_849, "CCM", "General", "Internal"),
        (16_924_673, "CCM", "IAM", "Authorization"),
        (16_994_305, "CCM", "Domain", "NotFound"),
        (17_125_377, "CCM", "Secret Manager", "NotFound"),
        (33_628_161, "SSM", "General", "Argument"),
        (50_405_377, "REST", "General", "Argument"),
        (50_425_858, "REST", "General", "Unavailable"),
        (
            50_475_011,
            "REST",
            "Authentication Provider",
            "Authentication",
        ),
        (100_864_001, "XLIB", "IAM Provider", "Internal"),
        (100_954_113, "XLIB", "Certificate Provider", "Unavailable"),
    ] {
        let body =
            format!(r#"{{"error_id":"i","error_code":{code},"errors":["m"],"request_id":"r"}}"#);
        let r = answer(401, &body);
        let DataPlaneOutcome::Error(e) = r.outcome else {
            panic!("{body}: {r:?}")
        };
        assert_eq!(e.system(), Some(system), "{code}");
        assert_eq!(e.component(), Some(component), "{code}");
        assert_eq!(e.category(), Some(category), "{code}");
    }
    let r = answer(500, r#"{"errors":["no code"]}"#);
    let DataPlaneOutcome::Error(e) = r.outcome else {
        panic!("{r:?}")
    };
    assert_eq!(
        (e.system(), e.component(), e.category()),
        (None, None, None)
    );
}
