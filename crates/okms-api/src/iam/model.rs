//! Wire types of the IAM calls, with the schema's field names: `iam.policy.Creation` /
//! `iam.policy.Update` (one body: the update replaces the whole policy), `iam.policy.Response`,
//! `iam.AuthorizeRequest` / `iam.AuthorizeResponse` (iam-v2.json), and `auth.User`,
//! `auth.Group`, `oauth2.client` (me-identity-v1.json).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::actions::{self, check_action};
use crate::error::{Error, Field, quote_value};
use crate::urn::{IdentityKind, IdentityUrn};

/// Longest policy name okms-rs sends. The schema gives no limit; OVHcloud's Control Panel and
/// Terraform provider keep names short, and a name is what `iam grant` finds a policy by.
pub const POLICY_NAME_MAX: usize = 255;

/// `iam.policy.Action`: one action or pattern (trailing `*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolicyAction {
    /// The action name, e.g. `okms:apikms:serviceKey/get`.
    pub action: String,
}

/// `iam.policy.Permissions`. Each list is nullable in the schema; an absent one is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Allowed actions.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub allow: Vec<PolicyAction>,
    /// Actions taken back out of `allow`.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub except: Vec<PolicyAction>,
    /// Actions denied, whatever any policy allows.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub deny: Vec<PolicyAction>,
}

impl Permissions {
    /// How these permissions decide `action` (see [`actions::decide`]).
    pub fn decide(&self, action: &str) -> actions::Decision {
        let names =
            |v: &'_ [PolicyAction]| -> Vec<String> { v.iter().map(|a| a.action.clone()).collect() };
        let (allow, except, deny) = (names(&self.allow), names(&self.except), names(&self.deny));
        actions::decide(
            allow.iter().map(String::as_str),
            except.iter().map(String::as_str),
            deny.iter().map(String::as_str),
            action,
        )
    }
}

fn null_as_empty<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `iam.policy.Resource` as sent: the resource URN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyResource {
    /// The resource URN, e.g. `urn:v1:eu:resource:okms:<okms id>`.
    pub urn: String,
}

/// The body of `POST /v2/iam/policy` (`iam.policy.Creation`) and of
/// `PUT /v2/iam/policy/{policyId}` (`iam.policy.Update`, the same fields): a PUT replaces the
/// whole policy, so it carries every field, not only the changed ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBody {
    /// Name.
    pub name: String,
    /// Description (left out when `None`; the schema does not let it be null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Identity URNs the policy applies to.
    pub identities: Vec<String>,
    /// Resources it applies to.
    pub resources: Vec<PolicyResource>,
    /// What it allows, takes back and denies.
    pub permissions: Permissions,
    /// When it stops applying (left out when `None`: it never expires).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expired_at: Option<OffsetDateTime>,
}

impl PolicyBody {
    /// A policy giving `identities` the `allow` actions on one resource.
    pub fn new(
        name: impl Into<String>,
        identities: Vec<String>,
        resource_urn: impl Into<String>,
        allow: Vec<String>,
    ) -> Self {
        PolicyBody {
            name: name.into(),
            description: None,
            identities,
            resources: vec![PolicyResource {
                urn: resource_urn.into(),
            }],
            permissions: Permissions {
                allow: to_actions(allow),
                except: Vec::new(),
                deny: Vec::new(),
            },
            expired_at: None,
        }
    }

    /// Checks the body before it is sent: a name, at least one identity (each a valid identity
    /// URN, never an account's root, which no policy restricts or needs), at least one
    /// resource, at least one allowed action, every action known (see
    /// [`actions::check_action`]), and an expiry after `now` when there is one. The error names
    /// the field.
    pub fn validate(&self, now: OffsetDateTime) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid(Field::PolicyName, "must not be empty"));
        }
        if self.name.len() > POLICY_NAME_MAX || self.name.chars().any(char::is_control) {
            return Err(Error::invalid(
                Field::PolicyName,
                format!("use at most {POLICY_NAME_MAX} printable characters"),
            ));
        }
        if self.identities.is_empty() {
            return Err(Error::invalid(
                Field::PolicyIdentities,
                "at least one identity URN is required",
            ));
        }
        for (i, urn) in self.identities.iter().enumerate() {
            let parsed = IdentityUrn::parse(urn).map_err(|e| match e {
                Error::InvalidField { reason, .. } => {
                    Error::invalid(Field::PolicyIdentity(i), reason)
                }
                other => other,
            })?;
            if parsed.kind() == Some(IdentityKind::Account) {
                return Err(Error::invalid(
                    Field::PolicyIdentity(i),
                    format!(
                        "{urn} is an account's root identity, which holds every right: it needs no policy"
                    ),
                ));
            }
        }
        if self.resources.is_empty() {
            return Err(Error::invalid(
                Field::PolicyResources,
                "at least one resource URN is required",
            ));
        }
        for r in &self.resources {
            if !r.urn.starts_with("urn:v1:") || r.urn.chars().any(char::is_whitespace) {
                return Err(Error::invalid(
                    Field::PolicyResources,
                    format!(
                        "{} is not a resource URN (urn:v1:<region>:resource:...)",
                        quote_value(&r.urn)
                    ),
                ));
            }
        }
        if self.permissions.allow.is_empty() {
            return Err(Error::invalid(
                Field::PolicyAllow,
                "at least one allowed action is required: a policy that allows nothing grants nothing",
            ));
        }
        let p = &self.permissions;
        for a in p.allow.iter().chain(&p.except).chain(&p.deny) {
            check_action(&a.action)?;
        }
        if let Some(at) = self.expired_at
            && at <= now
        {
            return Err(Error::invalid(
                Field::PolicyExpiredAt,
                format!("{at} is not in the future: the policy would grant nothing"),
            ));
        }
        Ok(())
    }

    /// The exact JSON sent.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self).map_err(Error::RequestDecode)
    }

    /// Whether a policy the server holds says the same as this body (names, identities,
    /// resources, permissions and expiry, lists compared as sets). The server adds read-only
    /// fields of its own, which do not count; permissions groups or conditions, which this body
    /// never has, make the policy different.
    pub fn same_as(&self, policy: &Policy) -> bool {
        use std::collections::BTreeSet;
        let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
        let acts = |v: &[PolicyAction]| v.iter().map(|a| a.action.clone()).collect::<BTreeSet<_>>();
        let urns = |v: &[PolicyResource]| v.iter().map(|r| r.urn.clone()).collect::<BTreeSet<_>>();
        let theirs = urns(
            &policy
                .resources
                .iter()
                .map(|r| PolicyResource { urn: r.urn.clone() })
                .collect::<Vec<_>>(),
        );
        policy.permissions_groups.is_empty()
            && policy.conditions.is_none()
            && self.name == policy.name
            && self.description.as_deref().unwrap_or("")
                == policy.description.as_deref().unwrap_or("")
            && set(&self.identities) == set(&policy.identities)
            && urns(&self.resources) == theirs
            && acts(&self.permissions.allow) == acts(&policy.permissions.allow)
            && acts(&self.permissions.except) == acts(&policy.permissions.except)
            && acts(&self.permissions.deny) == acts(&policy.permissions.deny)
            // Servers keep fewer fraction digits than they are sent (the emulator microseconds):
            // the same expiry to the second is the same expiry.
            && self.expired_at.map(OffsetDateTime::unix_timestamp)
                == policy.expired_at.map(OffsetDateTime::unix_timestamp)
    }
}

