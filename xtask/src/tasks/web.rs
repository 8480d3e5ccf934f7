//! `cargo xtask web`: builds okms-web for `wasm32-unknown-unknown` and writes the offline page,
//! `target/dist/okms-offline.html`, with its SHA-256 beside it.
//!
//! One file, for a USB stick: the WebAssembly module is in it (base64), wasm-bindgen's glue and
//! the page's script and style are inline, and a Content-Security-Policy meta tag forbids every
//! fetch (`default-src 'none'`; the one inline script and the one style are allowed by their
//! SHA-256, WebAssembly by `'wasm-unsafe-eval'`), so that the page cannot reach any host even
//! if a later edit tried to. It works from `file://`.
//!
//! It needs the wasm32 target (`rustup target add wasm32-unknown-unknown`) and the
//! `wasm-bindgen` command line of exactly the version in Cargo.lock (`.ci/install-web-deps`
//! installs both).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use clap::Args as ClapArgs;
use sha2::{Digest, Sha256};

use crate::util::{cargo, run_command, target_dir, workspace_root};

const TARGET: &str = "wasm32-unknown-unknown";
/// The page's file name, in target/dist and among the release files.
pub const PAGE_NAME: &str = "okms-offline.html";
/// Where the page's script expects the module; replaced exactly once.
const WASM_PLACEHOLDER: &str = "__OKMS_WASM_BASE64__";

/// Options of `cargo xtask web`.
#[derive(ClapArgs)]
pub struct Args {
    /// Build the module with the dev profile: faster to build, twice the size (4.4 MiB
    /// against 2.2 MiB for the release profile's page). The file users carry is always built
    /// with the release profile.
    #[arg(long)]
    dev: bool,
    /// Write the page here instead of target/dist/okms-offline.html.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
}

/// The profile the module is built with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// What a release ships: `lto = "fat"`, one codegen unit.
    Release,
    /// Quicker to build, for working on the page.
    Dev,
}

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    let profile = if args.dev {
        Profile::Dev
    } else {
        Profile::Release
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("dist").join(PAGE_NAME));
    build_page(profile, &out)
}

/// Builds the module and writes the page to `out`, with `out.sha256` beside it (what
/// `cargo xtask dist` ships too).
///
/// # Errors
/// A missing wasm32 target or a wasm-bindgen command line of another version than Cargo.lock's
/// (each says how to install it), a failed build, or a page template that breaks its rules.
pub fn build_page(profile: Profile, out: &Path) -> Result<()> {
    require_wasm_target()?;
    let bindgen_version = require_matching_wasm_bindgen()?;
    let mut build = cargo();
    build.args([
        "build", "--locked", "-p", "okms-web", "--lib", "--target", TARGET,
    ]);
    if profile == Profile::Release {
        build.arg("--release");
    }
    // Panic locations are compiled in as paths: without the remapping, the page would carry
    // the builder's checkout and Cargo directories, and differ from one checkout to another.
    // The encoded form (0x1f between flags) keeps a path with a space whole; with --target,
    // cargo gives it to the wasm32 build only, not to the host's build scripts.
    build.env("CARGO_ENCODED_RUSTFLAGS", remapped_paths().join("\u{1f}"));
    run_command(&mut build)?;

    let profile_dir = match profile {
        Profile::Release => "release",
        Profile::Dev => "debug",
    };
    let wasm = target_dir()
        .join(TARGET)
        .join(profile_dir)
        .join("okms_web.wasm");
    let bindgen_dir = target_dir().join("okms-web-bindgen");
    if bindgen_dir.exists() {
        fs::remove_dir_all(&bindgen_dir)
            .with_context(|| format!("cannot empty {}", bindgen_dir.display()))?;
    }
    run_command(
        Command::new("wasm-bindgen")
            .args(["--target", "no-modules", "--no-typescript", "--out-dir"])
            .arg(&bindgen_dir)
            .arg(&wasm),
    )?;
    let glue = read_text(&bindgen_dir.join("okms_web.js"))?;
    let module = fs::read(bindgen_dir.join("okms_web_bg.wasm")).with_context(|| {
        format!(
            "cannot read the module wasm-bindgen wrote in {}",
            bindgen_dir.display()
        )
    })?;

    let page_dir = workspace_root().join("crates/okms-web/page");
    let html = assemble(
        &read_text(&page_dir.join("page.html"))?,
        &read_text(&page_dir.join("page.css"))?,
        &glue,
        &read_text(&page_dir.join("page.js"))?,
        &module,
        env!("CARGO_PKG_VERSION"),
    )?;

    write_page(out, &html)?;
    eprintln!(
        "wrote {} ({} KiB; module {} KiB, wasm-bindgen {bindgen_version}, {profile_dir} profile)",
        out.display(),
        html.len() / 1024,
        module.len() / 1024
    );
    Ok(())
}

