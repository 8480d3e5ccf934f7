//! `--p12-out` on `credential create` ([`P12Plan`]) and `credential renew` ([`StagedP12`]):
//! a PKCS#12 copy of the pair, made with [`crate::commands::cert_export`]'s [`P12Target`].
//! Everything that can fail before a credential exists (the target, the passphrase, the
//! `--ca` chain, a key on a token) fails before it is created.

use std::path::Path;

use okms_api::{Client, Credential, Domain, SecretString, Uuid};
use okms_csr::{Certificate, ExposeSecret as _, PrivateKey, same_public_key};

use super::Source;
use crate::cli::CredentialCreateArgs;
use crate::commands::cert_export::{self, P12Options, P12Report, P12Target};
use crate::error::{CliError, CliResult, csr_error, usage};
use crate::exit::Exit;
use crate::files::{self, Beside};
use crate::input;
use crate::output::Output;

/// `credential create --p12-out`, checked before anything is sent.
pub(super) struct P12Plan {
    target: P12Target,
    /// `--key` with a CSR; `None`: the key OVHcloud generates.
    key: Option<PrivateKey>,
}

impl P12Plan {
    /// The target, the passphrase, the `--ca` chain, and with a CSR the key given with `--key`
    /// (checked against the CSR; a key on a token is refused: not extractable).
    ///
    /// # Errors
    /// Usage errors for flags that do not go together; as [`P12Target::prepare`].
    pub(super) fn check(
        a: &CredentialCreateArgs,
        source: &Source,
        out: &Output,
    ) -> CliResult<Option<P12Plan>> {
        let Some(path) = &a.p12.p12_out else {
            return Ok(None);
        };
        if a.no_wait {
            return Err(usage(
                "--p12-out needs the certificate, which --no-wait does not wait for",
            ));
        }
        if files::same_target(path, &a.cert_out) {
            return Err(usage("--p12-out and --cert-out name the same file"));
        }
        let key = match (source, &a.key) {
            (Source::Generated { key_out }, None) => {
                if files::same_target(path, key_out) {
                    return Err(usage("--p12-out and --key-out name the same file"));
                }
                None
            }
            (Source::Generated { .. }, Some(_)) => {
                return Err(usage(
                    "--key is the CSR's key: give it with --csr or --request (without them OVHcloud makes the key)",
                ));
            }
            (Source::Csr { .. }, None) => {
                return Err(usage(
                    "--p12-out with a CSR needs its private key: give it with --key PATH",
                )
                .hint("the key that made the CSR is on this host; OVHcloud never sees it"));
            }
            (Source::Csr { public_key }, Some(key_path)) => {
                cert_export::refuse_token_key(key_path)?;
                let key = input::load_private_key(key_path, &a.passphrase)?;
                if !same_public_key(&key.public_key(), public_key) {
                    return Err(CliError::new(
                        Exit::VerificationFailed,
                        format!(
                            "{} is not the key of the CSR; nothing was sent",
                            input::display_path(key_path)
                        ),
                    )
                    .hint("give the private key that made the CSR"));
                }
                Some(key)
            }
        };
        let options = P12Options::of_output(&a.p12, a.ca.as_deref(), &a.passphrase);
        let target = P12Target::prepare(path, a.force, &options, out)?;
        Ok(Some(P12Plan { target, key }))
    }

    /// Writes the file for the issued certificate and its key (`--key`'s, else `generated`),
    /// with the domain's CA from the API when no `--ca` was given.
    ///
    /// # Errors
    /// As [`cert_export::write_prepared`]; exit 1 when the generated key could not be read.
    pub(super) async fn write(
        self,
        client: &Client,
        okms_id: Uuid,
        credential: &Credential,
        generated: Option<PrivateKey>,
        force: bool,
        out: &Output,
    ) -> CliResult<P12Report> {
        let Some(key) = self.key.or(generated) else {
            return Err(CliError::new(
                Exit::Error,
                "the private key could not be read back, so no PKCS#12 file was made",
            ));
        };
        let pem = credential.certificate_pem.as_deref().unwrap_or_default();
        let cert = Certificate::from_pem(pem)
            .map_err(|e| csr_error(e, "the issued certificate cannot be read"))?;
        let api_chain = if self.target.wants_api_chain() {
            cert_export::api_chain(client, okms_id, &cert, out).await
        } else {
            None
        };
        cert_export::write_prepared(&self.target, force, key, cert, api_chain, out)
    }
}

