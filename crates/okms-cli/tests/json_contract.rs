//! The `--json` contract: every command's JSON output is validated against its published JSON
//! Schema in `docs/json/` (see `docs/json/README.md`).
//!
//! Scripts parse these outputs, so a field renamed or removed must fail here, not in a user's
//! pipeline. Four guards:
//! - every leaf command of `okms-cli --help` (`--json` is a global flag) has a row in
//!   [`CONTRACT`], and every schema file is named by a row: a new command without a schema, or
//!   a schema nobody checks, fails `every_command_has_a_schema_and_every_schema_a_command`;
//! - each test runs the commands of its kind (offline, on a SoftHSM2 token, against the
//!   emulator) and asserts at the end that it validated every row of that kind;
//! - the schemas are strict (`additionalProperties: false`, the always-present fields
//!   `required`), so a renamed or dropped field is an invalid document;
//! - [`Contract::check`] also adds an unknown field to each object of the real output, one at
//!   a time, and requires the schema to refuse the result: that proves the strictness on the
//!   outputs themselves, object by object (a renamed required field is then missing, a renamed
//!   optional one unknown: both fail).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{Sandbox, okms};
use online_common::{AuthMode, cli, emulator, json_ok};
use serde_json::Value;

/// Where a command's output can be produced in a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Offline: files only.
    Offline,
    /// A key on a PKCS#11 token (SoftHSM2).
    Token,
    /// The OVHcloud API and a KMS domain (the emulator).
    Online,
}

/// Every leaf command, the schema of its `--json` output, and where the tests produce it.
/// `iam grant --dry-run` prints another document than `iam grant`, so it has its own row, and
/// so does `credential check --kmip`.
const CONTRACT: &[(&str, &str, Kind)] = &[
    ("key new", "key-new.schema.json", Kind::Offline),
    ("key show", "key-show.schema.json", Kind::Offline),
    ("key pub", "key-pub.schema.json", Kind::Offline),
    ("key list", "key-list.schema.json", Kind::Token),
    ("csr new", "csr-new.schema.json", Kind::Offline),
    ("csr show", "csr-show.schema.json", Kind::Offline),
    ("csr verify", "csr-verify.schema.json", Kind::Offline),
    ("cert show", "cert-show.schema.json", Kind::Offline),
    ("cert export", "cert-export.schema.json", Kind::Offline),
    ("pem escape", "pem-escape.schema.json", Kind::Offline),
    ("pem unescape", "pem-unescape.schema.json", Kind::Offline),
    ("request new", "request-new.schema.json", Kind::Offline),
    ("request show", "request-show.schema.json", Kind::Offline),
    ("whoami", "whoami.schema.json", Kind::Online),
    ("domain list", "domain-list.schema.json", Kind::Online),
    ("domain show", "domain-show.schema.json", Kind::Online),
    ("domain ca", "domain-ca.schema.json", Kind::Online),
    (
        "credential create",
        "credential-create.schema.json",
        Kind::Online,
    ),
    ("credential get", "credential-get.schema.json", Kind::Online),
    (
        "credential list",
        "credential-list.schema.json",
        Kind::Online,
    ),
    (
        "credential delete",
        "credential-delete.schema.json",
        Kind::Online,
    ),
    (
        "credential wait",
        "credential-wait.schema.json",
        Kind::Online,
    ),
    (
        "credential check",
        "credential-check.schema.json",
        Kind::Online,
    ),
    (
        "credential check --kmip",
        "credential-check-kmip.schema.json",
        Kind::Online,
    ),
    (
        "credential report",
        "credential-report.schema.json",
        Kind::Online,
    ),
    (
        "credential renew",
        "credential-renew.schema.json",
        Kind::Online,
    ),
    ("iam identities", "iam-identities.schema.json", Kind::Online),
    ("iam grant", "iam-grant.schema.json", Kind::Online),
    (
        "iam grant --dry-run",
        "iam-grant-dry-run.schema.json",
        Kind::Online,
    ),
    ("iam list", "iam-list.schema.json", Kind::Online),
    ("iam revoke", "iam-revoke.schema.json", Kind::Online),
];

