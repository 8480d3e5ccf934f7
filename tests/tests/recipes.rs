//! The recipes of docs/recipes/ run as printed: every command marked `# tested` is given to
//! `sh -c`, in order, in one directory per recipe, against okms-emulator on 127.0.0.1, as a
//! new user would run it (API credentials in `OVH_*`, the domain in `OKMS_ID`, no CA file).
//! `kubectl` and `systemctl` are stand-ins first in `PATH` that record what they are given;
//! each test then checks what the product would see: the `.p12` Veeam imports, the Secret
//! External Secrets reads, the restart of the etcd plugin after the swap.
//!
//! Only what a reader supplies is supplied here: the files a product makes (vCenter's CSRs),
//! and the variables a recipe asks for (`VEEAM_P12_PASS`, `OLD_ID`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64ct::Encoding;
use common::{okms_cli, run_bounded};
use okms_emulator::RunningEmulator;
use okms_test_support::markdown::{ShellCommand, shell_commands};

const RECIPES: &[(&str, &str)] = &[
    ("README.md", include_str!("../../docs/recipes/README.md")),
    ("veeam.md", include_str!("../../docs/recipes/veeam.md")),
    ("vcenter.md", include_str!("../../docs/recipes/vcenter.md")),
    (
        "etcd-kms-plugin.md",
        include_str!("../../docs/recipes/etcd-kms-plugin.md"),
    ),
    (
        "external-secrets.md",
        include_str!("../../docs/recipes/external-secrets.md"),
    ),
];

/// A command may take this long (a renewal waits for READY and proves the new pair).
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

const VEEAM_P12_PASS: &str = "recipe-p12-passphrase-Jk8";

/// Records its arguments; with `OKMS_RENEW_CERT` set (called as a renewal hook), also the
/// certificate in place at that moment, to tell a call after the swap from one before it.
const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$RECIPE_RECORDS/systemctl.calls"
if [ -n "$OKMS_RENEW_CERT" ]; then
    cat "$OKMS_RENEW_CERT" > "$RECIPE_RECORDS/systemctl.cert-in-place"
fi
"#;

/// Does what kubectl does with the two forms the recipes use: `create secret tls NAME --cert F
/// --key F [--namespace NS]` (stored) or the same with `--dry-run=client -o yaml` (printed), and
/// `apply -f -` (stored). Every stored Secret goes to `secret-N.yaml`, in order.
const FAKE_KUBECTL: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$RECIPE_RECORDS/kubectl.calls"
store() {
    n=$(ls "$RECIPE_RECORDS" | grep -c '^secret-')
    cat > "$RECIPE_RECORDS/secret-$n.yaml"
}
case "$1" in
apply)
    [ "$2 $3" = "-f -" ] || { echo "fake kubectl: only apply -f -" >&2; exit 1; }
    store
    echo "secret/applied configured"
    exit 0 ;;
create) ;;
*) echo "fake kubectl: unexpected: $*" >&2; exit 1 ;;
esac
[ "$2 $3" = "secret tls" ] || { echo "fake kubectl: only create secret tls" >&2; exit 1; }
name=$4
shift 4
ns=default; cert=; key=; dry=; out=
while [ $# -gt 0 ]; do
    case "$1" in
    --cert=*) cert=${1#--cert=} ;;
    --cert) cert=$2; shift ;;
    --key=*) key=${1#--key=} ;;
    --key) key=$2; shift ;;
    --namespace=*) ns=${1#--namespace=} ;;
    -n|--namespace) ns=$2; shift ;;
    --dry-run=client) dry=1 ;;
    -o) out=$2; shift ;;
    *) echo "fake kubectl: unknown flag $1" >&2; exit 1 ;;
    esac
    shift
done
[ -r "$cert" ] && [ -r "$key" ] || { echo "error: cannot read --cert or --key" >&2; exit 1; }
manifest() {
    printf 'apiVersion: v1\ndata:\n  tls.crt: %s\n  tls.key: %s\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\ntype: kubernetes.io/tls\n' \
        "$(base64 -w0 "$cert")" "$(base64 -w0 "$key")" "$name" "$ns"
}
if [ -n "$dry" ]; then
    [ "$out" = yaml ] || { echo "fake kubectl: --dry-run=client without -o yaml" >&2; exit 1; }
    manifest