/// rustc flags that write the workspace as `/okms-rs` and Cargo's home (the dependencies'
/// sources) as `/cargo` in the module. Only the wasm32 build gets them (its own RUSTFLAGS
/// variable), so the host's build scripts and binaries keep their cache.
pub(crate) fn remapped_paths() -> Vec<String> {
    let mut flags = vec![format!(
        "--remap-path-prefix={}=/okms-rs",
        workspace_root().display()
    )];
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    flags
}

/// The page, with its digest file `<page>.sha256` in `sha256sum -c` form beside it.
pub(crate) fn write_page(out: &Path, html: &str) -> Result<()> {
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    fs::write(out, html).with_context(|| format!("cannot write {}", out.display()))?;
    let file_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("the output path has no file name")?;
    let digest = hex::encode(Sha256::digest(html.as_bytes()));
    let sums = out.with_file_name(format!("{file_name}.sha256"));
    fs::write(&sums, format!("{digest}  {file_name}\n"))
        .with_context(|| format!("cannot write {}", sums.display()))?;
    eprintln!("SHA-256 {digest}  {file_name} (in {})", sums.display());
    Ok(())
}

/// Puts the page together. Pure, so that its rules are tested without a build.
pub(crate) fn assemble(
    template: &str,
    style: &str,
    glue: &str,
    page_script: &str,
    module: &[u8],
    version: &str,
) -> Result<String> {
    ensure!(
        page_script.matches(WASM_PLACEHOLDER).count() == 1,
        "page.js must hold {WASM_PLACEHOLDER} exactly once"
    );
    // The glue can fetch a module by URL; the page always hands it the bytes, and the CSP
    // forbids the fetch anyway.
    let script = format!(
        "{glue}\n{}",
        page_script.replace(WASM_PLACEHOLDER, &base64(module))
    );
    // An inline block ends at the first `</script` or `</style`, whatever the JavaScript means.
    ensure!(
        !script.to_ascii_lowercase().contains("</script"),
        "the inline script contains `</script`, which would end it early"
    );
    ensure!(
        !style.to_ascii_lowercase().contains("</style"),
        "the inline style contains `</style`"
    );
    let csp = content_security_policy(&script, style);
    let mut html = template.to_owned();
    for (placeholder, value) in [
        ("{{CSP}}", csp.as_str()),
        ("{{VERSION}}", version),
        ("{{STYLE}}", style),
        ("{{SCRIPT}}", script.as_str()),
    ] {
        ensure!(
            html.matches(placeholder).count() == 1,
            "page.html must hold {placeholder} exactly once"
        );
        html = html.replacen(placeholder, value, 1);
    }
    Ok(html)
}

