//! The `$1$` signature: every vector from the spec (go-ovh and python-ovh test suites).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{AK, AS, CK};

use okms_api::sans_io::{ApiRequest, RequestAuth, build_request};
use okms_api::signature::sign;
use okms_api::{Endpoint, SecretString};

const TS: i64 = 1457018875;
const BODY: &[u8] = br#"{"a":"b","c":"d"}"#;

#[test]
fn all_spec_vectors() {
    let vectors: &[(&str, &str, &str)] = &[
        (
            "GET",
            "https://eu.api.ovh.com/1.0/auth",
            "$1$e9556054b6309771395efa467c22e627407461ad",
        ),
        (
            "POST",
            "https://eu.api.ovh.com/1.0/auth",
            "$1$ec2fb5c7a81f64723c77d2e5b609ae6f58a84fc1",
        ),
        (
            "PUT",
            "https://eu.api.ovh.com/1.0/auth",
            "$1$8a75a9e7c8e7296c9dbeda6a2a735eb6bd58ec4b",
        ),
        (
            "DELETE",
            "https://eu.api.ovh.com/1.0/auth",
            "$1$a1eecd00b3b02b6cf5708b84b9ff42059a950d85",
        ),
        (
            "GET",
            "https://eu.api.ovh.com/1.0/authTO",
            "$1$1f0958be70f095ddaba525778a9ac1dcffac89f3",
        ),
        (
            "POST",
            "https://eu.api.ovh.com/1.0/authTO",
            "$1$b592effcb3bc2d37860eceb06a1b17670fbe49c6",
        ),
        (
            "PUT",
            "https://eu.api.ovh.com/1.0/authTO",
            "$1$6b27c2a693a0eb4980217046b2fe10d74ba796f0",
        ),
        (
            "DELETE",
            "https://eu.api.ovh.com/1.0/authTO",
            "$1$bd59b15361548c388058009e00c508081e991e8b",
        ),
        (
            "GET",
            "https://eu.api.ovh.com/1.0/call",
            "$1$7f2db49253edfc41891023fcd1a54cf61db05fbb",
        ),
        (
            "GET",
            "https://eu.api.ovh.com/v1/call",
            "$1$e6e7906d385eb28adcbfbe6b66c1528a42d741ad",
        ),
        (
            "GET",
            "https://eu.api.ovh.com/v2/call",
            "$1$bb63b132a6f84ad5433d0c534d48d3f7c3804285",
        ),
    ];
    for (method, url, expected) in vectors {
        let body: &[u8] = if matches!(*method, "POST" | "PUT") {
            BODY
        } else {
            b""
        };
        assert_eq!(
            sign(AS, CK, method, url, body, TS),
            *expected,
            "{method} {url}"
        );
    }
}

#[test]
fn method_is_upper_cased() {
    assert_eq!(
        sign(AS, CK, "get", "https://eu.api.ovh.com/1.0/auth", b"", TS),
        "$1$e9556054b6309771395efa467c22e627407461ad"
    );
}

fn signed(endpoint: &str, req: &ApiRequest) -> http::Request<Vec<u8>> {
    let a = SecretString::from(AS);
    let c = SecretString::from(CK);
    build_request(
        &Endpoint::parse(endpoint).unwrap(),
        req,
        &RequestAuth::Signature {
            application_key: AK,
            application_secret: &a,
            consumer_key: &c,
            timestamp: TS,
        },
    )
    .unwrap()
}

/// The signature covers the exact URL the request goes to, after the `/1.0` → `/v1` rewrite.
#[test]
fn built_requests_carry_vector_signatures() {
    let r = signed("ovh-eu", &ApiRequest::get("/v1/call"));
    assert_eq!(r.uri(), "https://eu.api.ovh.com/v1/call");
    let h = r.headers();
    assert_eq!(
        h["X-Ovh-Signature"],
        "$1$e6e7906d385eb28adcbfbe6b66c1528a42d741ad"
    );
    assert_eq!(h["X-Ovh-Application"], AK);
    assert_eq!(h["X-Ovh-Consumer"], CK);
    assert_eq!(h["X-Ovh-Timestamp"], "1457018875");
    assert_eq!(h["Accept"], "application/json");
    assert!(h.get("Content-Type").is_none(), "no body, no content type");
    assert!(r.body().is_empty());

    let r = signed("ovh-eu", &ApiRequest::get("/v2/call"));
    assert_eq!(
        r.headers()["X-Ovh-Signature"],
        "$1$bb63b132a6f84ad5433d0c534d48d3f7c3804285"
    );
    let r = signed("ovh-eu", &ApiRequest::get("/call"));
    assert_eq!(r.uri(), "https://eu.api.ovh.com/1.0/call");
    assert_eq!(
        r.headers()["X-Ovh-Signature"],
        "$1$7f2db49253edfc41891023fcd1a54cf61db05fbb"
    );

    let post = ApiRequest {
        method: http::Method::POST,
        body: Some(BODY.to_vec()),
        ..ApiRequest::get("/auth")
    };
    let r = signed("ovh-eu", &post);
    assert_eq!(r.body(), BODY);
    assert_eq!(
        r.headers()["X-Ovh-Signature"],
        "$1$ec2fb5c7a81f64723c77d2e5b609ae6f58a84fc1"
    );
    assert_eq!(
        r.headers()["Content-Type"],
        "application/json;charset=utf-8"
    );
}

#[test]
fn consumer_key_header_is_marked_sensitive() {
    let r = signed("ovh-eu", &ApiRequest::get("/v1/me"));
    assert!(r.headers()["X-Ovh-Consumer"].is_sensitive());
    assert!(!format!("{:?}", r.headers()).contains(CK));
}
