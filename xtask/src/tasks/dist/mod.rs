//! `cargo xtask dist`: everything a release ships, built and then checked as a user would use it.
//!
//! - `okms-cli` and `okms-emulator` as fully static binaries (`x86_64-unknown-linux-musl`: no
//!   dynamic loader, no shared library, not even libc), each in a reproducible
//!   `NAME-VERSION-TARGET.tar.gz` with README, licences, and for okms-cli its man pages and
//!   shell completions; the okms-cli archive also holds `okms-broker` (the renewal broker,
//!   built in the same cargo build) with its systemd unit and example policy;
//! - a Debian package of okms-cli (and okms-broker), built from the ordinary glibc binaries,
//!   because only a dynamically linked program can load a PKCS#11 module (a shared library);
//! - the offline page `okms-offline.html` (`cargo xtask web`, release profile), the one file
//!   an air-gapped host with only a browser needs;
//! - beside each archive, `ARCHIVE.cdx.json`, a CycloneDX SBOM of exactly the packages in its
//!   binary, which also carries that list itself (`cargo auditable`, see `inventory.rs`);
//! - `install.sh` (from contrib/), which installs okms-cli from a release after checking it;
//! - `SHA256SUMS` over all of them, in the format `sha256sum -c` reads, and its minisign
//!   signature `SHA256SUMS.minisig` with the public key `minisign.pub` (see `sign.rs`).
//!
//! Man pages and completions come from okms-cli's clap definitions, so they cannot drift from
//! `--help`. Every artefact is checked after it is built (see `verify.rs`) unless
//! `--no-verify`. What the task needs beyond cargo is installed when missing (`tools.rs`)
//! unless `--no-install`. The archives are reproducible: `--check-reproducible` rebuilds HEAD
//! from a second checkout directory and compares (`reproducible.rs`).

mod deb;
mod docs;
mod install_check;
mod inventory;
mod reproducible;
mod sign;
mod tarball;
mod tools;
mod verify;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use sha2::{Digest, Sha256};

use super::web;
use crate::util::{cargo, run_command, target_dir, workspace_root};

/// The target of the static binaries.
pub const STATIC_TARGET: &str = "x86_64-unknown-linux-musl";

/// Options of `cargo xtask dist`.
#[derive(ClapArgs)]
pub struct Args {
    /// Output directory (default: target/dist).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only generate man pages and completions; build no binary, archive or package.
    #[arg(long)]
    no_build: bool,
    /// Skip the Debian package.
    #[arg(long)]
    no_deb: bool,
    /// Skip the offline page (it needs the wasm32 target and the wasm-bindgen command line:
    /// .ci/install-web-deps installs both).
    #[arg(long)]
    no_web: bool,
    /// Do not check the artefacts after building them.
    #[arg(long)]
    no_verify: bool,
    /// Install nothing: fail naming the tools, Debian packages and rustup targets missing.
    #[arg(long)]
    no_install: bool,
    /// The minisign secret key that signs SHA256SUMS (else OKMS_RELEASE_KEY_FILE, else the key
    /// text in OKMS_RELEASE_KEY; its password in OKMS_RELEASE_KEY_PASSWORD). Without any, a
    /// throw-away key signs and its public half is written as minisign.pub.
    #[arg(long, value_name = "FILE", env = sign::KEY_FILE_VAR)]
    sign_key: Option<PathBuf>,
    /// Then build HEAD again from a clone under target/reproducible and require byte-identical
    /// artefacts (the worktree must be committed).
    #[arg(long)]
    check_reproducible: bool,
}

/// The packages whose binaries the okms-cli archive and Debian package ship, built together.
pub const CLI_PACKAGES: &[&str] = &["okms-cli", "okms-broker"];

/// An archive or package and what is inside it: its SBOM's source.
struct Inventory {
    artefact: PathBuf,
    /// Its binaries, one per package.
    binaries: Vec<PathBuf>,
    /// What cargo compiled into them.
    compiled: inventory::Packages,
    /// The packages they were built from.
    packages: &'static [&'static str],
    /// The target they were built for.
    target: String,
}

/// The binary of each package (named as its package) in a cargo output directory.
fn binaries(dir: &Path, packages: &[&str]) -> Vec<PathBuf> {
    packages.iter().map(|p| dir.join(p)).collect()
}

/// What the artefacts are named after.
pub struct Release {
    /// The workspace version, e.g. `0.1.0`.
    pub version: String,
    /// The short git commit, or `unknown` outside a checkout.
    pub commit: String,
    /// Seconds since the epoch of the commit: every timestamp inside an archive, so that the
    /// same commit gives byte-identical archives.
    pub source_date_epoch: u64,
}

