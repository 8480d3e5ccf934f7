//! `okms-cli credential check`: offline checks of a certificate and its key, then one
//! mutual-TLS call to the KMS domain (`GET /api/{okmsId}/v1/servicekey?max=10`).

use okms_api::kms::{DataPlaneOutcome, MtlsCheck, check_mtls};
use okms_api::{ClientKey, SecretString, Uuid};
use okms_csr::{KeyFormat, PublicKey, same_public_key};
use okms_pkcs11::TlsSigningKey;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{api_failure, block_on, client, parse_uuid};
use crate::cli::{CredentialCheckArgs, GlobalArgs};
use crate::commands::{csr_error, pkcs11};
use crate::error::{CliError, CliResult};
use crate::exit::Exit;
use crate::input::{self, display_path, load_private_key};
use crate::output::Output;

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
    // A key file is re-encoded as PKCS#8 PEM; a token key stays there and signs the
    // handshake through okms-pkcs11's rustls adapter.
    // (`key_name` of a URI is its Display form, which never shows a `pin-value`.)
    let (key_name, public_key, client_key): (String, PublicKey, ClientKey) = if on_token {
        let signer = pkcs11::signer(&a.key, &a.token, "--key", out)?;
        let key_name = signer.key().uri.to_string();
        let public_key = signer.key().public_key.clone();
        out.verbose(&format!(
            "the TLS handshake will be signed on the token by {key_name}"
        ));
        (
            key_name,
            public_key,
            TlsSigningKey::new(signer).into_arc().into(),
        )
    } else {
        let key_name = display_path(&a.key);
        let key = load_private_key(&a.key, &a.passphrase)?;
        let key_pem = key
            .to_pem(KeyFormat::Pkcs8)
            .map_err(|e| csr_error(e, format!("cannot re-encode the key {key_name}")))?;
        (
            key_name,
            key.public_key(),
            SecretString::from(key_pem.expose().to_owned()).into(),
        )
    };
    if !same_public_key(&cert.public_key(), &public_key) {
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!("{cert_name} does not hold the public key of {key_name}"),
        )
        .hint("this certificate was issued for another key"));
    }
    let now = OffsetDateTime::now_utc();
    let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    if !cert.is_valid_at(now) {
        return Err(CliError::new(
            Exit::VerificationFailed,
            format!(
                "{cert_name} is not valid now: valid from {} to {}",
                fmt(cert.not_before()),
                fmt(cert.not_after())
            ),
        )
        .hint("create a new credential (okms-cli credential create)"));
    }
    let cert_domain = cert.okms_domain();
    let okms_id = match (&a.okms_id, &cert_domain) {
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
    let ca_pem = match &a.ca {
        Some(p) => Some(input::read_text(p, "the CA certificate")?.to_string()),
        None => None,
    };
    let cert_pem = cert.to_pem();
    let credential_id = cert.credential_id();
    let fingerprint = cert.public_key().fingerprint_sha256();
    let not_after = fmt(cert.not_after());

    block_on(async move {
        let kms_url = match &a.kms_url {
            Some(u) => u.clone(),
            None => {
                let client = client(global, out)?;
                let d = client.get_domain(okms_id, false).await.map_err(|e| {
                    api_failure(
                        e,
                        format!("cannot read OKMS domain {okms_id} to find its REST endpoint"),
                    )
                })?;
                d.rest_endpoint.ok_or_else(|| {
                    CliError::new(
                        Exit::Api,
                        format!("the API reports no REST endpoint for domain {okms_id}"),
                    )
                    .hint("give it with --kms-url")
                })?
            }
        };
        out.verbose(&format!(
            "mutual-TLS call to {kms_url} for domain {okms_id}"
        ));
        let answer = check_mtls(&MtlsCheck {
            kms_url: kms_url.clone(),
            okms_id,
            cert_pem,
            key: client_key,
            ca_pem,
        })
        .await
        .map_err(|e| {
            let tls = matches!(&e, okms_api::Error::Transport { .. });
            let err = api_failure(e, format!("the mutual-TLS call to {kms_url} failed"));
            if tls && a.ca.is_none() {
                err.hint("if the KMS uses a private CA, pass it with --ca PATH (or OKMS_CA_FILE)")
            } else {
                err
            }
        })?;
        let status = answer.status;
        match answer.outcome {
            DataPlaneOutcome::ServiceKeys(list) if (200..300).contains(&status) => {
                let r = CheckReport {
                    ok: true,
                    okms_id,
                    credential_id: credential_id.clone(),
                    kms_url,
                    http_status: status,
                    service_keys: list.objects_list.len(),
                    not_after,
                    public_key_sha256: fingerprint,
                };
                if out.is_json() {
                    return out.json(&r);
                }
                out.line(&format!(
                    "OK: the KMS of domain {okms_id} accepted the certificate of credential {} ({} service key(s) visible).",
                    credential_id.as_deref().unwrap_or("(unknown id)"),
                    r.service_keys
                ))?;
                out.field("KMS endpoint", &r.kms_url)?;
                out.field("Valid until", &r.not_after)
            }
            DataPlaneOutcome::Error(e) => {
                let category = e.category().unwrap_or("Unknown");
                let refused = matches!(status, 401 | 403)
                    || matches!(category, "Authentication" | "Authorization");
                let msg = format!(
                    "the KMS refused the call (HTTP {status}, {category}): {}{}",
                    e.errors.join("; "),
                    e.request_id
                        .as_deref()
                        .map(|r| format!(" (request id {r})"))
                        .unwrap_or_default()
                );
                let err = CliError::new(
                    if refused {
                        Exit::VerificationFailed
                    } else {
                        Exit::Api
                    },
                    msg,
                );
                Err(if refused {
                    err.hint("the credential may be deleted, expired, not READY, or its identities lack an IAM policy on this domain")
                } else {
                    err
                })
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
    })
}
