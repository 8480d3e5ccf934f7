//! IAM: the policies that let a user, a group or a service account use an OKMS domain, the
//! authorization check, and the account's identities.
//!
//! Two identities matter and are easily confused: the **API caller** (the credentials okms-api
//! signs with) needs `okms:apiovh:credential/*` on the domain to manage certificates; the
//! **certificate's identities** (its `identityURNs`) need `okms:apikms:*` or `okms:kmip:*`
//! actions to use the KMS. Both are granted by a policy on the domain's resource URN
//! ([`domain_resource_urn`]), unless the identity is the account's root or a member of an
//! ADMIN-role group.
//!
//! As everywhere in okms-api: [`ops`] builds each call as an [`ApiRequest`](crate::ApiRequest),
//! [`sans_io::parse_json`](crate::sans_io::parse_json) reads an answer into the types here
//! ([`Policy`], [`AuthorizeResponse`], [`IamUser`], ...), and the [`Client`](crate::Client) methods
//! ([`create_policy`](crate::Client::create_policy), [`list_policies`](crate::Client::list_policies),
//! [`check_authorization`](crate::Client::check_authorization),
//! [`identities`](crate::Client::identities), ...) do both over a transport.
//!
//! # Example: a policy body, checked and serialized, without any network
//!
//! ```
//! use okms_api::iam::{PolicyBody, actions, domain_resource_urn};
//! use okms_api::{OffsetDateTime, Plate, Uuid};
//!
//! let okms_id: Uuid = "e90c5841-f39e-4983-8596-62ff0c538b6b".parse()?;
//! let preset = actions::preset("kms-read")?;
//! let body = PolicyBody::new(
//!     "okms-kms-read",
//!     vec!["urn:v1:eu:identity:user:xx1111-ovh/alice".into()],
//!     domain_resource_urn(Plate::Eu, okms_id),
//!     preset.actions.iter().map(|a| a.to_string()).collect(),
//! );
//! body.validate(OffsetDateTime::now_utc())?;
//! let request = okms_api::iam::ops::create_policy(&body, OffsetDateTime::now_utc())?;
//! assert_eq!(request.path, "/v2/iam/policy");
//! let sent: serde_json::Value = serde_json::from_slice(request.body.as_deref().unwrap_or_default())?;
//! assert_eq!(sent["resources"][0]["urn"], "urn:v1:eu:resource:okms:e90c5841-f39e-4983-8596-62ff0c538b6b");
//! assert_eq!(sent["permissions"]["allow"][0]["action"], "okms:apikms:serviceKey/get");
//!
//! // An unknown action is refused, naming the closest known one.
//! let typo = actions::check_action("okms:apikms:servicekey/get").unwrap_err();
//! assert!(typo.to_string().contains("okms:apikms:serviceKey/get"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod actions;
mod client;
mod model;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use uuid::Uuid;

pub use client::{Identities, ItemError, PolicyFilter};
pub use model::{
    AuthorizeRequest, AuthorizeResponse, IamGroup, IamUser, POLICY_NAME_MAX, Permissions, Policy,
    PolicyAction, PolicyBody, PolicyResource, PolicyResourceResponse, ServiceAccount, to_actions,
};

use crate::endpoint::Plate;

/// The resource URN of an OKMS domain (its `iam.urn`): `urn:v1:{plate}:resource:okms:{id}`.
/// Prefer the domain's own `iam.urn` when the API gave it.
pub fn domain_resource_urn(plate: Plate, okms_id: Uuid) -> String {
    format!("urn:v1:{plate}:resource:okms:{okms_id}")
}

/// The resource URN of the account itself, which the `/v1/me` and `/v2/iam` routes act on.
pub fn account_resource_urn(plate: Plate, nic: &str) -> String {
    format!("urn:v1:{plate}:resource:account:{nic}")
}

/// How many identity look-ups run at once: enough to hide latency, few enough not to be
/// throttled by the API's rate limit.
pub const IDENTITY_CONCURRENCY: usize = 8;

/// Request constructors for the IAM calls (sans-IO).
pub mod ops {
    use http::Method;
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::client::PolicyFilter;
    use super::model::{AuthorizeRequest, PolicyBody};
    use crate::error::{Error, Field};
    use crate::sans_io::ApiRequest;

    /// `POST /v2/iam/policy` after validating `body` (at `now`, for its expiry).
    pub fn create_policy(body: &PolicyBody, now: OffsetDateTime) -> Result<ApiRequest, Error> {
        body.validate(now)?;
        Ok(ApiRequest {
            method: Method::POST,
            body: Some(body.to_json()?),
            ..ApiRequest::get("/v2/iam/policy")
        })
    }

    /// `PUT /v2/iam/policy/{policyId}` with the whole policy (a PUT replaces it).
    pub fn update_policy(
        policy_id: Uuid,
        body: &PolicyBody,
        now: OffsetDateTime,
    ) -> Result<ApiRequest, Error> {
        body.validate(now)?;
        Ok(ApiRequest {
            method: Method::PUT,
            body: Some(body.to_json()?),
            ..get_policy(policy_id)
        })
    }

    /// `GET /v2/iam/policy/{policyId}`.
    pub fn get_policy(policy_id: Uuid) -> ApiRequest {
        ApiRequest::get(format!("/v2/iam/policy/{policy_id}"))
    }

