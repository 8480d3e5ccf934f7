//! Which refusal an API error is, so that a caller can branch on what fixes it: the API
//! credentials themselves (a key, a secret, a signature), an IAM policy, or a login (401).

use crate::error::{ApiError, Error, ErrorShape};

/// The authentication layer's codes for credentials it does not know or cannot check (older
/// shape; PYOVH maps them to its own exceptions).
const BAD_CREDENTIAL_CODES: [&str; 4] = [
    "INVALID_KEY",
    "INVALID_CREDENTIAL",
    "NOT_CREDENTIAL",
    "INVALID_SIGNATURE",
];

/// The messages the API answers a bad application key, consumer key or signature with (seen in
/// third-party records of live answers and in go-ovh's and python-ovh's tests), lowercase.
const BAD_CREDENTIAL_MESSAGES: [&str; 6] = [
    "invalid application key",
    "this application key is invalid",
    "invalid consumerkey",
    "this credential is not valid",
    "this credential does not exist",
    "invalid signature",
];

/// OAuth2 `error` values that mean the client id or secret is wrong (RFC 6749, section 5.2).
const BAD_OAUTH2_CLIENT: [&str; 2] = ["invalid_client", "unauthorized_client"];

impl ApiError {
    /// The API refused the credentials themselves: an unknown or invalid application key or
    /// consumer key, a wrong signature (a wrong application secret, or a clock too far off:
    /// see [`is_signature_refusal`](Self::is_signature_refusal)), or an OAuth2 client it does
    /// not know. Another consumer key or client is the fix, not a permission. Never a 401
    /// (see [`Error::is_unauthorized`]).
    pub fn is_bad_api_credentials(&self) -> bool {
        if self.status == 401 {
            return false;
        }
        let message = self
            .message
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let code = self.code.as_deref().unwrap_or_default();
        match self.shape {
            ErrorShape::OAuth2 => BAD_OAUTH2_CLIENT.contains(&code),
            ErrorShape::AuthLayer if BAD_CREDENTIAL_CODES.contains(&code) => true,
            _ => {
                matches!(self.status, 400 | 403)
                    && (BAD_CREDENTIAL_MESSAGES.contains(&message.as_str())
                        || self.is_signature_refusal())
            }
        }
    }

    /// IAM refused the caller an action (403 naming `unauthorizedActionsByIAM`, or speaking of
    /// missing IAM permissions): a policy granting it is the fix; the credentials are fine.
    pub fn is_iam_refusal(&self) -> bool {
        self.status == 403
            && !self.is_bad_api_credentials()
            && (!self.unauthorized_actions_by_iam.is_empty()
                || self.message.contains("IAM")
                || self.message.contains("not granted"))
    }
}

impl Error {
    /// See [`ApiError::is_bad_api_credentials`].
    pub fn is_bad_api_credentials(&self) -> bool {
        self.api_error()
            .is_some_and(ApiError::is_bad_api_credentials)
    }

    /// See [`ApiError::is_iam_refusal`].
    pub fn is_iam_refusal(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_iam_refusal)
    }

    /// The server said 401: no credentials, or an access token it no longer accepts. A 403
    /// is [`is_bad_api_credentials`](Self::is_bad_api_credentials) or
    /// [`is_iam_refusal`](Self::is_iam_refusal) (or [`status`](Self::status) for the rest).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// The TLS server certificate was not trusted (an unknown CA, a wrong name, an expired
    /// certificate): the request was not sent. A different CA (the domain's CA for a KMS) or
    /// endpoint is the fix, not a retry.
    pub fn is_untrusted_server(&self) -> bool {
        matches!(self, Error::Transport { source, .. }
            if source.kind() == crate::TransportErrorKind::UntrustedServer)
    }
}
