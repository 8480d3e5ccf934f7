//! `okms-cli credential check`: offline checks of a certificate and its key, then one
//! mutual-TLS call to the KMS domain (`GET /api/{okmsId}/v1/servicekey?max=10`).

use okms_api::kms::{
    DataPlaneOutcome, DataPlaneResponse, MtlsCheck, PropagationWait, RANDOM_ACTION, check_mtls,
    random_mtls, retry_refusals,
};
use okms_api::{ClientKey, Domain, KmsEndpoint, TokioClock, Uuid};
use okms_csr::{Certificate, KeyFormat, PublicKey, same_public_key};
use okms_pkcs11::TlsSigningKey;

use serde::Serialize;
use time::OffsetDateTime;

use super::check_kmip::ShownCertificate;
use super::propagation::{propagation_message, propagation_wait_for, wait_given_api_state};
use super::session::{block_on, client, parse_uuid};
use super::{kms_trust, read_domain};
use crate::cli::{CredentialCheckArgs, GlobalArgs};
use crate::commands::pkcs11;
use crate::error::{CliError, CliResult, api_failure, csr_error};
use crate::exit::Exit;
use crate::input::{self, display_path, load_private_key};
use crate::output::{Output, rfc3339};

/// The `--json` result of `credential check` (printed on success only).
#[derive(Serialize)]
struct CheckReport {
    ok: bool,
    okms_id: Uuid,
    credential_id: Option<String>,
    kms_url: String,
    http_status: u16,
    service_keys: usize,
    not_after: String,
    public_key_sha256: String,
}

/// Runs `credential check`.
///
/// # Errors
/// Exit 4 when the key and certificate do not match, the certificate is out of date or for
/// another domain, or the KMS refuses it; 6 for other KMS or API errors; 3 for bad files.
pub fn run(a: &CredentialCheckArgs, global: &GlobalArgs, out: &Output) -> CliResult<()> {
    let on_token = pkcs11::is_uri(&a.key);
    pkcs11::refuse_flags_of_other_key_kind(on_token, &a.passphrase, &a.token)?;
    let cert_name = display_path(&a.cert);
    let cert = input::load_certificate(&a.cert)?;
    let key = tls_client_key(a, on_token, out)?;
    // Everything that can fail offline fails before the network is touched, with the reason
    // the KMS would not have given.
    refuse_other_key(&cert, &cert_name, &key)?;
    refuse_out_of_date(&cert, &cert_name)?;
    let okms_id = domain_to_call(&cert, &cert_name, a.okms_id.as_deref())?;
    let propagation_wait = propagation_wait_for(&cert, a.propagation_wait);
    let cert_pem = cert.to_pem();
    let shown = ShownCertificate {
        credential_id: cert.credential_id(),
        not_after: rfc3339(cert.not_after()),
        public_key_sha256: cert.public_key().fingerprint_sha256(),
    };
    if a.kmip {
        let identity = okms_api::ClientIdentity {
            cert_pem,
            key: key.client_key,
        };
        let is_rsa = key.public_key.algorithm().is_ok_and(|k| k.is_rsa());
        let target = super::check_kmip::Target {
            okms_id,
            identity,
            is_rsa,
            propagation_wait,
        };
        return super::check_kmip::run(a, target, shown, global, out);
    }
    block_on(async move {
        // With --kms-url and no API credentials the check still runs, on --ca alone.
        let api = match client(global, out) {
            Ok(c) => Some(c),
            Err(e) if a.kms_url.is_some() => {
                out.verbose(&format!("no API access for the domain's CA: {}", e.error));
                None
            }
            Err(e) => return Err(e),
        };
        // One read gives both the endpoint and the CA.
        let needed_for = a.kms_url.is_none().then_some("REST endpoint");
        let domain = read_domain(api.as_ref(), okms_id, needed_for, out).await?;
        let kms_url = kms_url(a, okms_id, domain.as_ref())?;
        let trust = kms_trust(
            domain.as_ref(),
            okms_id,
            KmsEndpoint::Rest,
            a.ca.as_deref(),
            out,
        )?;
        let ca_known = trust.from_api || a.ca.is_some();
        let propagation_wait = wait_given_api_state(
            api.as_ref(),
            okms_id,
            shown.credential_id.as_deref(),
            propagation_wait,
            out,
        )
        .await;
        out.verbose(&format!(
            "mutual-TLS call to {kms_url} for domain {okms_id}"
        ));
        let call = MtlsCheck {
            kms_url: kms_url.clone(),
            okms_id,
            cert_pem,
            key: key.client_key,
            ca_pem: trust.ca_pem,
        };
        let answer = retry_refusals(
            &TokioClock,
            PropagationWait::with_bound(propagation_wait),
            || check_mtls(&call),
            |retry| out.info(&propagation_message(retry)),
        )
        .await
        .map_err(|e| mtls_failure(e, &kms_url, ca_known))?;
        if answer.is_success() {
            // A list answers even an identity without rights (it filters instead of refusing):
            // the random route proves a right.
            let random = random_mtls(&call, 16)
                .await
                .map_err(|e| mtls_failure(e, &kms_url, ca_known))?;
            if random.status == 404 {
                // The list just found the domain: a 404 here is a KMS without the route.
                out.verbose(
                    "the KMS has no random-bytes route; the right to use keys was not checked",
                );
            } else if !random.is_success() {
                let id = shown.credential_id.clone();
                return Err(random_refused(random, okms_id, id.as_deref(), global, out).await);
            } else {
                out.verbose(&format!(
                    "the KMS drew random bytes: {RANDOM_ACTION} is granted"
                ));
            }
        }
        report_answer(answer, okms_id, kms_url, shown, out)
    })
}

