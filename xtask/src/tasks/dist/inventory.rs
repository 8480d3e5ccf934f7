//! What is inside each binary: the dependency list that `cargo auditable` embeds (the
//! `.dep-v0` section, which `cargo audit bin`, syft and trivy read), read back with
//! `auditable-info` (the format's reference reader), and a CycloneDX JSON SBOM per archive
//! written from that same list, so the SBOM names exactly what was compiled into the binary.
//!
//! The SBOM is written here rather than by `cargo-cyclonedx` (which lists what `cargo metadata`
//! resolves, build dependencies and other targets' crates included, and costs a second tool
//! install in CI) or `auditable-cyclonedx` (which pulls in the whole `cyclonedx-bom` model for
//! a few dozen lines of JSON).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use auditable_info::{Limits, audit_info_from_file};
use auditable_serde::{DependencyKind, Package, Source, VersionInfo};
use serde_json::{Value, json};

use super::Release;
use crate::util::{cargo, output_of, workspace_root};

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

/// Writes `ARCHIVE.cdx.json` beside `archive`, describing `binary` built for `target`.
pub fn write_sbom(
    archive: &Path,
    binary: &Path,
    target: &str,
    release: &Release,
) -> Result<PathBuf> {
    let info = read(binary)?;
    let root =
        info.packages.iter().find(|p| p.root).with_context(|| {
            format!("{}'s dependency list has no root package", binary.display())
        })?;
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
    let components: Vec<Value> = runtime(&info)
        .filter(|(_, p)| !p.root)
        .map(|(_, p)| component(p, "library"))
        .collect();
    let dependencies: Vec<Value> = runtime(&info)
        .map(|(_, p)| {
            let depends_on: Vec<String> = p
                .dependencies
                .iter()
                .filter_map(|&i| info.packages.get(i))
                .filter(|d| d.kind == DependencyKind::Runtime)
                .map(reference)
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

/// The embedded list reads back, and the SBOM's packages (name and version) are exactly those
/// that `cargo tree` resolves for `package` on `target` through normal dependencies (less the
/// proc-macros, which run in the compiler and are not in the binary).
pub fn check(binary: &Path, sbom: &Path, package: &str, target: &str) -> Result<()> {
    let info = read(binary)?;
    let embedded: BTreeSet<(String, String)> = runtime(&info)
        .map(|(_, p)| (p.name.clone(), p.version.to_string()))
        .collect();
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
            .args(["--format", "{p}", "--target", target, "-p", package]),
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
        listed == embedded,
        "{sbom_name} differs from the binary's embedded list: only in the SBOM {:?}, only in the binary {:?}",
        listed.difference(&embedded).collect::<Vec<_>>(),
        embedded.difference(&listed).collect::<Vec<_>>()
    );
    ensure!(
        listed == resolved,
        "{sbom_name} differs from cargo tree -e normal --target {target} -p {package}: only in the SBOM {:?}, only in cargo tree {:?}",
        listed.difference(&resolved).collect::<Vec<_>>(),
        resolved.difference(&listed).collect::<Vec<_>>()
    );
    eprintln!(
        "checked {sbom_name}: {} packages, as embedded in {} and as cargo tree resolves them",
        listed.len(),
        super::file_name(binary)?
    );
    Ok(())
}
