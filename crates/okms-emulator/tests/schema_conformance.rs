//! The emulator against OVHcloud's published API schema (`shared/spec/api-schema/*.json`):
//! every answer of every route it serves is typed against the schema's model (fields,
//! types, nullability, required fields, enums, nested models), and every error class it sends
//! must be one the schema lists for the route or one of [`GENERIC_CLASSES`].
//!
//! Skips loudly without the schema; `OKMS_REQUIRE_SCHEMA=1` (CI) turns that into a failure.
//!
//! Where the emulator disagrees with the schema in a file another change owns, the finding is
//! listed in [`KNOWN_DIVERGENCES`] with the file to fix: it is printed, not failed. An entry
//! that no longer matches anything fails the test, so the list cannot outlive the fixes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod schema;

use std::{collections::BTreeSet, time::Duration};

use common::*;
use okms_csr::{CsrBuilder, DistinguishedName, KeyAlgorithm, PrivateKey};
use okms_emulator::{EmulatorConfig, FaultKind, FaultSpec, MAX_CSR_LEN, RunningEmulator};
use reqwest::{Method, StatusCode, blocking::Response};
use schema::Schema;
use serde_json::{Value, json};

/// Error classes allowed on every route besides the route's own list.
///
/// The schema lists only the specific `Client::BadRequest::…` classes of a route; the API also
/// answers everywhere with the bare class of the same family for what every route shares:
/// `Client::BadRequest` (a path parameter or body that fails the schema's own type check, a
/// bad header), `Client::NotFound` (an unknown object or URL), `Client::Forbidden` (the IAM
/// refusal, go-ovh's `error.go` example "User not granted for this request") and
/// `Client::Unauthorized` (no or expired authentication). Nothing else passes: a class outside
/// the route's list and this set is a finding.
const GENERIC_CLASSES: [&str; 4] = [
    "Client::BadRequest",
    "Client::NotFound",
    "Client::Forbidden",
    "Client::Unauthorized",
];

/// Classes of answers that are not the API's: a request no schema operation covers (wrong
/// method; the emulator's choice, INVENTED) and injected faults (429 and 5xx, INVENTED
/// texts). Allowed only there, never on a schema route's own answer.
const NON_ROUTE_CLASSES: [&str; 1] = ["Client::MethodNotAllowed"];
const FAULT_CLASSES: [&str; 3] = [
    "Client::TooManyRequests",
    "Server::InternalServerError",
    "Server::ServiceUnavailable",
];

/// The create classes the emulator never sends, with why. Every other class of the schema's
/// POST list must be provoked by this test.
const CREATE_CLASSES_NOT_SENT: [(&str, &str); 1] = [(
    "Client::BadRequest::CredentialStatusInvalid",
    "what a create can do to earn it is not in any public source; the emulator sends it on \
     DELETE only",
)];

/// A finding the emulator's owner of `fix_in` has to resolve; printed, not failed.
struct Known {
    /// Schema route label (`GET /v2/okms/...`) or the test's label for non-schema answers.
    route: &'static str,
    /// JSON path of the finding (`$.field`), or `class` / `status` / `shape`.
    field: &'static str,
    /// The test cases it covers (empty: every case of the route).
    cases: &'static [&'static str],
    /// The file that must change.
    fix_in: &'static str,
    /// What must change.
    todo: &'static str,
}

// TODO(after merge): each entry names the file to fix; remove an entry once its fix lands
// (the test fails on an entry that matches nothing, so it cannot be forgotten).
const KNOWN_DIVERGENCES: &[Known] = &[];

/// A seeded user (EmulatorConfig's default IAM seed), in no ADMIN group.
const ALICE: &str = "urn:v1:eu:identity:user:xx1111-ovh/alice";

/// One problem with one answer.
#[derive(Debug, Clone)]
struct Finding {
    route: String,
    field: String,
    case: String,
    problem: String,
}

/// One HTTP answer, body parsed when it is JSON.
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

fn answer(resp: Response) -> Answer {
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (status, body) = json(resp);
    Answer {
        status,
        content_type,
        body,
    }
}

/// The models of answers outside the schema files, as OVH-style models so the same checker
/// applies. Not OVHcloud's schema: each says where it comes from.
fn extra_models() -> Value {
    json!({
        // Terraform provider `ovh/type_auth.go` `OvhAuthDetails` (go-ovh `AccessRule` for the
        // routes); `method` values from the spec notes §3.1. Go decodes a JSON null into a
        // string as "", so TF tolerates null for the free-text fields.
        "x.auth.Details": {"properties": {
            "account": {"fullType": "string", "canBeNull": false, "required": true},
            "allowedRoutes": {"fullType": "x.auth.AccessRule[]", "canBeNull": true},
            "description": {"fullType": "string", "canBeNull": true},
            "identities": {"fullType": "string[]", "canBeNull": false, "required": true},
            "method": {"fullType": "x.auth.MethodEnum", "canBeNull": false, "required": true},
            "roles": {"fullType": "string[]", "canBeNull": true},
            "user": {"fullType": "string", "canBeNull": true}
        }},
        "x.auth.AccessRule": {"properties": {
            "method": {"fullType": "string", "canBeNull": false, "required": true},
            "path": {"fullType": "string", "canBeNull": false, "required": true}
        }},
        "x.auth.MethodEnum": {"enum": ["account", "oauth2_client_credentials", "provider", "user"]},
        // RFC 6749 §5.1 (python-ovh's and go-ovh's fixtures have exactly these four).
        "x.oauth2.Token": {"properties": {
            "access_token": {"fullType": "string", "canBeNull": false, "required": true},
            "token_type": {"fullType": "string", "canBeNull": false, "required": true},
            "expires_in": {"fullType": "long", "canBeNull": false},
            "scope": {"fullType": "string", "canBeNull": false}
        }},
        // RFC 6749 §5.2.
        "x.oauth2.Error": {"properties": {
            "error": {"fullType": "x.oauth2.ErrorEnum", "canBeNull": false, "required": true},
            "error_description": {"fullType": "string", "canBeNull": false},
            "error_uri": {"fullType": "string", "canBeNull": false}
        }},
        "x.oauth2.ErrorEnum": {"enum": ["invalid_request", "invalid_client", "invalid_grant",
            "unauthorized_client", "unsupported_grant_type", "invalid_scope"]},
        // go-ovh `error.go` `APIError`: class, message, details (map of strings).
        "x.ovh.Error": {"properties": {
            "class": {"fullType": "string", "canBeNull": false, "required": true},
            "message": {"fullType": "string", "canBeNull": false, "required": true},
            "details": {"fullType": "map[string]string", "canBeNull": true}
        }}
    })
}

