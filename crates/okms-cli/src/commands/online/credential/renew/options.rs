//! `credential renew`'s flags, checked and converted once into what the renewal needs: below
//! [`RenewOptions::from_args`] nothing sees the clap struct.

use std::cell::Cell;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use okms_api::kms::PropagationWait;
use okms_api::{ReconcileOptions, Uuid, WaitPolicy};
use okms_csr::KeyAlgorithm;
use okms_lifecycle::{Endpoint, RenewalRequest};
use okms_pkcs11::Pkcs11Uri;

use super::report::RunState;
use crate::cli::{CredentialRenewArgs, P12OutArgs, PassphraseArgs, Pkcs11Args};
use crate::commands::online::session::parse_uuid;
use crate::commands::pkcs11;
use crate::error::usage;
use crate::error::{CliError, CliResult};
use crate::exit::Exit;

/// Where the deployed key is.
pub(super) enum KeyPlace {
    /// A PEM file, replaced in place.
    File(PathBuf),
    /// A key on a PKCS#11 token, named by label (the new key takes it over).
    Token {
        /// The URI as given: it may carry the PIN source, for the signing session.
        uri: Box<Pkcs11Uri>,
        /// The deployed key's label.
        label: String,
    },
}

/// `--id`: a credential named by id, whose pair is written to new files.
#[derive(Clone, Copy)]
pub(super) struct ById {
    pub okms_id: Uuid,
    pub credential_id: Uuid,
}

/// `--broker`: renew through a renewal broker, with no API credential.
pub(super) struct BrokerTarget {
    pub url: okms_api::broker::BrokerUrl,
    /// `--broker-ca`: what signed the broker's TLS certificate.
    pub ca: Option<PathBuf>,
}

/// When the renewal runs.
#[derive(Clone, Copy)]
pub(super) enum Due {
    /// Now, due or not (`--force`).
    Now,
    /// Once two thirds of the lifetime have passed, or at most this many days are left.
    OnSchedule { days_left: Option<u32> },
}

/// One `credential renew`, as asked for.
pub(super) struct RenewOptions<'a> {
    /// The deployed certificate (or, with `by_id`, where the new one goes).
    pub cert: PathBuf,
    pub key: KeyPlace,
    /// Renew this credential instead of the deployed pair's (files only).
    pub by_id: Option<ById>,
    /// The domain asked for; the certificate's by default.
    pub okms_id: Option<Uuid>,
    pub due: Due,
    /// With a token key: go on although `LABEL.bak` holds a key that may still be needed
    /// (both are then kept under that label).
    pub keep_second_backup: bool,
    pub jitter: Option<Duration>,
    /// The new key's algorithm; the old key's by default.
    pub algorithm: Option<KeyAlgorithm>,
    pub validity: Option<u32>,
    pub keep_old: bool,
    pub timeout: Duration,
    /// How long the proof retries a refusal after READY.
    pub propagation_wait: Duration,
    pub kms_url: Option<String>,
    pub ca: Option<PathBuf>,
    /// `--broker`: the broker issues the new certificate instead of the API.
    pub broker: Option<BrokerTarget>,
    /// The program to run once deployed, and its arguments.
    pub hook: Vec<OsString>,
    /// How to reach the token.
    pub token: &'a Pkcs11Args,
    /// Where the key file's passphrase comes from (the new key is encrypted with it too, and
    /// the `--p12-out` file).
    pub passphrase: &'a PassphraseArgs,
    /// `--p12-out` and its companions.
    pub p12: &'a P12OutArgs,
    /// What the run has learnt, for its `--json` report if it fails.
    pub run: RunState,
    /// When the run started, for `--timeout` (moved on by the jitter pause).
    pub started: Cell<Instant>,
}

