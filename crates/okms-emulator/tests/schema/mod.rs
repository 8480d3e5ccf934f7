//! OVHcloud's published API schema (`shared/spec/api-schema/*.json`) as a checker of JSON
//! values: finding the files, typing a value against an OVH `fullType` (v1/v2 API console
//! files) or an OpenAPI schema (the KMS data plane), and building schema-shaped examples.
//!
//! Shared by the emulator's conformance test and by okms-api's field test (included there with
//! `#[path]`), so it depends on nothing but serde_json, uuid, time and okms-test-support (the
//! skip rule), which both crates have.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde_json::{Map, Value, json};

/// The OVH-style files (operations + models with `fullType`).
pub const OVH_FILES: [&str; 3] = ["okms-v2.json", "me-identity-v1.json", "iam-v2.json"];
/// The data plane's OpenAPI extract.
pub const KMS_FILE: &str = "kms-rest.json";

/// Properties the extracted schema lists without a `fullType`, and the type this checker gives
/// them. Without an entry such a property is a finding ("the schema gives no type"), so nothing
/// goes unchecked; `Schema::load` refuses an entry once the schema types the property itself.
pub const TYPE_GAPS: &[(&str, &str, &str, &str)] = &[(
    "okms.resource.ResponseWithIAM",
    "iam",
    "iam.ResourceMetadata",
    "described as \"IAM resource metadata\"; iam.ResourceMetadata is the model \"embedded in \
     services models\" defined in the same file",
)];