else
    manifest | store
    echo "secret/$name created"
fi
"#;

/// One recipe's run: its directory, the emulator, and the stand-ins' records.
struct Kitchen {
    dir: tempfile::TempDir,
    records: PathBuf,
    bin: PathBuf,
    emulator: RunningEmulator,
    vars: Vec<(String, String)>,
}

impl Kitchen {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join(".records");
        let bin = dir.path().join(".bin");
        std::fs::create_dir_all(&records).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        for (name, body) in [("systemctl", FAKE_SYSTEMCTL), ("kubectl", FAKE_KUBECTL)] {
            write_executable(&bin.join(name), body);
        }
        Kitchen {
            dir,
            records,
            bin,
            emulator: common::emulator(),
            vars: Vec::new(),
        }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file))
            .unwrap_or_else(|e| panic!("cannot read {file}: {e}"))
    }

    /// A variable the recipe asks the reader to set.
    fn set(&mut self, name: &str, value: &str) {
        self.vars.push((name.to_owned(), value.to_owned()));
    }

    /// okms-cli run directly (for the test's own setup and checks), wired as the recipe is.
    fn okms_cli(&self, args: &[&str]) -> String {
        let mut command = okms_cli();
        self.wire(&mut command);
        let ran = run_bounded(command.args(args), COMMAND_LIMIT);
        assert!(
            ran.success(),
            "okms-cli {args:?} failed: {}{}",
            ran.stdout,
            ran.stderr
        );
        ran.stdout
    }

    /// The environment of a reader who followed docs/recipes/README.md: API credentials and
    /// `OKMS_ID`, no CA file, okms-cli and the stand-ins on `PATH`.
    fn wire(&self, command: &mut Command) {
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("OVH_") || name.starts_with("OKMS_") {
                command.env_remove(name);
            }
        }
        let info = self.emulator.info();
        let okms_cli_dir = Path::new(okms_cli().get_program())
            .parent()
            .unwrap()
            .to_owned();
        let path = std::env::join_paths(
            [self.bin.clone(), okms_cli_dir].into_iter().chain(
                std::env::var_os("PATH")
                    .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                    .unwrap_or_default(),
            ),
        )
        .unwrap();
        command
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("RECIPE_RECORDS", &self.records)
            .env("OVH_ENDPOINT", &info.api_url)
            .env("OVH_APPLICATION_KEY", &info.application_key)
            .env("OVH_APPLICATION_SECRET", &info.application_secret)
            .env("OVH_CONSUMER_KEY", &info.consumer_key)
            .env("OKMS_ID", info.okms_id.to_string());
        for (name, value) in &self.vars {
            command.env(name, value);
        }
    }

    /// Runs the `# tested` commands of `recipe` from the one starting with `from` (inclusive)
    /// up to the one starting with `until` (exclusive; `None`: to the end), in a shell.
    /// Returns how many ran.
    fn cook(&self, recipe: &str, from: Option<&str>, until: Option<&str>) -> usize {
        let steps = tested(recipe);
        let start = from.map_or(0, |prefix| position(recipe, &steps, prefix));
        let end = until.map_or(steps.len(), |prefix| position(recipe, &steps, prefix));
        for step in &steps[start..end] {
            let mut shell = Command::new("sh");
            self.wire(&mut shell);
            let ran = run_bounded(shell.args(["-c", &step.line]), COMMAND_LIMIT);
            assert!(
                ran.success(),
                "{recipe}: this command failed ({:?}{}):\n{}\nstdout:\n{}\nstderr:\n{}",
                ran.code,
                if ran.timed_out { ", timed out" } else { "" },
                step.line,
                ran.stdout,
                ran.stderr
            );
        }
        end - start
    }

    /// The public-key fingerprint of a certificate or key file.
    fn fingerprint(&self, what: &str, file: &str) -> String {
        let shown: serde_json::Value =
            serde_json::from_str(&self.okms_cli(&["--json", what, "show", file])).unwrap();
        shown["public_key_sha256"].as_str().unwrap().to_owned()
    }

    /// The credential id a certificate file names.
    fn credential_id(&self, cert: &str) -> String {
        let shown: serde_json::Value =
            serde_json::from_str(&self.okms_cli(&["--json", "cert", "show", cert])).unwrap();
        shown["credential_id"].as_str().unwrap().to_owned()
    }

    /// The lines a stand-in recorded.
    fn calls(&self, tool: &str) -> Vec<String> {
        std::fs::read_to_string(self.records.join(format!("{tool}.calls")))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// A credential's status as `credential list` shows it (`None`: not listed).
fn status(k: &Kitchen, id: &str) -> Option<String> {
    let listed: serde_json::Value =
        serde_json::from_str(&k.okms_cli(&["--json", "credential", "list"])).unwrap();
    listed["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| c["status"].as_str().unwrap().to_owned())
}

fn recipe_text(recipe: &str) -> &'static str {
    RECIPES
        .iter()
        .find(|(name, _)| *name == recipe)
        .map(|(_, text)| *text)
        .unwrap_or_else(|| panic!("no recipe {recipe}"))
}

/// The commands of `recipe` marked `# tested`, in order.
fn tested(recipe: &str) -> Vec<ShellCommand> {
    shell_commands(recipe_text(recipe))
        .into_iter()
        .filter(|c| c.comment.as_deref() == Some("tested"))
        .collect()
}

fn position(recipe: &str, steps: &[ShellCommand], prefix: &str) -> usize {
    steps
        .iter()
        .position(|s| s.line.starts_with(prefix))
        .unwrap_or_else(|| panic!("{recipe} lost its command {prefix:?}"))
}

fn write_private(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn write_executable(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn every_okms_cli_command_of_the_recipes_is_tested() {
    for (recipe, text) in RECIPES {
        for command in shell_commands(text) {
            if command.line.starts_with("okms-cli ") {
                assert_eq!(
                    command.comment.as_deref(),
                    Some("tested"),
                    "{recipe}: an okms-cli command not run by this test: {}",
                    command.line
                );
            }
        }
    }
    // Every recipe file is in RECIPES, so none escapes the rule above.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/recipes");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            RECIPES.iter().any(|(known, _)| *known == name),
            "docs/recipes/{name} is not run by tests/tests/recipes.rs"
        );
    }
    // And the index links every recipe.
    for (recipe, _) in &RECIPES[1..] {
        assert!(
            recipe_text("README.md").contains(&format!("]({recipe})")),
            "docs/recipes/README.md does not link {recipe}"
        );
    }
}

#[test]
fn veeam_gets_a_p12_with_the_chain_and_a_ca_that_verifies_the_kmip_endpoint() {
    let Some(openssl) = okms_test_support::interop::openssl("the Veeam recipe") else {
        return;
    };
    let mut k = Kitchen::new();
    k.set("VEEAM_P12_PASS", VEEAM_P12_PASS);
    k.cook("veeam.md", None, Some("okms-cli credential renew"));

    // The .p12 opens with the passphrase and holds the key, the certificate and the CA.
    let dir = k.dir.path();
    let passin = format!("pass:{VEEAM_P12_PASS}");
    let certs = openssl.text(
        dir,
        &["pkcs12", "-in", "veeam.p12", "-passin", &passin, "-nokeys"],
    );
    assert_eq!(
        certs.matches("BEGIN CERTIFICATE").count(),
        2,
        "the certificate and the domain's CA: {certs}"
    );
    assert!(certs.contains(k.read("okms-ca.pem").lines().nth(1).unwrap()));
    let key = openssl.ok(
        dir,
        &[
            "pkcs12",
            "-in",
            "veeam.p12",
            "-passin",
            &passin,
            "-nocerts",
            "-nodes",
        ],
    );
    std::fs::write(k.path("from-p12.key"), key).unwrap();
    assert_eq!(
        openssl.public_key_der(dir, "from-p12.key", None),
        openssl.public_key_der(dir, "veeam.key", None),
        "the .p12's key is not veeam.key"
    );
    let wrong = openssl.output(
        dir,
        &[
            "pkcs12",
            "-in",
            "veeam.p12",
            "-passin",
            "pass:wrong",
            "-nokeys",
        ],
    );
    assert!(
        !wrong.status.success(),
        "the .p12 opened without its passphrase"
    );

    // What Veeam is told to trust verifies the KMIP endpoint it connects to.
    let kmip = k.emulator.info().kmip_endpoint.clone();
    let shown = openssl.output(
        dir,
        &[
            "s_client",
            "-connect",
            &kmip,
            "-CAfile",
            "okms-ca.pem",
            "-cert",
            "veeam.cert",
            "-key",
            "veeam.key",
            "-verify_return_error",
        ],
    );
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("Verify return code: 0 (ok)"),
        "openssl did not verify the KMIP endpoint with okms-ca.pem: {text}{}",
        String::from_utf8_lossy(&shown.stderr)
    );

    // The renewal's hook leaves a new .p12 for the new credential, with the new pair.
    let old = k.credential_id("veeam.cert");
    assert_eq!(
        k.cook(
            "veeam.md",
            Some("okms-cli credential renew"),
            Some("okms-cli credential delete")
        ),
        1
    );
    let new = k.credential_id("veeam.cert");
    assert_ne!(old, new, "the renewal did not replace veeam.cert");
    let renewed_p12 = format!("veeam-{new}.p12");
    let key = openssl.ok(
        dir,
        &[
            "pkcs12",
            "-in",
            &renewed_p12,
            "-passin",
            &passin,
            "-nocerts",
            "-nodes",
        ],
    );
    std::fs::write(k.path("from-new-p12.key"), key).unwrap();
    assert_eq!(
        openssl.public_key_der(dir, "from-new-p12.key", None),
        openssl.public_key_der(dir, "veeam.key", None),
        "the renewed .p12 does not hold the renewed key"
    );
    assert_eq!(
        k.fingerprint("cert", "veeam.cert"),
        k.fingerprint("key", "veeam.key")
    );

    // Veeam still uses the old certificate until the new file is imported: it stays live
    // until the recipe's last step revokes it.
    assert_eq!(
        status(&k, &old).as_deref(),
        Some("READY"),
        "revoked too soon"
    );
    let old_id = k.credential_id("veeam.cert.bak");
    revoke_old_keep_new(&mut k, "veeam.md", &old_id, &old, &new);
}

