//! Policies: the body of `POST`/`PUT /v2/iam/policy` read as iam-v2.json types
//! `iam.policy.Creation` / `iam.policy.Update`, and the stored policy written back as
//! `iam.policy.Response`.

use serde_json::{Map, Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use uuid::Uuid;

use crate::{error_answers::ApiError, wire::format_date};

/// One stored policy.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// Order of creation, for pagination cursors.
    pub seq: u64,
    pub id: Uuid,
    pub body: PolicyBody,
    pub created_at: OffsetDateTime,
    pub updated_at: Option<OffsetDateTime>,
}

/// What a client sets on a policy (the same fields for a creation and an update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyBody {
    pub name: String,
    pub description: Option<String>,
    pub identities: Vec<String>,
    pub resources: Vec<String>,
    pub allow: Vec<String>,
    pub except: Vec<String>,
    pub deny: Vec<String>,
    pub expired_at: Option<OffsetDateTime>,
}

impl Policy {
    /// Whether `expiredAt` has passed: such a policy "will no longer be applied".
    pub(crate) fn expired(&self, now: OffsetDateTime) -> bool {
        self.body.expired_at.is_some_and(|t| t <= now)
    }

    /// Every action pattern the policy names, allowed, excepted or denied.
    pub(crate) fn actions(&self) -> impl Iterator<Item = &str> {
        self.body
            .allow
            .iter()
            .chain(&self.body.except)
            .chain(&self.body.deny)
            .map(String::as_str)
    }

    /// `iam.policy.Response`.
    pub(crate) fn to_json(&self, owner: &str) -> Value {
        let b = &self.body;
        let actions = |list: &[String]| -> Vec<Value> {
            list.iter().map(|a| json!({ "action": a })).collect()
        };
        json!({
            "id": self.id,
            "name": b.name,
            "description": b.description,
            "identities": b.identities,
            "resources": b.resources.iter().map(|urn| json!({ "urn": urn })).collect::<Vec<_>>(),
            "permissions": {
                "allow": actions(&b.allow),
                "except": actions(&b.except),
                "deny": actions(&b.deny),
            },
            "permissionsGroups": [],
            "createdAt": format_date(self.created_at),
            "updatedAt": self.updated_at.map(format_date),
            "expiredAt": b.expired_at.map(format_date),
            "readOnly": false,
            "owner": owner,
        })
    }
}

fn invalid(field: &str, what: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("", format!("Invalid body: field {field} {what}"))
}

/// `urn:v1:{region}:resource:{type}:{id}`, the shape of every resource URN in the schemas
/// (`iam.ResourceMetadata.urn`, the account's `urn:v1:eu:resource:account:{nic}`), or a prefix
/// of one ending in `*` ("The URNs and actions can end with a `*` wildcard character": ovh/docs
/// IAM policies API guide), e.g. `urn:v1:eu:resource:okms:*`.
pub(crate) fn check_resource_urn(urn: &str) -> Result<(), String> {
    const SHAPE: &str =
        "urn:v1:{region}:resource:{type}:{id}, e.g. urn:v1:eu:resource:okms:{okmsId}";
    if !urn.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces".to_owned());
    }
    let (body, wildcard) = match urn.strip_suffix('*') {
        Some(prefix) => (prefix, true),
        None => (urn, false),
    };
    if body.contains('*') {
        return Err("has a `*` before its end; only a trailing `*` is a wildcard".to_owned());
    }
    let parts: Vec<&str> = body.splitn(6, ':').collect();
    if !wildcard && parts.len() < 6 {
        return Err(format!("must be {SHAPE}"));
    }
    let expected: [(&str, &[&str]); 4] = [
        ("prefix", &["urn"]),
        ("version", &["v1"]),
        ("region", &["eu", "ca", "us", "labeu"]),
        ("namespace", &["resource"]),
    ];
    // With a wildcard the last part may be cut short (`urn:v1:eu:res*`): only whole parts
    // are held to the shape.
    let whole = if wildcard {
        parts.len() - 1
    } else {
        parts.len()
    };
    for ((label, allowed), got) in expected.iter().zip(&parts[..whole]) {
        if !allowed.contains(got) {
            return Err(format!(
                "has {label} {got:?} where {} is expected ({SHAPE})",
                allowed.join(" or ")
            ));
        }
    }
    if !wildcard && (parts[4].is_empty() || parts[5].is_empty()) {
        return Err(format!("needs a resource type and id ({SHAPE})"));
    }
    Ok(())
}