/// Runs the task.
pub fn run(args: &Args) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("dist"));
    fs::create_dir_all(&out).with_context(|| format!("could not create {}", out.display()))?;
    let docs = docs::write(&out)?;
    if args.no_build {
        println!("{}", out.display());
        return Ok(());
    }
    let release = release()?;
    let host = host_target()?;
    tools::ensure(
        &tools::Needs {
            targets: &[STATIC_TARGET],
            deb: !args.no_deb,
            verify: !args.no_verify,
        },
        args.no_install,
    )?;

    // One build per archive: built together, binaries share the union of their features, so
    // the emulator is built apart; okms-broker ships with okms-cli and is built with it.
    let cli_packages = build(&release, STATIC_TARGET, CLI_PACKAGES)?;
    let emulator_packages = build(&release, STATIC_TARGET, &["okms-emulator"])?;
    let static_dir = target_dir().join(STATIC_TARGET).join("release");
    let cli_binaries = binaries(&static_dir, CLI_PACKAGES);
    let cli_archive = tarball::write(
        &release,
        &out,
        &tarball::Contents::cli(&cli_binaries, &docs),
    )?;
    // One SBOM per archive or package, of everything compiled into its binaries.
    let mut inventories = vec![
        Inventory {
            artefact: cli_archive.clone(),
            binaries: cli_binaries,
            compiled: cli_packages,
            packages: CLI_PACKAGES,
            target: STATIC_TARGET.to_owned(),
        },
        Inventory {
            artefact: tarball::write(
                &release,
                &out,
                &tarball::Contents::emulator(&static_dir.join("okms-emulator")),
            )?,
            binaries: vec![static_dir.join("okms-emulator")],
            compiled: emulator_packages,
            packages: &["okms-emulator"],
            target: STATIC_TARGET.to_owned(),
        },
    ];
    if !args.no_deb {
        // For the host too an explicit --target, so that the remapped paths reach the binary
        // and not the build scripts, which keep the cache they share with the static build.
        let compiled = build(&release, &host, CLI_PACKAGES)?;
        let binaries = binaries(&target_dir().join(&host).join("release"), CLI_PACKAGES);
        let package = deb::write(&release, &out, &binaries, &docs)?;
        inventories.push(Inventory {
            artefact: package,
            binaries,
            compiled,
            packages: CLI_PACKAGES,
            target: host.clone(),
        });
    }
    let mut artefacts: Vec<PathBuf> = inventories.iter().map(|i| i.artefact.clone()).collect();
    if !args.no_web {
        let page = out.join(web::PAGE_NAME);
        web::build_page(web::Profile::Release, &page, args.no_install)?;
        artefacts.push(page);
    }
    let mut sboms = Vec::new();
    for i in &inventories {
        sboms.push(inventory::write_sbom(
            &i.artefact,
            &i.binaries,
            &i.compiled,
            &i.target,
            &release,
        )?);
    }
    let installer = out.join("install.sh");
    copy_executable(&workspace_root().join("contrib/install.sh"), &installer)?;
    let listed: Vec<PathBuf> = artefacts
        .iter()
        .chain(&sboms)
        .chain([&installer])
        .cloned()
        .collect();
    let sums = write_sha256sums(&out, &listed)?;
    let signature = sign::sign(&sums, args.sign_key.as_deref(), &release)?;

    if !args.no_verify {
        for package in CLI_PACKAGES.iter().chain(&["okms-emulator"]) {
            verify::static_binary(&static_dir.join(package), &release)?;
        }
        verify::checksums(&sums)?;
        sign::verify(&sums, &signature)?;
        for artefact in &artefacts {
            if artefact.extension().is_some_and(|e| e == "deb") {
                verify::deb(artefact, &release)?;
            } else if artefact.extension().is_some_and(|e| e == "html") {
                verify::page(artefact, &release)?;
            } else {
                verify::tarball(artefact)?;
            }
        }
        for (i, sbom) in inventories.iter().zip(&sboms) {
            inventory::check(&i.binaries, sbom, i.packages, &i.target)?;
        }
        install_check::shellcheck(&installer)?;
        install_check::check(&out, file_name(&cli_archive)?)?;
        eprintln!("dist: every artefact checked");
    }
    if args.check_reproducible {
        let mut flags = Vec::new();
        if args.no_deb {
            flags.push("--no-deb");
        }
        if args.no_web {
            flags.push("--no-web");
        }
        reproducible::check(&out, &flags)?;
    }
    println!("{}", out.display());
    Ok(())
}