#[test]
fn vcenter_gets_a_certificate_for_its_own_csr_and_the_old_one_is_revoked() {
    let mut k = Kitchen::new();
    // vCenter's CSRs (its key stays in vCenter): made here by the test in its place.
    for (key, csr) in [
        (".vcenter-side.key", "vcenter.csr"),
        (".vcenter-side-new.key", "vcenter-new.csr"),
    ] {
        k.okms_cli(&["key", "new", "--algorithm", "rsa-2048", "--out", key]);
        k.okms_cli(&[
            "csr",
            "new",
            "--key",
            key,
            "--cn",
            "vcenter.example",
            "--out",
            csr,
        ]);
    }
    k.cook("vcenter.md", None, Some("okms-cli credential delete"));
    assert_eq!(
        k.fingerprint("cert", "vcenter.cert"),
        k.fingerprint("key", ".vcenter-side.key"),
        "the certificate is not for vCenter's key"
    );
    assert_eq!(
        k.fingerprint("cert", "vcenter-new.cert"),
        k.fingerprint("key", ".vcenter-side-new.key")
    );
    assert_eq!(k.read("okms-ca.pem"), k.emulator.info().ca_pem);

    let old = k.credential_id("vcenter.cert");
    let new = k.credential_id("vcenter-new.cert");
    revoke_old_keep_new(&mut k, "vcenter.md", &old, &old, &new);
}