impl<'a> RenewOptions<'a> {
    /// Checks the flags that do not need a file or the network.
    ///
    /// # Errors
    /// Exit 2 or 3 for flags that contradict each other or do not parse.
    pub fn from_args(a: &'a CredentialRenewArgs) -> CliResult<Self> {
        let key = if pkcs11::is_uri(&a.key) {
            token_key(a)?
        } else {
            pkcs11::refuse_token_flags(&a.token, "--key pkcs11:URI (a key on a token)")?;
            KeyPlace::File(a.key.clone())
        };
        let credential_id = match &a.id {
            Some(id) => Some(parse_uuid(id, "--id")?),
            None => None,
        };
        let okms_id = match &a.okms_id {
            Some(given) => Some(parse_uuid(given, "--okms-id")?),
            None => None,
        };
        let by_id = match (credential_id, okms_id) {
            (Some(credential_id), Some(okms_id)) => Some(ById {
                okms_id,
                credential_id,
            }),
            (Some(_), None) => {
                return Err(usage("--id needs the credential's domain")
                    .hint("pass --okms-id ID, or set OKMS_ID"));
            }
            (None, _) => None,
        };
        if by_id.is_some() && !a.yes && !a.keep_old {
            return Err(usage(
                "--id revokes the old credential at the end, and its files on the other host then stop working",
            )
            .hint("pass --yes once the other host has the new pair (or will get it), or --keep-old to leave the old credential live"));
        }
        let broker = match &a.broker {
            Some(url) => Some(BrokerTarget {
                url: okms_api::broker::BrokerUrl::parse(url).map_err(|e| {
                    CliError::new(Exit::InvalidInput, format!("--broker: {e}"))
                        .hint("give the broker's base URL, e.g. --broker https://okms-broker.example:8443")
                })?,
                ca: a.broker_ca.clone(),
            }),
            None => None,
        };
        Ok(RenewOptions {
            broker,
            cert: a.cert.clone(),
            key,
            by_id,
            okms_id,
            due: if a.force {
                Due::Now
            } else {
                Due::OnSchedule {
                    days_left: a.before,
                }
            },
            keep_second_backup: a.force,
            jitter: a.jitter,
            algorithm: a.algorithm.map(Into::into),
            validity: a.validity,
            keep_old: a.keep_old,
            timeout: a.timeout,
            propagation_wait: a.propagation_wait,
            kms_url: a.kms_url.clone(),
            ca: a.ca.clone(),
            hook: a.exec.clone(),
            token: &a.token,
            passphrase: &a.passphrase,
            p12: &a.p12,
            run: RunState::default(),
            started: Cell::new(Instant::now()),
        })
    }

    /// What is left of `--timeout`, a deadline for the whole run.
    pub fn time_left(&self) -> Duration {
        self.timeout.saturating_sub(self.started.get().elapsed())
    }

    /// What the saga is asked to do, once the old credential is known.
    /// `reported` is the domain's REST endpoint when it was read before the saga (which then
    /// does not read it again).
    pub fn request(
        &self,
        okms_id: Uuid,
        old_id: Uuid,
        ca_pem: Option<String>,
        reported: Option<String>,
    ) -> RenewalRequest {
        RenewalRequest {
            okms_id,
            old_id,
            validity: self.validity,
            keep_old: self.keep_old,
            settle: WaitPolicy::with_timeout(self.timeout),
            reconcile: ReconcileOptions::default(),
            endpoint: match (&self.kms_url, reported) {
                (Some(url), _) => Endpoint::Given(url.clone()),
                (None, Some(url)) => Endpoint::Given(url),
                (None, None) => Endpoint::AsReported,
            },
            ca_pem,
            proof_wait: PropagationWait::with_bound(self.propagation_wait),
        }
    }
}

/// `--key pkcs11:...`: renewed in place, so it must name the key by a label it can hand over.
fn token_key(a: &CredentialRenewArgs) -> CliResult<KeyPlace> {
    if a.id.is_some() {
        return Err(usage(
            "--id writes the new pair to new files; a key on a token is renewed in place",
        )
        .hint("leave out --id, and give the deployed certificate with --cert"));
    }
    if a.passphrase.is_given() {
        return Err(usage(
            "--passphrase-file and --passphrase-env open a key file; a key on a token is opened with its PIN",
        )
        .hint("leave them out, and give the PIN with --pin-file or the URI's pin-source"));
    }
    if a.p12.p12_out.is_some() {
        return Err(CliError::new(
            Exit::InvalidInput,
            "--p12-out: the key is on a PKCS#11 token: it is not extractable, so it cannot go into a PKCS#12 file; nothing was created",
        )
        .hint("leave out --p12-out: give the certificate to the application with the token"));
    }
    let uri = pkcs11::uri_of_path(&a.key, "--key")?;
    let Some(label) = uri.object.clone().filter(|l| !l.is_empty()) else {
        return Err(CliError::new(
            Exit::InvalidInput,
            "--key: the URI must name the key with object=LABEL",
        )
        .hint("the renewed key takes over that label, so the same URI names it afterwards"));
    };
    if uri.id.is_some() {
        // The new key cannot have the old one's id (ids are unique on a token), so a URI that
        // names the key by id would stop finding it once deployed.
        return Err(CliError::new(
            Exit::InvalidInput,
            "--key: the URI names the key by id=, which the renewed key cannot keep; nothing was created",
        )
        .hint(format!(
            "name the key by its label only (object={label}), here and wherever the deployed URI is used"
        )));
    }
    Ok(KeyPlace::Token {
        uri: Box::new(uri),
        label,
    })
}
