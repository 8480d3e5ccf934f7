//! Checks of the built artefacts, done as a user on another machine would: the static binary
//! needs no shared library and runs with an empty environment from an empty directory; the
//! checksums verify with `sha256sum -c`; the archives hold what they should; the Debian
//! package installs with `dpkg -i` into a fresh tree, where its binary, man page and offline
//! `csr new` work.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use super::Release;
use super::targets::ReleaseTarget;
use crate::util::output_of;

/// No dynamic dependency, and it runs under `env -i` from an empty directory.
pub fn static_binary(binary: &Path, target: &ReleaseTarget, release: &Release) -> Result<()> {
    let headers = output_of(Command::new("objdump").arg("-p").arg(binary))?;
    ensure!(
        !headers.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("NEEDED") || l.starts_with("INTERP")
        }),
        "{} is not static: it names a shared library or a dynamic loader",
        binary.display()
    );
    // ldd's own verdict too: it exits non-zero for a binary that is not dynamic.
    let ldd = Command::new("ldd").arg(binary).output();
    if let Ok(ldd) = ldd {
        let text = String::from_utf8_lossy(&ldd.stdout).into_owned()
            + &String::from_utf8_lossy(&ldd.stderr);
        ensure!(
            text.contains("not a dynamic executable") || text.contains("statically linked"),
            "ldd reports dynamic dependencies for {}: {text}",
            binary.display()
        );
    }
    let empty = tempfile::tempdir()?;
    let version = output_of(
        Command::new("env")
            .arg("-i")
            .arg(binary)
            .arg("--version")
            .current_dir(empty.path()),
    )?;
    ensure!(
        version.contains(&release.version),
        "{} --version says {version:?}: expected the version {}",
        binary.display(),
        release.version,
    );
    if super::file_name(binary)? == "okms-cli" {
        // What a user reports in a bug: which commit and which build.
        ensure!(
            version.contains(&release.commit) && version.contains(target.triple),
            "okms-cli --version says {version:?}: expected the commit {} and the target {}",
            release.commit,
            target.triple
        );
        offline_csr(binary, empty.path())?;
    }
    eprintln!(
        "checked {}: static, runs under env -i ({version})",
        binary.display()
    );
    Ok(())
}

/// `csr new` in `dir` with a P-256 key, under an empty environment; the key is 0600; openssl (when installed) verifies the CSR.
fn offline_csr(binary: &Path, dir: &Path) -> Result<()> {
    output_of(
        Command::new("env")
            .arg("-i")
            .arg(binary)
            .args([
                "csr",
                "new",
                "--algorithm",
                "ecdsa-p256",
                "--cn",
                "dist-check",
            ])
            .args(["--key-out", "dist.key", "--out", "dist.csr"])
            .current_dir(dir),
    )
    .with_context(|| format!("{} csr new failed", binary.display()))?;
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(dir.join("dist.key"))?.permissions().mode() & 0o777;
    ensure!(
        mode == 0o600,
        "the key was written with mode {mode:o}, not 600"
    );
    if Command::new("openssl").arg("version").output().is_ok() {
        output_of(
            Command::new("openssl")
                .args(["req", "-verify", "-noout", "-in"])
                .arg(dir.join("dist.csr")),
        )
        .context("openssl does not accept the CSR")?;
    }
    Ok(())
}

/// `sha256sum -c` in the directory of the sums file.
pub fn checksums(sums: &Path) -> Result<()> {
    let dir = sums.parent().context("SHA256SUMS has no directory")?;
    let report = output_of(
        Command::new("sha256sum")
            .args(["--check", "--strict"])
            .arg(super::file_name(sums)?)
            .current_dir(dir),
    )?;
    eprintln!("sha256sum --check:\n{report}");
    Ok(())
}