/// An action name, or a prefix ending in one `*` (`okms:apikms:*`, `*`).
pub(crate) fn check_action(action: &str) -> Result<(), String> {
    if action.is_empty() {
        return Err("is empty; name an action such as okms:apikms:random/get".to_owned());
    }
    if action.strip_suffix('*').unwrap_or(action).contains('*') {
        return Err(format!(
            "{action:?} has a `*` before its end; only a trailing `*` is a wildcard here"
        ));
    }
    if !action.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!("{action:?} must be printable ASCII without spaces"));
    }
    Ok(())
}

fn string_list(obj: &Map<String, Value>, field: &str) -> Result<Vec<String>, ApiError> {
    let Some(v) = obj.get(field).filter(|v| !v.is_null()) else {
        return Err(invalid(field, "is required"));
    };
    let Some(items) = v.as_array() else {
        return Err(invalid(field, "must be an array of strings"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(&format!("{field}[{i}]"), "must be a string"))
        })
        .collect()
}

fn actions(permissions: &Map<String, Value>, list: &str) -> Result<Vec<String>, ApiError> {
    let field = format!("permissions.{list}");
    let items = match permissions.get(list) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(invalid(
                &field,
                "must be an array of iam.policy.Action ({\"action\": \"...\"})",
            ));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = format!("{field}[{i}].action");
            let action = item
                .get("action")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(&here, "is required and must be a string"))?;
            check_action(action).map_err(|why| invalid(&here, why))?;
            Ok(action.to_owned())
        })
        .collect()
}