/// Runs the recipe's last step (from `okms-cli credential delete` on) with `OLD_ID` set to
/// `old_id` (as the recipe tells the user to find it), and checks that it revoked `old` and
/// left `new` READY.
fn revoke_old_keep_new(k: &mut Kitchen, recipe: &str, old_id: &str, old: &str, new: &str) {
    k.set("OLD_ID", old_id);
    k.cook(recipe, Some("okms-cli credential delete"), None);
    assert_ne!(
        status(k, old).as_deref(),
        Some("READY"),
        "the old one is live"
    );
    assert_eq!(status(k, new).as_deref(), Some("READY"));
}

#[test]
fn etcd_plugin_is_restarted_once_after_the_swap() {
    let k = Kitchen::new();
    k.cook(
        "etcd-kms-plugin.md",
        None,
        Some("okms-cli credential renew"),
    );
    let before = k.read("etcd-kms.cert");
    assert!(k.calls("systemctl").is_empty());

    k.cook(
        "etcd-kms-plugin.md",
        Some("okms-cli credential renew"),
        None,
    );
    let after = k.read("etcd-kms.cert");
    assert_ne!(before, after, "the renewal did not replace etcd-kms.cert");
    assert_eq!(k.read("etcd-kms.cert.bak"), before);
    assert_eq!(
        k.calls("systemctl"),
        ["restart okms-k8s-encryption-provider.service"],
        "one restart of the plugin"
    );
    assert_eq!(
        k.read(".records/systemctl.cert-in-place"),
        after,
        "the plugin was restarted before the new pair was in place"
    );
    assert_eq!(
        k.fingerprint("cert", "etcd-kms.cert"),
        k.fingerprint("key", "etcd-kms.key")
    );
}