/// `credential renew --p12-out`: checked before anything is created, staged as `FILE.new`
/// when the pair is deployed, swapped in with it (the previous file kept as `FILE.bak`), and
/// removed with the pair's `.new` files when it is not deployed.
pub(crate) struct StagedP12 {
    at: Beside,
    target: P12Target,
    /// The domain's CA from the API (when no `--ca`).
    api_chain: Option<Vec<Certificate>>,
    rsa: bool,
    written: Option<P12Report>,
}

impl StagedP12 {
    /// The file is replaced in place when `replaced` (as the pair is); otherwise (`--id`) it
    /// must not exist. `pair` is the deployed key and certificate, which it must not name.
    ///
    /// # Errors
    /// Usage errors; exit 5 when a file cannot be written; as [`P12Target::prepare`].
    pub(crate) fn prepare(
        path: &Path,
        replaced: bool,
        pair: &[&Path],
        options: &P12Options<'_>,
        rsa: bool,
        out: &Output,
    ) -> CliResult<Self> {
        let at = Beside::of(path);
        if pair.iter().any(|t| files::same_target(t, &at.target)) {
            return Err(usage("--p12-out names the same file as --cert or --key"));
        }
        for p in [&at.new, &at.backup] {
            files::check_writable(p, true)?;
        }
        files::check_take_over(&at)
            .map_err(|e| CliError::from(e).context("nothing was created"))?;
        let target = P12Target::prepare(&at.target, replaced, options, out)?;
        Ok(StagedP12 {
            at,
            target,
            api_chain: None,
            rsa,
            written: None,
        })
    }

    /// Where the file, its `.new` and its `.bak` are.
    pub(crate) fn at(&self) -> &Beside {
        &self.at
    }

    /// The domain as read before the renewal: its CA is the chain, unless `--ca` was given.
    pub(crate) fn domain_read(&mut self, domain: &Domain, out: &Output) {
        if !self.target.wants_api_chain() {
            return;
        }
        match cert_export::chain_of(domain.clone(), self.rsa) {
            Ok(chain) => self.api_chain = Some(chain),
            Err(reason) => out.warn(&format!(
                "the CA of domain {} from the API is unusable for {}: {reason}",
                domain.id,
                self.at.target.display()
            )),
        }
    }

    /// Writes `FILE.new` for the new key (`key_pem`, plain PEM) and its certificate `pem`. A
    /// stale `FILE.new` of an interrupted run is replaced: it holds nothing this one does not.
    ///
    /// # Errors
    /// As [`P12Target::encode`], or the write's error.
    pub(crate) fn stage(&mut self, key_pem: &SecretString, pem: &str) -> CliResult<()> {
        let key = PrivateKey::import(key_pem.expose_secret().as_bytes(), None)
            .map_err(|e| csr_error(e, "cannot read the new key back"))?;
        let cert = Certificate::from_pem(pem)
            .map_err(|e| csr_error(e, "cannot read the new certificate"))?;
        let (der, report) = self.target.encode(key, cert, self.api_chain.clone(), || {
            "the new certificate is not the new key's".to_owned()
        })?;
        files::remove_undeployed(&[&self.at]).map_err(|e| {
            CliError::new(
                Exit::Error,
                format!("cannot remove {}: {e}", self.at.new.display()),
            )
        })?;
        files::write_new_key(&self.at, &der)?;
        self.written = Some(report);
        Ok(())
    }

    /// Says so once the file is swapped in.
    pub(crate) fn tell_deployed(&self, out: &Output) {
        if let Some(report) = &self.written {
            self.target.tell_written(report, out);
        }
    }

    /// What the file holds, once staged.
    pub(crate) fn written(&self) -> Option<P12Report> {
        self.written.clone()
    }
}
