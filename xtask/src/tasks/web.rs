//! `cargo xtask web`: builds okms-web for `wasm32-unknown-unknown` and writes the offline page,
//! `target/dist/okms-offline.html`, with its SHA-256 beside it.
//!
//! One file, for a USB stick: the WebAssembly module is in it (base64), wasm-bindgen's glue and
//! the page's script and style are inline, and a Content-Security-Policy meta tag forbids every
//! fetch (`default-src 'none'`; the one inline script and the one style are allowed by their
//! SHA-256, WebAssembly by `'wasm-unsafe-eval'`), so that the page cannot reach any host even
//! if a later edit tried to. It works from `file://`.
//!
//! Small, because a browser reads, compiles and keeps the module whole: the module is built
//! with the `web` profile (optimised for size), then shrunk by binaryen's `wasm-opt -Oz`; a
//! release page above [`MAX_PAGE_BYTES`] fails the task. `--measure` opens the page in headless
//! Chromium and reports how long it takes to be ready ([`web_measure`]).
//!
//! It needs the wasm32 target, the `wasm-bindgen` command line of exactly the version in
//! Cargo.lock, and `wasm-opt`; when one is missing it runs `.ci/install-web-deps --build-only`
//! (the one place that knows how), or with `--no-install` fails naming what is missing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use clap::Args as ClapArgs;
use sha2::{Digest, Sha256};

use crate::tasks::web_measure;
use crate::util::{cargo, run_command, target_dir, workspace_root};

const TARGET: &str = "wasm32-unknown-unknown";
/// The page's file name, in target/dist and among the release files.
pub const PAGE_NAME: &str = "okms-offline.html";
/// Where the page's script expects the module; replaced exactly once.
const WASM_PLACEHOLDER: &str = "__OKMS_WASM_BASE64__";
/// The most a release page may weigh (1.2 MB): the release notes promise a page this small.
pub const MAX_PAGE_BYTES: usize = 1_200_000;

/// Options of `cargo xtask web`.
#[derive(ClapArgs)]
pub struct Args {
    /// Build the module with the dev profile and skip wasm-opt: faster to build, four times
    /// the size (4.4 MiB against about 1.1 MiB for the release page, which has no size check
    /// here). The file users carry is always built with the size-optimised `web` profile.
    #[arg(long)]
    dev: bool,
    /// Write the page here instead of target/dist/okms-offline.html.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Install nothing: fail, naming what is missing (the wasm32 target, wasm-bindgen,
    /// wasm-opt), instead of running .ci/install-web-deps --build-only.
    #[arg(long)]
    no_install: bool,
    /// Then open the page in headless Chromium a few times and print the median time from
    /// opening it to ready (the form usable).
    #[arg(long)]
    measure: bool,
}

/// The profile the module is built with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// What a release ships: the `web` profile (size-optimised, `lto = "fat"`, one codegen
    /// unit), then `wasm-opt -Oz`.
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
    build_page(profile, &out, args.no_install)?;
    if args.measure {
        web_measure::run(&out)?;
    }
    Ok(())
}

/// Builds the module and writes the page to `out`, with `out.sha256` beside it (what
/// `cargo xtask dist` ships too).
///
/// # Errors
/// A missing tool that could not be installed (or any, under `no_install`), a failed build, a
/// page template that breaks its rules, or a release page above [`MAX_PAGE_BYTES`].
pub fn build_page(profile: Profile, out: &Path, no_install: bool) -> Result<()> {
    let bindgen_version = ensure_tools(no_install)?;
    let mut build = cargo();
    build.args([
        "build", "--locked", "-p", "okms-web", "--lib", "--target", TARGET,
    ]);
    if profile == Profile::Release {
        build.args(["--profile", "web"]);
    }
    // Panic locations are compiled in as paths: without the remapping, the page would carry
    // the builder's checkout and Cargo directories, and differ from one checkout to another.
    // The encoded form (0x1f between flags) keeps a path with a space whole; with --target,
    // cargo gives it to the wasm32 build only, not to the host's build scripts.
    build.env("CARGO_ENCODED_RUSTFLAGS", remapped_paths().join("\u{1f}"));
    run_command(&mut build)?;

    let profile_dir = match profile {
        Profile::Release => "web",
        Profile::Dev => "debug",
    };
    let mut wasm = target_dir()
        .join(TARGET)
        .join(profile_dir)
        .join("okms_web.wasm");
    if profile == Profile::Release {
        wasm = shrink(&wasm)?;
    }
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

    if profile == Profile::Release {
        check_size(html.len())?;
    }
    write_page(out, &html)?;
    eprintln!(
        "wrote {} ({} bytes, at most {MAX_PAGE_BYTES}; module {} bytes, wasm-bindgen {bindgen_version}, {profile_dir} profile)",
        out.display(),
        html.len(),
        module.len()
    );
    Ok(())
}