/// Reads an `iam.policy.Creation` or `iam.policy.Update` (same fields): required fields
/// present and typed, identities shaped as identity URNs, resources as resource URNs, actions
/// non-empty. Fields the model does not have are ignored, as on the credential routes.
pub(crate) fn parse_body(body: &[u8]) -> Result<PolicyBody, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("", format!("Invalid body: not JSON ({e})")))?;
    let Value::Object(obj) = value else {
        return Err(ApiError::bad_request(
            "",
            "Invalid body: expected a JSON object (iam.policy.Creation)",
        ));
    };

    let name = match obj.get("name") {
        None | Some(Value::Null) => return Err(invalid("name", "is required")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(invalid("name", "must not be empty"));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("name", "must be a string")),
    };
    let description = match obj.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("description", "must be a string")),
    };

    let identities = string_list(&obj, "identities")?;
    if identities.is_empty() {
        return Err(invalid(
            "identities",
            "must name at least one identity URN (urn:v1:eu:identity:...)",
        ));
    }
    for (i, urn) in identities.iter().enumerate() {
        crate::urn::check_urn(urn).map_err(|why| {
            invalid(
                &format!("identities[{i}]"),
                format!("{urn:?} is not an identity URN: {why}"),
            )
        })?;
    }

    let Some(Value::Array(raw_resources)) = obj.get("resources").filter(|v| !v.is_null()) else {
        return Err(match obj.get("resources").filter(|v| !v.is_null()) {
            None => invalid("resources", "is required"),
            Some(_) => invalid(
                "resources",
                "must be an array of iam.policy.Resource ({\"urn\": \"...\"})",
            ),
        });
    };
    if raw_resources.is_empty() {
        return Err(invalid(
            "resources",
            "must name at least one resource URN (urn:v1:eu:resource:...)",
        ));
    }
    let mut resources = Vec::new();
    for (i, r) in raw_resources.iter().enumerate() {
        let here = format!("resources[{i}].urn");
        let urn = r
            .get("urn")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&here, "is required and must be a string"))?;
        check_resource_urn(urn).map_err(|why| invalid(&here, format!("{urn:?} {why}")))?;
        resources.push(urn.to_owned());
    }

    let permissions = match obj.get("permissions") {
        None | Some(Value::Null) => return Err(invalid("permissions", "is required")),
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(invalid(
                "permissions",
                "must be an object (iam.policy.Permissions)",
            ));
        }
    };
    let allow = actions(permissions, "allow")?;
    let except = actions(permissions, "except")?;
    let deny = actions(permissions, "deny")?;

    let expired_at = match obj.get("expiredAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
            invalid(
                "expiredAt",
                format!("{s:?} is not an RFC 3339 date-time such as 2030-01-31T00:00:00Z"),
            )
        })?),
        Some(_) => return Err(invalid("expiredAt", "must be an RFC 3339 date-time string")),
    };

    // Conditions and permissions groups are typed by the schema but the emulator has nothing
    // to evaluate them with; refusing them is better than storing a policy that silently
    // grants something else than the client meant.
    if obj.get("conditions").is_some_and(|v| !v.is_null()) {
        return Err(invalid(
            "conditions",
            "is not supported by the emulator; send the policy without conditions",
        ));
    }
    if obj
        .get("permissionsGroups")
        .and_then(Value::as_array)
        .is_some_and(|g| !g.is_empty())
    {
        return Err(invalid(
            "permissionsGroups",
            "is not supported by the emulator (it knows no permissions group); list the \
             actions in permissions.allow instead",
        ));
    }

    Ok(PolicyBody {
        name,
        description,
        identities,
        resources,
        allow,
        except,
        deny,
        expired_at,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn body(edit: impl FnOnce(&mut Value)) -> Result<PolicyBody, ApiError> {
        let mut v = json!({
            "name": "kms-read",
            "identities": ["urn:v1:eu:identity:user:xx1111-ovh/alice"],
            "resources": [{"urn": "urn:v1:eu:resource:okms:0f0e0d0c-0000-4000-8000-000000000001"}],
            "permissions": {"allow": [{"action": "okms:apikms:*"}]},
        });
        edit(&mut v);
        parse_body(v.to_string().as_bytes())
    }

    fn message(r: Result<PolicyBody, ApiError>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.class, "Client::BadRequest");
        e.message
    }

    #[test]
    fn a_valid_creation_is_read_whole() {
        let b = body(|v| {
            v["expiredAt"] = json!("2030-01-31T00:00:00Z");
            v["permissions"]["deny"] = json!([{"action": "okms:apikms:serviceKey/delete"}]);
            v["unknownField"] = json!(1);
        })
        .unwrap();
        assert_eq!(b.allow, ["okms:apikms:*"]);
        assert_eq!(b.deny, ["okms:apikms:serviceKey/delete"]);
        assert!(b.except.is_empty());
        assert_eq!(b.expired_at.unwrap().year(), 2030);
    }

    #[test]
    fn each_bad_field_is_named() {
        for (edit, field) in [
            (
                Box::new(|v: &mut Value| {
                    v.as_object_mut().unwrap().remove("name");
                }) as Box<dyn FnOnce(&mut Value)>,
                "field name is required",
            ),
            (
                Box::new(|v: &mut Value| v["identities"] = json!(["alice"])),
                "field identities[0]",
            ),
            (
                Box::new(|v: &mut Value| v["identities"] = json!([])),
                "field identities must name",
            ),
            (
                Box::new(|v: &mut Value| v["resources"] = json!([{"urn": "okms:x"}])),
                "field resources[0].urn",
            ),
            (
                Box::new(|v: &mut Value| v["resources"] = json!("urn:v1:eu:resource:okms:x")),
                "field resources must be an array",
            ),
            (
                Box::new(|v: &mut Value| {
                    v["permissions"]["allow"] = json!([{"action": ""}]);
                }),
                "field permissions.allow[0].action is empty",
            ),
            (
                Box::new(|v: &mut Value| {
                    v["permissions"]["except"] = json!([{"action": "okms:*:x"}]);
                }),
                "field permissions.except[0].action",
            ),
            (
                Box::new(|v: &mut Value| v["expiredAt"] = json!("tomorrow")),
                "field expiredAt",
            ),
            (
                Box::new(|v: &mut Value| {
                    v.as_object_mut().unwrap().remove("permissions");
                }),
                "field permissions is required",
            ),
            (
                Box::new(|v: &mut Value| {
                    v["conditions"] = json!({"operator": "AND"});
                }),
                "field conditions",
            ),
        ] {
            let m = message(body(edit));
            assert!(m.contains(field), "{m:?} should contain {field:?}");
        }
    }

    #[test]
    fn resource_urns_follow_the_schema_shape() {
        assert!(check_resource_urn("urn:v1:eu:resource:account:xx1111-ovh").is_ok());
        assert!(check_resource_urn("urn:v1:eu:resource:okms:abc").is_ok());
        assert!(
            check_resource_urn("urn:v1:eu:identity:user:xx1111-ovh/alice")
                .unwrap_err()
                .contains("namespace")
        );
        assert!(check_resource_urn("urn:v1:eu:resource:okms").is_err());
        assert!(check_resource_urn("urn:v1:eu:resource:okms:").is_err());
        assert!(check_resource_urn("urn:v1:eu:resource:okms:*").is_ok());
        assert!(check_resource_urn("urn:v1:eu:resource:*").is_ok());
        assert!(check_resource_urn("*").is_ok());
        assert!(check_resource_urn("urn:v1:eu:identity:*").is_err());
        assert!(check_resource_urn("urn:v1:*:resource:okms:x").is_err());
    }
}
