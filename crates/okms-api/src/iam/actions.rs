//! The IAM actions okms-rs knows, the presets built from them, and how a policy's
//! `allow`/`except`/`deny` lists decide one action.
//!
//! Sources: the `okms:apiovh:*` actions are the `iamActions` of the `/v2/okms` routes
//! (okms-v2.json); the `okms:apikms:*` actions are those of every KMS data-plane route
//! (kms-rest.json). The schema has no list of KMIP actions: the `okms:kmip:*` names below are
//! the ones OVHcloud's public guides quote (KMS with etcd, Vault auto-unseal, KMS logs), so a
//! KMIP operation missing here is granted with the `okms:kmip:*` pattern.

use crate::error::Error;

/// The `/v2/okms` API actions (okms-v2.json `iamActions`): managing the domain's credentials.
pub const API_ACTIONS: &[&str] = &[
    "okms:apiovh:resource/get",
    "okms:apiovh:credential/get",
    "okms:apiovh:credential/create",
    "okms:apiovh:credential/delete",
];

/// The KMS REST data-plane actions (kms-rest.json, every route's `iamActions`).
pub const KMS_ACTIONS: &[&str] = &[
    "okms:apikms:random/get",
    "okms:apikms:serviceKey/create",
    "okms:apikms:serviceKey/import",
    "okms:apikms:serviceKey/get",
    "okms:apikms:serviceKey/update",
    "okms:apikms:serviceKey/activate",
    "okms:apikms:serviceKey/deactivate",
    "okms:apikms:serviceKey/delete",
    "okms:apikms:serviceKey/encrypt",
    "okms:apikms:serviceKey/decrypt",
    "okms:apikms:serviceKey/sign",
    "okms:apikms:serviceKey/verify",
    "okms:apikms:serviceKey/dataKey/create",
    "okms:apikms:serviceKey/dataKey/decrypt",
    "okms:apikms:secret/get",
    "okms:apikms:secret/create",
    "okms:apikms:secret/delete",
    "okms:apikms:secret/updateMetadata",
    "okms:apikms:secret/subKeys/get",
    "okms:apikms:secret/version/create",
    "okms:apikms:secret/version/getData",
    "okms:apikms:secret/version/activate",
    "okms:apikms:secret/version/deactivate",
    "okms:apikms:secret/version/delete",
    "okms:apikms:secretConfig/get",
    "okms:apikms:secretConfig/update",
];

/// KMIP actions named in OVHcloud's public guides (the schema lists none).
pub const KMIP_ACTIONS: &[&str] = &[
    "okms:kmip:get",
    "okms:kmip:getAttributes",
    "okms:kmip:locate",
    "okms:kmip:encrypt",
    "okms:kmip:decrypt",
    "okms:kmip:rekey",
    "okms:kmip:destroy",
];

/// Every known action, API first, then data plane, then KMIP.
pub fn known_actions() -> impl Iterator<Item = &'static str> {
    API_ACTIONS
        .iter()
        .chain(KMS_ACTIONS)
        .chain(KMIP_ACTIONS)
        .copied()
}

/// Whether an action lets its holder use the KMS itself (REST data plane or KMIP), as opposed
/// to managing the domain through the OVHcloud API.
pub fn is_kms_use(action: &str) -> bool {
    action.starts_with("okms:apikms:") || action.starts_with("okms:kmip:") || action == "okms:*"
}

/// A named set of actions for `iam grant --preset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The name given to `--preset`.
    pub name: &'static str,
    /// What it is for, one line.
    pub summary: &'static str,
    /// The actions it allows (a trailing `*` covers every action with that prefix).
    pub actions: &'static [&'static str],
}

/// The presets. Each is the least a task needs; combine several for more.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "kms-read",
        summary: "list and read service keys, draw random bytes (what `credential check` calls)",
        actions: &["okms:apikms:serviceKey/get", "okms:apikms:random/get"],
    },
    Preset {
        name: "kms-crypto",
        summary: "use service keys: encrypt, decrypt, sign, verify, data keys",
        actions: &[
            "okms:apikms:serviceKey/get",
            "okms:apikms:serviceKey/encrypt",
            "okms:apikms:serviceKey/decrypt",
            "okms:apikms:serviceKey/sign",
            "okms:apikms:serviceKey/verify",
            "okms:apikms:serviceKey/dataKey/create",
            "okms:apikms:serviceKey/dataKey/decrypt",
            "okms:apikms:random/get",
        ],
    },
    Preset {
        name: "kms-admin",
        summary: "every service-key action, including create, import, update and delete",
        actions: &["okms:apikms:serviceKey/*", "okms:apikms:random/get"],
    },
    Preset {
        name: "secrets-read",
        summary: "read secrets, their versions' data and the secret configuration",
        actions: &[
            "okms:apikms:secret/get",
            "okms:apikms:secret/version/getData",
            "okms:apikms:secret/subKeys/get",
            "okms:apikms:secretConfig/get",
        ],
    },
    Preset {
        name: "secrets-write",
        summary: "secrets-read, plus create secrets and versions and edit metadata (no delete)",
        actions: &[
            "okms:apikms:secret/get",
            "okms:apikms:secret/version/getData",
            "okms:apikms:secret/subKeys/get",
            "okms:apikms:secretConfig/get",
            "okms:apikms:secret/create",
            "okms:apikms:secret/version/create",
            "okms:apikms:secret/updateMetadata",
            "okms:apikms:secret/version/activate",
            "okms:apikms:secret/version/deactivate",
        ],
    },
    Preset {
        name: "kmip",
        summary: "every KMIP operation",
        actions: &["okms:kmip:*"],
    },
    Preset {
        name: "credential-manager",
        summary: "for an API caller: read the domain, create, read and delete its access certificates",
        actions: &[
            "okms:apiovh:resource/get",
            "okms:apiovh:credential/get",
            "okms:apiovh:credential/create",
            "okms:apiovh:credential/delete",
        ],
    },
];