/// Where the schema directory is, or why it was not found.
///
/// Order: `OKMS_API_SCHEMA_DIR`; then `shared/spec/api-schema` next to any ancestor of the
/// crate (the repository at `/work/main` has it at `/work/shared`, a clone elsewhere may have
/// it beside itself); then `/work/shared/spec/api-schema`.
pub fn schema_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("OKMS_API_SCHEMA_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.join(OVH_FILES[0]).is_file() {
            Ok(dir)
        } else {
            Err(format!(
                "OKMS_API_SCHEMA_DIR={} holds no {}",
                dir.display(),
                OVH_FILES[0]
            ))
        };
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut tried = Vec::new();
    for ancestor in manifest.ancestors() {
        let candidate = ancestor.join("shared").join("spec").join("api-schema");
        if candidate.join(OVH_FILES[0]).is_file() {
            return Ok(candidate);
        }
        tried.push(candidate);
    }
    let fixed = PathBuf::from("/work/shared/spec/api-schema");
    if fixed.join(OVH_FILES[0]).is_file() {
        return Ok(fixed);
    }
    tried.push(fixed);
    Err(format!(
        "no OVHcloud API schema found (set OKMS_API_SCHEMA_DIR, or put it at one of: {})",
        tried
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Loads the schema, or returns `None` after a loud SKIP line when it is absent. With
/// `OKMS_REQUIRE_SCHEMA=1` (CI) an absent schema is a failure instead.
pub fn load_or_skip(test: &str) -> Option<Schema> {
    match schema_dir() {
        Ok(dir) => Some(Schema::load(&dir).unwrap_or_else(|e| panic!("{test}: {e}"))),
        Err(why) => {
            okms_test_support::skip_or_fail(&format!("{test}: {why}"), "OKMS_REQUIRE_SCHEMA");
            None
        }
    }
}

/// One operation of an OVH-style file or of the data plane.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path template as the schema writes it, e.g. `/v2/okms/resource/{okmsId}`.
    pub path: String,
    /// OVH `response` fullType (None for the data plane).
    pub response: Option<String>,
    /// OVH error classes (empty for the data plane).
    pub errors: Vec<String>,
    /// Data-plane response statuses (empty for OVH files).
    pub statuses: Vec<u16>,
    /// The file it comes from.
    pub file: &'static str,
}

impl Operation {
    /// `METHOD /path/{template}`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// All the schema files, loaded.
#[derive(Debug)]
pub struct Schema {
    /// Every model of the OVH-style files, by name.
    pub models: BTreeMap<String, Value>,
    /// Every operation, OVH-style and data plane.
    pub operations: Vec<Operation>,
    /// The data plane's OpenAPI schemas, by name.
    pub kms_schemas: Map<String, Value>,
}

fn read_json(dir: &Path, file: &str) -> Result<Value, String> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Schema {
    /// Reads all files of `dir`.
    pub fn load(dir: &Path) -> Result<Schema, String> {
        let mut models = BTreeMap::new();
        let mut operations = Vec::new();
        for file in OVH_FILES {
            let doc = read_json(dir, file)?;
            let file_models = doc["models"]
                .as_object()
                .ok_or_else(|| format!("{file}: no models"))?;
            for (name, model) in file_models {
                models.insert(name.clone(), model.clone());
            }
            for op in doc["operations"].as_array().into_iter().flatten() {
                operations.push(Operation {
                    method: op["method"].as_str().unwrap_or_default().to_owned(),
                    path: op["path"].as_str().unwrap_or_default().to_owned(),
                    response: op["response"].as_str().map(str::to_owned),
                    errors: strings(&op["errors"]),
                    statuses: Vec::new(),
                    file,
                });
            }
        }
        let kms = read_json(dir, KMS_FILE)?;
        for op in kms["operations"].as_array().into_iter().flatten() {
            operations.push(Operation {
                method: op["method"].as_str().unwrap_or_default().to_owned(),
                path: op["path"].as_str().unwrap_or_default().to_owned(),
                response: None,
                errors: Vec::new(),
                statuses: strings(&op["responses"])
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect(),
                file: KMS_FILE,
            });
        }
        let kms_schemas = kms["schemas"]
            .as_object()
            .cloned()
            .ok_or_else(|| format!("{KMS_FILE}: no schemas"))?;
        let schema = Schema {
            models,
            operations,
            kms_schemas,
        };
        for (model, property, _, _) in TYPE_GAPS {
            let prop = schema
                .models
                .get(*model)
                .and_then(|m| m["properties"].get(*property))
                .ok_or_else(|| format!("TYPE_GAPS names {model}.{property}, not in the schema"))?;
            if prop.get("fullType").is_some() {
                return Err(format!(
                    "the schema now types {model}.{property}: remove its TYPE_GAPS entry"
                ));
            }
        }
        Ok(schema)
    }

    /// The operation whose template matches a concrete `path` (query ignored).
    pub fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        let path = path.split('?').next().unwrap_or(path);
        let concrete: Vec<&str> = path.split('/').collect();
        self.operations.iter().find(|op| {
            let template: Vec<&str> = op.path.split('/').collect();
            op.method.eq_ignore_ascii_case(method)
                && template.len() == concrete.len()
                && template
                    .iter()
                    .zip(&concrete)
                    .all(|(t, c)| (t.starts_with('{') && !c.is_empty()) || t == c)
        })
    }

    /// A model by name.
    pub fn model(&self, name: &str) -> Option<&Value> {
        self.models.get(name)
    }

    fn property_type(&self, model: &str, property: &str, spec: &Value) -> Option<String> {
        spec["fullType"].as_str().map(str::to_owned).or_else(|| {
            TYPE_GAPS
                .iter()
                .find(|(m, p, _, _)| *m == model && *p == property)
                .map(|(_, _, t, _)| (*t).to_owned())
        })
    }

    /// Checks `value` against an OVH `fullType`; returns one line per problem, each starting
    /// with the JSON path of the offending value (`$` is the root).
    pub fn check(&self, full_type: &str, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.check_at(full_type, value, "$", &mut out);
        out
    }

    fn check_at(&self, full_type: &str, value: &Value, at: &str, out: &mut Vec<String>) {
        if let Some(inner) = full_type.strip_suffix("[]") {
            match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_at(inner, item, &format!("{at}[{i}]"), out);
                    }
                }
                None => out.push(format!(
                    "{at}: expected an array ({full_type}), got {value}"
                )),
            }
            return;
        }
        if let Some(inner) = full_type.strip_prefix("map[string]") {
            match value.as_object() {
                Some(entries) => {
                    for (k, v) in entries {
                        if v.is_null() {
                            out.push(format!("{at}.{k}: null in a {full_type}"));
                        } else {
                            self.check_at(inner, v, &format!("{at}.{k}"), out);
                        }
                    }
                }
                None => out.push(format!(
                    "{at}: expected an object ({full_type}), got {value}"
                )),
            }
            return;
        }
        let bad = |what: &str| format!("{at}: expected {what} ({full_type}), got {value}");
        match full_type {
            "string" | "text" | "password" => {
                if !value.is_string() {
                    out.push(bad("a string"));
                }
            }
            "uuid" => {
                if value
                    .as_str()
                    .is_none_or(|s| uuid::Uuid::parse_str(s).is_err())
                {
                    out.push(bad("a UUID string"));
                }
            }
            "datetime" => {
                let rfc3339 = &time::format_description::well_known::Rfc3339;
                if value
                    .as_str()
                    .is_none_or(|s| time::OffsetDateTime::parse(s, rfc3339).is_err())
                {
                    out.push(bad("an RFC 3339 date-time string"));
                }
            }
            "long" => {
                if !(value.is_i64() || value.is_u64()) {
                    out.push(bad("an integer"));
                }
            }
            "double" => {
                if !value.is_number() {
                    out.push(bad("a number"));
                }
            }
            "boolean" => {
                if !value.is_boolean() {
                    out.push(bad("a boolean"));
                }
            }
            model_name => match self.models.get(model_name) {
                None => out.push(format!(
                    "{at}: the schema has no type or model named {model_name:?}"
                )),
                Some(model) => self.check_model(model_name, model, value, at, out),
            },
        }
    }

    fn check_model(
        &self,
        name: &str,
        model: &Value,
        value: &Value,
        at: &str,
        out: &mut Vec<String>,
    ) {
        if let Some(allowed) = model["enum"].as_array() {
            if !allowed.contains(value) {
                out.push(format!("{at}: {value} is not in {name} {allowed:?}"));
            }
            return;
        }
        let Some(properties) = model["properties"].as_object() else {
            out.push(format!(
                "{at}: model {name} has neither enum nor properties"
            ));
            return;
        };
        let Some(object) = value.as_object() else {
            out.push(format!("{at}: expected an object ({name}), got {value}"));
            return;
        };
        for key in object.keys() {
            if !properties.contains_key(key) {
                out.push(format!("{at}.{key}: not a field of {name}"));
            }
        }
        for (key, spec) in properties {
            let here = format!("{at}.{key}");
            match object.get(key) {
                None => {
                    if spec["required"] == true {
                        out.push(format!("{here}: required by {name} but absent"));
                    }
                }
                Some(Value::Null) => {
                    if spec["canBeNull"] != true {
                        out.push(format!("{here}: null, but {name}.{key} cannot be null"));
                    }
                }
                Some(v) => match self.property_type(name, key, spec) {
                    Some(t) => self.check_at(&t, v, &here, out),
                    None => out.push(format!(
                        "{here}: the schema gives {name}.{key} no type (add a TYPE_GAPS entry \
                         saying what it is, with the evidence)"
                    )),
                },
            }
        }
    }

    /// Checks `value` against a data-plane OpenAPI schema (a `{"$ref": ...}` or inline).
    pub fn check_openapi(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.openapi_at(schema, value, "$", &mut out);
        out
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> Result<(&'a Value, String), String> {
        match schema["$ref"].as_str() {
            None => Ok((schema, "inline schema".to_owned())),
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or(r);
                self.kms_schemas
                    .get(name)
                    .map(|s| (s, name.to_owned()))
                    .ok_or_else(|| format!("{KMS_FILE} does not define {r}"))
            }
        }
    }

    fn openapi_at(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        let (schema, name) = match self.resolve(schema) {
            Ok(s) => s,
            Err(e) => {
                out.push(format!("{at}: {e}, so {value} cannot be checked"));
                return;
            }
        };
        let ty = schema["type"].as_str().unwrap_or("object");
        match ty {
            "object" => {
                let Some(object) = value.as_object() else {
                    out.push(format!("{at}: expected an object ({name}), got {value}"));
                    return;
                };
                let properties = schema["properties"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                if schema["additionalProperties"] == false {
                    for key in object.keys() {
                        if !properties.contains_key(key) {
                            out.push(format!("{at}.{key}: not a field of {name}"));
                        }
                    }
                }
                for required in strings(&schema["required"]) {
                    if !object.contains_key(&required) {
                        out.push(format!("{at}.{required}: required by {name} but absent"));
                    }
                }
                for (key, v) in object {
                    if let Some(spec) = properties.get(key) {
                        self.openapi_at(spec, v, &format!("{at}.{key}"), out);
                    }
                }
            }
            "array" => match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.openapi_at(&schema["items"], item, &format!("{at}[{i}]"), out);
                    }
                }
                None => out.push(format!("{at}: expected an array, got {value}")),
            },
            "string" => match value.as_str() {
                Some(s) => {
                    if let Some(min) = schema["minLength"].as_u64()
                        && (s.chars().count() as u64) < min
                    {
                        out.push(format!("{at}: {value} is shorter than minLength {min}"));
                    }
                    if let Some(max) = schema["maxLength"].as_u64()
                        && (s.chars().count() as u64) > max
                    {
                        out.push(format!("{at}: longer than maxLength {max}"));
                    }
                }
                None => out.push(format!("{at}: expected a string, got {value}")),
            },
            "integer" => {
                let ok = match schema["format"].as_str() {
                    Some("int32") => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                    Some("uint32") => value.as_u64().is_some_and(|n| u32::try_from(n).is_ok()),
                    _ => value.is_i64() || value.is_u64(),
                };
                if !ok {
                    out.push(format!(
                        "{at}: expected an integer ({:?}), got {value}",
                        schema["format"]
                    ));
                }
            }
            "boolean" => {
                if !value.is_boolean() {
                    out.push(format!("{at}: expected a boolean, got {value}"));
                }
            }
            other => out.push(format!("{at}: unknown OpenAPI type {other:?}")),
        }
    }

    /// A value of `full_type` as the schema shapes it: every field present and non-null.
    /// `null_field` names one property (of any model on the way) to set to null, and
    /// `absent_field` one to leave out, so each nullable field can be tried on its own.
    pub fn example(&self, full_type: &str, tweak: &Tweak<'_>) -> Value {
        if let Some(inner) = full_type.strip_suffix("[]") {
            return json!([self.example(inner, tweak)]);
        }
        if let Some(inner) = full_type.strip_prefix("map[string]") {
            return json!({ "key": self.example(inner, tweak) });
        }
        match full_type {
            "string" | "password" => json!("example"),
            "text" => json!("-----BEGIN EXAMPLE-----\nAAAA\n-----END EXAMPLE-----\n"),
            "uuid" => json!("f18b5e0d-75b8-40a3-9b0e-71ffe5ff03cb"),
            "datetime" => json!("2024-04-04T12:26:28.856619+02:00"),
            "long" => json!(30),
            "double" => json!(1.5),
            "boolean" => json!(true),
            name => {
                let model = &self.models[name];
                if let Some(values) = model["enum"].as_array() {
                    return values[0].clone();
                }
                let mut object = Map::new();
                for (key, spec) in model["properties"].as_object().into_iter().flatten() {
                    let here = (name, key.as_str());
                    if tweak.absent == Some(here) {
                        continue;
                    }
                    if tweak.null == Some(here)
                        || (tweak.all_nullable_null && spec["canBeNull"] == true)
                    {
                        object.insert(key.clone(), Value::Null);
                        continue;
                    }
                    let ty = self
                        .property_type(name, key, spec)
                        .unwrap_or_else(|| panic!("{name}.{key} has no type"));
                    object.insert(key.clone(), self.example(&ty, tweak));
                }
                Value::Object(object)
            }
        }
    }

    /// Like [`Schema::example`] for a data-plane OpenAPI schema; an array of a schema the file
    /// does not define is left empty (nothing can be said about its items).
    pub fn openapi_example(&self, schema: &Value) -> Value {
        let Ok((schema, _)) = self.resolve(schema) else {
            return Value::Null;
        };
        match schema["type"].as_str().unwrap_or("object") {
            "object" => Value::Object(
                schema["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, s)| (k.clone(), self.openapi_example(s)))
                    .collect(),
            ),
            "array" => {
                let item = self.openapi_example(&schema["items"]);
                if item.is_null() {
                    json!([])
                } else {
                    json!([item])
                }
            }
            "string" => json!("example"),
            "integer" => json!(7),
            "boolean" => json!(true),
            _ => Value::Null,
        }
    }

    /// `(model, property)` pairs of a model (recursively through nested models) whose
    /// `canBeNull` is true.
    pub fn nullable_properties(&self, model: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let Some(properties) = self
            .models
            .get(model)
            .and_then(|m| m["properties"].as_object())
        else {
            return out;
        };
        for (key, spec) in properties {
            if spec["canBeNull"] == true {
                out.push((model.to_owned(), key.clone()));
            }
            if let Some(t) = self.property_type(model, key, spec) {
                let base = t.trim_end_matches("[]");
                if self
                    .models
                    .get(base)
                    .is_some_and(|m| m.get("properties").is_some())
                {
                    out.extend(self.nullable_properties(base));
                }
            }
        }
        out
    }
}

/// How [`Schema::example`] departs from "every field present and non-null".
#[derive(Debug, Default, Clone, Copy)]
pub struct Tweak<'a> {
    /// This `(model, property)` is null.
    pub null: Option<(&'a str, &'a str)>,
    /// This `(model, property)` is absent.
    pub absent: Option<(&'a str, &'a str)>,
    /// Every property with `canBeNull` is null.
    pub all_nullable_null: bool,
}