struct Conformance<'s> {
    schema: &'s Schema,
    findings: Vec<Finding>,
    /// Error classes seen on `POST …/credential`.
    create_classes: BTreeSet<String>,
    /// Schema operations this run exercised.
    covered: BTreeSet<String>,
}

/// `/1.0/x` is `/v1/x` (the client strips `/1.0` before versioned paths; spec §5.1).
fn schema_path(path: &str) -> String {
    match path.strip_prefix("/1.0/") {
        Some(rest) => format!("/v1/{rest}"),
        None => path.to_owned(),
    }
}

impl<'s> Conformance<'s> {
    fn new(schema: &'s mut Schema) -> Self {
        let extra = extra_models();
        for (name, model) in extra.as_object().unwrap() {
            assert!(
                !schema.models.contains_key(name),
                "{name} is now in the schema: drop the test's own model"
            );
            schema.models.insert(name.clone(), model.clone());
        }
        Conformance {
            schema,
            findings: Vec::new(),
            create_classes: BTreeSet::new(),
            covered: BTreeSet::new(),
        }
    }

    fn find(&mut self, route: &str, case: &str, problem: String) {
        let field = problem
            .split_once(':')
            .map(|(f, _)| f.to_owned())
            .unwrap_or_default();
        self.findings.push(Finding {
            route: route.to_owned(),
            field,
            case: case.to_owned(),
            problem,
        });
    }

    /// Checks one OVHcloud API answer. `outside` names the model of a route the schema files
    /// do not have (None: the route must be a schema operation).
    fn api(&mut self, case: &str, method: &str, path: &str, a: &Answer, outside: Option<&str>) {
        let op = self.schema.operation(method, &schema_path(path)).cloned();
        let route = match (&op, outside) {
            (Some(op), None) => op.label(),
            (Some(op), Some(_)) => {
                panic!(
                    "{case}: {} is in the schema now: check it against it",
                    op.label()
                )
            }
            (None, Some(_)) | (None, None) => format!("{method} {}", schema_path(path)),
        };
        if let Some(op) = &op {
            self.covered.insert(op.label());
        }
        if a.status.is_success() {
            if op.as_ref().and_then(|o| o.response.as_deref()) == Some("void") {
                // `void`: nothing to type; a body would be something the schema does not have.
                if !(a.body.is_null() || a.body == Value::String(String::new())) {
                    self.find(
                        &route,
                        case,
                        format!("void: the schema answers nothing, got {}", a.body),
                    );
                }
                return;
            }
            if !a.content_type.starts_with("application/json") {
                self.find(
                    &route,
                    case,
                    format!("content-type: {:?}, not JSON", a.content_type),
                );
            }
            let model = match (&op, outside) {
                (Some(op), _) => op.response.clone(),
                (None, Some(model)) => Some(model.to_owned()),
                (None, None) => {
                    self.find(
                        &route,
                        case,
                        format!(
                            "route: {method} {path} answered {} but is no schema operation",
                            a.status
                        ),
                    );
                    None
                }
            };
            if let Some(model) = model {
                for p in self.schema.check(&model, &a.body) {
                    self.find(&route, case, p);
                }
            }
            return;
        }
        self.api_error(case, &route, op.as_ref().map(|o| o.errors.clone()), a);
    }

    /// The error body `{"class","message"[,"details"]}` and its class.
    fn api_error(
        &mut self,
        case: &str,
        route: &str,
        route_errors: Option<Vec<String>>,
        a: &Answer,
    ) {
        for p in self.schema.check("x.ovh.Error", &a.body) {
            self.find(
                route,
                case,
                format!("shape: {p} (status {}, body {})", a.status, a.body),
            );
        }
        let Some(class) = a.body["class"].as_str() else {
            return;
        };
        let family_status = [
            ("Client::BadRequest", 400),
            ("Client::Unauthorized", 401),
            ("Client::Forbidden", 403),
            ("Client::NotFound", 404),
            ("Client::MethodNotAllowed", 405),
            ("Client::TooManyRequests", 429),
        ];
        if let Some((family, status)) = family_status
            .iter()
            .find(|(family, _)| class == *family || class.starts_with(&format!("{family}::")))
            && a.status.as_u16() != *status
        {
            self.find(
                route,
                case,
                format!(
                    "status: {class} comes with {}, not the {status} of {family}",
                    a.status
                ),
            );
        }
        if route == "POST /v2/okms/resource/{okmsId}/credential" {
            self.create_classes.insert(class.to_owned());
        }
        let allowed = match &route_errors {
            Some(errors) => errors.iter().any(|e| e == class),
            None => NON_ROUTE_CLASSES.contains(&class),
        } || GENERIC_CLASSES.contains(&class);
        if !allowed {
            let listed = route_errors.map_or_else(
                || "no schema operation".to_owned(),
                |e| format!("the route lists {e:?}"),
            );
            self.find(
                route,
                case,
                format!("class: {class} (status {}) is neither listed for the route ({listed}) nor generic", a.status),
            );
        }
    }

    /// Checks one data-plane answer against kms-rest.json.
    fn kms(&mut self, case: &str, method: &str, path: &str, a: &Answer, ok_schema: &str) {
        let op = self.schema.operation(method, path).cloned();
        let route = op.as_ref().map_or_else(
            || format!("{method} {path} (no data-plane operation)"),
            |o| o.label(),
        );
        if let Some(op) = &op {
            self.covered.insert(op.label());
            if !op.statuses.contains(&a.status.as_u16()) {
                self.find(
                    &route,
                    case,
                    format!(
                        "status: {} is not a response the operation declares ({:?})",
                        a.status.as_u16(),
                        op.statuses
                    ),
                );
            }
        }
        let schema_ref = if a.status.is_success() {
            ok_schema
        } else {
            "ErrorResponse"
        };
        let schema_ref = json!({ "$ref": format!("#/components/schemas/{schema_ref}") });
        for p in self.schema.check_openapi(&schema_ref, &a.body) {
            self.find(&route, case, p);
        }
    }
}