/// The `tls.crt` and `tls.key` of a `kubernetes.io/tls` Secret manifest, decoded.
fn tls_secret(manifest: &str) -> (Vec<u8>, Vec<u8>) {
    let field = |name: &str| {
        manifest
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name:?} in the Secret:\n{manifest}"))
            .to_owned()
    };
    assert_eq!(field("kind:"), "Secret", "{manifest}");
    assert_eq!(field("type:"), "kubernetes.io/tls", "{manifest}");
    assert_eq!(field("  name:"), "ovh-mtls", "{manifest}");
    let decode = |name: &str| {
        base64ct::Base64::decode_vec(&field(name))
            .unwrap_or_else(|e| panic!("{name} is not base64 ({e}):\n{manifest}"))
    };
    (decode("  tls.crt:"), decode("  tls.key:"))
}

#[test]
fn external_secrets_secret_is_updated_with_the_renewed_pair() {
    let k = Kitchen::new();
    k.cook(
        "external-secrets.md",
        None,
        Some("okms-cli credential renew"),
    );
    let (crt, key) = tls_secret(&k.read(".records/secret-0.yaml"));
    assert_eq!(crt, k.read("eso.cert").as_bytes());
    assert_eq!(key, k.read("eso.key").as_bytes());

    k.cook(
        "external-secrets.md",
        Some("okms-cli credential renew"),
        None,
    );
    let applied = k.read(".records/secret-1.yaml");
    assert!(
        !k.path(".records/secret-2.yaml").exists(),
        "the hook stored the Secret more than once"
    );
    let (crt, key) = tls_secret(&applied);
    assert_eq!(
        crt,
        k.read("eso.cert").as_bytes(),
        "tls.crt is not the renewed certificate"
    );
    assert_eq!(
        key,
        k.read("eso.key").as_bytes(),
        "tls.key is not the renewed key"
    );
    assert_ne!(crt, k.read("eso.cert.bak").as_bytes());
    // What External Secrets would read from the Secret works against the KMS.
    std::fs::write(k.path("from-secret.crt"), &crt).unwrap();
    write_private(&k.path("from-secret.key"), &key);
    assert_eq!(
        k.fingerprint("cert", "from-secret.crt"),
        k.fingerprint("key", "from-secret.key"),
        "the Secret's tls.key is not its tls.crt's key"
    );
    k.okms_cli(&[
        "credential",
        "check",
        "--cert",
        "from-secret.crt",
        "--key",
        "from-secret.key",
    ]);
    assert!(
        k.calls("kubectl")
            .iter()
            .any(|c| c.starts_with("apply -f -")),
        "{:?}",
        k.calls("kubectl")
    );
}
