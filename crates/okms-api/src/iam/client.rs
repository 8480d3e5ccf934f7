//! The IAM calls on [`Client`]: policies, the authorization check, identities.

use time::OffsetDateTime;
use uuid::Uuid;

use super::model::{AuthorizeResponse, IamGroup, IamUser, Policy, PolicyBody, ServiceAccount};
use super::{IDENTITY_CONCURRENCY, bounded, ops};
use crate::client::Client;
use crate::clock::Clock;
use crate::error::Error;
use crate::sans_io::{ApiRequest, parse_json};
use crate::transport::Transport;

/// The filters of `GET /v2/iam/policy`; empty lists filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyFilter {
    /// Policies naming one of these identities.
    pub identities: Vec<String>,
    /// Policies naming one of these resources.
    pub resource_urns: Vec<String>,
    /// Policies naming one of these actions.
    pub actions: Vec<String>,
}

/// One identity that could not be read, while the others were.
#[derive(Debug)]
pub struct ItemError {
    /// What it is, e.g. `user alice`.
    pub item: String,
    /// Why.
    pub error: Error,
}

/// The account's identities. Each list holds what could be read; `failed` what could not.
#[derive(Debug, Default)]
pub struct Identities {
    /// Local users.
    pub users: Vec<IamUser>,
    /// User groups.
    pub groups: Vec<IamGroup>,
    /// Service accounts.
    pub service_accounts: Vec<ServiceAccount>,
    /// Items whose details could not be read.
    pub failed: Vec<ItemError>,
}

impl<T: Transport, C: Clock> Client<T, C> {
    /// Creates a policy (`POST /v2/iam/policy`), after [`PolicyBody::validate`] at the client's
    /// clock. Not retried: a POST may have been processed when its answer is lost; list the
    /// policies by name to find out.
    pub async fn create_policy(&self, body: &PolicyBody) -> Result<Policy, Error> {
        let req = ops::create_policy(body, self.now())?;
        let resp = self.execute(&req).await?;
        parse_json(&resp, "created policy")
    }

    /// Replaces a policy with `body` (`PUT /v2/iam/policy/{policyId}`).
    pub async fn update_policy(&self, policy_id: Uuid, body: &PolicyBody) -> Result<Policy, Error> {
        let req = ops::update_policy(policy_id, body, self.now())?;
        let resp = self.execute(&req).await?;
        parse_json(&resp, "updated policy")
    }

    /// One policy.
    pub async fn get_policy(&self, policy_id: Uuid) -> Result<Policy, Error> {
        let resp = self.execute(&ops::get_policy(policy_id)).await?;
        parse_json(&resp, "policy")
    }

    /// Deletes a policy.
    pub async fn delete_policy(&self, policy_id: Uuid) -> Result<(), Error> {
        self.execute(&ops::delete_policy(policy_id)).await?;
        Ok(())
    }

    /// Every policy matching `filter` (all pages).
    pub async fn list_policies(&self, filter: &PolicyFilter) -> Result<Vec<Policy>, Error> {
        self.get_all_pages(|c| ops::list_policies(filter, c), "policy list")
            .await
    }

    /// Asks whether the caller may perform `actions` on a resource
    /// (`POST /v2/iam/resource/{urn}/authorization/check`).
    pub async fn check_authorization(
        &self,
        resource_urn: &str,
        actions: &[String],
    ) -> Result<AuthorizeResponse, Error> {
        let req = ops::check_authorization(resource_urn, actions)?;
        let resp = self.execute(&req).await?;
        parse_json(&resp, "authorization check")
    }

    /// The account's users, groups and service accounts, each read in full with at most
    /// [`IDENTITY_CONCURRENCY`] calls in flight. A list that cannot be read is an error; one
    /// item that cannot be read goes to [`Identities::failed`] and the others are kept.
    pub async fn identities(&self) -> Result<Identities, Error> {
        let logins: Vec<String> = self.get_json(&ops::list_users(), "user list").await?;
        let groups: Vec<String> = self.get_json(&ops::list_groups(), "group list").await?;
        let clients: Vec<String> = self
            .get_json(&ops::list_service_accounts(), "OAuth2 client list")
            .await?;
        let mut out = Identities::default();
        let users = bounded(
            logins
                .iter()
                .map(|l| self.get_owned::<IamUser>(ops::get_user(l), "user"))
                .collect(),
            IDENTITY_CONCURRENCY,
        )
        .await;
        for (login, r) in logins.iter().zip(users) {
            match r {
                Ok(u) => out.users.push(u),
                Err(error) => out.failed.push(ItemError {
                    item: format!("user {login}"),
                    error,
                }),
            }
        }
        let found = bounded(
            groups
                .iter()
                .map(|g| self.get_owned::<IamGroup>(ops::get_group(g), "group"))
                .collect(),
            IDENTITY_CONCURRENCY,
        )
        .await;
        for (name, r) in groups.iter().zip(found) {
            match r {
                Ok(g) => out.groups.push(g),
                Err(error) => out.failed.push(ItemError {
                    item: format!("group {name}"),
                    error,
                }),
            }
        }
        let found = bounded(
            clients
                .iter()
                .map(|c| {
                    self.get_owned::<ServiceAccount>(ops::get_service_account(c), "OAuth2 client")
                })
                .collect(),
            IDENTITY_CONCURRENCY,
        )
        .await;
        for (id, r) in clients.iter().zip(found) {
            match r {
                Ok(s) => out.service_accounts.push(s),
                Err(error) => out.failed.push(ItemError {
                    item: format!("service account {id}"),
                    error,
                }),
            }
        }
        Ok(out)
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.clock().now())
    }

    async fn get_owned<R: serde::de::DeserializeOwned>(
        &self,
        req: ApiRequest,
        what: &'static str,
    ) -> Result<R, Error> {
        self.get_json(&req, what).await
    }
}
