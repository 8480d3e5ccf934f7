//! `iam grant --format terraform`: the policy as the OVH Terraform provider's
//! `ovh_iam_policy` resource (attributes `name`, `description`, `identities`, `resources`,
//! `allow`, `except`, `deny`, `expired_at`).

use okms_api::iam::{PolicyAction, PolicyBody};

use crate::output::rfc3339;

/// The HCL text of one `ovh_iam_policy` resource.
#[must_use]
pub(super) fn policy_resource(body: &PolicyBody) -> String {
    let mut s = format!("resource \"ovh_iam_policy\" \"{}\" {{\n", label(&body.name));
    s.push_str(&format!("  name        = {}\n", quoted(&body.name)));
    if let Some(d) = &body.description {
        s.push_str(&format!("  description = {}\n", quoted(d)));
    }
    s.push_str(&format!(
        "  identities  = {}\n",
        list(body.identities.iter().map(String::as_str))
    ));
    s.push_str(&format!(
        "  resources   = {}\n",
        list(body.resources.iter().map(|r| r.urn.as_str()))
    ));
    let actions = |v: &[PolicyAction]| list(v.iter().map(|a| a.action.as_str()));
    s.push_str(&format!(
        "  allow       = {}\n",
        actions(&body.permissions.allow)
    ));
    if !body.permissions.except.is_empty() {
        s.push_str(&format!(
            "  except      = {}\n",
            actions(&body.permissions.except)
        ));
    }
    if !body.permissions.deny.is_empty() {
        s.push_str(&format!(
            "  deny        = {}\n",
            actions(&body.permissions.deny)
        ));
    }
    if let Some(at) = body.expired_at {
        s.push_str(&format!("  expired_at  = {}\n", quoted(&rfc3339(at))));
    }
    s.push('}');
    s
}

/// A Terraform resource name: letters, digits, `_` and `-`, not starting with a digit.
fn label(name: &str) -> String {
    let mut l: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !l.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        l.insert(0, '_');
    }
    l
}

/// An HCL string literal: JSON's escapes are HCL's, plus `${` and `%{` which would start a
/// template.
fn quoted(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| format!("{s:?}"))
        .replace("${", "$${")
        .replace("%{", "%%{")
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<String> = items.map(quoted).collect();
    format!("[{}]", v.join(", "))
}

#[cfg(test)]
mod tests {
    use okms_api::iam::PolicyBody;

    use super::policy_resource;

    #[test]
    fn names_become_labels_and_templates_are_escaped() {
        let mut body = PolicyBody::new(
            "9 app ${x}",
            vec!["urn:v1:eu:identity:user:xx1111-ovh/alice".into()],
            "urn:v1:eu:resource:okms:e90c5841-f39e-4983-8596-62ff0c538b6b",
            vec!["okms:kmip:*".into()],
        );
        body.description = Some("a \"quoted\" %{y}".into());
        let hcl = policy_resource(&body);
        assert!(
            hcl.starts_with("resource \"ovh_iam_policy\" \"_9_app___x_\" {"),
            "{hcl}"
        );
        assert!(hcl.contains(r#"name        = "9 app $${x}""#), "{hcl}");
        assert!(
            hcl.contains(r#"description = "a \"quoted\" %%{y}""#),
            "{hcl}"
        );
        assert!(hcl.contains(r#"allow       = ["okms:kmip:*"]"#), "{hcl}");
        assert!(
            !hcl.contains("except") && !hcl.contains("expired_at"),
            "{hcl}"
        );
    }
}