/// The API's clock: the test moves it forward with `advance_clock`, and signatures are checked
/// against it.
fn server_time(emu: &RunningEmulator) -> i64 {
    client()
        .get(format!("{}/auth/time", base(emu)))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn signed_with(
    emu: &RunningEmulator,
    method: Method,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    answer(signed_at(
        emu,
        method,
        path,
        body,
        server_time(emu),
        headers,
    ))
}

fn csr(alg: KeyAlgorithm) -> String {
    let key = PrivateKey::generate(alg).unwrap();
    CsrBuilder::new(DistinguishedName::common_name("schema-test").unwrap())
        .build(&key)
        .unwrap()
        .to_pem()
}

/// Calls every route the emulator serves, in each state and error case it can be brought to,
/// and records what disagrees with the schema in `c`.
fn exercise(emu: &RunningEmulator, c: &mut Conformance<'_>) {
    let b = base(emu);
    let http = client();
    let okms = emu.okms_id();
    let other = emu.domains()[1];
    let creds = cred_path(emu);
    const GET: &str = "GET";

    // Time: a bare integer (go-ovh, python-ovh), on each prefix the emulator serves.
    for path in ["/auth/time", "/1.0/auth/time", "/v1/auth/time"] {
        let a = answer(http.get(format!("{b}{path}")).send().unwrap());
        assert_eq!(a.status, StatusCode::OK, "{path}");
        c.api("time", GET, path, &a, Some("long"));
        assert!(
            a.body.as_i64().is_some_and(|t| (t - now_secs()).abs() < 60),
            "{path}: {}",
            a.body
        );
    }

    // Who am I: signed and with an OAuth2 token.
    for path in ["/v1/auth/details", "/1.0/auth/details"] {
        let a = signed_with(emu, Method::GET, path, None, &[]);
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        c.api("details signed", GET, path, &a, Some("x.auth.Details"));
    }
    let info = emu.info().clone();
    let token = answer(
        http.post(&info.oauth2_token_url)
            .basic_auth(&info.client_id, Some(&info.client_secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=all")
            .send()
            .unwrap(),
    );
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    c.api(
        "token",
        "POST",
        "/auth/oauth2/token",
        &token,
        Some("x.oauth2.Token"),
    );
    let access = token.body["access_token"].as_str().unwrap().to_owned();
    for path in ["/v1/auth/details", "/v1/me", creds.as_str()] {
        let a = answer(
            http.get(format!("{b}{path}"))
                .bearer_auth(&access)
                .send()
                .unwrap(),
        );
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        c.api(
            "bearer",
            GET,
            path,
            &a,
            (path == "/v1/auth/details").then_some("x.auth.Details"),
        );
    }
    for (case, body, basic) in [
        ("token: bad grant", "grant_type=password", true),
        ("token: no client", "grant_type=client_credentials", false),
    ] {
        let mut req = http
            .post(&info.oauth2_token_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if basic {
            req = req.basic_auth(&info.client_id, Some(&info.client_secret));
        }
        let a = answer(req.send().unwrap());
        assert!(a.status.is_client_error(), "{case}");
        for p in c.schema.check("x.oauth2.Error", &a.body) {
            c.find("POST /auth/oauth2/token", case, p);
        }
    }
    let a = answer(
        http.post(&info.oauth2_token_url)
            .basic_auth(&info.client_id, Some("wrong"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .unwrap(),
    );
    for p in c.schema.check("x.oauth2.Error", &a.body) {
        c.find("POST /auth/oauth2/token", "token: wrong secret", p);
    }

    // The account.
    for path in ["/v1/me", "/1.0/me"] {
        let a = signed_with(emu, Method::GET, path, None, &[]);
        assert_eq!(a.status, StatusCode::OK);
        c.api("me", GET, path, &a, None);
    }

    // Domains: list (paged, with and without the CA), one, errors.
    let list = "/v2/okms/resource";
    for (case, path, headers) in [
        ("domains", list.to_owned(), vec![]),
        ("domains publicCA", format!("{list}?publicCA=true"), vec![]),
        (
            "domains page 1",
            list.to_owned(),
            vec![("X-Pagination-Size", "1")],
        ),
        ("domain", format!("{list}/{okms}"), vec![]),
        (
            "domain publicCA",
            format!("{list}/{okms}?publicCA=true"),
            vec![],
        ),
        (
            "domain publicCA=false",
            format!("{list}/{okms}?publicCA=false"),
            vec![],
        ),
        (
            "domain unknown",
            format!("{list}/{}", uuid::Uuid::new_v4()),
            vec![],
        ),
        ("domain not a uuid", format!("{list}/not-a-uuid"), vec![]),
        (
            "domains bad cursor",
            list.to_owned(),
            vec![("X-Pagination-Cursor", "garbage!")],
        ),
        (
            "domains bad size",
            list.to_owned(),
            vec![("X-Pagination-Size", "zero")],
        ),
    ] {
        let a = signed_with(emu, Method::GET, &path, None, &headers);
        c.api(case, GET, &path, &a, None);
        if case.contains("publicCA") && !case.contains("false") {
            let ca = if case == "domain publicCA" {
                &a.body
            } else {
                &a.body[0]
            };
            assert!(ca["publicCA"].is_string(), "{case}: {}", a.body);
        }
    }
    let first = signed_at(
        emu,
        Method::GET,
        list,
        None,
        now_secs(),
        &[("X-Pagination-Size", "1")],
    );
    let next = first.headers()["x-pagination-cursor-next"]
        .to_str()
        .unwrap()
        .to_owned();
    let a = signed_with(
        emu,
        Method::GET,
        list,
        None,
        &[("X-Pagination-Size", "1"), ("X-Pagination-Cursor", &next)],
    );
    assert_eq!(a.status, StatusCode::OK);
    c.api("domains page 2", GET, list, &a, None);

    // Credentials: every way to create one.
    let p256 = csr(KeyAlgorithm::EcdsaP256);
    let mut created = Vec::new();
    for (case, body) in [
        (
            "create generated ECDSA",
            json!({"name": "gen", "identityURNs": [URN]}),
        ),
        (
            "create generated RSA",
            json!({"name": "rsa", "identityURNs": [URN], "certificateType": "RSA", "description": "an RSA one"}),
        ),
        (
            "create from CSR",
            json!({"name": "csr", "identityURNs": [URN], "csr": p256, "validity": 1, "description": null}),
        ),
        (
            "create with nulls",
            json!({"name": "nulls", "identityURNs": [URN, "urn:v1:eu:identity:user:xx1111-ovh/john.smith"], "certificateType": null, "validity": null, "csr": null}),
        ),
    ] {
        let a = signed_with(emu, Method::POST, &creds, Some(&body.to_string()), &[]);
        assert_eq!(a.status, StatusCode::OK, "{case}: {}", a.body);
        c.api(case, "POST", &creds, &a, None);
        created.push(a.body);
    }
    let gen_id = created[0]["id"].as_str().unwrap().to_owned();
    let gen_key = created[0]["privateKeyPEM"].as_str().unwrap().to_owned();
    let csr_id = created[2]["id"].as_str().unwrap().to_owned();

    // Every validation failure of the create.
    let urns = json!([URN]);
    let many: Vec<&str> = vec![URN; 26];
    let long_urn = format!("urn:v1:eu:identity:user:xx1111-ovh/{}", "a".repeat(300));
    for (case, body) in [
        (
            "name too long",
            json!({"name": "x".repeat(51), "identityURNs": urns}),
        ),
        (
            "name bad char",
            json!({"name": "tab\there", "identityURNs": urns}),
        ),
        (
            "description too long",
            json!({"name": "n", "description": "d".repeat(201), "identityURNs": urns}),
        ),
        (
            "description bad char",
            json!({"name": "n", "description": "a\tb", "identityURNs": urns}),
        ),
        ("no URN", json!({"name": "n", "identityURNs": []})),
        ("26 URNs", json!({"name": "n", "identityURNs": many})),
        (
            "URN too long",
            json!({"name": "n", "identityURNs": [long_urn]}),
        ),
        (
            "not a URN",
            json!({"name": "n", "identityURNs": ["urn:v1:xx:identity:account:xx1111-ovh"]}),
        ),
        (
            "validity 0",
            json!({"name": "n", "identityURNs": urns, "validity": 0}),
        ),
        (
            "validity 366",
            json!({"name": "n", "identityURNs": urns, "validity": 366}),
        ),
        (
            "type and CSR",
            json!({"name": "n", "identityURNs": urns, "certificateType": "RSA", "csr": p256}),
        ),
        (
            "bad type",
            json!({"name": "n", "identityURNs": urns, "certificateType": "DSA"}),
        ),
        (
            "CSR too long",
            json!({"name": "n", "identityURNs": urns, "csr": "A".repeat(MAX_CSR_LEN + 1)}),
        ),
        (
            "CSR not a CSR",
            json!({"name": "n", "identityURNs": urns, "csr": "not a CSR"}),
        ),
        ("no name", json!({"identityURNs": urns})),
        (
            "validity a string",
            json!({"name": "n", "identityURNs": urns, "validity": "30"}),
        ),
        ("body an array", json!([1])),
    ] {
        let a = signed_with(emu, Method::POST, &creds, Some(&body.to_string()), &[]);
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{case}: {}", a.body);
        c.api(case, "POST", &creds, &a, None);
    }
    let a = signed_with(emu, Method::POST, &creds, Some("{not json"), &[]);
    c.api("body not JSON", "POST", &creds, &a, None);
    let unknown_domain = format!("/v2/okms/resource/{}/credential", uuid::Uuid::new_v4());
    let a = signed_with(
        emu,
        Method::POST,
        &unknown_domain,
        Some(&create_body("")),
        &[],
    );
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    c.api("create unknown domain", "POST", &unknown_domain, &a, None);

    // While CREATING: get, list, a refused delete.
    let one = |id: &str| format!("{creds}/{id}");
    for (case, method, path) in [
        ("get CREATING", Method::GET, one(&gen_id)),
        ("list CREATING", Method::GET, creds.clone()),
        ("delete CREATING", Method::DELETE, one(&gen_id)),
        (
            "get unknown",
            Method::GET,
            one(&uuid::Uuid::new_v4().to_string()),
        ),
        ("get not a uuid", Method::GET, one("42")),
        (
            "delete unknown",
            Method::DELETE,
            one(&uuid::Uuid::new_v4().to_string()),
        ),
        ("list unknown domain", Method::GET, unknown_domain.clone()),
    ] {
        let a = signed_with(emu, method.clone(), &path, None, &[]);
        c.api(case, method.as_str(), &path, &a, None);
    }

    // A user's credential, for the data plane's IAM checks (made READY by the same jump: a
    // certificate issued after a jump is not yet valid for the TLS layer).
    let cred = json!({"name": "alice", "identityURNs": [ALICE]}).to_string();
    let a = signed_with(emu, Method::POST, &creds, Some(&cred), &[]);
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let alice_credential = (
        a.body["id"].as_str().unwrap().to_owned(),
        a.body["privateKeyPEM"].as_str().unwrap().to_owned(),
    );

    // READY.
    emu.advance_clock(Duration::from_secs(2 * 3600));
    let a = signed_with(emu, Method::GET, &one(&gen_id), None, &[]);
    assert_eq!(a.body["status"], "READY", "{}", a.body);
    c.api("get READY", GET, &one(&gen_id), &a, None);
    let cert = a.body["certificatePEM"].as_str().unwrap().to_owned();
    let first = signed_at(
        emu,
        Method::GET,
        &creds,
        None,
        server_time(emu),
        &[("X-Pagination-Size", "2")],
    );
    let next = first.headers()["x-pagination-cursor-next"]
        .to_str()
        .unwrap()
        .to_owned();
    let a = answer(first);
    c.api("list READY page 1", GET, &creds, &a, None);
    let a = signed_with(
        emu,
        Method::GET,
        &creds,
        None,
        &[("X-Pagination-Size", "2"), ("X-Pagination-Cursor", &next)],
    );
    c.api("list READY page 2", GET, &creds, &a, None);
    for (case, headers) in [
        ("list bad cursor", [("X-Pagination-Cursor", "garbage!")]),
        ("list bad size", [("X-Pagination-Size", "-3")]),
    ] {
        let a = signed_with(emu, Method::GET, &creds, None, &headers);
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{case}");
        c.api(case, GET, &creds, &a, None);
    }

    // The data plane, with the READY certificate and without.
    let kms_path = |id: &str, query: &str| format!("/api/{id}/v1/servicekey{query}");
    let good = mtls_client(emu, Some((&cert, &gen_key)));
    let anonymous = mtls_client(emu, None);
    for (case, client, path) in [
        ("servicekey", &good, kms_path(&okms.to_string(), "")),
        (
            "servicekey max=10",
            &good,
            kms_path(&okms.to_string(), "?max=10"),
        ),
        (
            "servicekey max=5",
            &good,
            kms_path(&okms.to_string(), "?max=5"),
        ),
        ("servicekey bad okmsId", &good, kms_path("nope", "")),
        (
            "servicekey unknown domain",
            &good,
            kms_path(&uuid::Uuid::new_v4().to_string(), ""),
        ),
        (
            "servicekey other domain",
            &good,
            kms_path(&other.to_string(), ""),
        ),
        (
            "servicekey no certificate",
            &anonymous,
            kms_path(&okms.to_string(), ""),
        ),
        (
            "kms unknown route",
            &good,
            format!("/api/{okms}/v1/nothing"),
        ),
    ] {
        let a = answer(
            client
                .get(format!("{}{path}", emu.kms_url()))
                .send()
                .unwrap(),
        );
        c.kms(case, GET, &path, &a, "ListServiceKeysResponse");
    }

    exercise_iam(emu, c, &good, &alice_credential);

    // Deletion: DELETING, a second delete refused, then gone.
    for (case, method) in [
        ("delete READY", Method::DELETE),
        ("get DELETING", Method::GET),
        ("delete DELETING", Method::DELETE),
    ] {
        let a = signed_with(emu, method.clone(), &one(&gen_id), None, &[]);
        c.api(case, method.as_str(), &one(&gen_id), &a, None);
    }
    let a = signed_with(emu, Method::GET, &creds, None, &[]);
    c.api("list with DELETING", GET, &creds, &a, None);
    emu.advance_clock(Duration::from_secs(2 * 3600));
    for (case, method) in [
        ("get deleted", Method::GET),
        ("delete deleted", Method::DELETE),
    ] {
        let a = signed_with(emu, method.clone(), &one(&gen_id), None, &[]);
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{case}");
        c.api(case, method.as_str(), &one(&gen_id), &a, None);
    }

    // EXPIRED (the CSR credential was valid one day).
    emu.advance_clock(Duration::from_secs(2 * 86_400));
    let a = signed_with(emu, Method::GET, &one(&csr_id), None, &[]);
    assert_eq!(a.body["status"], "EXPIRED", "{}", a.body);
    c.api("get EXPIRED", GET, &one(&csr_id), &a, None);
    let a = signed_with(emu, Method::DELETE, &one(&csr_id), None, &[]);
    c.api("delete EXPIRED", "DELETE", &one(&csr_id), &a, None);

    // Authentication refusals, on a v1 and a v2 route.
    for path in ["/v1/me".to_owned(), creds.clone()] {
        let url = format!("{b}{path}");
        let ts = server_time(emu).to_string();
        let sig = |ts: &str| {
            okms_emulator::signature::compute(
                &info.application_secret,
                &info.consumer_key,
                "GET",
                &url,
                b"",
                ts,
            )
        };
        let old = (server_time(emu) - 3600).to_string();
        let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
            ("no credentials", vec![]),
            (
                "unknown application key",
                vec![
                    ("X-Ovh-Application", "nope".into()),
                    ("X-Ovh-Consumer", info.consumer_key.clone()),
                    ("X-Ovh-Timestamp", ts.clone()),
                    ("X-Ovh-Signature", sig(&ts)),
                ],
            ),
            (
                "no consumer key",
                vec![
                    ("X-Ovh-Application", info.application_key.clone()),
                    ("X-Ovh-Timestamp", ts.clone()),
                    ("X-Ovh-Signature", sig(&ts)),
                ],
            ),
            (
                "unknown consumer key",
                vec![
                    ("X-Ovh-Application", info.application_key.clone()),
                    ("X-Ovh-Consumer", "nope".into()),
                    ("X-Ovh-Timestamp", ts.clone()),
                    ("X-Ovh-Signature", sig(&ts)),
                ],
            ),
            (
                "no timestamp",
                vec![
                    ("X-Ovh-Application", info.application_key.clone()),
                    ("X-Ovh-Consumer", info.consumer_key.clone()),
                    ("X-Ovh-Signature", sig(&ts)),
                ],
            ),
            (
                "stale timestamp",
                vec![
                    ("X-Ovh-Application", info.application_key.clone()),
                    ("X-Ovh-Consumer", info.consumer_key.clone()),
                    ("X-Ovh-Timestamp", old.clone()),
                    ("X-Ovh-Signature", sig(&old)),
                ],
            ),
            (
                "bad signature",
                vec![
                    ("X-Ovh-Application", info.application_key.clone()),
                    ("X-Ovh-Consumer", info.consumer_key.clone()),
                    ("X-Ovh-Timestamp", ts.clone()),
                    ("X-Ovh-Signature", "$1$0000".into()),
                ],
            ),
            (
                "unknown bearer token",
                vec![("Authorization", "Bearer nope".into())],
            ),
        ];
        for (case, headers) in cases {
            let mut req = http.get(&url);
            for (k, v) in &headers {
                req = req.header(*k, v);
            }
            let a = answer(req.send().unwrap());
            assert!(a.status.is_client_error(), "{case}: {}", a.status);
            c.api(case, GET, &path, &a, None);
        }
    }

    // The IAM refusal (403 Client::Forbidden with details.unauthorizedActionsByIAM) on each
    // credential route, for a caller whose policies do not allow the route's action.
    emu.set_denied_actions(vec!["okms:apiovh:credential/*".into()])
        .unwrap();
    let body = serde_json::json!({"name": "denied", "identityURNs": [URN]}).to_string();
    for (case, method, path, body) in [
        ("IAM refusal list", Method::GET, creds.clone(), None),
        (
            "IAM refusal create",
            Method::POST,
            creds.clone(),
            Some(body.as_str()),
        ),
        ("IAM refusal get", Method::GET, one(&gen_id), None),
    ] {
        let a = signed_with(emu, method.clone(), &path, body, &[]);
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{case}: {}", a.body);
        assert!(
            a.body["details"]["unauthorizedActionsByIAM"]
                .as_str()
                .is_some_and(|v| v.starts_with("okms:apiovh:credential/")),
            "{case}: {}",
            a.body
        );
        c.api(case, method.as_str(), &path, &a, None);
    }
    emu.set_denied_actions(Vec::new()).unwrap();

    // Requests no route serves.
    let a = answer(http.get(format!("{b}/v2/nothing/here")).send().unwrap());
    c.api("unknown route", GET, "/v2/nothing/here", &a, None);
    let a = signed_with(emu, Method::PUT, &one(&csr_id), Some("{}"), &[]);
    c.api("wrong method", "PUT", &one(&csr_id), &a, None);
    // Just over the limit, so the client has sent it all before the answer comes.
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(1024 * 1024));
    let a = answer(
        http.post(format!("{b}{creds}"))
            .header("Content-Type", "application/json")
            .body(big)
            .send()
            .unwrap(),
    );
    c.api("body over 1 MiB", "POST", &creds, &a, None);

    // Injected faults use their own classes, on any route.
    for (kind, status) in [
        (
            FaultKind::TooManyRequests {
                retry_after_secs: 1,
            },
            StatusCode::TOO_MANY_REQUESTS,
        ),
        (FaultKind::Status(500), StatusCode::INTERNAL_SERVER_ERROR),
        (FaultKind::Status(503), StatusCode::SERVICE_UNAVAILABLE),
    ] {
        emu.set_faults(vec![
            FaultSpec::new(kind).times(1).route("GET:/v1/me").unwrap(),
        ]);
        let a = signed_with(emu, Method::GET, "/v1/me", None, &[]);
        assert_eq!(a.status, status);
        for p in c.schema.check("x.ovh.Error", &a.body) {
            c.find("fault", &format!("fault {status}"), format!("shape: {p}"));
        }
        let class = a.body["class"].as_str().unwrap_or_default();
        if !FAULT_CLASSES.contains(&class) {
            c.find(
                "fault",
                &format!("fault {status}"),
                format!("class: {class} is not a fault class {FAULT_CLASSES:?}"),
            );
        }
    }
    emu.set_faults(Vec::new());
}

/// The IAM routes (identities, policies, the authorization check), the IAM refusal of a user
/// caller on them, and the data plane's random bytes with and without the right, for a root
/// certificate and for `alice_credential` (id, private key), READY, of the user alice.
fn exercise_iam(
    emu: &RunningEmulator,
    c: &mut Conformance<'_>,
    root_cert: &reqwest::blocking::Client,
    alice_credential: &(String, String),
) {
    const GET: &str = "GET";
    let okms = emu.okms_id();
    let domain = format!("urn:v1:eu:resource:okms:{okms}");
    let own_client = emu.info().client_id.clone();

    // Identities, found and not.
    for (case, path) in [
        ("users", "/v1/me/identity/user".to_owned()),
        ("user", "/v1/me/identity/user/alice".to_owned()),
        ("unknown user", "/v1/me/identity/user/nobody".to_owned()),
        ("groups", "/v1/me/identity/group".to_owned()),
        ("ADMIN group", "/v1/me/identity/group/admins".to_owned()),
        ("unknown group", "/v1/me/identity/group/nobody".to_owned()),
        ("oauth2 clients", "/v1/me/api/oauth2/client".to_owned()),
        (
            "seeded oauth2 client",
            "/v1/me/api/oauth2/client/EU.ci-runner".to_owned(),
        ),
        (
            "own oauth2 client",
            format!("/v1/me/api/oauth2/client/{own_client}"),
        ),
        (
            "unknown oauth2 client",
            "/v1/me/api/oauth2/client/EU.nobody".to_owned(),
        ),
    ] {
        let a = signed_with(emu, Method::GET, &path, None, &[]);
        c.api(case, GET, &path, &a, None);
    }

    // Policies: each answer of each operation.
    let body = json!({
        "name": "conformance",
        "description": "kms read",
        "identities": [ALICE],
        "resources": [{"urn": domain}],
        "permissions": {
            "allow": [{"action": "okms:apikms:*"}],
            "except": [{"action": "okms:apikms:serviceKey/delete"}],
        },
        "expiredAt": "2099-01-01T00:00:00Z",
    });
    let policies = "/v2/iam/policy";
    let a = signed_with(emu, Method::POST, policies, Some(&body.to_string()), &[]);
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    c.api("policy create", "POST", policies, &a, None);
    let id = a.body["id"].as_str().unwrap().to_owned();
    let policy = format!("{policies}/{id}");
    let a = signed_with(emu, Method::POST, policies, Some(r#"{"name":"x"}"#), &[]);
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    c.api(
        "policy create without identities",
        "POST",
        policies,
        &a,
        None,
    );
    for (case, path) in [
        ("policy list", policies.to_owned()),
        (
            "policy list filtered",
            format!("{policies}?identity={ALICE}&resourceURN={domain}&details=true"),
        ),
        ("policy list bad boolean", format!("{policies}?readOnly=1")),
        ("policy get", policy.clone()),
        ("policy get details", format!("{policy}?details=true")),
        (
            "policy get unknown",
            format!("{policies}/{}", uuid::Uuid::new_v4()),
        ),
        ("policy get bad id", format!("{policies}/nope")),
    ] {
        let a = signed_with(emu, Method::GET, &path, None, &[]);
        c.api(case, GET, &path, &a, None);
    }
    let mut update = body.clone();
    update["name"] = json!("renamed");
    update["expiredAt"] = Value::Null;
    let a = signed_with(emu, Method::PUT, &policy, Some(&update.to_string()), &[]);
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    c.api("policy replace", "PUT", &policy, &a, None);
    let a = signed_with(emu, Method::PUT, &policy, Some("[]"), &[]);
    c.api("policy replace not an object", "PUT", &policy, &a, None);

    // The authorization check, answered and refused.
    let check = format!("/v2/iam/resource/{domain}/authorization/check");
    for (case, path, body) in [
        (
            "authorization check",
            check.clone(),
            r#"{"actions":["okms:apikms:random/get","okms:apiovh:credential/create"]}"#,
        ),
        ("authorization check without actions", check.clone(), "{}"),
        (
            "authorization check bad URN",
            "/v2/iam/resource/okms/authorization/check".to_owned(),
            r#"{"actions":["x"]}"#,
        ),
    ] {
        let a = signed_with(emu, Method::POST, &path, Some(body), &[]);
        c.api(case, "POST", &path, &a, None);
    }

    // A user caller: the IAM refusal on the new routes, and a partial authorization check.
    emu.set_api_caller_identity(Some(ALICE.to_owned()));
    for (case, path) in [
        ("IAM refusal users", "/v1/me/identity/user".to_owned()),
        ("IAM refusal policy list", policies.to_owned()),
        ("IAM refusal policy get", policy.clone()),
    ] {
        let a = signed_with(emu, Method::GET, &path, None, &[]);
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{case}: {}", a.body);
        c.api(case, GET, &path, &a, None);
    }
    let a = signed_with(
        emu,
        Method::POST,
        &check,
        Some(r#"{"actions":["okms:apikms:random/get","okms:apiovh:credential/create"]}"#),
        &[],
    );
    assert_eq!(
        a.body["unauthorizedActions"],
        json!(["okms:apiovh:credential/create"]),
        "{}",
        a.body
    );
    c.api("authorization check as a user", "POST", &check, &a, None);
    emu.set_api_caller_identity(None);

    // The data plane's random bytes: a root certificate, a user's with and without the
    // right, bad lengths, no certificate.
    let (alice_id, alice_key) = alice_credential;
    let a = signed_with(
        emu,
        Method::GET,
        &format!("{}/{alice_id}", cred_path(emu)),
        None,
        &[],
    );
    let alice_cert = a.body["certificatePEM"].as_str().unwrap().to_owned();
    let alice = mtls_client(emu, Some((&alice_cert, alice_key)));
    let anonymous = mtls_client(emu, None);
    let random = |query: &str| format!("/api/{okms}/v1/random{query}");
    let a = signed_with(emu, Method::DELETE, &policy, None, &[]);
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    c.api("policy delete", "DELETE", &policy, &a, None);
    let a = signed_with(emu, Method::DELETE, &policy, None, &[]);
    c.api("policy delete unknown", "DELETE", &policy, &a, None);
    let mut cases = vec![
        ("random", root_cert, random("?length=64")),
        ("random default length", root_cert, random("")),
        ("random length 0", root_cert, random("?length=0")),
        ("random length 4097", root_cert, random("?length=4097")),
        ("random no certificate", &anonymous, random("")),
        ("random user without policy", &alice, random("")),
    ];
    let refused_then_allowed = cases.len();
    cases.push(("random user with policy", &alice, random("?length=8")));
    let allow = json!({
        "name": "random",
        "identities": [ALICE],
        "resources": [{"urn": domain}],
        "permissions": {"allow": [{"action": "okms:apikms:random/get"}]},
    });
    for (i, (case, client, path)) in cases.into_iter().enumerate() {
        if i == refused_then_allowed {
            let a = signed_with(emu, Method::POST, policies, Some(&allow.to_string()), &[]);
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        }
        let a = answer(
            client
                .get(format!("{}{path}", emu.kms_url()))
                .send()
                .unwrap(),
        );
        c.kms(case, GET, &path, &a, "GetRandomResponse");
    }
    let keys = format!("/api/{okms}/v1/servicekey");
    let a = answer(
        alice
            .get(format!("{}{keys}", emu.kms_url()))
            .send()
            .unwrap(),
    );
    assert_eq!(a.status, StatusCode::OK, "a list filters: {}", a.body);
    c.kms("servicekey user", GET, &keys, &a, "ListServiceKeysResponse");
}

#[test]
fn emulator_answers_conform_to_the_published_schema() {
    let Some(mut schema) = schema::load_or_skip("emulator_answers_conform_to_the_published_schema")
    else {
        return;
    };
    let emu = start(EmulatorConfig {
        ready_delay: Duration::from_secs(3600),
        delete_delay: Duration::from_secs(3600),
        extra_domains: 1,
        ..EmulatorConfig::default()
    });
    let mut c = Conformance::new(&mut schema);
    exercise(&emu, &mut c);

    // Coverage: every POST class the emulator can send was provoked, and every operation of
    // the schema the emulator serves was called.
    let create = c
        .schema
        .operation("POST", &cred_path(&emu))
        .unwrap()
        .errors
        .clone();
    for class in &create {
        let not_sent = CREATE_CLASSES_NOT_SENT.iter().find(|(c, _)| c == class);
        assert!(
            c.create_classes.contains(class) != not_sent.is_some(),
            "{class}: {}",
            not_sent.map_or(
                "listed for the create but never provoked by this test",
                |(_, why)| why
            )
        );
    }
    let served: BTreeSet<String> = [
        "GET /v1/me",
        "GET /v2/okms/resource",
        "GET /v2/okms/resource/{okmsId}",
        "GET /v2/okms/resource/{okmsId}/credential",
        "POST /v2/okms/resource/{okmsId}/credential",
        "GET /v2/okms/resource/{okmsId}/credential/{credentialId}",
        "DELETE /v2/okms/resource/{okmsId}/credential/{credentialId}",
        "GET /api/{okmsId}/v1/servicekey",
        "GET /api/{okmsId}/v1/random",
        "GET /v1/me/identity/user",
        "GET /v1/me/identity/user/{user}",
        "GET /v1/me/identity/group",
        "GET /v1/me/identity/group/{group}",
        "GET /v1/me/api/oauth2/client",
        "GET /v1/me/api/oauth2/client/{clientId}",
        "GET /v2/iam/policy",
        "POST /v2/iam/policy",
        "GET /v2/iam/policy/{policyId}",
        "PUT /v2/iam/policy/{policyId}",
        "DELETE /v2/iam/policy/{policyId}",
        "POST /v2/iam/resource/{resourceURN}/authorization/check",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(c.covered, served, "schema operations exercised");

    report(&c.findings);
}

/// Fails on findings not in [`KNOWN_DIVERGENCES`] and on entries matching nothing.
fn report(findings: &[Finding]) {
    let mut unexpected = Vec::new();
    let mut used = vec![false; KNOWN_DIVERGENCES.len()];
    for f in findings {
        match KNOWN_DIVERGENCES.iter().position(|k| {
            k.route == f.route
                && k.field == f.field
                && (k.cases.is_empty() || k.cases.contains(&f.case.as_str()))
        }) {
            Some(i) => {
                used[i] = true;
                let k = &KNOWN_DIVERGENCES[i];
                eprintln!(
                    "KNOWN DIVERGENCE (fix in {}: {}) {} [{}] {}",
                    k.fix_in, k.todo, f.route, f.case, f.problem
                );
            }
            None => unexpected.push(format!("{} [{}] {}", f.route, f.case, f.problem)),
        }
    }
    let stale: Vec<String> = KNOWN_DIVERGENCES
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(k, _)| format!("{} {} (was: fix in {})", k.route, k.field, k.fix_in))
        .collect();
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "the emulator disagrees with OVHcloud's schema:\n  {}\nknown divergences that no longer \
         happen (remove them from KNOWN_DIVERGENCES):\n  {}",
        unexpected.join("\n  "),
        stale.join("\n  ")
    );
}

/// Every route the emulator's router serves is one this test calls: a route added to
/// `src/routes.rs` without a conformance check fails here.
#[test]
fn every_served_route_is_checked() {
    let routes = include_str!("../src/routes.rs");
    let checked = [
        "/1.0/auth/details",
        "/v1/auth/details",
        "/1.0/me",
        "/v1/me",
        "/v2/okms/resource",
        "/v2/okms/resource/{okms_id}",
        "/v2/okms/resource/{okms_id}/credential",
        "/v2/okms/resource/{okms_id}/credential/{credential_id}",
        "/1.0/auth/time",
        "/v1/auth/time",
        "/auth/time",
        "/auth/oauth2/token",
        "/api/{okms_id}/v1/servicekey",
        "/api/{okms_id}/v1/random",
        "/v1/me/identity/user",
        "/v1/me/identity/user/{user}",
        "/v1/me/identity/group",
        "/v1/me/identity/group/{group}",
        "/v1/me/api/oauth2/client",
        "/v1/me/api/oauth2/client/{client_id}",
        "/v2/iam/policy",
        "/v2/iam/policy/{policy_id}",
        "/v2/iam/resource/{resource_urn}/authorization/check",
    ];
    let served: Vec<&str> = routes
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|lit| lit.starts_with('/'))
        .collect();
    assert!(
        served.len() >= checked.len(),
        "no routes found in routes.rs: {served:?}"
    );
    for route in served {
        assert!(
            checked.contains(&route),
            "src/routes.rs serves {route}, which schema_conformance.rs does not check: add it"
        );
    }
}

/// The checker itself: each kind of departure from the schema is caught, and a value shaped
/// like the schema passes, so a silent conformance run means something.
#[test]
fn the_checker_refuses_what_the_schema_refuses() {
    let Some(schema) = schema::load_or_skip("the_checker_refuses_what_the_schema_refuses") else {
        return;
    };
    let tweak = schema::Tweak::default();
    let get = "okms.credential.GetResponse";
    let good = schema.example(get, &tweak);
    assert_eq!(schema.check(get, &good), Vec::<String>::new());
    let mut nulls = good.clone();
    nulls["description"] = Value::Null;
    nulls["certificatePEM"] = Value::Null;
    assert_eq!(schema.check(get, &nulls), Vec::<String>::new());

    let refused = |model: &str, base: &Value, edit: &dyn Fn(&mut Value), expect: &str| {
        let mut v = base.clone();
        edit(&mut v);
        let found = schema.check(model, &v);
        assert!(
            found.iter().any(|f| f.starts_with(expect)),
            "{expect}: not caught in {v}: {found:?}"
        );
    };
    refused(
        get,
        &good,
        &|v| v["extra"] = json!(1),
        "$.extra: not a field",
    );
    refused(get, &good, &|v| v["status"] = json!("DONE"), "$.status:");
    refused(
        get,
        &good,
        &|v| v["id"] = json!("42"),
        "$.id: expected a UUID",
    );
    refused(
        get,
        &good,
        &|v| v["createdAt"] = json!("yesterday"),
        "$.createdAt:",
    );
    refused(get, &good, &|v| v["name"] = Value::Null, "$.name: null");
    refused(get, &good, &|v| v["fromCSR"] = json!("true"), "$.fromCSR:");
    refused(
        get,
        &good,
        &|v| v["identityURNs"] = json!([1]),
        "$.identityURNs[0]:",
    );

    let domain = "okms.resource.ResponseWithIAM";
    let good = schema.example(domain, &tweak);
    assert_eq!(schema.check(domain, &good), Vec::<String>::new());
    refused(
        domain,
        &good,
        &|v| v["iam"]["state"] = json!("FINE"),
        "$.iam.state:",
    );
    refused(
        domain,
        &good,
        &|v| v["iam"]["tags"] = json!({"k": 1}),
        "$.iam.tags.k:",
    );
    refused(
        domain,
        &good,
        &|v| v["region"] = json!("moon-1"),
        "$.region:",
    );
    refused(
        domain,
        &good,
        &|v| v["secretCount"] = json!(1.5),
        "$.secretCount:",
    );

    let creation = "okms.credential.Creation";
    let good = schema.example(creation, &tweak);
    refused(
        creation,
        &good,
        &|v| {
            v.as_object_mut().unwrap().remove("name");
        },
        "$.name: required",
    );

    let list = json!({"$ref": "#/components/schemas/ListServiceKeysResponse"});
    let good = json!({"objects_list": [], "continuation_token": "t", "is_truncated": true});
    assert_eq!(schema.check_openapi(&list, &good), Vec::<String>::new());
    for (edit, expect) in [
        (
            json!({"objects_list": [], "continuation_token": "t"}),
            "$.is_truncated: required",
        ),
        (
            json!({"objects_list": [], "continuation_token": "t", "is_truncated": true, "x": 1}),
            "$.x: not a field",
        ),
        (
            json!({"objects_list": [], "continuation_token": 3, "is_truncated": true}),
            "$.continuation_token: expected a string",
        ),
    ] {
        let found = schema.check_openapi(&list, &edit);
        assert!(
            found.iter().any(|f| f.starts_with(expect)),
            "{expect}: {found:?}"
        );
    }
    let error = json!({"$ref": "#/components/schemas/ErrorResponse"});
    let found = schema.check_openapi(&error, &json!({"error_code": "x", "errors": ["m"]}));
    assert!(
        found.iter().any(|f| f.starts_with("$.error_code:")),
        "{found:?}"
    );
}
