//! What is inside each binary: the dependency list that `cargo auditable` embeds (the
//! `.dep-v0` section, which `cargo audit bin`, syft and trivy read), read back with
//! `auditable-info` (the format's reference reader), and a CycloneDX JSON SBOM per archive.
//!
//! The SBOM lists the packages cargo reported compiling for the binary's target in that very
//! build (its `compiler-artifact` messages), less build scripts and proc-macros, which run at
//! build time and are not in the binary. The embedded list cannot be the SBOM's source:
//! cargo-auditable takes it from `cargo metadata`, whose features are unified across targets and
//! dev-dependencies, so it names a few packages more (optional dependencies that other parts
//! of the workspace enable, some proc-macros). The checks require the embedded list to cover the
//! SBOM and the SBOM to equal what `cargo tree` resolves.
//!
//! The SBOM is written here rather than by `cargo-cyclonedx` (which lists what `cargo metadata`
//! resolves, build dependencies and other targets' crates included, and costs a second tool
//! install in CI) or `auditable-cyclonedx` (which pulls in the whole `cyclonedx-bom` model for
//! a few dozen lines of JSON).

use std::collections::BTreeSet;
use std::fs;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use auditable_info::{Limits, audit_info_from_file};
use auditable_serde::{DependencyKind, Package, Source, VersionInfo};
use serde_json::{Value, json};

use super::Release;
use crate::util::{cargo, output_of, workspace_root};

/// Packages by name and version.
pub type Packages = BTreeSet<(String, String)>;

/// The packages whose code cargo compiled for the target whose output directory is
/// `target_dir`, from the JSON messages of `cargo build --message-format=json` (fresh units
/// are reported too). Build scripts and proc-macros are left out.
pub fn compiled_for(messages: impl BufRead, target_dir: &Path) -> Result<Packages> {
    let mut packages = Packages::new();
    for line in messages.lines() {
        let line = line.context("could not read cargo's messages")?;
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let kinds = message["target"]["kind"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if kinds
            .iter()
            .any(|k| k == "custom-build" || k == "proc-macro")
        {
            continue;
        }
        let for_target = message["filenames"].as_array().is_some_and(|files| {
            files
                .iter()
                .filter_map(Value::as_str)
                .all(|f| Path::new(f).starts_with(target_dir))
        });
        if !for_target {
            continue;
        }
        let id = message["package_id"].as_str().unwrap_or_default();
        packages.insert(
            name_version(id).with_context(|| format!("cargo reported a package id {id:?}"))?,
        );
    }
    Ok(packages)
}

/// Name and version from a cargo package id: `registry+URL#name@1.0.0`,
/// `path+file:///dir/name#1.0.0` (the name is the directory's), or the older
/// `name 1.0.0 (source)`.
fn name_version(id: &str) -> Option<(String, String)> {
    if let Some((source, fragment)) = id.rsplit_once('#') {
        return Some(match fragment.split_once('@') {
            Some((name, version)) => (name.to_owned(), version.to_owned()),
            None => (source.rsplit('/').next()?.to_owned(), fragment.to_owned()),
        });
    }
    let mut words = id.split_whitespace();
    Some((words.next()?.to_owned(), words.next()?.to_owned()))
}

/// The packages compiled into `binary`, read from its embedded `cargo auditable` data.
pub fn read(binary: &Path) -> Result<VersionInfo> {
    audit_info_from_file(binary, Limits::default()).with_context(|| {
        format!(
            "{} carries no readable cargo-auditable dependency list",
            binary.display()
        )
    })
}

/// Only what runs: build scripts and proc-macros shape the binary but are not in it.
fn runtime(info: &VersionInfo) -> impl Iterator<Item = (usize, &Package)> {
    info.packages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind == DependencyKind::Runtime)
}

fn reference(package: &Package) -> String {
    format!("{}@{}", package.name, package.version)
}

