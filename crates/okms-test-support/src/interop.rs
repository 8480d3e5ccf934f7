//! The outside tools our output must satisfy: the `openssl` command and Python's
//! `cryptography` package.
//!
//! One skip rule for both, the same as for SoftHSM2: [`openssl`] and [`python_cryptography`]
//! return `None` after a [`crate::skip()`] (a loud, recorded skip) when the tool is missing,
//! and the test returns early; under `OKMS_REQUIRE_INTEROP=1` (CI) they panic instead, naming
//! what to install, so that a missing package never passes silently there. The handles they return are
//! the only way to run the tools, so no test can run one without having asked first.
//!
//! ```no_run
//! # let dir = std::path::Path::new("/tmp/okms-doc");
//! let Some(openssl) = okms_test_support::interop::openssl("my interop tests") else {
//!     return; // skipped, loudly (or a failure when OKMS_REQUIRE_INTEROP=1)
//! };
//! openssl.verify_csr(dir, "req.csr");
//! ```

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::skip_or_fail;

const REQUIRE_VAR: &str = "OKMS_REQUIRE_INTEROP";

/// The `openssl` command, known to run. Get it from [`openssl`].
#[derive(Debug, Clone, Copy)]
pub struct Openssl(());

/// `python3` with the `cryptography` package, known to import. Get it from
/// [`python_cryptography`].
#[derive(Debug, Clone, Copy)]
pub struct PythonCryptography(());

/// The openssl command, or `None` after a loud skip message naming `tests` (a panic under
/// `OKMS_REQUIRE_INTEROP=1`).
pub fn openssl(tests: &str) -> Option<Openssl> {
    if runs("openssl", &["version"]) {
        return Some(Openssl(()));
    }
    skip_or_fail(
        &format!(
            "the openssl command is not installed; install it with `apt-get install openssl` \
             to run {tests}"
        ),
        REQUIRE_VAR,
    );
    None
}