/// Actions as the wire spells a list of them.
pub fn to_actions(actions: Vec<String>) -> Vec<PolicyAction> {
    actions
        .into_iter()
        .map(|action| PolicyAction { action })
        .collect()
}

/// `iam.policy.Resource` as the server answers it (`group` and `resource` details only with
/// `details=true`, kept as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyResourceResponse {
    /// The resource URN.
    pub urn: String,
    /// The resource's details, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<serde_json::Value>,
    /// The resource group's details, when the URN names a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<serde_json::Value>,
}

/// `iam.policy.Response`: a policy as the server holds it. Every field is optional in the
/// schema; absent lists read as empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Id.
    pub id: Uuid,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Identity URNs.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub identities: Vec<String>,
    /// Resources.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resources: Vec<PolicyResourceResponse>,
    /// Permissions.
    #[serde(default)]
    pub permissions: Permissions,
    /// Permissions groups the policy includes, kept as JSON.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub permissions_groups: Vec<serde_json::Value>,
    /// Conditions, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<serde_json::Value>,
    /// Owner (the account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Whether OVHcloud manages it (it cannot be changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Creation time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// Last update.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<OffsetDateTime>,
    /// Expiry: after it, the policy no longer applies.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expired_at: Option<OffsetDateTime>,
}

impl Policy {
    /// Whether the policy still applies at `now`.
    pub fn is_in_force(&self, now: OffsetDateTime) -> bool {
        self.expired_at.is_none_or(|at| at > now)
    }

    /// Whether it names this resource URN, itself or through a pattern ending in `*`
    /// (`urn:v1:eu:resource:okms:*`, as OVHcloud's IAM guide writes them).
    pub fn covers_resource(&self, urn: &str) -> bool {
        self.resources
            .iter()
            .any(|r| actions::pattern_matches(&r.urn, urn))
    }
}

/// `iam.AuthorizeRequest`: the actions to check for the caller on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// The actions.
    pub actions: Vec<String>,
}

/// `iam.AuthorizeResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    /// The actions the caller may perform.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub authorized_actions: Vec<String>,
    /// The actions it may not.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub unauthorized_actions: Vec<String>,
}

impl AuthorizeResponse {
    /// The asked-for actions the answer does not authorize: those it says are unauthorized,
    /// and those it does not mention at all (an answer that forgets one grants nothing).
    pub fn missing<'a>(&self, asked: &'a [String]) -> Vec<&'a str> {
        asked
            .iter()
            .filter(|a| {
                self.unauthorized_actions.contains(a) || !self.authorized_actions.contains(a)
            })
            .map(String::as_str)
            .collect()
    }
}

/// `auth.User`: a local user of the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamUser {
    /// Login.
    #[serde(default)]
    pub login: String,
    /// Main group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Every group the user belongs to.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// Identity URN, as the API gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urn: Option<String>,
    /// Status (`auth.UserStatusEnum`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `auth.Group`: a user group of the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamGroup {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Role on the account (`auth.RoleEnum`: ADMIN, REGULAR, UNPRIVILEGED, NONE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Identity URN, as the API gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urn: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether OVHcloud made it (it cannot be changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_group: Option<bool>,
}

impl IamGroup {
    /// Members of an ADMIN-role group hold every right on the account, without a policy.
    pub fn is_admin(&self) -> bool {
        self.role.as_deref() == Some("ADMIN")
    }
}

/// `oauth2.client`: a service account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    /// OAuth2 client id.
    #[serde(default)]
    pub client_id: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The IAM identity URN the client acts as, as the API gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// OAuth2 flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
}