/// binaryen's size optimisations of rustc's module, into a file of the same name in
/// `target/okms-web-opt` (wasm-bindgen names its output after its input), returned.
///
/// Before wasm-bindgen, not after: Debian 12's binaryen (108) rewrites the externref table
/// that wasm-bindgen adds, and the page then fails to load ("WebAssembly.Table.set(): Argument
/// 1 is invalid for table"). The features are the ones rustc's wasm32 target turns on and
/// every browser the page supports has; naming them keeps wasm-opt from rejecting the module
/// or using any other.
fn shrink(module: &Path) -> Result<PathBuf> {
    let dir = target_dir().join("okms-web-opt");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let out = dir.join(module.file_name().context("the module has no file name")?);
    run_command(
        Command::new("wasm-opt")
            .args([
                "-Oz",
                "--enable-bulk-memory",
                "--enable-mutable-globals",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-reference-types",
                "--enable-multivalue",
            ])
            .arg(module)
            .arg("-o")
            .arg(&out),
    )?;
    Ok(out)
}

/// A release page heavier than [`MAX_PAGE_BYTES`] fails the task, so that the size holds.
fn check_size(bytes: usize) -> Result<()> {
    ensure!(
        bytes <= MAX_PAGE_BYTES,
        "the page is {bytes} bytes, above the {MAX_PAGE_BYTES} it may weigh: \
         something made the module bigger (a dependency, formatting or panics in the wasm build)"
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

/// The wasm32 target, wasm-bindgen at Cargo.lock's version and wasm-opt: what is missing is
/// installed by `.ci/install-web-deps --build-only`, or with `no_install` named in the error.
/// Returns wasm-bindgen's version.
fn ensure_tools(no_install: bool) -> Result<String> {
    let missing = || -> Vec<String> {
        [
            require_wasm_target().err(),
            require_matching_wasm_bindgen().err(),
            require_wasm_opt().err(),
        ]
        .into_iter()
        .flatten()
        .map(|e| e.to_string())
        .collect()
    };
    let absent = missing();
    if !absent.is_empty() {
        if no_install {
            bail!(
                "--no-install: cargo xtask web needs what is missing here:\n  {}",
                absent.join("\n  ")
            );
        }
        eprintln!("web: missing {}; installing", absent.join("; "));
        run_command(
            Command::new(workspace_root().join(".ci/install-web-deps")).arg("--build-only"),
        )
        .context(".ci/install-web-deps could not install what cargo xtask web needs")?;
        let still = missing();
        ensure!(
            still.is_empty(),
            "still missing after .ci/install-web-deps: {}",
            still.join("; ")
        );
    }
    require_matching_wasm_bindgen()
}

/// binaryen's wasm-opt, which shrinks the release module.
fn require_wasm_opt() -> Result<()> {
    match Command::new("wasm-opt").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => {
            bail!("wasm-opt is not installed (Debian package binaryen: `apt-get install binaryen`)")
        }
    }
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
            "the {TARGET} target is not installed ({} is missing; `rustup target add {TARGET}`)",
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
            "the wasm-bindgen command line {now}, and Cargo.lock has wasm-bindgen {wanted} \
             (`cargo install wasm-bindgen-cli --version {wanted}`)"
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
    fn a_page_above_its_budget_fails_the_build() {
        assert!(check_size(MAX_PAGE_BYTES).is_ok());
        // The page as it was before the size work (2,276,000 bytes) no longer passes.
        let e = check_size(2_276_000).unwrap_err().to_string();
        assert!(e.contains("2276000 bytes") && e.contains("1200000"), "{e}");
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
