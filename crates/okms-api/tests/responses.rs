//! Parsing answers: wire types, tolerance, and every error shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{CRED, credential_json, json};

use okms_api::kms::{DataPlaneOutcome, parse_servicekey_response};
use okms_api::sans_io::{next_cursor, parse_error, parse_json, parse_json_secret};
use okms_api::{
    CertificateType, CreatedCredential, Credential, CredentialStatus, Domain, Error, ErrorShape,
    ExposeSecret,
};

#[test]
fn credential_from_the_guide() {
    let c: Credential = parse_json(
        &json(
            200,
            &credential_json(
                "READY",
                Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
            ),
            &[],
        ),
        "credential",
    )
    .unwrap();
    assert_eq!(c.id.to_string(), CRED);
    assert_eq!(c.status, CredentialStatus::Ready);
    assert_eq!(c.certificate_type, Some(CertificateType::Ecdsa));
    assert_eq!(c.from_csr, Some(false));
    assert_eq!(c.created_at.unix_timestamp(), 1712226388);
    assert!(c.certificate_pem.unwrap().contains("\nMIIB\n"));
}

#[test]
fn tolerant_of_unknown_enums_and_missing_optionals() {
    let body = format!(
        r#"{{"id":"{CRED}","name":"n","identityURNs":[],"status":"SUSPENDED","certificateType":"ED25519","createdAt":"2024-04-04T12:26:28Z","expiredAt":"2025-04-04T12:26:28Z","somethingNew":1}}"#
    );
    let c: Credential = parse_json(&json(200, &body, &[]), "credential").unwrap();
    assert_eq!(c.status, CredentialStatus::Other("SUSPENDED".into()));
    assert_eq!(c.status.to_string(), "SUSPENDED");
    assert_eq!(
        c.certificate_type,
        Some(CertificateType::Other("ED25519".into()))
    );
    assert_eq!(c.description, None);
    assert_eq!(c.from_csr, None);
    // Serializing back keeps the API's names and omits absent fields.
    let out = serde_json::to_string(&c).unwrap();
    assert!(
        out.contains(r#""identityURNs":[]"#) && out.contains(r#""status":"SUSPENDED""#),
        "{out}"
    );
    assert!(!out.contains("certificatePEM"));
}

#[test]
fn created_credential_keeps_the_key_secret() {
    let mut body = credential_json("CREATING", None);
    body.pop();
    body.push_str(r#","privateKeyPEM":"-----BEGIN EC PRIVATE KEY-----\nSECRETKEYBYTES\n-----END EC PRIVATE KEY-----\n"}"#);
    let c: CreatedCredential = parse_json_secret(&json(200, &body, &[]), "created").unwrap();
    assert_eq!(c.credential.status, CredentialStatus::Creating);
    let key = c.private_key_pem.as_ref().unwrap();
    assert!(
        key.expose_secret()
            .starts_with("-----BEGIN EC PRIVATE KEY-----\nSECRET")
    );
    assert!(!format!("{c:?}").contains("SECRETKEYBYTES"));
    // A broken answer is reported without quoting it.
    let broken = body.replace("\"status\":\"CREATING\",", "");
    let e =
        parse_json_secret::<CreatedCredential>(&json(200, &broken, &[]), "created").unwrap_err();
    assert!(!e.to_string().contains("SECRETKEYBYTES"), "{e}");
}

/// serde_json quotes a value of the wrong type in its message; in a secret-bearing answer that
/// value may be the key or the token itself (found by fuzzing `api_response_decode`).
#[test]
fn secret_answers_of_the_wrong_shape_are_not_quoted_by_the_json_error() {
    let body = credential_json("READY", None).replace(
        r#""fromCSR":false"#,
        r#""fromCSR":"-----BEGIN EC PRIVATE KEY-----SECRETKEYBYTES""#,
    );
    let e = parse_json_secret::<CreatedCredential>(&json(200, &body, &[]), "created").unwrap_err();
    let shown = error_chain(&e);
    assert!(!shown.contains("SECRETKEYBYTES"), "{shown}");
    assert!(shown.contains("line 1 column"), "still says where: {shown}");

    let token = json(
        200,
        r#"{"access_token":"s3cr3t-t0ken","expires_in":["s3cr3t-t0ken"]}"#,
        &[],
    );
    let ok = okms_api::oauth2::parse_token_response(&token);
    assert!(ok.is_ok(), "a strange expires_in is ignored");
    let token = json(
        200,
        r#"{"access_token":{"v":"s3cr3t-t0ken"},"token_type":"Bearer"}"#,
        &[],
    );
    let e = okms_api::oauth2::parse_token_response(&token).unwrap_err();
    let shown = error_chain(&e);
    assert!(!shown.contains("s3cr3t"), "{shown}");

    // Answers that hold no secret keep the full message, for diagnosis.
    let e = parse_json::<Credential>(&json(200, r#"{"id":"not-a-uuid"}"#, &[]), "credential")
        .unwrap_err();
    assert!(
        error_chain(&e).contains("not-a-uuid"),
        "{}",
        error_chain(&e)
    );
}

/// What a CLI prints for an error: its message and every cause, plus its Debug.
fn error_chain(e: &Error) -> String {
    let mut shown = format!("{e} | {e:?}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        shown.push_str(&format!(" | {c}"));
        cause = c.source();
    }
    shown
}

#[test]
fn domain() {
    let body = r#"[{"id":"e90c5841-f39e-4983-8596-62ff0c538b6b","region":"eu-west-rbx","restEndpoint":"https://eu-west-rbx.okms.ovh.net","kmipEndpoint":"eu-west-rbx.okms.ovh.net:5696","kmipRsaEndpoint":null,"swaggerEndpoint":"https://swagger","publicCA":"-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n","serviceKeyCount":3,"iam":{"id":"e90c5841-f39e-4983-8596-62ff0c538b6b","urn":"urn:v1:eu:resource:okms:e90c5841-f39e-4983-8596-62ff0c538b6b","displayName":"d","tags":{"a":"b"},"state":"OK"}}]"#;
    let d: Vec<Domain> = parse_json(&json(200, body, &[]), "domains").unwrap();
    assert_eq!(d[0].region, "eu-west-rbx");
    assert_eq!(
        d[0].rest_endpoint.as_deref(),
        Some("https://eu-west-rbx.okms.ovh.net")
    );
    assert_eq!(d[0].kmip_rsa_endpoint, None);
    assert_eq!(d[0].service_key_count, Some(3));
    assert_eq!(d[0].iam.as_ref().unwrap().state.as_deref(), Some("OK"));
}

#[test]
fn ovh_error_shape_and_display_like_go_ovh() {
    let r = json(
        403,
        r#"{"class":"Client::Forbidden","message":"User not granted for this request (missing IAM permissions: account:apiovh:me/installationTemplate/get)","details":{"unauthorizedActionsByIAM":"account:apiovh:me/installationTemplate/get"}}"#,
        &[("X-Ovh-QueryID", "EU.ext-99.foobar")],
    );
    let e = parse_error(&r);
    assert_eq!(e.shape, ErrorShape::Ovh);
    assert_eq!(e.status, 403);
    assert_eq!(e.class.as_deref(), Some("Client::Forbidden"));
    assert_eq!(e.query_id.as_deref(), Some("EU.ext-99.foobar"));
    assert_eq!(
        e.details["unauthorizedActionsByIAM"],
        "account:apiovh:me/installationTemplate/get"
    );
    assert!(e.to_string().starts_with(
        r#"OVHcloud API error (status code 403): Client::Forbidden: "User not granted for this request (missing IAM permissions: account:apiovh:me/installationTemplate/get)""#
    ), "{e}");
    assert!(
        e.to_string()
            .ends_with("(X-OVH-Query-Id: EU.ext-99.foobar)")
    );

    let err: Error = parse_json::<Credential>(
        &json(404, r#"{"class":"Client::NotFound","message":"nope"}"#, &[]),
        "c",
    )
    .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.class(), Some("Client::NotFound"));
    assert_eq!(err.status(), Some(404));

    let v2 = parse_error(&json(
        400,
        r#"{"class":"Client::BadRequest::CredentialNameMaximumExceeded","message":"too long"}"#,
        &[],
    ));
    assert_eq!(
        v2.class.as_deref(),
        Some("Client::BadRequest::CredentialNameMaximumExceeded")
    );
}

#[test]
fn auth_layer_shape() {
    let e = parse_error(&json(
        403,
        r#"{"errorCode":"INVALID_SIGNATURE","httpCode":"400 Bad Request","message":"Invalid signature"}"#,
        &[("x-ovh-queryid", "q1")],
    ));
    assert_eq!(e.shape, ErrorShape::AuthLayer);
    assert_eq!(e.code.as_deref(), Some("INVALID_SIGNATURE"));
    assert_eq!(e.message, "Invalid signature");
    assert_eq!(e.query_id.as_deref(), Some("q1"));
    assert!(
        e.to_string()
            .contains(r#"INVALID_SIGNATURE: "Invalid signature""#),
        "{e}"
    );
}

#[test]
fn oauth2_shape() {
    let e = parse_error(&json(
        400,
        r#"{"error":"invalid_client", "error_description":"ovhcloud oauth2 client does not exists"}"#,
        &[],
    ));
    assert_eq!(e.shape, ErrorShape::OAuth2);
    assert_eq!(e.code.as_deref(), Some("invalid_client"));
    assert_eq!(e.message, "ovhcloud oauth2 client does not exists");
}

#[test]
fn data_plane_shape() {
    let e = parse_error(&json(
        401,
        r#"{"error_id":"id1","error_code":33558529,"errors":["certificate unknown"],"request_id":"r1"}"#,
        &[],
    ));
    assert_eq!(e.shape, ErrorShape::DataPlane);
    assert_eq!(e.message, "certificate unknown");
    assert_eq!(e.details["request_id"], "r1");
}

#[test]
fn raw_bodies_verbatim_and_truncated() {
    let e = parse_error(&json(
        502,
        "<html>Bad Gateway</html>",
        &[("Retry-After", "7")],
    ));
    assert_eq!(e.shape, ErrorShape::Raw);
    assert_eq!(e.message, "<html>Bad Gateway</html>");
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(7)));
    let big = "x".repeat(100_000);
    let e = parse_error(&json(500, &big, &[]));
    assert!(
        e.message.len() < 2000 && e.message.contains("100000 bytes"),
        "{}",
        e.message.len()
    );
    let e = parse_error(&json(503, "", &[]));
    assert_eq!(e.message, "Service Unavailable");
    // Valid JSON of no known shape is kept as text.
    let e = parse_error(&json(500, "[1,2]", &[]));
    assert_eq!(e.message, "[1,2]");
}

#[test]
fn decode_errors_name_what_was_expected() {
    let e = parse_json::<Credential>(&json(200, r#"{"id":"not-a-uuid"}"#, &[]), "credential")
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                what: "credential",
                status: 200,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn pagination_cursor() {
    assert_eq!(
        next_cursor(&json(200, "[]", &[("X-Pagination-Cursor-Next", "abc")])).as_deref(),
        Some("abc")
    );
    assert_eq!(next_cursor(&json(200, "[]", &[])), None);
    assert_eq!(
        next_cursor(&json(200, "[]", &[("X-Pagination-Cursor-Next", "")])),
        None
    );
}

#[test]
fn data_plane_check_answers() {
    let ok = parse_servicekey_response(&json(
        200,
        r#"{"objects_list":[{"id":"k"}],"continuation_token":"t","is_truncated":false}"#,
        &[],
    ));
    assert!(ok.is_success());
    match ok.outcome {
        DataPlaneOutcome::ServiceKeys(l) => assert_eq!(l.objects_list.len(), 1),
        other => panic!("{other:?}"),
    }
    let denied = parse_servicekey_response(&json(
        403,
        r#"{"error_id":"e","error_code":16793600,"errors":["denied"],"request_id":"r"}"#,
        &[],
    ));
    assert!(!denied.is_success());
    match denied.outcome {
        DataPlaneOutcome::Error(e) => {
            assert_eq!(e.errors, vec!["denied".to_string()]);
            assert_eq!(e.category(), Some("Authorization"));
        }
        other => panic!("{other:?}"),
    }
    let raw = parse_servicekey_response(&json(500, "oops", &[]));
    assert_eq!(raw.outcome, DataPlaneOutcome::Unparsed("oops".into()));
    let empty_obj = parse_servicekey_response(&json(404, "{}", &[]));
    assert_eq!(empty_obj.outcome, DataPlaneOutcome::Unparsed("{}".into()));
}
