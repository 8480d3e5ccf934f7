//! The decision: may this subject do this action on this resource, now?
//!
//! A policy applies when it has not expired, names one of the subject's identities and names
//! the resource. Among the applying policies the action is granted when one allows it (and
//! does not except it) and none denies it: deny beats allow, whichever policy says it.
//! Actions and resource URNs end in an optional `*` that matches any rest (`okms:apikms:*`,
//! `urn:v1:eu:resource:okms:*`, `*`), as the ovh/docs IAM policies API guide describes; a deny
//! "will prevent no matter what other policies could allow", an except "is limited to the
//! current policy scope".

use time::OffsetDateTime;

use super::{Subject, store::Policy};

/// `pattern` is an action (or a resource URN), or a prefix of one ending in `*`.
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => pattern == action,
    }
}

fn any_matches(patterns: &[String], action: &str) -> bool {
    patterns.iter().any(|p| action_matches(p, action))
}

/// Whether `subject` may do `action` on `resource` at `now`.
pub(crate) fn is_allowed(
    policies: &[Policy],
    now: OffsetDateTime,
    subject: &Subject,
    resource: &str,
    action: &str,
) -> bool {
    let identities = match subject {
        Subject::Unrestricted => return true,
        Subject::Bound(identities) => identities,
    };
    let applying = policies.iter().filter(|p| {
        !p.expired(now)
            && p.body.identities.iter().any(|i| identities.contains(i))
            && p.body.resources.iter().any(|r| action_matches(r, resource))
    });
    let mut allowed = false;
    for p in applying {
        if any_matches(&p.body.deny, action) {
            return false;
        }
        if any_matches(&p.body.allow, action) && !any_matches(&p.body.except, action) {
            allowed = true;
        }
    }
    allowed
}

#[cfg(test)]
mod tests {
    use super::super::store::PolicyBody;
    use super::*;
    use uuid::Uuid;

    const ALICE: &str = "urn:v1:eu:identity:user:xx1111-ovh/alice";
    const OPERATORS: &str = "urn:v1:eu:identity:group:xx1111-ovh/kms-operators";
    const DOMAIN: &str = "urn:v1:eu:resource:okms:11111111-1111-4111-8111-111111111111";
    const OTHER: &str = "urn:v1:eu:resource:okms:22222222-2222-4222-8222-222222222222";

    fn policy(
        identity: &str,
        resource: &str,
        allow: &[&str],
        except: &[&str],
        deny: &[&str],
    ) -> Policy {
        let list = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Policy {
            seq: 1,
            id: Uuid::new_v4(),
            body: PolicyBody {
                name: "p".to_owned(),
                description: None,
                identities: vec![identity.to_owned()],
                resources: vec![resource.to_owned()],
                allow: list(allow),
                except: list(except),
                deny: list(deny),
                expired_at: None,
            },
            created_at: OffsetDateTime::now_utc(),
            updated_at: None,
        }
    }

    fn alice() -> Subject {
        Subject::Bound(vec![OPERATORS.to_owned(), ALICE.to_owned()])
    }

    fn allowed(policies: &[Policy], resource: &str, action: &str) -> bool {
        is_allowed(
            policies,
            OffsetDateTime::now_utc(),
            &alice(),
            resource,
            action,
        )
    }

    #[test]
    fn nothing_is_allowed_without_a_policy_except_to_the_unrestricted() {
        assert!(!allowed(&[], DOMAIN, "okms:apikms:random/get"));
        assert!(is_allowed(
            &[],
            OffsetDateTime::now_utc(),
            &Subject::Unrestricted,
            DOMAIN,
            "okms:apikms:random/get"
        ));
    }

    #[test]
    fn wildcards_match_a_prefix_only_at_the_end() {
        let p = [policy(ALICE, DOMAIN, &["okms:apikms:*"], &[], &[])];
        assert!(allowed(&p, DOMAIN, "okms:apikms:random/get"));
        assert!(!allowed(&p, DOMAIN, "okms:apiovh:credential/create"));
        let p = [policy(ALICE, DOMAIN, &["okms:apikms:random/get"], &[], &[])];
        assert!(allowed(&p, DOMAIN, "okms:apikms:random/get"));
        assert!(!allowed(&p, DOMAIN, "okms:apikms:random/getx"));
        assert!(action_matches("*", "account:apiovh:me/get"));
    }

    #[test]
    fn except_filters_the_allowed_list_and_deny_beats_allow_across_policies() {
        let p = [policy(
            ALICE,
            DOMAIN,
            &["okms:apikms:*"],
            &["okms:apikms:serviceKey/*"],
            &[],
        )];
        assert!(allowed(&p, DOMAIN, "okms:apikms:random/get"));
        assert!(!allowed(&p, DOMAIN, "okms:apikms:serviceKey/get"));

        let p = [
            policy(ALICE, DOMAIN, &["okms:apikms:*"], &[], &[]),
            policy(OPERATORS, DOMAIN, &[], &[], &["okms:apikms:random/get"]),
        ];
        assert!(!allowed(&p, DOMAIN, "okms:apikms:random/get"));
        assert!(allowed(&p, DOMAIN, "okms:apikms:serviceKey/get"));
    }

    #[test]
    fn group_membership_counts_and_other_identities_or_resources_do_not() {
        let p = [policy(
            OPERATORS,
            DOMAIN,
            &["okms:apikms:random/get"],
            &[],
            &[],
        )];
        assert!(allowed(&p, DOMAIN, "okms:apikms:random/get"));
        assert!(!allowed(&p, OTHER, "okms:apikms:random/get"));
        let p = [policy(
            "urn:v1:eu:identity:user:xx1111-ovh/carol",
            DOMAIN,
            &["*"],
            &[],
            &[],
        )];
        assert!(!allowed(&p, DOMAIN, "okms:apikms:random/get"));
    }

    #[test]
    fn an_expired_policy_grants_and_denies_nothing() {
        let now = OffsetDateTime::now_utc();
        let mut grant = policy(ALICE, DOMAIN, &["okms:apikms:*"], &[], &[]);
        grant.body.expired_at = Some(now + time::Duration::hours(1));
        let p = [grant.clone()];
        assert!(is_allowed(
            &p,
            now,
            &alice(),
            DOMAIN,
            "okms:apikms:random/get"
        ));
        let later = now + time::Duration::hours(2);
        assert!(!is_allowed(
            &p,
            later,
            &alice(),
            DOMAIN,
            "okms:apikms:random/get"
        ));

        let mut deny = policy(ALICE, DOMAIN, &[], &[], &["okms:apikms:*"]);
        deny.body.expired_at = Some(now - time::Duration::seconds(1));
        grant.body.expired_at = None;
        assert!(is_allowed(
            &[grant, deny],
            now,
            &alice(),
            DOMAIN,
            "okms:apikms:random/get"
        ));
    }
}