/// Python 3 with `cryptography`, or `None` after a loud skip message naming `tests` (a panic
/// under `OKMS_REQUIRE_INTEROP=1`).
pub fn python_cryptography(tests: &str) -> Option<PythonCryptography> {
    if runs("python3", &["-c", "import cryptography"]) {
        return Some(PythonCryptography(()));
    }
    skip_or_fail(
        &format!(
            "python3 with the cryptography package is not installed; install it with \
             `apt-get install python3-cryptography` (or `pip install cryptography`) to run {tests}"
        ),
        REQUIRE_VAR,
    );
    None
}

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `program args` in `dir` with no input and returns its output, whatever the status.
fn output(program: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Like [`output`], but the command must succeed: its stdout, or a panic with both streams.
fn stdout_of_success(program: &str, dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = output(program, dir, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl Openssl {
    /// `openssl args` in `dir`, whatever its status (for the cases openssl must refuse).
    pub fn output(&self, dir: &Path, args: &[&str]) -> Output {
        output("openssl", dir, args)
    }

    /// `openssl args` in `dir`, which must succeed; its stdout.
    pub fn ok(&self, dir: &Path, args: &[&str]) -> Vec<u8> {
        stdout_of_success("openssl", dir, args)
    }

    /// [`Openssl::ok`], its stdout as text.
    pub fn text(&self, dir: &Path, args: &[&str]) -> String {
        String::from_utf8(self.ok(dir, args)).expect("openssl prints UTF-8")
    }

    /// `openssl req -verify` on the PEM CSR `file` in `dir`: its signature must verify.
    pub fn verify_csr(&self, dir: &Path, file: &str) {
        let out = self.output(dir, &["req", "-verify", "-noout", "-in", file]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && all.contains("verify OK"),
            "openssl req -verify failed for {file}: {all}"
        );
    }

    /// The DER SubjectPublicKeyInfo openssl derives from the private key `key_file` in `dir`,
    /// opened with `passphrase` when it is encrypted.
    pub fn public_key_der(&self, dir: &Path, key_file: &str, passphrase: Option<&str>) -> Vec<u8> {
        let mut args = vec!["pkey", "-in", key_file, "-pubout", "-outform", "DER"];
        let passin = passphrase.map(|p| format!("pass:{p}"));
        if let Some(passin) = &passin {
            args.extend(["-passin", passin]);
        }
        self.ok(dir, &args)
    }

    /// `openssl verify -purpose sslclient`: `ca_file` issued `cert_file`, for client use.
    pub fn verify_client_certificate(&self, dir: &Path, ca_file: &str, cert_file: &str) {
        let out = self.text(
            dir,
            &[
                "verify",
                "-CAfile",
                ca_file,
                "-purpose",
                "sslclient",
                cert_file,
            ],
        );
        assert!(out.contains(": OK"), "{out}");
    }

    /// A throwaway P-256 certificate authority in `dir`: `{ca}.key` and the self-signed
    /// `{ca}.pem`, valid two days. Kept when `{ca}.pem` is already there, so that several
    /// leaves can share it.
    pub fn test_ca(&self, dir: &Path, ca: &str) {
        let (key, cert) = (format!("{ca}.key"), format!("{ca}.pem"));
        if dir.join(&cert).exists() {
            return;
        }
        self.ok(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &key,
            ],
        );
        self.ok(
            dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                &key,
                "-subj",
                &format!("/CN={ca}"),
                "-days",
                "2",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
                "-out",
                &cert,
            ],
        );
    }

    /// A new P-256 key `{name}.key` in `dir`, SEC1 (`EC PRIVATE KEY`, as OVHcloud returns
    /// generated keys), and its CSR `{name}.csr` with subject `CN={name}`.
    pub fn ec_key_and_csr(&self, dir: &Path, name: &str) {
        let key = format!("{name}.key");
        self.ok(
            dir,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                &key,
            ],
        );
        self.ok(
            dir,
            &[
                "req",
                "-new",
                "-key",
                &key,
                "-subj",
                &format!("/CN={name}"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
    }

    /// Issues `{name}.pem` in `dir` from the CSR `{name}.csr` with the CA of [`Openssl::test_ca`]
    /// named `ca`, valid two days, with the openssl extension lines `extensions` (kept in
    /// `{name}.ext`), for example `"extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"`.
    pub fn issue(&self, dir: &Path, ca: &str, name: &str, extensions: &str) {
        let ext = format!("{name}.ext");
        std::fs::write(dir.join(&ext), extensions)
            .unwrap_or_else(|e| panic!("cannot write {ext}: {e}"));
        self.ok(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.pem"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &ext,
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
}

impl PythonCryptography {
    /// `python3 args` in `dir`, which must succeed; its stdout as text.
    pub fn ok(&self, dir: &Path, args: &[&str]) -> String {
        String::from_utf8(stdout_of_success("python3", dir, args)).expect("python prints UTF-8")
    }

    /// Runs the Python program `code` (`python3 -c`) in `dir`, which must succeed; its stdout.
    pub fn run(&self, dir: &Path, code: &str) -> String {
        self.ok(dir, &["-c", code])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_pki_issues_a_client_certificate_openssl_verifies() {
        let Some(openssl) = openssl("okms-test-support's own openssl tests") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl.test_ca(d, "ca");
        let ca = std::fs::read(d.join("ca.pem")).unwrap();
        openssl.test_ca(d, "ca");
        assert_eq!(
            std::fs::read(d.join("ca.pem")).unwrap(),
            ca,
            "an existing CA is kept"
        );
        openssl.ec_key_and_csr(d, "client");
        assert!(
            std::fs::read_to_string(d.join("client.key"))
                .unwrap()
                .starts_with("-----BEGIN EC PRIVATE KEY-----")
        );
        openssl.verify_csr(d, "client.csr");
        openssl.issue(
            d,
            "ca",
            "client",
            "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
        );
        openssl.verify_client_certificate(d, "ca.pem", "client.pem");
        // The certificate holds the key's public key, which an encrypted copy gives too.
        let from_key = openssl.public_key_der(d, "client.key", None);
        let cert_pub = openssl.ok(d, &["x509", "-in", "client.pem", "-noout", "-pubkey"]);
        std::fs::write(d.join("cert-pub.pem"), cert_pub).unwrap();
        let from_cert = openssl.ok(
            d,
            &["pkey", "-pubin", "-in", "cert-pub.pem", "-outform", "DER"],
        );
        assert_eq!(from_key, from_cert);
        openssl.ok(
            d,
            &[
                "pkey",
                "-in",
                "client.key",
                "-aes-256-cbc",
                "-passout",
                "pass:pw",
                "-out",
                "enc.pem",
            ],
        );
        assert_eq!(openssl.public_key_der(d, "enc.pem", Some("pw")), from_key);
        // Another CA did not issue it.
        openssl.test_ca(d, "other");
        let refused = openssl.output(
            d,
            &[
                "verify",
                "-CAfile",
                "other.pem",
                "-purpose",
                "sslclient",
                "client.pem",
            ],
        );
        assert!(!refused.status.success());
    }

    #[test]
    fn python_runs_a_program_and_returns_what_it_prints() {
        let Some(python) = python_cryptography("okms-test-support's own Python test") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let out = python.run(
            dir.path(),
            "import cryptography, os; print(os.path.realpath(os.getcwd()))",
        );
        let cwd = dir.path().canonicalize().unwrap();
        assert_eq!(out.trim_end(), cwd.to_str().unwrap());
    }
}