/// The archive lists its top directory, the binary, the licences and the README.
pub fn tarball(archive: &Path) -> Result<()> {
    let listing = output_of(Command::new("tar").arg("-tzf").arg(archive))?;
    let name = super::file_name(archive)?;
    let stem = name.trim_end_matches(".tar.gz");
    let binary = stem.split('-').take(2).collect::<Vec<_>>().join("-");
    let mut expected = vec![
        format!("{stem}/{binary}"),
        format!("{stem}/README.md"),
        format!("{stem}/LICENSE-APACHE"),
        format!("{stem}/LICENSE-MIT"),
    ];
    if binary == "okms-cli" {
        expected.push(format!("{stem}/man/okms-cli.1"));
        expected.push(format!("{stem}/completions/okms-cli.bash"));
        expected.push(format!("{stem}/okms-broker"));
        expected.extend(
            super::tarball::BROKER_FILES
                .iter()
                .map(|file| format!("{stem}/{file}")),
        );
    }
    for entry in &expected {
        ensure!(
            listing.lines().any(|l| l == entry),
            "{name} lacks {entry}; it holds:\n{listing}"
        );
    }
    eprintln!("checked {name}: {} entries", listing.lines().count());
    Ok(())
}

/// Installs the package with `dpkg -i` into a fresh root and uses it there.
pub fn deb(package: &Path, release: &Release) -> Result<()> {
    let root = tempfile::tempdir()?;
    let admin = root.path().join("var/lib/dpkg");
    for dir in ["info", "updates", "triggers"] {
        fs::create_dir_all(admin.join(dir))?;
    }
    fs::write(admin.join("status"), "")?;
    // --force-depends: the fresh tree has no libc6 of its own (the host's is used to run the
    // binary); --path-include undoes a minimal image's exclusion of man pages.
    let mut install = Command::new("dpkg");
    install
        .arg(format!("--root={}", root.path().display()))
        .args(["--force-depends", "--force-not-root", "--force-bad-path"])
        .arg("--path-include=/usr/share/man/*")
        .arg("-i")
        .arg(package);
    let installed = install.output().context("could not start dpkg")?;
    if !installed.status.success() {
        bail!(
            "dpkg -i {} into {} failed: {}",
            package.display(),
            root.path().display(),
            String::from_utf8_lossy(&installed.stderr)
        );
    }
    let binary = root.path().join("usr/bin/okms-cli");
    let version = output_of(Command::new(&binary).arg("--version"))?;
    ensure!(
        version.contains(&release.version),
        "the installed okms-cli --version says {version:?}"
    );
    let man = output_of(
        Command::new("man")
            .arg("-M")
            .arg(root.path().join("usr/share/man"))
            .args(["-w", "okms-cli"]),
    )
    .context("man -w okms-cli does not find the installed page (is man-db installed?)")?;
    ensure!(
        man.starts_with(&root.path().display().to_string()),
        "man -w okms-cli found {man}, not the page in the installed tree"
    );
    for completion in [
        "usr/share/bash-completion/completions/okms-cli",
        "usr/share/zsh/vendor-completions/_okms-cli",
        "usr/share/fish/vendor_completions.d/okms-cli.fish",
        "usr/share/doc/okms-cli/copyright",
    ] {
        ensure!(
            root.path().join(completion).is_file(),
            "the package did not install /{completion}"
        );
    }
    let broker = root.path().join("usr/bin/okms-broker");
    let broker_version = output_of(Command::new(&broker).arg("--version"))?;
    ensure!(
        broker_version.contains(&release.version),
        "the installed okms-broker --version says {broker_version:?}"
    );
    for file in [super::deb::BROKER_UNIT, super::deb::BROKER_POLICY_EXAMPLE] {
        ensure!(
            root.path().join(file).is_file(),
            "the package did not install /{file}"
        );
    }
    let work = tempfile::tempdir()?;
    offline_csr(&binary, work.path())?;
    eprintln!(
        "checked {}: dpkg -i into a fresh tree, --version of okms-cli and okms-broker, man -w ({man}), the broker's unit, csr new",
        package.display()
    );
    Ok(())
}

