//! The test binaries of one `cargo test --no-run --message-format=json` build: what cargo
//! would run, and how cargo would name each one (its `Running` line and its rerun hint), so
//! that running them ourselves reads, to `summary.rs` and to a person, as `cargo test` does.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One test executable cargo built, as `cargo test` would run it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestBinary {
    /// The executable.
    pub path: PathBuf,
    /// The package's name (`okms-cli`).
    pub package: String,
    /// The package's directory: cargo runs a test binary there.
    pub package_dir: PathBuf,
    /// What cargo's `Running` line names before the path: `tests/renew.rs`, or `unittests
    /// src/lib.rs` for the tests inside a library, binary or example.
    pub source: String,
    /// The cargo arguments selecting this target alone (`--test renew`, `--lib`).
    pub selection: String,
}

impl TestBinary {
    /// Cargo's line before a binary's output: `     Running tests/renew.rs
    /// (target/debug/deps/renew-0123abcd)`, the path relative to `root` when under it.
    pub fn running_line(&self, root: &Path) -> String {
        let shown = self.path.strip_prefix(root).unwrap_or(&self.path);
        format!("     Running {} ({})", self.source, shown.display())
    }

    /// Cargo's line after a binary that failed: how to run it again alone.
    pub fn failed_line(&self) -> String {
        format!(
            "error: test failed, to rerun pass `-p {} {}`",
            self.package, self.selection
        )
    }
}

/// The part of cargo's JSON messages read here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    package_id: String,
    #[serde(default)]
    manifest_path: PathBuf,
    target: Option<Target>,
    profile: Option<Profile>,
    executable: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Target {
    kind: Vec<String>,
    name: String,
    src_path: PathBuf,
}

#[derive(Deserialize)]
struct Profile {
    test: bool,
}

/// Reads one line of cargo's JSON output: the test binary it announces, if any. Only
/// artifacts built with the test profile are run by `cargo test` (a binary built for the
/// integration tests to call is not).
pub fn from_message(line: &str) -> Option<TestBinary> {
    let message: Message = serde_json::from_str(line).ok()?;
    if message.reason != "compiler-artifact" || !message.profile?.test {
        return None;
    }
    let path = message.executable?;
    let target = message.target?;
    let package_dir = message.manifest_path.parent()?.to_path_buf();
    let src = target
        .src_path
        .strip_prefix(&package_dir)
        .unwrap_or(&target.src_path)
        .display()
        .to_string();
    let kind = target.kind.first().map(String::as_str).unwrap_or("lib");
    let (source, selection) = match kind {
        "test" => (src, format!("--test {}", target.name)),
        "bench" => (src, format!("--bench {}", target.name)),
        "bin" => (format!("unittests {src}"), format!("--bin {}", target.name)),
        "example" => (
            format!("unittests {src}"),
            format!("--example {}", target.name),
        ),
        _ => (format!("unittests {src}"), "--lib".to_owned()),
    };
    Some(TestBinary {
        path,
        package: package_name(&message.package_id)?,
        package_dir,
        source,
        selection,
    })
}

/// The name in a package id (cargo's Package ID Specification): `SOURCE#NAME@VERSION`, or
/// `SOURCE#VERSION` when the name is the last segment of the source's path.
fn package_name(package_id: &str) -> Option<String> {
    let (source, fragment) = package_id.rsplit_once('#')?;
    match fragment.split_once('@') {
        Some((name, _version)) => Some(name.to_owned()),
        None => source
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn artifact(package_id: &str, kind: &str, name: &str, src: &str, test: bool) -> String {
        serde_json::json!({
            "reason": "compiler-artifact",
            "package_id": package_id,
            "manifest_path": "/w/crates/okms-cli/Cargo.toml",
            "target": {"kind": [kind], "name": name, "src_path": format!("/w/crates/okms-cli/{src}")},
            "profile": {"test": test},
            "executable": format!("/w/target/debug/deps/{name}-0123abcd"),
        })
        .to_string()
    }

    #[test]
    fn an_integration_test_reads_as_cargo_names_it() {
        let line = artifact(
            "path+file:///w/crates/okms-cli#0.1.0",
            "test",
            "renew",
            "tests/renew.rs",
            true,
        );
        let binary = from_message(&line).unwrap();
        assert_eq!(binary.package, "okms-cli");
        assert_eq!(binary.package_dir, Path::new("/w/crates/okms-cli"));
        assert_eq!(
            binary.running_line(Path::new("/w")),
            "     Running tests/renew.rs (target/debug/deps/renew-0123abcd)"
        );
        assert_eq!(
            binary.failed_line(),
            "error: test failed, to rerun pass `-p okms-cli --test renew`"
        );
    }

    #[test]
    fn unit_tests_are_named_unittests_and_selected_by_kind() {
        let id = "path+file:///w/tests#okms-e2e-tests@0.1.0";
        let lib = from_message(&artifact(id, "lib", "okms_e2e_tests", "src/lib.rs", true)).unwrap();
        assert_eq!(lib.package, "okms-e2e-tests");
        assert_eq!(lib.source, "unittests src/lib.rs");
        assert_eq!(lib.selection, "--lib");
        let example = from_message(&artifact(id, "example", "ex", "examples/ex.rs", true)).unwrap();
        assert_eq!(example.source, "unittests examples/ex.rs");
        assert_eq!(example.selection, "--example ex");
        let bench = from_message(&artifact(id, "bench", "keygen", "benches/keygen.rs", true));
        assert_eq!(bench.unwrap().source, "benches/keygen.rs");
    }

    #[test]
    fn binaries_built_to_be_called_and_other_messages_are_not_tests() {
        let id = "path+file:///w/crates/okms-cli#0.1.0";
        assert_eq!(
            from_message(&artifact(id, "bin", "okms-cli", "src/main.rs", false)),
            None
        );
        assert_eq!(
            from_message(r#"{"reason":"build-finished","success":true}"#),
            None
        );
        assert_eq!(from_message("not json"), None);
    }
}