    /// `DELETE /v2/iam/policy/{policyId}`.
    pub fn delete_policy(policy_id: Uuid) -> ApiRequest {
        ApiRequest {
            method: Method::DELETE,
            ..get_policy(policy_id)
        }
    }

    /// `GET /v2/iam/policy` with the schema's filters (`identity`, `resourceURN`, `action`:
    /// each repeated once per value), one page.
    pub fn list_policies(filter: &PolicyFilter, cursor: Option<&str>) -> Result<ApiRequest, Error> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for i in &filter.identities {
            query.append_pair("identity", i);
        }
        for r in &filter.resource_urns {
            query.append_pair("resourceURN", r);
        }
        for a in &filter.actions {
            query.append_pair("action", a);
        }
        let query = query.finish();
        let path = if query.is_empty() {
            "/v2/iam/policy".to_owned()
        } else {
            format!("/v2/iam/policy?{query}")
        };
        let mut req = ApiRequest::get(path);
        if let Some(c) = cursor {
            let v = http::HeaderValue::from_str(c).map_err(|_| {
                Error::invalid(
                    Field::PaginationCursor,
                    "the server's cursor is not a valid header value",
                )
            })?;
            req.headers.push((
                http::HeaderName::from_static(crate::sans_io::PAGINATION_CURSOR),
                v,
            ));
        }
        Ok(req)
    }

    /// `POST /v2/iam/resource/{resourceURN}/authorization/check`: may the caller perform
    /// `actions` on the resource?
    pub fn check_authorization(
        resource_urn: &str,
        actions: &[String],
    ) -> Result<ApiRequest, Error> {
        if actions.is_empty() {
            return Err(Error::invalid(
                Field::PolicyAllow,
                "name at least one action to check",
            ));
        }
        let body = serde_json::to_vec(&AuthorizeRequest {
            actions: actions.to_vec(),
        })
        .map_err(Error::RequestDecode)?;
        Ok(ApiRequest {
            method: Method::POST,
            body: Some(body),
            ..ApiRequest::get(format!(
                "/v2/iam/resource/{}/authorization/check",
                path_segment(resource_urn)
            ))
        })
    }

    /// `GET /v1/me/identity/user`: the logins.
    pub fn list_users() -> ApiRequest {
        ApiRequest::get("/v1/me/identity/user")
    }

    /// `GET /v1/me/identity/user/{user}`.
    pub fn get_user(login: &str) -> ApiRequest {
        ApiRequest::get(format!("/v1/me/identity/user/{}", path_segment(login)))
    }

    /// `GET /v1/me/identity/group`: the group names.
    pub fn list_groups() -> ApiRequest {
        ApiRequest::get("/v1/me/identity/group")
    }

    /// `GET /v1/me/identity/group/{group}`.
    pub fn get_group(name: &str) -> ApiRequest {
        ApiRequest::get(format!("/v1/me/identity/group/{}", path_segment(name)))
    }

    /// `GET /v1/me/api/oauth2/client`: the service accounts' client ids.
    pub fn list_service_accounts() -> ApiRequest {
        ApiRequest::get("/v1/me/api/oauth2/client")
    }

    /// `GET /v1/me/api/oauth2/client/{clientId}`.
    pub fn get_service_account(client_id: &str) -> ApiRequest {
        ApiRequest::get(format!(
            "/v1/me/api/oauth2/client/{}",
            path_segment(client_id)
        ))
    }

    /// One path segment, percent-encoded except for the characters a URN or a login uses
    /// as they are (`:` and `@` are allowed in a segment by RFC 3986).
    fn path_segment(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

/// Runs `futures` with at most `limit` of them in flight, and returns their outputs in order.
/// Executor-agnostic (no spawning): the futures are polled in place.
pub(crate) async fn bounded<F: Future>(futures: Vec<F>, limit: usize) -> Vec<F::Output> {
    let limit = limit.max(1);
    let total = futures.len();
    let mut waiting = futures.into_iter().enumerate();
    let mut running: Vec<(usize, Pin<Box<F>>)> = Vec::new();
    let mut outputs: Vec<Option<F::Output>> = (0..total).map(|_| None).collect();
    let mut done = 0;
    std::future::poll_fn(move |cx| {
        loop {
            while running.len() < limit {
                match waiting.next() {
                    Some((i, f)) => running.push((i, Box::pin(f))),
                    None => break,
                }
            }
            let mut progressed = false;
            let mut k = 0;
            while k < running.len() {
                if let Poll::Ready(v) = running[k].1.as_mut().poll(cx) {
                    let (i, _) = running.swap_remove(k);
                    outputs[i] = Some(v);
                    done += 1;
                    progressed = true;
                } else {
                    k += 1;
                }
            }
            if done == total {
                return Poll::Ready(std::mem::take(&mut outputs).into_iter().flatten().collect());
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::bounded;

    #[tokio::test]
    async fn bounded_keeps_order_and_never_exceeds_the_limit() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let futures: Vec<_> = (0..30u64)
            .map(|i| {
                let (in_flight, most) = (in_flight.clone(), most.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Later ones finish first, so completion order differs from input order.
                    tokio::time::sleep(std::time::Duration::from_millis(30 - i)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    i
                }
            })
            .collect();
        let out = bounded(futures, 4).await;
        assert_eq!(out, (0..30).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 4);
        assert!(
            bounded(Vec::<std::future::Ready<u8>>::new(), 4)
                .await
                .is_empty()
        );
    }
}