/// Nothing may be fetched, sent or framed; only the page's own inline script (and the
/// WebAssembly it compiles) and style run. `blob:` is not listed anywhere: downloads through
/// `<a download>` are navigations, which fetch directives do not govern.
fn content_security_policy(script: &str, style: &str) -> String {
    let script_hash = base64(&Sha256::digest(script.as_bytes()));
    let style_hash = base64(&Sha256::digest(style.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{script_hash}' 'wasm-unsafe-eval'; \
         style-src 'sha256-{style_hash}'; connect-src 'none'; img-src 'none'; \
         font-src 'none'; media-src 'none'; object-src 'none'; frame-src 'none'; \
         worker-src 'none'; manifest-src 'none'; form-action 'none'; base-uri 'none'"
    )
}

/// Standard base64 with padding (RFC 4648 §4), what `atob` and CSP hashes read.
fn base64(bytes: &[u8]) -> String {
    use base64ct::Encoding;
    base64ct::Base64::encode_string(bytes)
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The wasm32 target's standard library must be installed; rustup says so by name.
fn require_wasm_target() -> Result<()> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("cannot run rustc")?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    let lib = Path::new(&sysroot).join("lib/rustlib").join(TARGET);
    if !lib.is_dir() {
        bail!(
            "the {TARGET} target is not installed ({} is missing); run \
             `rustup target add {TARGET}` or .ci/install-web-deps",
            lib.display()
        );
    }
    Ok(())
}

/// wasm-bindgen's command line must be the version of the crate in Cargo.lock: their
/// interface changes between versions, and a mismatch makes a module the glue cannot load.
fn require_matching_wasm_bindgen() -> Result<String> {
    let lock = read_text(&workspace_root().join("Cargo.lock"))?;
    let wanted = locked_version(&lock, "wasm-bindgen")
        .context("Cargo.lock holds no wasm-bindgen package")?;
    let installed = Command::new("wasm-bindgen").arg("--version").output();
    let found = match installed {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    if found != wanted {
        let now = if found.is_empty() {
            "is not installed".to_owned()
        } else {
            format!("is version {found}")
        };
        bail!(
            "the wasm-bindgen command line {now}, and Cargo.lock has wasm-bindgen {wanted}; \
             run `cargo install wasm-bindgen-cli --version {wanted}` or .ci/install-web-deps"
        );
    }
    Ok(wanted)
}

/// The version of `name` in a Cargo.lock (the first, if several).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == wanted {
            let version = lines.next()?;
            return version
                .strip_prefix("version = \"")?
                .strip_suffix('"')
                .map(str::to_owned);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn the_page_is_one_file_whose_policy_allows_only_its_own_script_and_style() {
        let html = assemble(
            "<meta content=\"{{CSP}}\">{{VERSION}}<style>{{STYLE}}</style><script>{{SCRIPT}}</script>",
            "body{}",
            "let wasm_bindgen = 1;",
            "const W = \"__OKMS_WASM_BASE64__\";",
            b"\0asm",
            "9.9.9",
        )
        .unwrap();
        let script = "let wasm_bindgen = 1;\nconst W = \"AGFzbQ==\";";
        assert!(html.contains(&format!("<script>{script}</script>")));
        let hash = base64(&Sha256::digest(script.as_bytes()));
        assert!(html.contains(&format!("script-src 'sha256-{hash}' 'wasm-unsafe-eval';")));
        assert!(html.contains("default-src 'none';"));
        assert!(html.contains("connect-src 'none';"));
        assert!(!html.contains("unsafe-inline"));
        assert!(html.contains("9.9.9"));
        assert!(!html.contains("{{"));
    }

    #[test]
    fn a_script_that_would_end_early_is_refused() {
        let e = assemble(
            "{{CSP}}{{VERSION}}{{STYLE}}{{SCRIPT}}",
            "",
            "x = '</SCRIPT>';",
            "__OKMS_WASM_BASE64__",
            b"",
            "1",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`</script`"), "{e}");
    }

    #[test]
    fn the_locked_version_is_read_from_cargo_lock() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"1.0.0\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "js-sys"), None);
    }
}
