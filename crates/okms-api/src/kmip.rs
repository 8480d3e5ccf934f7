//! The KMIP check of an access certificate: mutual TLS to the domain's `kmipEndpoint` (the
//! `kmipRsaEndpoint` for an RSA certificate, where the domain has one), then KMIP `Discover
//! Versions` and `Query`. A certificate that works on REST can still fail here (wrong
//! endpoint, region, RSA endpoint), which is what appliances such as vSphere or Veeam meet.
//!
//! The TLS client configuration is the one of every other mutual-TLS call of this crate (see
//! `tls`), without ALPN: KMIP has no protocol name. Answers are read with okms-kmip's bounds
//! ([`okms_kmip::MAX_MESSAGE_LEN`]), so a server that does not speak KMIP cannot make us read
//! without end.

use std::{sync::Arc, time::Duration};

use okms_kmip::{HEADER_LEN, Request, Response, payload};
pub use okms_kmip::{ObjectType, Operation, ProtocolVersion, ResultReason, payload::QueryAnswer};
use rustls::pki_types::ServerName;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};

use crate::{
    error::{Error, KmipStage},
    tls::{ClientIdentity, client_config, parse_certificates},
};

/// The versions offered to the server, preferred first (KMIP 1.x: the messages used are the
/// same in all of them).
const OFFERED: [ProtocolVersion; 5] = [
    ProtocolVersion::new(1, 4),
    ProtocolVersion::new(1, 3),
    ProtocolVersion::new(1, 2),
    ProtocolVersion::new(1, 1),
    ProtocolVersion::new(1, 0),
];

/// How long the whole check may take: connection, handshake and both operations.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Inputs of [`check_kmip`].
#[derive(Debug, Clone)]
pub struct KmipCheck {
    /// The KMIP endpoint, `host:port` as the API gives `kmipEndpoint`.
    pub endpoint: String,
    /// The client certificate (chain) and its key.
    pub identity: ClientIdentity,
    /// Extra CA to trust besides the platform roots (the domain's CA), PEM.
    pub ca_pem: Option<String>,
}

/// What a KMIP server said of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmipServer {
    /// The versions it speaks among those offered, preferred first.
    pub versions: Vec<ProtocolVersion>,
    /// Its Query answer (operations, object types, vendor).
    pub query: QueryAnswer,
}

/// How the check ended when the connection worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmipCheckOutcome {
    /// Both operations answered.
    Answered(KmipServer),
    /// The server answered an operation with a KMIP error.
    Refused {
        /// The operation refused.
        operation: Operation,
        /// Its Result Reason.
        reason: ResultReason,
        /// Its Result Message.
        message: String,
    },
}

fn failed(
    check: &KmipCheck,
    stage: KmipStage,
    reason: impl Into<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::Kmip {
        endpoint: check.endpoint.clone(),
        stage,
        reason: reason.into(),
        source,
    }
}