/// The offline page is one self-contained file of this release: its policy forbids every
/// fetch, it names no other file or host, the module it carries is WebAssembly, and its
/// `.sha256` (what the README tells users to check) verifies.
pub fn page(page: &Path, release: &Release) -> Result<()> {
    let name = super::file_name(page)?;
    let html =
        fs::read_to_string(page).with_context(|| format!("could not read {}", page.display()))?;
    ensure!(
        html.contains(&format!("okms-rs {}", release.version)),
        "{name} does not name the version {}",
        release.version
    );
    let csp = html
        .split_once("http-equiv=\"Content-Security-Policy\" content=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(policy, _)| policy)
        .with_context(|| format!("{name} has no Content-Security-Policy meta tag"))?;
    for directive in [
        "default-src 'none'",
        "connect-src 'none'",
        "form-action 'none'",
    ] {
        ensure!(
            csp.contains(directive),
            "{name}'s policy lacks {directive}: {csp}"
        );
    }
    ensure!(
        !csp.contains("unsafe-inline") && !csp.contains("http"),
        "{name}'s policy allows more than its own script and style: {csp}"
    );
    // The markup and the style, without the inline script (wasm-bindgen's glue can build a
    // URL, which the page never asks it to: the policy above is what forbids the fetch).
    let lower = html.to_ascii_lowercase();
    let (before_script, script_and_after) = lower
        .split_once("<script>")
        .with_context(|| format!("{name} has no inline script"))?;
    let after_script = script_and_after
        .split_once("</script>")
        .map(|(_, after)| after)
        .with_context(|| format!("{name}'s inline script does not end"))?;
    let markup = format!("{before_script}{after_script}");
    for reference in [" src=", "<link", "@import", "url("] {
        ensure!(
            !markup.contains(reference),
            "{name} refers to another file ({reference})"
        );
    }
    ensure!(
        markup.matches("href=").count() == markup.matches("href=\"#\"").count(),
        "{name} links to something other than its own downloads"
    );
    let module = html
        .split_once("const WASM_BASE64 = \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(encoded, _)| encoded)
        .with_context(|| format!("{name} carries no WebAssembly module"))?;
    use base64ct::Encoding;
    let module = base64ct::Base64::decode_vec(module)
        .map_err(|e| anyhow::anyhow!("{name}'s module is not base64: {e}"))?;
    ensure!(
        module.starts_with(b"\0asm"),
        "{name}'s module is not WebAssembly"
    );
    let checkout = crate::util::workspace_root().display().to_string();
    ensure!(
        !module
            .windows(checkout.len())
            .any(|w| w == checkout.as_bytes()),
        "{name}'s module names the build's checkout {checkout}: its paths were not remapped"
    );
    let dir = page.parent().context("the page has no directory")?;
    let report = output_of(
        Command::new("sha256sum")
            .args(["--check", "--strict"])
            .arg(format!("{name}.sha256"))
            .current_dir(dir),
    )?;
    eprintln!(
        "checked {name}: one file, fetches forbidden, module of {} KiB; {}",
        module.len() / 1024,
        report.trim()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::tasks::web;

    const TEMPLATE: &str = "<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" \
        content=\"{{CSP}}\"><p>okms-rs {{VERSION}}</p><style>{{STYLE}}</style>\
        <a href=\"#\" download=\"x\">x</a><script>{{SCRIPT}}</script>";

    fn release() -> Release {
        Release {
            version: "9.9.9".into(),
            commit: "abc".into(),
            source_date_epoch: 0,
        }
    }

    fn written(template: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let html = web::assemble(
            template,
            "p{}",
            "let glue = new URL('x', 'file:///');",
            "const WASM_BASE64 = \"__OKMS_WASM_BASE64__\";",
            b"\0asm\x01\0\0\0",
            "9.9.9",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join(web::PAGE_NAME);
        web::write_page(&page, &html).unwrap();
        (dir, page)
    }

    #[test]
    fn a_self_contained_page_with_its_checksum_passes() {
        let (_dir, built) = written(TEMPLATE);
        page(&built, &release()).unwrap();
    }

    #[test]
    fn a_page_that_loads_another_file_or_was_changed_after_its_checksum_fails() {
        let (_dir, linked) =
            written(&TEMPLATE.replace("<p>", "<link rel=\"icon\" href=\"x.png\"><p>"));
        let e = page(&linked, &release()).unwrap_err();
        assert!(
            e.to_string().contains("refers to another file (<link)"),
            "{e}"
        );

        let (_dir, changed) = written(TEMPLATE);
        let html = fs::read_to_string(&changed).unwrap();
        fs::write(&changed, html + "\n").unwrap();
        let e = page(&changed, &release()).unwrap_err();
        assert!(format!("{e:#}").contains("did NOT match"), "{e:#}");

        let (_dir, other) = written(TEMPLATE);
        let e = page(
            &other,
            &Release {
                version: "1.0.0".into(),
                ..release()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("does not name the version 1.0.0"),
            "{e}"
        );
    }
}
