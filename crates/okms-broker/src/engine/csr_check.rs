//! The renew CSR's checks, before any API call: a PEM PKCS#10 request, validly self-signed,
//! for a new key of an algorithm the policy allows.

use okms_csr::{Certificate, Csr, KeyAlgorithm, same_public_key};

use super::refused::Refused;

/// The CSR, checked.
pub(crate) fn check_csr(
    pem: &str,
    current: &Certificate,
    allowed: &[KeyAlgorithm],
) -> Result<Csr, Refused> {
    if !pem.contains("-----BEGIN") {
        return Err(Refused::bad_csr(
            "the csr field is not PEM: send the PKCS#10 request as PEM (-----BEGIN CERTIFICATE REQUEST-----)",
        ));
    }
    let csr =
        Csr::from_pem(pem).map_err(|e| Refused::bad_csr(format!("the csr is not a CSR: {e}")))?;
    csr.verify()
        .map_err(|e| Refused::bad_csr(format!("the CSR's signature does not verify: {e}")))?;
    if same_public_key(&csr.public_key(), &current.public_key()) {
        return Err(Refused::bad_csr(
            "the CSR reuses the current key: make a new key for the new certificate",
        ));
    }
    let allowed_names = || {
        allowed
            .iter()
            .map(KeyAlgorithm::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let algorithm = csr.public_key().algorithm().map_err(|e| {
        Refused::bad_csr(format!(
            "the CSR's key is not allowed ({e}); allowed: {}",
            allowed_names()
        ))
    })?;
    if !allowed.contains(&algorithm) {
        return Err(Refused::bad_csr(format!(
            "the CSR's key algorithm {} is not allowed; allowed: {}",
            algorithm.as_str(),
            allowed_names()
        )));
    }
    Ok(csr)
}