/// The key that signs the TLS handshake, and how to name it.
struct TlsClientKey {
    /// A file path, or a URI's Display form (which never shows a `pin-value`).
    name: String,
    public_key: PublicKey,
    client_key: ClientKey,
}

/// A key file is re-encoded as PKCS#8 PEM; a token key stays there and signs the handshake
/// through okms-pkcs11's rustls adapter.
fn tls_client_key(
    a: &CredentialCheckArgs,
    on_token: bool,
    out: &Output,
) -> CliResult<TlsClientKey> {
    if on_token {
        let signer = pkcs11::signer(&a.key, &a.token, "--key", out)?;
        let name = signer.key().uri.to_string();
        let public_key = signer.key().public_key.clone();
        out.verbose(&format!(
            "the TLS handshake will be signed on the token by {name}"
        ));
        return Ok(TlsClientKey {
            name,
            public_key,
            client_key: TlsSigningKey::new(signer).into_arc().into(),
        });
    }
    let name = display_path(&a.key);
    let key = load_private_key(&a.key, &a.passphrase)?;
    let key_pem = key
        .to_pem(KeyFormat::Pkcs8)
        .map_err(|e| csr_error(e, format!("cannot re-encode the key {name}")))?;
    Ok(TlsClientKey {
        name,
        public_key: key.public_key(),
        // The same secret type in okms-csr and okms-api: the PEM moves over without a copy.
        client_key: key_pem.into(),
    })
}

fn refuse_other_key(cert: &Certificate, cert_name: &str, key: &TlsClientKey) -> CliResult<()> {
    if !same_public_key(&cert.public_key(), &key.public_key) {
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!("{cert_name} does not hold the public key of {}", key.name),
        )
        .hint("this certificate was issued for another key"));
    }
    Ok(())
}

fn refuse_out_of_date(cert: &Certificate, cert_name: &str) -> CliResult<()> {
    if !cert.is_valid_at(OffsetDateTime::now_utc()) {
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!(
                "{cert_name} is not valid now: valid from {} to {}",
                rfc3339(cert.not_before()),
                rfc3339(cert.not_after())
            ),
        )
        .hint("create a new credential (okms-cli credential create)"));
    }
    Ok(())
}

/// The domain to call: `--okms-id`, else the one the certificate names; a certificate for
/// another domain than `--okms-id` is refused.
fn domain_to_call(cert: &Certificate, cert_name: &str, flag: Option<&str>) -> CliResult<Uuid> {
    let cert_domain = cert.okms_domain();
    let okms_id = match (flag, &cert_domain) {
        (Some(flag), _) => parse_uuid(flag, "--okms-id")?,
        (None, Some(d)) => parse_uuid(d, "OKMS domain in the certificate")?,
        (None, None) => {
            return Err(CliError::new(
                Exit::InvalidInput,
                format!("{cert_name} names no OKMS domain (no okms.domain: SAN)"),
            )
            .hint("give the domain with --okms-id"));
        }
    };
    if let Some(d) = &cert_domain
        && parse_uuid(d, "OKMS domain in the certificate").ok() != Some(okms_id)
    {
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!("{cert_name} was issued for domain {d}, not {okms_id}"),
        ));
    }
    Ok(okms_id)
}

/// `--kms-url`, else the domain's REST endpoint as the API reports it.
fn kms_url(a: &CredentialCheckArgs, okms_id: Uuid, domain: Option<&Domain>) -> CliResult<String> {
    if let Some(u) = &a.kms_url {
        return Ok(u.clone());
    }
    domain.and_then(|d| d.rest_endpoint.clone()).ok_or_else(|| {
        CliError::new(
            Exit::Api,
            format!("the API reports no REST endpoint for domain {okms_id}"),
        )
        .hint("give it with --kms-url")
    })
}

/// A failed call; a TLS failure trusting neither `--ca` nor the domain's CA from the API is
/// most often that CA missing.
fn mtls_failure(e: okms_api::Error, kms_url: &str, ca_known: bool) -> CliError {
    let tls = matches!(&e, okms_api::Error::Transport { .. });
    let err = api_failure(e, format!("the mutual-TLS call to {kms_url} failed"));
    if tls && !ca_known {
        err.hint("if the KMS uses a private CA, pass it with --ca PATH (or OKMS_CA_FILE)")
    } else {
        err
    }
}

