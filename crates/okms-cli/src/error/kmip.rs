//! The KMIP check's failures (okms-api `kmip`), worded for the user: where it failed and what
//! usually causes it.

use okms_api::kmip::{Operation, ResultReason};
use okms_api::{Error, KmipStage};

use super::{CliError, api_failure};
use crate::exit::Exit;

/// A check that failed before a KMIP answer: connection, TLS, or bytes that are not KMIP.
pub(crate) fn kmip_failure(e: Error, ca_given: bool) -> CliError {
    let Error::Kmip { stage, .. } = &e else {
        return api_failure(e, "the KMIP check failed");
    };
    let (exit, hint) = match stage {
        KmipStage::Connect => (
            Exit::Api,
            "check the endpoint (host:port, usually port 5696) and that this network may reach it"
                .to_owned(),
        ),
        KmipStage::Handshake => {
            let mut hint = "the KMIP endpoint refused the TLS handshake: a certificate of \
                another region or domain, an RSA certificate on the ECDSA endpoint (or the \
                reverse: RSA certificates use the domain's kmipRsaEndpoint), or a certificate \
                that is expired, revoked or not READY yet"
                .to_owned();
            if !ca_given {
                hint.push_str(
                    "; if the server's certificate is the one not trusted, pass the domain's CA \
                     with --ca PATH (or OKMS_CA_FILE)",
                );
            }
            (Exit::VerificationFailed, hint)
        }
        KmipStage::NotKmip => (
            Exit::Api,
            "the endpoint did not answer in KMIP (TTLV): is it the domain's kmipEndpoint and \
             not its REST endpoint?"
                .to_owned(),
        ),
        _ => (
            Exit::Api,
            "try again; if it persists, check the endpoint".to_owned(),
        ),
    };
    CliError {
        exit,
        error: anyhow::Error::new(e).context("the KMIP check failed"),
        hint: Some(hint),
    }
}

/// The server answered in KMIP, but with an error.
pub(crate) fn kmip_refused(operation: Operation, reason: ResultReason, message: &str) -> CliError {
    let refused_caller = matches!(
        reason,
        ResultReason::AuthenticationNotSuccessful | ResultReason::PermissionDenied
    );
    let err = CliError::new(
        if refused_caller {
            Exit::VerificationFailed
        } else {
            Exit::Api
        },
        format!("the KMIP server answered {operation} with an error: {reason}: {message}"),
    );
    if refused_caller {
        err.hint(
            "the server does not accept this certificate for KMIP: it may be revoked, expired, \
             or its identities lack the KMIP rights on this domain",
        )
    } else {
        err
    }
}