/// The schemas' shared definitions, referred to by relative `$ref`; no command prints it.
const DEFS: &str = "defs.schema.json";

/// Objects whose keys are the API's free-form data (kept verbatim), not part of the contract.
const FREE_FORM: &[&str] = &[
    "tags",
    "resource",
    "group",
    "conditions",
    "permissionsGroups",
];

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/json")
}

/// The published schemas, compiled, and which rows a test has validated so far.
struct Contract {
    validators: BTreeMap<String, jsonschema::Validator>,
    checked: BTreeSet<&'static str>,
}

impl Contract {
    /// Every schema file of `docs/json/`, compiled offline (a `$ref` outside the directory
    /// fails here instead of being fetched), with formats (uuid, date-time, uri) asserted.
    fn load() -> Contract {
        let mut docs: BTreeMap<String, Value> = BTreeMap::new();
        for entry in std::fs::read_dir(schema_dir()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if !name.ends_with(".schema.json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let doc: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
            let id = doc["$id"].as_str().unwrap_or_default();
            assert!(
                id.ends_with(&format!("/docs/json/{name}")),
                "{name}: $id {id:?} must end with /docs/json/{name}, so that relative $refs resolve"
            );
            docs.insert(name, doc);
        }
        let defs = docs
            .get(DEFS)
            .unwrap_or_else(|| panic!("{DEFS} is missing"));
        let registry = jsonschema::Registry::new()
            .add(defs["$id"].as_str().unwrap(), defs.clone())
            .unwrap()
            .prepare()
            .unwrap();
        let validators = docs
            .iter()
            .filter(|(name, _)| name.as_str() != DEFS)
            .map(|(name, doc)| {
                assert_eq!(
                    doc["$schema"], "https://json-schema.org/draft/2020-12/schema",
                    "{name}: draft 2020-12"
                );
                let v = jsonschema::options()
                    .offline()
                    .should_validate_formats(true)
                    .with_registry(&registry)
                    .build(doc)
                    .unwrap_or_else(|e| panic!("{name} does not compile: {e}"));
                (name.clone(), v)
            })
            .collect();
        Contract {
            validators,
            checked: BTreeSet::new(),
        }
    }

    /// Validates `stdout` of `command` against its schema, then requires an unknown field in
    /// any of its objects to be refused. Returns the parsed output.
    fn check(&mut self, command: &'static str, stdout: &[u8]) -> Value {
        let value: Value = serde_json::from_slice(stdout).unwrap_or_else(|e| {
            panic!(
                "{command}: stdout is not one JSON document ({e}):\n{}",
                String::from_utf8_lossy(stdout)
            )
        });
        self.check_value(command, value)
    }

    fn check_value(&mut self, command: &'static str, value: Value) -> Value {
        let (_, file, _) = CONTRACT
            .iter()
            .find(|(c, _, _)| *c == command)
            .unwrap_or_else(|| panic!("{command:?} has no row in CONTRACT"));
        let validator = &self.validators[*file];
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("  at {}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{command}: the output does not match docs/json/{file}:\n{}\noutput:\n{value:#}",
            errors.join("\n")
        );
        let mut objects = Vec::new();
        object_paths(&value, &mut Vec::new(), &mut objects);
        for path in &objects {
            let widened = with_unknown_field_at(&value, path);
            assert!(
                !validator.is_valid(&widened),
                "{command}: docs/json/{file} accepts the output with an unknown field in the \
                 object at `/{}`: the schema is not strict there (additionalProperties: false \
                 is missing), so a renamed optional field would pass",
                path.join("/")
            );
        }
        self.checked.insert(command);
        value
    }

    /// Runs `c`, requires success, and checks its stdout as `command`'s output.
    fn run(&mut self, command: &'static str, c: &mut Command) -> Value {
        let value = json_ok(c);
        self.check_value(command, value)
    }

    /// Runs `c`, requires it to fail with exactly one JSON document on stdout (a failed run
    /// reports too), and checks it as `command`'s output.
    fn run_failing(&mut self, command: &'static str, c: &mut Command) -> Value {
        let out = c.output().unwrap();
        assert!(
            !out.status.success(),
            "{command} succeeded: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.stdout.is_empty(),
            "{command}: a failed run printed nothing on stdout: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = self.check(command, &out.stdout);
        assert_eq!(
            v["exit"],
            out.status.code().unwrap(),
            "the report names the exit code"
        );
        v
    }

    /// Every row of `kind` was validated by this test.
    fn assert_covered(&self, kind: Kind) {
        let missing: Vec<&str> = CONTRACT
            .iter()
            .filter(|(c, _, k)| *k == kind && !self.checked.contains(c))
            .map(|(c, _, _)| *c)
            .collect();
        assert!(
            missing.is_empty(),
            "{kind:?} outputs never validated: {missing:?}"
        );
    }
}

/// The credential id in a certificate file.
fn cert_id(s: &Sandbox, path: &str) -> String {
    let v = json_ok(s.cmd().args(["--json", "cert", "show", path]));
    v["credential_id"].as_str().unwrap().to_owned()
}

/// The path (object keys; array positions as numbers) of every object in `v`, outside the
/// API's free-form objects.
fn object_paths(v: &Value, at: &mut Vec<String>, into: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(map) => {
            into.push(at.clone());
            for (k, child) in map {
                if FREE_FORM.contains(&k.as_str()) {
                    continue;
                }
                at.push(k.clone());
                object_paths(child, at, into);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(i.to_string());
                object_paths(child, at, into);
                at.pop();
            }
        }
        _ => {}
    }
}

/// `v` with a field no schema names added to the object at `path`.
fn with_unknown_field_at(v: &Value, path: &[String]) -> Value {
    let mut copy = v.clone();
    let mut node = &mut copy;
    for p in path {
        node = match node {
            Value::Array(items) => &mut items[p.parse::<usize>().unwrap()],
            other => &mut other[p.as_str()],
        };
    }
    node.as_object_mut()
        .unwrap()
        .insert("field_no_schema_names".to_owned(), Value::Bool(true));
    copy
}

/// The subcommands `okms-cli PATH --help` lists (none for a leaf), without `help`.
fn subcommands(path: &[String]) -> Vec<String> {
    let out = okms().args(path).arg("--help").output().unwrap();
    assert!(out.status.success(), "okms-cli {path:?} --help failed");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut names = Vec::new();
    let mut in_commands = false;
    for line in text.lines() {
        if line == "Commands:" {
            in_commands = true;
        } else if in_commands && line.trim().is_empty() {
            break;
        } else if in_commands && line.starts_with("  ") && !line.starts_with("   ") {
            let name = line.split_whitespace().next().unwrap_or_default();
            if name != "help" {
                names.push(name.to_owned());
            }
        }
    }
    names
}

fn leaf_commands(path: &mut Vec<String>, into: &mut Vec<String>) {
    let subs = subcommands(path);
    if subs.is_empty() {
        into.push(path.join(" "));
    }
    for s in subs {
        path.push(s);
        leaf_commands(path, into);
        path.pop();
    }
}

#[test]
fn every_command_has_a_schema_and_every_schema_a_command() {
    let mut leaves = Vec::new();
    leaf_commands(&mut Vec::new(), &mut leaves);
    assert!(leaves.len() > 20, "the help walk found too few: {leaves:?}");
    let rows: BTreeSet<&str> = CONTRACT
        .iter()
        .map(|(c, _, _)| c.trim_end_matches(" --dry-run").trim_end_matches(" --kmip"))
        .collect();
    let no_schema: Vec<&String> = leaves
        .iter()
        .filter(|l| !rows.contains(l.as_str()))
        .collect();
    assert!(
        no_schema.is_empty(),
        "commands without a --json schema in docs/json/ and a row in CONTRACT: {no_schema:?}"
    );
    let gone: Vec<&&str> = rows
        .iter()
        .filter(|r| !leaves.iter().any(|l| l == *r))
        .collect();
    assert!(
        gone.is_empty(),
        "rows for commands that no longer exist: {gone:?}"
    );

    let contract = Contract::load();
    let named: BTreeSet<&str> = CONTRACT.iter().map(|(_, f, _)| *f).collect();
    let files: BTreeSet<&str> = contract.validators.keys().map(String::as_str).collect();
    assert_eq!(
        files, named,
        "every schema file in docs/json/ (but {DEFS}) is named by exactly the CONTRACT rows"
    );
}

#[test]
fn offline_outputs_match_their_schemas() {
    let mut k = Contract::load();
    let s = Sandbox::new();
    let json = |args: &[&str]| {
        let mut c = s.cmd();
        c.arg("--json").args(args);
        c
    };
    k.run("key new", &mut json(&["key", "new", "--out", "k.pem"]));
    k.run(
        "key new",
        json(&["key", "new", "--algorithm", "ecdsa-p384", "--out", "e.pem"])
            .args(["--encrypt", "--passphrase-env", "OKMS_TEST_PASS"])
            .env("OKMS_TEST_PASS", "correct horse"),
    );
    k.run("key show", &mut json(&["key", "show", "k.pem"]));
    k.run(
        "key show",
        json(&["key", "show", "e.pem", "--passphrase-env", "OKMS_TEST_PASS"])
            .env("OKMS_TEST_PASS", "correct horse"),
    );
    k.run("key pub", &mut json(&["key", "pub", "k.pem"]));

    // A new key, then an existing one: the two forms of `key`.
    let v = k.run(
        "csr new",
        json(&["csr", "new", "--key-out", "n.pem", "--cn", "app1"]).args([
            "--san",
            "dns:app1.example.com",
            "--out",
            "n.csr",
        ]),
    );
    assert_eq!(v["key"]["path"], "n.pem");
    let v = k.run(
        "csr new",
        json(&[
            "csr",
            "new",
            "--key",
            "k.pem",
            "--subject",
            "CN=app2,O=Example,C=FR",
        ])
        .args(["--out", "k.csr"]),
    );
    assert_eq!(v["key"]["created"], false);
    k.run("csr show", &mut json(&["csr", "show", "n.csr"]));
    k.run("csr verify", &mut json(&["csr", "verify", "n.csr"]));
    k.run(
        "csr verify",
        &mut json(&["csr", "verify", "n.csr", "--key", "n.pem"]),
    );
    // A failed check still prints its report (and exits 4).
    let out = json(&["csr", "verify", "n.csr", "--key", "k.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let v = k.check("csr verify", &out.stdout);
    assert_eq!(v["key_matches"], false);

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for f in ["client.cert", "client.key"] {
        std::fs::copy(fixtures.join(f), s.path(f)).unwrap();
    }
    k.run("cert show", &mut json(&["cert", "show", "client.cert"]));
    let v = k.run(
        "cert show",
        &mut json(&["cert", "show", "client.cert", "--key", "client.key"]),
    );
    assert_eq!(v["key_matches"], true);
    let v = k.run(
        "cert export",
        json(&[
            "cert",
            "export",
            "--cert",
            "client.cert",
            "--key",
            "client.key",
        ])
        .args(["--p12", "client.p12", "--no-passphrase"]),
    );
    assert_eq!(v["chain_certificates"], 0);

    k.run("pem escape", &mut json(&["pem", "escape", "n.csr"]));
    k.run(
        "pem escape",
        &mut json(&["pem", "escape", "n.csr", "--out", "n.escaped"]),
    );
    k.run("pem unescape", &mut json(&["pem", "unescape", "n.escaped"]));
    k.run(
        "pem unescape",
        &mut json(&["pem", "unescape", "n.escaped", "--out", "back.csr"]),
    );

    k.run(
        "request new",
        json(&["request", "new", "--csr", "n.csr", "--name", "app1"])
            .args([
                "--root",
                "--user",
                "alice",
                "--nic",
                "xx1111-ovh",
                "--region",
                "eu",
            ])
            .args(["--description", "a test", "--validity", "30"])
            .args(["--out", "request.json"]),
    );
    k.run(
        "request new",
        json(&["request", "new", "--csr", "k.csr", "--name", "app2"])
            .args(["--identity", "urn:v1:eu:identity:group:xx1111-ovh/ops"])
            .args(["--out", "request2.json"]),
    );
    k.run(
        "request show",
        &mut json(&["request", "show", "request.json"]),
    );
    k.assert_covered(Kind::Offline);
}

#[test]
fn token_outputs_match_their_schemas() {
    let Some(module) = okms_test_support::softhsm_module(
        okms_pkcs11::SOFTHSM2_HINT_PATHS,
        "the --json contract tests of token keys",
    ) else {
        return;
    };
    let mut k = Contract::load();
    let s = Sandbox::new();
    let conf = okms_test_support::init_token_dir(&s.path("hsm"));
    s.write("pin.txt", format!("{}\n", okms_test_support::PIN));
    let token = format!("pkcs11:token={}", okms_test_support::TOKEN);
    let object = format!("{token};object=okms-json");
    let json = |args: &[&str]| {
        let mut c = s.cmd();
        c.env("SOFTHSM2_CONF", &conf)
            .env_remove("OKMS_PKCS11_MODULE")
            .arg("--json")
            .args(args)
            .args(["--pkcs11-module", module.to_str().unwrap()])
            .args(["--pin-file", "pin.txt"]);
        c
    };
    let v = k.run(
        "key new",
        &mut json(&["key", "new", "--pkcs11", &object, "--out", "token.pub"]),
    );
    assert_eq!(v["public_key_path"], "token.pub");
    let rsa = format!("{token};object=okms-json-rsa");
    k.run(
        "key new",
        &mut json(&["key", "new", "--algorithm", "rsa-2048", "--pkcs11", &rsa]),
    );
    k.run("key list", &mut json(&["key", "list", "--pkcs11", &token]));
    k.run("key show", &mut json(&["key", "show", &object]));
    k.run("key pub", &mut json(&["key", "pub", &object]));
    k.run(
        "csr new",
        &mut json(&[
            "csr", "new", "--key", &object, "--cn", "on-token", "--out", "t.csr",
        ]),
    );
    k.assert_covered(Kind::Token);
}

#[test]
fn online_outputs_match_their_schemas() {
    let emu = emulator();
    let mut k = Contract::load();
    let s = Sandbox::new();
    let okms_id = emu.okms_id().to_string();
    let json = |args: &[&str]| {
        let mut c = cli(&s, &emu, AuthMode::Signature);
        c.arg("--json").args(args);
        c
    };
    k.run("whoami", &mut json(&["whoami"]));
    k.run("domain list", &mut json(&["domain", "list"]));
    k.run("domain show", &mut json(&["domain", "show", &okms_id]));
    k.run("domain ca", &mut json(&["domain", "ca"]));

    // A CSR, a key OVHcloud generates, and --no-wait.
    s.key_and_csr("svc.key", "svc.csr", "ecdsa-p256");
    let created = k.run(
        "credential create",
        json(&["credential", "create", "--csr", "svc.csr", "--name", "svc"])
            .args([
                "--root",
                "--description",
                "json contract",
                "--validity",
                "30",
            ])
            .args(["--cert-out", "svc.cert"]),
    );
    let id = created["credential"]["id"].as_str().unwrap().to_owned();
    let v = k.run(
        "credential create",
        json(&["credential", "create", "--name", "generated", "--root"]).args([
            "--key-out",
            "gen.key",
            "--cert-out",
            "gen.cert",
        ]),
    );
    assert_eq!(v["key_out"], "gen.key");
    let v = k.run(
        "credential create",
        json(&[
            "credential",
            "create",
            "--name",
            "later",
            "--root",
            "--no-wait",
        ])
        .args(["--certificate-type", "rsa", "--key-out", "later.key"]),
    );
    let later = v["credential"]["id"].as_str().unwrap().to_owned();
    assert!(v["cert_out"].is_null());

    k.run(
        "credential wait",
        &mut json(&["credential", "wait", &later, "--cert-out", "later.cert"]),
    );
    k.run("credential get", &mut json(&["credential", "get", &id]));
    k.run(
        "credential get",
        &mut json(&["credential", "get", &id, "--cert-out", "again.cert"]),
    );
    k.run("credential list", &mut json(&["credential", "list"]));
    k.run(
        "credential check",
        json(&["credential", "check"]).args(["--cert", "svc.cert", "--key", "svc.key"]),
    );
    k.run(
        "credential check --kmip",
        json(&["credential", "check", "--kmip"]).args(["--cert", "svc.cert", "--key", "svc.key"]),
    );
    k.run("credential report", &mut json(&["credential", "report"]));
    k.run(
        "credential report",
        &mut json(&["credential", "report", "--cert", "svc.cert", "gen.cert"]),
    );

    // Not due, then forced: the two forms of the renewal report.
    let pair = ["--cert", "svc.cert", "--key", "svc.key"];
    let v = k.run(
        "credential renew",
        json(&["credential", "renew"]).args(pair),
    );
    assert_eq!(v["renewed"], false);
    let v = k.run(
        "credential renew",
        json(&["credential", "renew", "--force"]).args(pair),
    );
    assert_eq!(v["renewed"], true);
    assert_eq!(v["deployed"], "new");
    assert_eq!(v["live"], serde_json::json!([v["new_id"]]));

    // Failed runs report too (issue 19, item 4): before the create, nothing changed...
    let create = format!("POST:/v2/okms/resource/{okms_id}/credential");
    emu.set_faults(vec![
        okms_emulator::FaultSpec::new(okms_emulator::FaultKind::Status(500))
            .route(&create)
            .unwrap(),
    ]);
    let v = k.run_failing(
        "credential renew",
        json(&["credential", "renew", "--force"]).args(pair),
    );
    emu.set_faults(vec![]);
    let current = cert_id(&s, "svc.cert");
    assert_eq!(
        (&v["deployed"], &v["new_id"]),
        (&"old".into(), &Value::Null)
    );
    assert_eq!(v["live"], serde_json::json!([current]));
    // ...and after the swap, with a failed hook, both are live and the command revokes the old.
    let v = k.run_failing(
        "credential renew",
        json(&["credential", "renew", "--force"])
            .args(pair)
            .args(["--exec", "/bin/false"]),
    );
    assert_eq!(v["exit"], 9);
    assert_eq!(v["deployed"], "new");
    let new_id = v["new_id"].as_str().unwrap().to_owned();
    assert_eq!(v["live"], serde_json::json!([current, new_id]));
    let command = v["command"].as_str().unwrap().to_owned();
    let args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(args[0], "okms-cli", "{command}");
    let out = cli(&s, &emu, AuthMode::Signature)
        .env_remove("OKMS_ID")
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    k.run(
        "credential delete",
        &mut json(&["credential", "delete", &later, "--yes"]),
    );

    k.run("iam identities", &mut json(&["iam", "identities"]));
    let grant = ["iam", "grant", "--user", "alice", "--preset", "kms-read"];
    k.run("iam grant --dry-run", json(&grant).arg("--dry-run"));
    k.run(
        "iam grant --dry-run",
        json(&grant).args(["--format", "json", "--expires-at", "2999-12-31T23:59:59Z"]),
    );
    let v = k.run("iam grant", &mut json(&grant));
    assert_eq!(v["outcome"], "created");
    let policy = v["policy"]["id"].as_str().unwrap().to_owned();
    let v = k.run("iam grant", &mut json(&grant));
    assert_eq!(v["outcome"], "unchanged");
    k.run("iam list", &mut json(&["iam", "list"]));
    k.run(
        "iam list",
        &mut json(&[
            "iam",
            "list",
            "--identity",
            "urn:v1:eu:identity:user:xx1111-ovh/alice",
        ]),
    );
    k.run(
        "iam revoke",
        &mut json(&["iam", "revoke", &policy, "--yes"]),
    );
    k.assert_covered(Kind::Online);
}