/// The preset of this name; an unknown name is [`Error::UnknownPreset`] naming the closest.
pub fn preset(name: &str) -> Result<&'static Preset, Error> {
    if let Some(p) = PRESETS.iter().find(|p| p.name == name) {
        return Ok(p);
    }
    Err(Error::UnknownPreset {
        name: name.to_owned(),
        suggestion: closest(name, PRESETS.iter().map(|p| p.name)).map(str::to_owned),
        valid: PRESETS
            .iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Checks that `action` is a known action, or a pattern whose trailing `*` covers at least one
/// known action (`okms:apikms:serviceKey/*`, `okms:kmip:*`). An action of another product
/// (`vps:apiovh:...`) is refused too: a policy made here is about one OKMS domain, where it
/// would grant nothing.
pub fn check_action(action: &str) -> Result<(), Error> {
    let known = match action.strip_suffix('*') {
        Some(prefix) => !prefix.contains('*') && known_actions().any(|k| k.starts_with(prefix)),
        None => known_actions().any(|k| k == action),
    };
    if known {
        return Ok(());
    }
    Err(Error::UnknownAction {
        action: action.to_owned(),
        suggestion: closest(action, known_actions()).map(str::to_owned),
    })
}

/// Whether `pattern` (an action, or a prefix ending in `*`) covers `action`. Case matters, as
/// in OVHcloud's action names.
pub fn pattern_matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => pattern == action,
    }
}

/// How a policy's permissions decide an action: allowed when an `allow` entry covers it and
/// no `except` entry does; `deny` entries are returned apart because a deny in any policy beats
/// an allow in any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An `allow` entry covers it and no `except` entry does.
    Allowed,
    /// A `deny` entry covers it.
    Denied,
    /// The policy says nothing about it.
    NotCovered,
}

/// Decides `action` under one policy's lists (patterns as [`pattern_matches`] reads them).
pub fn decide<'a>(
    allow: impl IntoIterator<Item = &'a str>,
    except: impl IntoIterator<Item = &'a str>,
    deny: impl IntoIterator<Item = &'a str>,
    action: &str,
) -> Decision {
    if deny.into_iter().any(|p| pattern_matches(p, action)) {
        return Decision::Denied;
    }
    let allowed = allow.into_iter().any(|p| pattern_matches(p, action));
    if allowed && !except.into_iter().any(|p| pattern_matches(p, action)) {
        Decision::Allowed
    } else {
        Decision::NotCovered
    }
}

/// The candidate nearest to `given` (Jaro-Winkler, which favours a shared beginning as action
/// names share theirs), when it is near enough to be a plausible typo.
pub fn closest<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(given, c), c))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_preset_action_is_known() {
        for p in PRESETS {
            for a in p.actions {
                assert!(check_action(a).is_ok(), "{}: {a}", p.name);
            }
        }
    }

    #[test]
    fn a_typo_names_the_closest_action() {
        let e = check_action("okms:apikms:servicekey/get").unwrap_err();
        assert!(e.to_string().contains("okms:apikms:serviceKey/get"), "{e}");
        assert!(check_action("okms:apikms:nothing*").is_err());
        assert!(check_action("okms:*").is_ok());
        assert!(check_action("vps:apiovh:reboot").is_err());
    }

    #[test]
    fn deny_beats_allow_and_except_removes() {
        let allow = ["okms:apikms:*"];
        assert_eq!(
            decide(
                allow,
                [],
                ["okms:apikms:random/get"],
                "okms:apikms:random/get"
            ),
            Decision::Denied
        );
        assert_eq!(
            decide(
                allow,
                ["okms:apikms:random/*"],
                [],
                "okms:apikms:random/get"
            ),
            Decision::NotCovered
        );
        assert_eq!(
            decide(allow, [], [], "okms:apikms:serviceKey/get"),
            Decision::Allowed
        );
    }
}