/// The packages of several binaries' embedded lists, each once (by name and version), with
/// their dependencies as names and versions. The first binary's root package is the first.
fn read_all(binaries: &[PathBuf]) -> Result<Vec<(Package, Packages)>> {
    let mut merged: Vec<(Package, Packages)> = Vec::new();
    for binary in binaries {
        let info = read(binary)?;
        ensure!(
            info.packages.iter().any(|p| p.root),
            "{}'s dependency list has no root package",
            binary.display()
        );
        // Roots first, so that the first binary's root leads.
        let mut ordered: Vec<&Package> = info.packages.iter().filter(|p| p.root).collect();
        ordered.extend(info.packages.iter().filter(|p| !p.root));
        for package in ordered {
            let key = (package.name.clone(), package.version.to_string());
            let dependencies: Packages = package
                .dependencies
                .iter()
                .filter_map(|&i| info.packages.get(i))
                .map(|d| (d.name.clone(), d.version.to_string()))
                .collect();
            match merged
                .iter_mut()
                .find(|(p, _)| (p.name.clone(), p.version.to_string()) == key)
            {
                Some((_, known)) => known.extend(dependencies),
                None => merged.push((package.clone(), dependencies)),
            }
        }
    }
    Ok(merged)
}

/// Writes `ARCHIVE.cdx.json` beside `archive`, describing `binaries` built for `target` (one
/// build): the first binary's package is the SBOM's subject, the others' are components.
pub fn write_sbom(
    archive: &Path,
    binaries: &[PathBuf],
    compiled: &Packages,
    target: &str,
    release: &Release,
) -> Result<PathBuf> {
    let packages = read_all(binaries)?;
    let (root, _) = packages
        .first()
        .context("an SBOM needs at least one binary")?;
    let component = |package: &Package, kind: &str| {
        let mut c = json!({
            "type": kind,
            "bom-ref": reference(package),
            "name": package.name,
            "version": package.version.to_string(),
            "scope": "required",
        });
        if package.source == Source::CratesIo {
            c["purl"] = json!(format!("pkg:cargo/{}@{}", package.name, package.version));
        }
        c
    };
    let in_binary = |p: &Package| compiled.contains(&(p.name.clone(), p.version.to_string()));
    let components: Vec<Value> = packages
        .iter()
        .skip(1)
        .filter(|(p, _)| in_binary(p))
        .map(|(p, _)| component(p, if p.root { "application" } else { "library" }))
        .collect();
    let dependencies: Vec<Value> = packages
        .iter()
        .filter(|(p, _)| in_binary(p))
        .map(|(p, depends)| {
            let depends_on: Vec<String> = depends
                .iter()
                .filter(|d| compiled.contains(d))
                .map(|(name, version)| format!("{name}@{version}"))
                .collect();
            json!({ "ref": reference(p), "dependsOn": depends_on })
        })
        .collect();
    let mut metadata_component = component(root, "application");
    metadata_component["properties"] = json!([
        { "name": "okms-rs:target", "value": target },
        { "name": "okms-rs:commit", "value": release.commit },
    ]);
    let sbom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "tools": { "components": [
                { "type": "application", "name": "cargo-auditable" },
                { "type": "application", "name": "okms-rs xtask dist" },
            ] },
            "component": metadata_component,
        },
        "components": components,
        "dependencies": dependencies,
    });
    let name = format!("{}.cdx.json", super::file_name(archive)?);
    let path = archive.with_file_name(name);
    let text = serde_json::to_string_pretty(&sbom)? + "\n";
    fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))?;
    eprintln!(
        "wrote {} ({} packages)",
        path.display(),
        components.len() + 1
    );
    Ok(path)
}