fn release() -> Result<Release> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"))?,
        Err(_) => git(&["log", "-1", "--format=%ct"])
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
    };
    Ok(Release {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        commit,
        source_date_epoch,
    })
}

/// Adds a rustup target when it is missing, or says what to do when that is impossible.
fn ensure_target(target: &str) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).lines().any(|l| l == target) => Ok(()),
        Ok(_) => run_command(Command::new("rustup").args(["target", "add", target])).with_context(
            || format!("the {target} target is needed for the static binaries; install it with `rustup target add {target}`"),
        ),
        Err(e) => bail!(
            "rustup is not available ({e}): install the {target} standard library for this toolchain to build the static binaries"
        ),
    }
}

/// A release build of `packages` for `target` (the host's when `None`), as `dist` makes it
/// but without the embedded dependency list (which needs cargo-auditable).
pub fn build_release(target: Option<&str>, packages: &[&str]) -> Result<()> {
    let mut command = cargo();
    command.arg("build");
    prepare(&mut command, &release()?, target, packages)?;
    run_command(&mut command)
}

/// `cargo auditable build` of `packages` for `target`, in one build: each binary carries its
/// dependency list, and cargo's own messages tell which packages it compiled into them
/// (`inventory.rs`).
fn build(release: &Release, target: &str, packages: &[&str]) -> Result<inventory::Packages> {
    let mut command = cargo();
    command.args([
        "auditable",
        "build",
        "--message-format=json-render-diagnostics",
    ]);
    prepare(&mut command, release, Some(target), packages)?;
    command
        .current_dir(workspace_root())
        .stdout(std::process::Stdio::piped());
    eprintln!("$ {command:?}");
    let mut child = command.spawn().context("could not start cargo auditable")?;
    let messages = child.stdout.take().context("cargo has no stdout")?;
    let compiled = inventory::compiled_for(
        std::io::BufReader::new(messages),
        &target_dir().join(target),
    );
    let status = child.wait().context("cargo auditable did not finish")?;
    if !status.success() {
        bail!(
            "cargo auditable build of {} for {target} failed with {status}",
            packages.join(", ")
        );
    }
    compiled
}

/// The options and environment of a release build as dist makes it.
fn prepare(
    command: &mut Command,
    release: &Release,
    target: Option<&str>,
    packages: &[&str],
) -> Result<()> {
    command.args(["--release", "--locked"]);
    if let Some(target) = target {
        ensure_target(target)?;
        command.args(["--target", target]);
        // Panic locations are compiled in as paths: remapped, the binaries are the same from
        // any checkout directory. With --target cargo gives these flags to the target's
        // crates only, so the build scripts keep their cache.
        command.env(
            "CARGO_ENCODED_RUSTFLAGS",
            web::remapped_paths().join("\u{1f}"),
        );
        if target.ends_with("-musl") {
            command.env(
                format!("CC_{}", target.replace('-', "_")),
                musl_c_compiler()?,
            );
        }
    }
    for package in packages {
        command.args(["-p", package]);
    }
    command.env("OKMS_BUILD_COMMIT", &release.commit);
    Ok(())
}

/// ring compiles C and assembly: for musl it needs a C compiler that targets musl, which
/// Debian's `musl-tools` provides as `musl-gcc` (cc-rs only looks for `x86_64-linux-musl-gcc`).
fn musl_c_compiler() -> Result<&'static str> {
    ["x86_64-linux-musl-gcc", "musl-gcc"]
        .into_iter()
        .find(|cc| Command::new(cc).arg("--version").output().is_ok())
        .context(
            "no C compiler for musl (ring needs one for the static build): install musl-tools (`apt-get install musl-tools`) or put x86_64-linux-musl-gcc on PATH",
        )
}

/// The triple of the machine building, from `rustc -vV`.
fn host_target() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = crate::util::output_of(Command::new(rustc).arg("-vV"))?;
    version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host triple")
}

fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::copy(from, to)
        .with_context(|| format!("could not copy {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("could not make {} executable", to.display()))
}

fn write_sha256sums(out: &Path, artefacts: &[PathBuf]) -> Result<PathBuf> {
    let mut text = String::new();
    for path in artefacts {
        let bytes = fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
        let name = file_name(path)?;
        text.push_str(&format!(
            "{}  {name}\n",
            hex::encode(Sha256::digest(&bytes))
        ));
    }
    let sums = out.join("SHA256SUMS");
    fs::write(&sums, text).with_context(|| format!("could not write {}", sums.display()))?;
    eprintln!("wrote {}", sums.display());
    Ok(sums)
}

/// The last component of a path the task itself built.
pub fn file_name(path: &Path) -> Result<&str> {
    path.file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no UTF-8 file name", path.display()))
}
