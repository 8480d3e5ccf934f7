//! The account's IAM, as far as OKMS access certificates need it: identities (users, groups,
//! service accounts) seeded from the configuration, policies (`/v2/iam/policy`), the
//! authorization check of `/v2/iam/resource/{urn}/authorization/check`, and the evaluator that
//! both the API side and the KMS data plane ask before serving a route.
//!
//! Who passes without a policy: the account's root identity and the members of an ADMIN-role
//! group (me-identity-v1.json `auth.RoleEnum`: "Permission given on the account"). Everybody
//! else needs a policy naming them (directly or through their group) on the route's resource.

pub(crate) mod evaluate;
pub(crate) mod identities;
pub(crate) mod routes;
pub(crate) mod store;

use serde::Deserialize;

use crate::Error;

/// The identities of the emulated account, and who the API callers act as.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamSeed {
    /// Local users (`GET /v1/me/identity/user`).
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Groups (`GET /v1/me/identity/group`).
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
    /// Service accounts (`GET /v1/me/api/oauth2/client`), besides the OAuth2 client of the
    /// emulator's API credentials, which is always listed.
    #[serde(default)]
    pub service_accounts: Vec<SeedServiceAccount>,
    /// The identity URN every API caller (signed AK/CK requests and OAuth2 bearers alike) acts
    /// as; None is the account's root identity, which is allowed everything.
    #[serde(default)]
    pub api_caller: Option<String>,
    /// The identity URN OAuth2 bearers act as instead, when set: the emulator's credential
    /// sets may then act as different identities, e.g. AK/CK as the root account and the
    /// OAuth2 client as its own service account
    /// (`urn:v1:eu:identity:credential:<nic>/oauth2-<client_id>`), as on the real API.
    #[serde(default)]
    pub oauth2_caller: Option<String>,
}

/// A local user of the account.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    /// Login (the part after `<nic>/` in its URN).
    pub login: String,
    /// Its group: one of [`IamSeed::groups`].
    pub group: String,
}

/// A group of users.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGroup {
    /// Name.
    pub name: String,
    /// `auth.RoleEnum`: `ADMIN`, `REGULAR`, `UNPRIVILEGED` or `NONE`.
    pub role: String,
}

/// An OAuth2 client (service account).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedServiceAccount {
    /// Its OAuth2 client id.
    pub client_id: String,
    /// Its name.
    pub name: String,
}

impl Default for IamSeed {
    fn default() -> Self {
        Self {
            users: vec![
                SeedUser {
                    login: "alice".to_owned(),
                    group: "kms-operators".to_owned(),
                },
                SeedUser {
                    login: "bob".to_owned(),
                    group: "admins".to_owned(),
                },
            ],
            groups: vec![
                SeedGroup {
                    name: "kms-operators".to_owned(),
                    role: "NONE".to_owned(),
                },
                SeedGroup {
                    name: "admins".to_owned(),
                    role: ADMIN_ROLE.to_owned(),
                },
            ],
            service_accounts: vec![SeedServiceAccount {
                client_id: "EU.ci-runner".to_owned(),
                name: "ci-runner".to_owned(),
            }],
            api_caller: None,
            oauth2_caller: None,
        }
    }
}

/// `auth.RoleEnum` values.
const ROLES: [&str; 4] = ["ADMIN", "NONE", "REGULAR", "UNPRIVILEGED"];
/// The role whose members hold every right on the account.
const ADMIN_ROLE: &str = "ADMIN";

fn name_is_valid(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic() && c != '/')
}

impl IamSeed {
    /// Checks what the emulator would otherwise serve inconsistently: names usable in a URN
    /// and a path, each user's group seeded, roles from `auth.RoleEnum`, no duplicates, and a
    /// well-formed `api_caller`.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bad = |what: String| Err(Error::Config(format!("IAM seed: {what}")));
        let mut seen = std::collections::BTreeSet::new();
        for g in &self.groups {
            if !name_is_valid(&g.name) {
                return bad(format!(
                    "group name {:?} must be printable ASCII without spaces or '/'",
                    g.name
                ));
            }
            if !ROLES.contains(&g.role.as_str()) {
                return bad(format!(
                    "group {:?} has role {:?}; give one of {}",
                    g.name,
                    g.role,
                    ROLES.join(", ")
                ));
            }
            if !seen.insert(("group", g.name.clone())) {
                return bad(format!("group {:?} is listed twice", g.name));
            }
        }
        for u in &self.users {
            if !name_is_valid(&u.login) {
                return bad(format!(
                    "user login {:?} must be printable ASCII without spaces or '/'",
                    u.login
                ));
            }
            if !self.groups.iter().any(|g| g.name == u.group) {
                return bad(format!(
                    "user {:?} is in group {:?}, which is not among the seeded groups",
                    u.login, u.group
                ));
            }
            if !seen.insert(("user", u.login.clone())) {
                return bad(format!("user {:?} is listed twice", u.login));
            }
        }
        for s in &self.service_accounts {
            if !name_is_valid(&s.client_id) {
                return bad(format!(
                    "service account client_id {:?} must be printable ASCII without spaces \
                     or '/'",
                    s.client_id
                ));
            }
            if !seen.insert(("service account", s.client_id.clone())) {
                return bad(format!("service account {:?} is listed twice", s.client_id));
            }
        }
        for urn in self.api_caller.iter().chain(&self.oauth2_caller) {
            check_caller_urn(urn)?;
        }
        Ok(())
    }

    pub(crate) fn group(&self, name: &str) -> Option<&SeedGroup> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// An API caller identity must be an identity URN (the shape credential creation accepts).
