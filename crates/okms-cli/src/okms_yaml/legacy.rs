//! The Go tool's legacy layout (no `version`): converted to version 1 the way the Go tool
//! converts it in memory (`migrateV0toV1`), or refused naming what the conversion would lose.

use yaml_serde::{Mapping, Value};

use super::LEGACY_FIELDS;

/// The legacy layout converted as the Go tool's `migrateV0toV1` does, or why that would lose
/// something. Returns the new root and the profile names carried over.
pub(super) fn convert_legacy(root: &Mapping) -> Result<(Mapping, Vec<String>), String> {
    let mut profiles = Mapping::new();
    let mut names = Vec::new();
    for (key, value) in root {
        if key.as_str() == Some("version") {
            continue;
        }
        let Some(name) = key.as_str() else {
            return Err(format!(
                "the top-level key {} is not a profile name",
                yaml_inline(key)
            ));
        };
        let Value::Mapping(fields) = value else {
            return Err(format!(
                "`{name}` is not a profile (a mapping of endpoint, ca, cert, key and sections)"
            ));
        };
        let converted = convert_legacy_profile(name, fields).map_err(|reason| {
            if name == "profiles" {
                // Most likely a version 1 file that lost its `version:` line.
                format!(
                    "{reason} (the file has `profiles:` but no `version: 1`; if it is meant as \
                     the version 1 layout, add `version: 1` at the top)"
                )
            } else {
                reason
            }
        })?;
        profiles.insert(name.into(), Value::Mapping(converted));
        names.push(name.to_owned());
    }
    let mut converted = Mapping::new();
    converted.insert("version".into(), Value::from(1));
    // What the Go tool's conversion sets, so it keeps choosing the profile it chose before.
    converted.insert("profile".into(), Value::from("default"));
    converted.insert("profiles".into(), Value::Mapping(profiles));
    Ok((converted, names))
}

/// One legacy profile: its own fields become the `http` section; each sub-mapping a section
/// of the same name. Fields the Go tool would drop, and a field set both at the top and in
/// `http:` with different values (the Go tool keeps one silently), are refused.
fn convert_legacy_profile(name: &str, fields: &Mapping) -> Result<Mapping, String> {
    let mut top = Mapping::new();
    let mut sections: Vec<(String, Mapping)> = Vec::new();
    for (key, value) in fields {
        let Some(key) = key.as_str() else {
            return Err(format!(
                "`{name}` has the key {}, which is not a field name",
                yaml_inline(key)
            ));
        };
        if LEGACY_FIELDS.contains(&key) {
            top.insert(key.into(), legacy_field(&format!("{name}.{key}"), value)?);
            continue;
        }
        let Value::Mapping(section) = value else {
            return Err(format!(
                "`{name}.{key}` is neither one of {} nor a section",
                LEGACY_FIELDS.join(", ")
            ));
        };
        let mut checked = Mapping::new();
        for (field, value) in section {
            let field_name = field.as_str().filter(|f| LEGACY_FIELDS.contains(f));
            let Some(field_name) = field_name else {
                return Err(format!(
                    "`{name}.{key}.{}` is not one of {}",
                    yaml_inline(field),
                    LEGACY_FIELDS.join(", ")
                ));
            };
            checked.insert(
                field_name.into(),
                legacy_field(&format!("{name}.{key}.{field_name}"), value)?,
            );
        }
        sections.push((key.to_owned(), checked));
    }
    let mut http = top;
    let mut out = Mapping::new();
    for (key, section) in sections {
        if key == "http" {
            for (field, value) in section {
                if http.get(&field).is_some_and(|old| old != &value) {
                    return Err(format!(
                        "`{name}.{}` and `{name}.http.{}` differ, and only one can be kept",
                        yaml_inline(&field),
                        yaml_inline(&field)
                    ));
                }
                http.insert(field, value);
            }
        } else {
            out.insert(key.into(), Value::Mapping(v1_section(&section)));
        }
    }
    if !http.is_empty() {
        out.insert("http".into(), Value::Mapping(v1_section(&http)));
    }
    Ok(out)
}

/// A legacy field's value: a string. The Go tool skips empty ones, which hold nothing.
fn legacy_field(what: &str, value: &Value) -> Result<Value, String> {
    match value {
        Value::String(_) => Ok(value.clone()),
        other => Err(format!("`{what}` is {}, not a string", yaml_inline(other))),
    }
}

/// `{endpoint, ca, cert, key}` as version 1 writes it: `{endpoint, ca, auth: {type: mtls,
/// cert, key}}`, empty values left out as the Go tool leaves them out.
fn v1_section(fields: &Mapping) -> Mapping {
    let get = |f: &str| {
        fields
            .get(f)
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .cloned()
    };
    let mut section = Mapping::new();
    if let Some(endpoint) = get("endpoint") {
        section.insert("endpoint".into(), endpoint);
    }
    if let Some(ca) = get("ca") {
        section.insert("ca".into(), ca);
    }
    let (cert, key) = (get("cert"), get("key"));
    if cert.is_some() || key.is_some() {
        let mut auth = Mapping::new();
        auth.insert("type".into(), "mtls".into());
        if let Some(cert) = cert {
            auth.insert("cert".into(), cert);
        }
        if let Some(key) = key {
            auth.insert("key".into(), key);
        }
        section.insert("auth".into(), Value::Mapping(auth));
    }
    section
}

/// A YAML value on one line, for messages.
pub(super) fn yaml_inline(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => yaml_serde::to_string(other)
            .map(|t| t.trim().replace('\n', " "))
            .unwrap_or_else(|_| "(unprintable)".into()),
    }
}