/// The embedded lists read back, and the SBOM's packages (name and version) are exactly those
/// that `cargo tree` resolves for `packages` (built together) on `target` through normal
/// dependencies (less the proc-macros, which run in the compiler and are not in a binary).
pub fn check(binaries: &[PathBuf], sbom: &Path, packages: &[&str], target: &str) -> Result<()> {
    let mut embedded: BTreeSet<(String, String)> = BTreeSet::new();
    for binary in binaries {
        let info = read(binary)?;
        embedded.extend(runtime(&info).map(|(_, p)| (p.name.clone(), p.version.to_string())));
    }
    let text =
        fs::read_to_string(sbom).with_context(|| format!("could not read {}", sbom.display()))?;
    let document: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", sbom.display()))?;
    let name_version = |c: &Value| -> Option<(String, String)> {
        Some((
            c["name"].as_str()?.to_owned(),
            c["version"].as_str()?.to_owned(),
        ))
    };
    let mut listed: BTreeSet<(String, String)> = document["components"]
        .as_array()
        .context("the SBOM has no components")?
        .iter()
        .filter_map(name_version)
        .collect();
    listed.extend(name_version(&document["metadata"]["component"]));
    let tree = output_of(
        cargo()
            .current_dir(workspace_root())
            .args([
                "tree",
                "--locked",
                "-e",
                "normal,no-proc-macro",
                "--prefix",
                "none",
            ])
            .args(["--format", "{p}", "--target", target])
            .args(packages.iter().flat_map(|p| ["-p", p])),
    )?;
    let resolved: BTreeSet<(String, String)> = tree
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let version = words.next()?.strip_prefix('v')?;
            Some((name.to_owned(), version.to_owned()))
        })
        .collect();
    let sbom_name = super::file_name(sbom)?;
    ensure!(
        listed.is_subset(&embedded),
        "{sbom_name} lists packages that the binaries' embedded lists lack: {:?}",
        listed.difference(&embedded).collect::<Vec<_>>()
    );
    ensure!(
        listed == resolved,
        "{sbom_name} differs from cargo tree -e normal --target {target} -p {}: only in the SBOM {:?}, only in cargo tree {:?}",
        packages.join(" -p "),
        listed.difference(&resolved).collect::<Vec<_>>(),
        resolved.difference(&listed).collect::<Vec<_>>()
    );
    eprintln!(
        "checked {sbom_name}: {} packages, as cargo tree resolves them, all in the lists embedded in {} ({} packages)",
        listed.len(),
        packages.join(" and "),
        embedded.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn artefact(id: &str, kind: &str, file: &str) -> String {
        json!({
            "reason": "compiler-artifact",
            "package_id": id,
            "target": { "kind": [kind] },
            "filenames": [file],
        })
        .to_string()
    }

    #[test]
    fn only_the_libraries_and_binaries_compiled_for_the_target_are_counted() {
        let dir = "/t/x86_64-unknown-linux-musl";
        let messages = [
            artefact(
                "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.1",
                "lib",
                "/t/x86_64-unknown-linux-musl/release/deps/libserde.rlib",
            ),
            artefact(
                "path+file:///w/crates/okms-cli#0.1.0",
                "bin",
                "/t/x86_64-unknown-linux-musl/release/okms-cli",
            ),
            // Compiled for the host, to run in the compiler or before it: not in the binary.
            artefact(
                "registry+https://github.com/rust-lang/crates.io-index#syn@2.0.0",
                "lib",
                "/t/release/deps/libsyn.rlib",
            ),
            artefact(
                "registry+https://github.com/rust-lang/crates.io-index#serde_derive@1.0.1",
                "proc-macro",
                "/t/x86_64-unknown-linux-musl/release/deps/libserde_derive.so",
            ),
            artefact(
                "registry+https://github.com/rust-lang/crates.io-index#ring@0.17.0",
                "custom-build",
                "/t/x86_64-unknown-linux-musl/release/build/ring/build-script-build",
            ),
            "{\"reason\":\"build-finished\",\"success\":true}".to_owned(),
            "not json".to_owned(),
        ]
        .join("\n");
        let packages = compiled_for(messages.as_bytes(), Path::new(dir)).unwrap();
        let expected: Packages = [("okms-cli", "0.1.0"), ("serde", "1.0.1")]
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(packages, expected);
    }

    #[test]
    fn package_ids_of_each_form_give_name_and_version() {
        for (id, name, version) in [
            (
                "registry+https://x/index#rand_core@0.6.4",
                "rand_core",
                "0.6.4",
            ),
            ("path+file:///w/crates/okms-api#0.1.0", "okms-api", "0.1.0"),
            ("path+file:///w/xtask#xtask-lib@0.2.0", "xtask-lib", "0.2.0"),
            ("serde 1.0.1 (registry+https://x/index)", "serde", "1.0.1"),
        ] {
            assert_eq!(
                name_version(id),
                Some((name.to_owned(), version.to_owned())),
                "{id}"
            );
        }
    }
}