pub(crate) fn check_caller_urn(urn: &str) -> Result<(), Error> {
    crate::urn::check_urn(urn).map_err(|why| {
        Error::Config(format!(
            "API caller identity {urn:?} is not an identity URN: {why}; e.g. \
             urn:v1:eu:identity:user:xx1111-ovh/alice"
        ))
    })
}

/// The account's root identity.
pub(crate) fn root_urn(nic: &str) -> String {
    format!("urn:v1:eu:identity:account:{nic}")
}

/// A local user's identity (me-identity-v1.json `auth.User.urn`).
pub(crate) fn user_urn(nic: &str, login: &str) -> String {
    format!("urn:v1:eu:identity:user:{nic}/{login}")
}

/// A group's identity (me-identity-v1.json `auth.Group.urn`).
pub(crate) fn group_urn(nic: &str, name: &str) -> String {
    format!("urn:v1:eu:identity:group:{nic}/{name}")
}

/// A service account's identity (`oauth2.client.identity`): the `oauth2-` prefix is the one
/// `/auth/details` and credential creation already use for OAuth2 clients.
pub(crate) fn service_account_urn(nic: &str, client_id: &str) -> String {
    format!("urn:v1:eu:identity:credential:{nic}/oauth2-{client_id}")
}

/// The resource of `/v1/me/...` and `/v2/iam/...` routes.
pub(crate) fn account_resource_urn(nic: &str) -> String {
    format!("urn:v1:eu:resource:account:{nic}")
}

/// An OKMS domain's resource (`iam.urn` of `okms.resource.ResponseWithIAM`).
pub(crate) fn okms_resource_urn(okms_id: &uuid::Uuid) -> String {
    format!("urn:v1:eu:resource:okms:{okms_id}")
}

/// Who a request is evaluated for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    /// The root account or an ADMIN-role group member: every action passes.
    Unrestricted,
    /// Everybody else: these identity URNs (each one named, plus the groups of named users)
    /// are matched against the policies' identities.
    Bound(Vec<String>),
}

impl Subject {
    /// The subject of `urns` (one API caller, or the identities of one access certificate,
    /// which act together: a deny for any of them is a deny).
    pub(crate) fn of(seed: &IamSeed, nic: &str, urns: &[String]) -> Subject {
        let mut bound = Vec::new();
        for urn in urns {
            if urn == &root_urn(nic) {
                return Subject::Unrestricted;
            }
            let user = seed.users.iter().find(|u| urn == &user_urn(nic, &u.login));
            let group_name = match user {
                Some(u) => Some(u.group.as_str()),
                None => seed
                    .groups
                    .iter()
                    .find(|g| urn == &group_urn(nic, &g.name))
                    .map(|g| g.name.as_str()),
            };
            if let Some(group) = group_name.and_then(|g| seed.group(g)) {
                if group.role == ADMIN_ROLE {
                    return Subject::Unrestricted;
                }
                bound.push(group_urn(nic, &group.name));
            }
            bound.push(urn.clone());
        }
        bound.sort();
        bound.dedup();
        Subject::Bound(bound)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NIC: &str = "xx1111-ovh";

    #[test]
    fn root_and_admin_members_are_unrestricted_others_bring_their_group() {
        let seed = IamSeed::default();
        let of = |urns: &[&str]| {
            Subject::of(
                &seed,
                NIC,
                &urns.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(of(&[&root_urn(NIC)]), Subject::Unrestricted);
        assert_eq!(of(&[&user_urn(NIC, "bob")]), Subject::Unrestricted);
        assert_eq!(of(&[&group_urn(NIC, "admins")]), Subject::Unrestricted);
        assert_eq!(
            of(&[&user_urn(NIC, "alice")]),
            Subject::Bound(vec![
                group_urn(NIC, "kms-operators"),
                user_urn(NIC, "alice")
            ])
        );
        // Another account's user is not the seeded alice.
        let stranger = "urn:v1:eu:identity:user:yy2222-ovh/alice";
        assert_eq!(of(&[stranger]), Subject::Bound(vec![stranger.to_owned()]));
        // One unrestricted identity in a certificate is enough.
        assert_eq!(
            of(&[&user_urn(NIC, "alice"), &user_urn(NIC, "bob")]),
            Subject::Unrestricted
        );
    }

    #[test]
    fn a_seed_with_loose_ends_is_refused_with_the_reason() {
        let mut seed = IamSeed::default();
        assert!(seed.validate().is_ok());
        seed.users[0].group = "nobody".to_owned();
        let e = seed.validate().unwrap_err().to_string();
        assert!(e.contains("\"nobody\"") && e.contains("not among"), "{e}");

        let mut seed = IamSeed::default();
        seed.groups[0].role = "admin".to_owned();
        let e = seed.validate().unwrap_err().to_string();
        assert!(e.contains("ADMIN, NONE, REGULAR, UNPRIVILEGED"), "{e}");

        let seed = IamSeed {
            api_caller: Some("alice".to_owned()),
            ..IamSeed::default()
        };
        let e = seed.validate().unwrap_err().to_string();
        assert!(e.contains("not an identity URN"), "{e}");

        let parsed: IamSeed =
            serde_json::from_str(r#"{"users":[],"groups":[],"api_caller":null}"#).unwrap();
        assert!(parsed.service_accounts.is_empty());
        assert!(serde_json::from_str::<IamSeed>(r#"{"user":[]}"#).is_err());
    }
}