/// The TLS alert or refusal inside an I/O error, if that is what it is.
fn tls_refusal(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

fn io_failure(check: &KmipCheck, e: std::io::Error, doing: &str) -> Error {
    match tls_refusal(&e) {
        Some(refusal) => {
            let reason = match refusal {
                rustls::Error::AlertReceived(alert) => {
                    format!("the server refused the client certificate ({alert:?})")
                }
                other => format!("TLS failed: {other}"),
            };
            failed(check, KmipStage::Handshake, reason, Some(Box::new(e)))
        }
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => failed(
            check,
            KmipStage::Answer,
            format!("the server closed the connection while {doing}"),
            Some(Box::new(e)),
        ),
        None => failed(
            check,
            KmipStage::Answer,
            format!("connection failed while {doing}"),
            Some(Box::new(e)),
        ),
    }
}

async fn connect(check: &KmipCheck) -> Result<TlsStream<TcpStream>, Error> {
    let (host, _port) = check
        .endpoint
        .rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
        .ok_or_else(|| {
            failed(
                check,
                KmipStage::Connect,
                "the KMIP endpoint is not host:port",
                None,
            )
        })?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let roots = match &check.ca_pem {
        Some(pem) => parse_certificates(pem, "the CA")?,
        None => Vec::new(),
    };
    let mut config = client_config(&roots, Some(&check.identity))?;
    config.alpn_protocols.clear();
    let server_name = ServerName::try_from(host.to_owned()).map_err(|e| {
        failed(
            check,
            KmipStage::Connect,
            "the KMIP endpoint's host is not a valid name",
            Some(Box::new(e)),
        )
    })?;
    let tcp = TcpStream::connect(&check.endpoint).await.map_err(|e| {
        failed(
            check,
            KmipStage::Connect,
            "cannot connect",
            Some(Box::new(e)),
        )
    })?;
    TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .map_err(|e| io_failure(check, e, "negotiating TLS"))
}

async fn exchange(
    check: &KmipCheck,
    tls: &mut TlsStream<TcpStream>,
    request: &Request,
) -> Result<Response, Error> {
    let bytes = request
        .encode()
        .map_err(|e| failed(check, KmipStage::Answer, e.to_string(), Some(Box::new(e))))?;
    tls.write_all(&bytes)
        .await
        .map_err(|e| io_failure(check, e, "sending the request"))?;
    tls.flush()
        .await
        .map_err(|e| io_failure(check, e, "sending the request"))?;
    let mut header = [0u8; HEADER_LEN];
    tls.read_exact(&mut header)
        .await
        .map_err(|e| io_failure(check, e, "waiting for the answer"))?;
    let not_kmip =
        |e: okms_kmip::Error| failed(check, KmipStage::NotKmip, e.to_string(), Some(Box::new(e)));
    let total = okms_kmip::message_len(&header).map_err(not_kmip)?;
    let mut message = vec![0u8; total];
    message[..HEADER_LEN].copy_from_slice(&header);
    tls.read_exact(&mut message[HEADER_LEN..])
        .await
        .map_err(|e| io_failure(check, e, "reading the answer"))?;
    Response::decode(&message).map_err(not_kmip)
}

async fn run(check: &KmipCheck) -> Result<KmipCheckOutcome, Error> {
    let mut tls = connect(check).await?;
    let discover = Request::single(
        OFFERED[0],
        Operation::DiscoverVersions,
        payload::versions_payload(&OFFERED),
    );
    let answer = exchange(check, &mut tls, &discover).await?;
    let versions = match answer.first_payload() {
        Ok(p) => payload::versions_of(p)
            .map_err(|e| failed(check, KmipStage::NotKmip, e.to_string(), Some(Box::new(e))))?,
        Err((reason, message)) => {
            return Ok(KmipCheckOutcome::Refused {
                operation: Operation::DiscoverVersions,
                reason,
                message: message.to_owned(),
            });
        }
    };
    // Query in the best version both speak (the server's answer is in its preference order).
    let version = versions
        .first()
        .copied()
        .unwrap_or(OFFERED[OFFERED.len() - 1]);
    let query = Request::single(version, Operation::Query, payload::query_request());
    let answer = exchange(check, &mut tls, &query).await?;
    let outcome = match answer.first_payload() {
        Ok(p) => KmipCheckOutcome::Answered(KmipServer {
            versions,
            query: QueryAnswer::from_payload(p),
        }),
        Err((reason, message)) => KmipCheckOutcome::Refused {
            operation: Operation::Query,
            reason,
            message: message.to_owned(),
        },
    };
    // A polite close; the answer is already in hand, so a failure here changes nothing.
    let _ = tls.shutdown().await;
    Ok(outcome)
}

/// Whether a KMIP check's outcome is what a node the certificate has not reached yet gives
/// (for [`crate::kms::retry_while_refused`]): a handshake the server ended with an alert that
/// says it does not accept this certificate (`access_denied`, `certificate_unknown`,
/// `bad_certificate`), or an Authentication Not Successful answer. Alerts that say what is
/// wrong with the certificate for good (revoked, expired, another CA: `unknown_ca` or a
/// signature that does not verify) are not retried, nor is anything else (an untrusted server,
/// a connection refused): only a refusal can be propagation.
pub fn is_kmip_refusal(outcome: &Result<KmipCheckOutcome, Error>) -> bool {
    match outcome {
        Ok(KmipCheckOutcome::Refused { reason, .. }) => {
            *reason == ResultReason::AuthenticationNotSuccessful
        }
        Ok(KmipCheckOutcome::Answered(_)) => false,
        Err(e) => matches!(
            received_alert(e),
            Some(
                rustls::AlertDescription::AccessDenied
                    | rustls::AlertDescription::CertificateUnknown
                    | rustls::AlertDescription::BadCertificate
            )
        ),
    }
}

/// The TLS alert the server ended a check's handshake with, if that is how it failed.
fn received_alert(e: &Error) -> Option<rustls::AlertDescription> {
    let Error::Kmip {
        stage: KmipStage::Handshake,
        source: Some(source),
        ..
    } = e
    else {
        return None;
    };
    let io = source.downcast_ref::<std::io::Error>()?;
    match tls_refusal(io)? {
        rustls::Error::AlertReceived(alert) => Some(*alert),
        _ => None,
    }
}

/// Connects with the certificate of `check`, sends Discover Versions and Query, and returns
/// what the server answered. A connection, TLS or framing failure is an [`Error::Kmip`]
/// whose [`KmipStage`] says where it failed; a KMIP error answer is
/// [`KmipCheckOutcome::Refused`].
pub async fn check_kmip(check: &KmipCheck) -> Result<KmipCheckOutcome, Error> {
    tokio::time::timeout(CHECK_TIMEOUT, run(check))
        .await
        .unwrap_or_else(|_| {
            Err(failed(
                check,
                KmipStage::Answer,
                format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
                None,
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(reason: ResultReason) -> Result<KmipCheckOutcome, Error> {
        Ok(KmipCheckOutcome::Refused {
            operation: Operation::Query,
            reason,
            message: String::new(),
        })
    }

    fn handshake(alert: rustls::AlertDescription) -> Result<KmipCheckOutcome, Error> {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(alert),
        );
        Err(Error::Kmip {
            endpoint: "127.0.0.1:5696".into(),
            stage: KmipStage::Handshake,
            reason: "refused".into(),
            source: Some(Box::new(io)),
        })
    }

    #[test]
    fn only_a_refusal_that_may_be_propagation_is_retried() {
        assert!(is_kmip_refusal(&refused(
            ResultReason::AuthenticationNotSuccessful
        )));
        assert!(!is_kmip_refusal(&refused(ResultReason::PermissionDenied)));
        assert!(is_kmip_refusal(&handshake(
            rustls::AlertDescription::AccessDenied
        )));
        for for_good in [
            rustls::AlertDescription::CertificateRevoked,
            rustls::AlertDescription::CertificateExpired,
            rustls::AlertDescription::UnknownCA,
            rustls::AlertDescription::DecryptError,
        ] {
            assert!(!is_kmip_refusal(&handshake(for_good)), "{for_good:?}");
        }
        let unreachable = Err(Error::Kmip {
            endpoint: "127.0.0.1:5696".into(),
            stage: KmipStage::Connect,
            reason: "cannot connect".into(),
            source: None,
        });
        assert!(!is_kmip_refusal(&unreachable));
    }
}
