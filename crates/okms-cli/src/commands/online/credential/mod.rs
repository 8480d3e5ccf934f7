//! `okms-cli credential create|get|list|delete|wait|report|renew` (and `check`, in [`super::check`]).
//!
//! - [`create`]: the request, key-first persistence of a generated key, reconciliation of a
//!   lost answer, the certificate;
//! - [`profile`]: `--okms-profile`, the profile of the Go `okms` tool in `okms.yaml`;
//! - [`manage`]: get, list, wait and delete, on credentials that exist already;
//! - [`report`]: how close to expiry the domain's credentials (or certificate files) are;
//! - [`renew`]: a deployed pair replaced before it expires (okms-lifecycle's state machine, and
//!   here the files, the backup and the hook; `renew/token.rs` for a key on a PKCS#11 token).

mod create;
mod manage;
mod p12_out;
pub(crate) use manage::confirm;
mod profile;
mod renew;
mod report;
pub(crate) use report::nagios_unknown_text;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use okms_api::{Client, Credential, Uuid, WaitPolicy};
use okms_csr::{Certificate, PublicKey, same_public_key};

use crate::cli::{CredentialCommand, GlobalArgs};
use crate::error::{CliError, CliResult, api_failure};
use crate::exit::Exit;
use crate::output::Output;

/// Where the key of a `credential create` comes from: `create` decides it, `profile` writes
/// the profile of the key it names.
pub(super) enum Source {
    /// A CSR (from --csr or inside --request): we hold the key.
    Csr { public_key: PublicKey },
    /// OVHcloud generates the key; it is written to `key_out` at once.
    Generated { key_out: std::path::PathBuf },
}

/// Runs a `credential` subcommand.
///
/// # Errors
/// As each subcommand documents.
pub fn run(cmd: &CredentialCommand, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    match cmd {
        CredentialCommand::Create(a) => create::run(a, global, out),
        CredentialCommand::Get(a) => manage::get(a, global, out),
        CredentialCommand::List(a) => manage::list(a, global, out),
        CredentialCommand::Delete(a) => manage::delete(a, global, out),
        CredentialCommand::Wait(a) => manage::wait(a, global, out),
        CredentialCommand::Check(a) => super::check::run(a, global, out),
        CredentialCommand::Report(a) => report::run(a, global, out),
        CredentialCommand::Renew(a) => renew::run(a, global, out),
    }
}

fn ensure_newline(pem: &str) -> String {
    if pem.ends_with('\n') {
        pem.to_owned()
    } else {
        format!("{pem}\n")
    }
}

/// Checks that the issued certificate holds the key we expect (refusing a mismatch, exit 4).
fn verify_cert(pem: &str, expected: Option<&PublicKey>, id: Uuid) -> CliResult<()> {
    let cert = Certificate::from_pem(pem).map_err(|e| {
        crate::error::csr_error(
            e,
            format!("the certificate of credential {id} cannot be read"),
        )
    })?;
    if let Some(k) = expected
        && !same_public_key(&cert.public_key(), k)
    {
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!(
                "the certificate of credential {id} does not hold the expected public key (SHA-256 {}, got {}); it was not written",
                k.fingerprint_sha256(),
                cert.public_key().fingerprint_sha256()
            ),
        )
        .hint("report this to OVHcloud support with the credential id"));
    }
    Ok(())
}

/// Polls until READY with a progress line on a terminal; exit 8 on timeout.
async fn wait_ready(
    client: &Client,
    okms_id: Uuid,
    id: Uuid,
    timeout: Duration,
    out: &Output,
    cert_out: Option<&Path>,
) -> CliResult<Credential> {
    let progress = std::io::stderr().is_terminal() && !out.is_quiet();
    let start = Instant::now();
    let result = client
        .wait_until_ready_with(okms_id, id, &WaitPolicy::with_timeout(timeout), |c| {
            if progress {
                let _ = write!(
                    std::io::stderr(),
                    "\rwaiting for credential {id}: {} ({}s)   ",
                    c.status,
                    start.elapsed().as_secs()
                );
            }
        })
        .await;
    if progress {
        let _ = writeln!(std::io::stderr());
    }
    result.map_err(|e| {
        let timed_out = matches!(e, okms_api::Error::WaitTimeout { .. });
        let err = api_failure(e, format!("credential {id} did not become READY"));
        if timed_out {
            let mut cmd = format!("okms-cli credential wait {id} --okms-id {okms_id}");
            if let Some(p) = cert_out {
                cmd.push_str(&format!(" --cert-out {}", p.display()));
            }
            err.hint(format!("wait longer with: {cmd}"))
        } else {
            err
        }
    })
}
