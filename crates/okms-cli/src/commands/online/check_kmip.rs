//! `okms-cli credential check --kmip`: mutual TLS to the domain's KMIP endpoint, then KMIP
//! Discover Versions and Query. A certificate that passes on REST can still fail here (another
//! endpoint, region, or the RSA endpoint), which is where vSphere, Veeam and the etcd KMS
//! plugin meet it.

use std::time::Duration;

use okms_api::kmip::{KmipCheck, KmipCheckOutcome, check_kmip, is_kmip_refusal};
use okms_api::kms::{PropagationWait, retry_while_refused};
use okms_api::{ClientIdentity, Domain, KmsEndpoint, TokioClock, Uuid};
use serde::Serialize;

use super::propagation::{propagation_message, wait_given_api_state};
use super::session::{block_on, client};
use super::{kms_trust, read_domain};
use crate::cli::{CredentialCheckArgs, GlobalArgs};
use crate::error::{CliError, CliResult, kmip_failure, kmip_refused};
use crate::exit::Exit;
use crate::output::Output;

/// What to check, once the certificate and key passed the offline checks.
pub(super) struct Target {
    pub okms_id: Uuid,
    pub identity: ClientIdentity,
    /// RSA certificates go to the domain's RSA endpoint where it has one.
    pub is_rsa: bool,
    /// How long a refused handshake is retried (zero for a certificate not issued lately).
    pub propagation_wait: Duration,
}

/// What the success report says about the certificate (REST and KMIP checks alike).
pub(super) struct ShownCertificate {
    pub credential_id: Option<String>,
    pub not_after: String,
    pub public_key_sha256: String,
}

/// The `--json` result of `credential check --kmip` (printed on success only).
#[derive(Serialize)]
struct KmipReport {
    ok: bool,
    okms_id: Uuid,
    credential_id: Option<String>,
    kmip_endpoint: String,
    protocol_versions: Vec<String>,
    operations: Vec<String>,
    object_types: Vec<String>,
    vendor: Option<String>,
    not_after: String,
    public_key_sha256: String,
}

/// Runs the KMIP check.
///
/// # Errors
/// Exit 4 when the endpoint refuses the certificate (in the handshake or in KMIP), 6 when it
/// cannot be reached or does not answer KMIP, 3 for bad files.
pub(super) fn run(
    a: &CredentialCheckArgs,
    target: Target,
    shown: ShownCertificate,
    global: &GlobalArgs,
    out: &Output,
) -> CliResult<()> {
    block_on(async move {
        // With --kmip-endpoint and no API credentials the check still runs, on --ca alone.
        let api = match client(global, out) {
            Ok(c) => Some(c),
            Err(e) if a.kmip_endpoint.is_some() => {
                out.verbose(&format!("no API access for the domain's CA: {}", e.error));
                None
            }
            Err(e) => return Err(e),
        };
        // One read gives both the endpoint and the CA.
        let needed_for = a.kmip_endpoint.is_none().then_some("KMIP endpoint");
        let domain = read_domain(api.as_ref(), target.okms_id, needed_for, out).await?;
        let (endpoint, kind) = kmip_endpoint(a, &target, domain.as_ref(), out)?;
        let trust = kms_trust(domain.as_ref(), target.okms_id, kind, a.ca.as_deref(), out)?;
        let ca_known = trust.from_api || a.ca.is_some();
        let propagation_wait = wait_given_api_state(
            api.as_ref(),
            target.okms_id,
            shown.credential_id.as_deref(),
            target.propagation_wait,
            out,
        )
        .await;
        out.verbose(&format!(
            "KMIP check of {endpoint} for domain {}",
            target.okms_id
        ));
        let check = KmipCheck {
            endpoint: endpoint.clone(),
            identity: target.identity,
            ca_pem: trust.ca_pem,
        };
        // A certificate just made READY may not have reached the node that answers.
        let outcome = retry_while_refused(
            &TokioClock,
            PropagationWait::with_bound(propagation_wait),
            || check_kmip(&check),
            is_kmip_refusal,
            |retry| out.info(&propagation_message(retry)),
        )
        .await;
        let server = match outcome.map_err(|e| kmip_failure(e, ca_known))? {
            KmipCheckOutcome::Answered(server) => server,
            KmipCheckOutcome::Refused {
                operation,
                reason,
                message,
            } => return Err(kmip_refused(operation, reason, &message)),
        };
        let report = KmipReport {
            ok: true,
            okms_id: target.okms_id,
            credential_id: shown.credential_id,
            kmip_endpoint: endpoint,
            protocol_versions: server.versions.iter().map(ToString::to_string).collect(),
            operations: server
                .query
                .operations
                .iter()
                .map(ToString::to_string)
                .collect(),
            object_types: server
                .query
                .object_types
                .iter()
                .map(ToString::to_string)
                .collect(),
            vendor: server.query.vendor,
            not_after: shown.not_after,
            public_key_sha256: shown.public_key_sha256,
        };
        if out.is_json() {
            return out.json(&report);
        }
        out.line(&format!(
            "OK: the KMIP endpoint of domain {} accepted the certificate of credential {}.",
            report.okms_id,
            report.credential_id.as_deref().unwrap_or("(unknown id)"),
        ))?;
        out.field("KMIP endpoint", &report.kmip_endpoint)?;
        out.field("KMIP versions", &report.protocol_versions.join(", "))?;
        out.field("Operations", &report.operations.join(", "))?;
        out.field("Object types", &report.object_types.join(", "))?;
        if let Some(v) = &report.vendor {
            out.field("Vendor", v)?;
        }
        out.field("Valid until", &report.not_after)
    })
}

/// `--kmip-endpoint`, else the domain's `kmipEndpoint` (its `kmipRsaEndpoint` for an RSA
/// certificate, where it has one) as the API reports it; with the endpoint kind whose CA to
/// trust.
fn kmip_endpoint(
    a: &CredentialCheckArgs,
    target: &Target,
    domain: Option<&Domain>,
    out: &Output,
) -> CliResult<(String, KmsEndpoint)> {
    let okms_id = target.okms_id;
    let Some(d) = domain.filter(|_| a.kmip_endpoint.is_none()) else {
        let given = a.kmip_endpoint.clone().unwrap_or_default();
        let kind = if target.is_rsa {
            KmsEndpoint::KmipRsa
        } else {
            KmsEndpoint::Kmip
        };
        return Ok((given, kind));
    };
    let rsa = d.kmip_rsa_endpoint.clone().filter(|_| target.is_rsa);
    if rsa.is_some() {
        out.verbose("an RSA certificate: the domain's RSA KMIP endpoint is checked");
    }
    let kind = if rsa.is_some() {
        KmsEndpoint::KmipRsa
    } else {
        KmsEndpoint::Kmip
    };
    rsa.or_else(|| d.kmip_endpoint.clone())
        .map(|e| (e, kind))
        .ok_or_else(|| {
            CliError::new(
                Exit::Api,
                format!("the API reports no KMIP endpoint for domain {okms_id}"),
            )
            .hint("give it with --kmip-endpoint HOST:PORT")
        })
}