/// The random route refused (or failed): names the action the certificate's identities lack
/// and the `iam grant` command that gives it. The identities come from the credential when the
/// API can be asked; otherwise the hint says where to find them.
async fn random_refused(
    answer: DataPlaneResponse,
    okms_id: Uuid,
    credential_id: Option<&str>,
    global: &GlobalArgs,
    out: &Output,
) -> CliError {
    let status = answer.status;
    let detail = match &answer.outcome {
        DataPlaneOutcome::Error(e) => format!(
            "{}{}",
            e.errors.join("; "),
            e.request_id
                .as_deref()
                .map(|r| format!(" (request id {r})"))
                .unwrap_or_default()
        ),
        DataPlaneOutcome::Unparsed(text) => format!("{text:?}"),
        other => format!("{other:?}"),
    };
    let refused = matches!(status, 401 | 403)
        || matches!(&answer.outcome, DataPlaneOutcome::Error(e) if e.refuses_the_caller());
    if !refused {
        return CliError::new(
            Exit::Api,
            format!("the KMS answered the random-bytes call with HTTP {status}: {detail}"),
        );
    }
    let mut identities = Vec::new();
    if let Some(id) = credential_id.and_then(|c| c.parse::<Uuid>().ok())
        && let Ok(client) = client(global, out)
    {
        match client.get_credential(okms_id, id).await {
            Ok(c) => identities = c.identity_urns,
            Err(e) => out.verbose(&format!(
                "cannot read credential {id} for its identities ({e})"
            )),
        }
    }
    let hint = if identities.is_empty() {
        format!(
            "give the certificate's identities the action: {} (the identities are in `okms-cli credential get ID --okms-id {okms_id}`)",
            super::iam::grant_command(okms_id, &["<IDENTITY_URN>".to_owned()], "kms-read")
        )
    } else {
        format!(
            "give the certificate's identities the action: {}",
            super::iam::grant_command(okms_id, &identities, "kms-read")
        )
    };
    // An authorisation failure (exit 7), not a bad certificate: the KMS accepted it.
    CliError::new(
        Exit::Auth,
        format!(
            "the KMS accepted the certificate but refused to use it (HTTP {status}): its identities are not granted {RANDOM_ACTION} on domain {okms_id}: {detail}"
        ),
    )
    .hint(hint)
}

/// Success when the KMS lists service keys; exit 4 when it refuses the certificate (the
/// credential, not the call, is what is wrong), 6 for any other answer.
fn report_answer(
    answer: DataPlaneResponse,
    okms_id: Uuid,
    kms_url: String,
    shown: ShownCertificate,
    out: &Output,
) -> CliResult<()> {
    let status = answer.status;
    let success = answer.is_success();
    match answer.outcome {
        DataPlaneOutcome::ServiceKeys(list) if success => {
            let r = CheckReport {
                ok: true,
                okms_id,
                credential_id: shown.credential_id,
                kms_url,
                http_status: status,
                service_keys: list.objects_list.len(),
                not_after: shown.not_after,
                public_key_sha256: shown.public_key_sha256,
            };
            if out.is_json() {
                return out.json(&r);
            }
            out.line(&format!(
                "OK: the KMS of domain {okms_id} accepted the certificate of credential {} ({} service key(s) visible).",
                r.credential_id.as_deref().unwrap_or("(unknown id)"),
                r.service_keys
            ))?;
            out.field("KMS endpoint", &r.kms_url)?;
            out.field("Valid until", &r.not_after)
        }
        DataPlaneOutcome::Error(e) => {
            let category = e.category().unwrap_or("Unknown");
            let refused = matches!(status, 401 | 403) || e.refuses_the_caller();
            let msg = format!(
                "the KMS refused the call (HTTP {status}, {category}): {}{}",
                e.errors.join("; "),
                e.request_id
                    .as_deref()
                    .map(|r| format!(" (request id {r})"))
                    .unwrap_or_default()
            );
            if refused {
                Err(CliError::new(Exit::VerificationFailed, msg).hint(
                    "the credential may be deleted, expired, not READY, or its identities lack an IAM policy on this domain",
                ))
            } else {
                Err(CliError::new(Exit::Api, msg))
            }
        }
        DataPlaneOutcome::ServiceKeys(_) => Err(CliError::new(
            Exit::Api,
            format!("the KMS answered HTTP {status} with a service-key list; expected success"),
        )),
        DataPlaneOutcome::Unparsed(text) => Err(CliError::new(
            Exit::Api,
            format!("the KMS answered HTTP {status}: {text:?}"),
        )),
        other => Err(CliError::new(
            Exit::Api,
            format!("the KMS answered HTTP {status}: {other:?}"),
        )),
    }
}
