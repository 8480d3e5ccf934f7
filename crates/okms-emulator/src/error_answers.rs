//! The error shapes the emulator answers with: the API's `{"class","message"[,"details"]}`
//! (authentication refusals included, as the API answers today), the older authentication
//! layer's `{"errorCode","httpCode","message"}` (behind `legacy_auth_errors`), and the KMS data
//! plane's `{"error_id","error_code","errors","request_id"}`.

use std::collections::BTreeMap;

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;
use uuid::Uuid;

/// An OVHcloud API error: `{"class": "...", "message": "..."}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// e.g. `Client::BadRequest::CredentialNameMaximumExceeded`.
    pub class: String,
    /// Human text.
    pub message: String,
    /// `details`, a map of strings as OVHcloud types it; not sent when empty.
    pub details: BTreeMap<String, String>,
}

/// The message of an IAM refusal (ovh/docs IAM troubleshooting guide; go-ovh `error_test.go`).
pub const IAM_REFUSAL_MESSAGE: &str = "User not granted for this request";

impl ApiError {
    /// A 400 with a credential validation class (`Client::BadRequest::<suffix>`).
    pub fn bad_request(suffix: &str, message: impl Into<String>) -> Self {
        let class = if suffix.is_empty() {
            "Client::BadRequest".to_owned()
        } else {
            format!("Client::BadRequest::{suffix}")
        };
        Self::new(StatusCode::BAD_REQUEST, &class, message)
    }

    /// A 404 `Client::NotFound`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Client::NotFound", message)
    }

    /// Any other status and class.
    pub fn new(status: StatusCode, class: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            class: class.to_owned(),
            message: message.into(),
            details: BTreeMap::new(),
        }
    }

    /// The 403 IAM refusal naming the `actions` the caller is not granted. As in the ovh/docs
    /// example, `unauthorizedActionsByAuthentication` is sent empty next to
    /// `unauthorizedActionsByIAM`; several actions are joined with `,` (the schema types
    /// `details` as a map of strings; the separator is INFERRED).
    pub fn iam_refusal(actions: &[&str]) -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "Client::Forbidden",
            IAM_REFUSAL_MESSAGE,
        );
        e.details.insert(
            "unauthorizedActionsByAuthentication".to_owned(),
            String::new(),
        );
        e.details
            .insert("unauthorizedActionsByIAM".to_owned(), actions.join(","));
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = if self.details.is_empty() {
            json!({ "class": self.class, "message": self.message })
        } else {
            json!({ "class": self.class, "message": self.message, "details": self.details })
        };
        (self.status, Json(body)).into_response()
    }
}

/// Why the authentication layer refuses a call, whichever shape it is answered in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRefusal {
    /// Neither `X-Ovh-Application` nor a bearer token.
    NoCredentials,
    /// Unknown application key.
    UnknownApplicationKey,
    /// Application key without `X-Ovh-Consumer`.
    NoConsumerKey,
    /// Unknown consumer key.
    UnknownConsumerKey,
    /// Timestamp missing, malformed or outside the window; the text says which.
    Timestamp(String),
    /// Signature missing or wrong; the text says which.
    Signature(String),
    /// Bearer token unknown.
    UnknownToken,
    /// Bearer token expired.
    ExpiredToken,
}

/// `"You must login first"`: the answer to an unsigned call (third-party records of live
/// answers; issue 9).
pub const MUST_LOGIN_MESSAGE: &str = "You must login first";
/// `"Invalid signature"`: the answer to a refused signature (third-party records of live
/// answers; issue 9).
pub const INVALID_SIGNATURE_MESSAGE: &str = "Invalid signature";

impl AuthRefusal {
    /// The answer in the API's current shape, `{"class","message"}`.
    pub fn current(&self) -> ApiError {
        let (status, class, message) = match self {
            AuthRefusal::NoCredentials | AuthRefusal::NoConsumerKey => (
                StatusCode::UNAUTHORIZED,
                "Client::Unauthorized",
                MUST_LOGIN_MESSAGE,
            ),
            AuthRefusal::UnknownApplicationKey => (
                StatusCode::FORBIDDEN,
                "Client::Forbidden",
                "Invalid application key",
            ),
            AuthRefusal::UnknownConsumerKey => (
                StatusCode::FORBIDDEN,
                "Client::Forbidden",
                "This credential is not valid",
            ),
            // The timestamp is part of what is signed, and no source shows a distinct
            // current-shape answer for a stale one: a client must cope with the same words.
            AuthRefusal::Timestamp(_) | AuthRefusal::Signature(_) => (
                StatusCode::BAD_REQUEST,
                "Client::BadRequest",
                INVALID_SIGNATURE_MESSAGE,
            ),
            AuthRefusal::UnknownToken => (
                StatusCode::UNAUTHORIZED,
                "Client::Unauthorized",
                "This access token is not valid; request a new one from /auth/oauth2/token",
            ),
            AuthRefusal::ExpiredToken => (
                StatusCode::UNAUTHORIZED,
                "Client::Unauthorized",
                "This access token has expired; request a new one from /auth/oauth2/token",
            ),
        };
        ApiError::new(status, class, message)
    }

    /// The answer in the older authentication-layer shape (`legacy_auth_errors`).
    pub fn legacy(&self) -> AuthError {
        let (code, message) = match self {
            AuthRefusal::NoCredentials => (
                AuthCode::NotAuthenticated,
                "You must login first (send X-Ovh-Application/X-Ovh-Consumer/X-Ovh-Timestamp/\
                 X-Ovh-Signature or Authorization: Bearer)"
                    .to_owned(),
            ),
            AuthRefusal::UnknownApplicationKey => {
                (AuthCode::InvalidKey, "Invalid application key".to_owned())
            }
            AuthRefusal::NoConsumerKey => (
                AuthCode::NotCredential,
                "This call needs a consumer key: send X-Ovh-Consumer".to_owned(),
            ),
            AuthRefusal::UnknownConsumerKey => (
                AuthCode::InvalidCredential,
                "This credential does not exist".to_owned(),
            ),
            AuthRefusal::Timestamp(text) => (AuthCode::QueryTimeOut, text.clone()),
            AuthRefusal::Signature(text) => (AuthCode::InvalidSignature, text.clone()),
            AuthRefusal::UnknownToken => (
                AuthCode::InvalidCredential,
                "This access token is not valid; request a new one from /auth/oauth2/token"
                    .to_owned(),
            ),
            AuthRefusal::ExpiredToken => (
                AuthCode::InvalidCredential,
                "This access token has expired; request a new one from /auth/oauth2/token"
                    .to_owned(),
            ),
        };
        let error = AuthError::new(code, message);
        match self {
            AuthRefusal::UnknownToken | AuthRefusal::ExpiredToken => {
                error.with_status(StatusCode::UNAUTHORIZED)
            }
            _ => error,
        }
    }

    /// The answer in the shape the emulator was configured for.
    pub fn into_response(self, legacy: bool) -> Response {
        if legacy {
            self.legacy().into_response()
        } else {
            self.current().into_response()
        }
    }
}

/// The older authentication layer's error codes (spec §6). The statuses are INFERRED: the
/// sources show the codes and one `403 Forbidden`, not a status per code; `NOT_AUTHENTICATED`
/// is INVENTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthCode {
    /// No credentials at all (401).
    NotAuthenticated,
    /// Unknown application key (403).
    InvalidKey,
    /// Application key without consumer key (403).
    NotCredential,
    /// Unknown consumer key, or unknown/expired bearer token (403 / 401).
    InvalidCredential,
    /// Signature does not match (400).
    InvalidSignature,
    /// Timestamp missing or outside the allowed skew (400).
    QueryTimeOut,
}

/// An older authentication-layer error: `{"errorCode","httpCode","message"}`.
#[derive(Debug, Clone)]
pub struct AuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// The code.
    pub code: AuthCode,
    /// Human text.
    pub message: String,
}

impl AuthError {
    /// Builds the error with the status the emulator uses for `code`.
    pub fn new(code: AuthCode, message: impl Into<String>) -> Self {
        let status = match code {
            AuthCode::NotAuthenticated => StatusCode::UNAUTHORIZED,
            AuthCode::InvalidKey | AuthCode::NotCredential | AuthCode::InvalidCredential => {
                StatusCode::FORBIDDEN
            }
            AuthCode::InvalidSignature | AuthCode::QueryTimeOut => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// Overrides the status (bearer-token failures answer 401).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    fn code_str(&self) -> &'static str {
        match self.code {
            AuthCode::NotAuthenticated => "NOT_AUTHENTICATED",
            AuthCode::InvalidKey => "INVALID_KEY",
            AuthCode::NotCredential => "NOT_CREDENTIAL",
            AuthCode::InvalidCredential => "INVALID_CREDENTIAL",
            AuthCode::InvalidSignature => "INVALID_SIGNATURE",
            AuthCode::QueryTimeOut => "QUERY_TIME_OUT",
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let http_code = format!(
            "{} {}",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or("")
        );
        (
            self.status,
            Json(json!({
                "errorCode": self.code_str(),
                "httpCode": http_code,
                "message": self.message,
            })),
        )
            .into_response()
    }
}

/// Data-plane error categories (okms-sdk-go `errors.go`): bits 12..16 of an `error_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum KmsCategory {
    /// 1: the server's own failure.
    Internal = 1,
    /// 2: bad argument.
    Argument = 2,
    /// 3: no or bad credentials.
    Authentication = 3,
    /// 4: credentials valid but not for this resource.
    Authorization = 4,
    /// 5: unknown resource.
    NotFound = 5,
}

/// The `error_code`s the data plane answers with. Each value is one okms-sdk-go's
/// `errors_test.go` decodes (Major `(c>>24)&0xff`, Minor `(c>>16)&0xff`, Category
/// `(c>>12)&0xf`, app code `c&0xfff`, names from its `errors.go`), except
/// [`KmsErrorCode::RestNotFound`], which is built from published field values but not itself
/// listed. Which code the real server sends for which refusal is not published: that mapping
/// is invented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum KmsErrorCode {
    /// REST / Authentication Provider / Authentication, app code 3.
    RestAuthentication = 50_475_011,
    /// CCM / IAM / Authorization, app code 1.
    IamAuthorization = 16_924_673,
    /// CCM / Domain / Not Found, app code 1.
    DomainNotFound = 16_994_305,
    /// REST / General / Argument, app code 1.
    RestArgument = 50_405_377,
    /// REST / General / Not Found, app code 1 (fields published, combination not seen).
    RestNotFound = (3 << 24) | (1 << 16) | (5 << 12) | 1,
    /// REST / General / Internal, app code 1 (fields published, combination not seen): the
    /// emulator's own failure, such as its random generator.
    RestInternal = (3 << 24) | (1 << 16) | (1 << 12) | 1,
}

impl KmsErrorCode {
    /// The category the code carries.
    pub(crate) fn category(self) -> KmsCategory {
        match self {
            Self::RestAuthentication => KmsCategory::Authentication,
            Self::IamAuthorization => KmsCategory::Authorization,
            Self::DomainNotFound | Self::RestNotFound => KmsCategory::NotFound,
            Self::RestArgument => KmsCategory::Argument,
            Self::RestInternal => KmsCategory::Internal,
        }
    }

    /// The HTTP status. Every data-plane route in kms-rest.json declares 401 and none
    /// declares 403, so an identity that is known but has no right on the domain
    /// (Authorization) gets 401, the only refusal of the caller the spec allows. 404 would
    /// tell the owner of both domains that the domain they named does not exist, which is
    /// false.
    pub(crate) fn status(self) -> StatusCode {
        match self.category() {
            KmsCategory::Argument => StatusCode::BAD_REQUEST,
            KmsCategory::Authentication | KmsCategory::Authorization => StatusCode::UNAUTHORIZED,
            KmsCategory::NotFound => StatusCode::NOT_FOUND,
            KmsCategory::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A data-plane refusal: `ErrorResponse` (`error_id`, `error_code`, `errors`, `request_id`,
/// nothing else: the schema says `additionalProperties: false`).
#[derive(Debug)]
pub(crate) struct KmsError {
    code: KmsErrorCode,
    message: String,
}

impl KmsError {
    /// A refusal with `code` and one human message.
    pub(crate) fn new(code: KmsErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status of the answer.
    pub(crate) fn status(&self) -> StatusCode {
        self.code.status()
    }
}

impl IntoResponse for KmsError {
    fn into_response(self) -> Response {
        (
            self.status(),
            Json(json!({
                "error_id": Uuid::new_v4().to_string(),
                "error_code": self.code as u32,
                "errors": [self.message],
                "request_id": Uuid::new_v4().to_string(),
            })),
        )
            .into_response()
    }
}

/// Parses a `uuid` path parameter the way the API's type check would refuse it.
pub(crate) fn parse_uuid(name: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| {
        ApiError::bad_request(
            "",
            format!("Invalid path parameter {name}: {value:?} is not a UUID"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_error_codes_decode_to_their_category_and_none_is_a_403() {
        for code in [
            KmsErrorCode::RestAuthentication,
            KmsErrorCode::IamAuthorization,
            KmsErrorCode::DomainNotFound,
            KmsErrorCode::RestArgument,
            KmsErrorCode::RestNotFound,
            KmsErrorCode::RestInternal,
        ] {
            let c = code as u32;
            assert_eq!((c >> 12) & 0xf, code.category() as u32, "{code:?}");
            assert!(matches!((c >> 24) & 0xff, 1 | 3), "{code:?}: CCM or REST");
            assert_ne!(code.status(), StatusCode::FORBIDDEN, "{code:?}");
        }
        assert_eq!(
            KmsError::new(KmsErrorCode::IamAuthorization, "x").status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            KmsError::new(KmsErrorCode::DomainNotFound, "x").status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn iam_refusal_names_the_actions_in_a_map_of_strings() {
        let e = ApiError::iam_refusal(&["okms:apiovh:credential/create"]);
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert_eq!(e.class, "Client::Forbidden");
        assert_eq!(e.message, IAM_REFUSAL_MESSAGE);
        assert_eq!(
            e.details["unauthorizedActionsByIAM"],
            "okms:apiovh:credential/create"
        );
        assert_eq!(e.details["unauthorizedActionsByAuthentication"], "");
        let two = ApiError::iam_refusal(&["a:apiovh:x/get", "a:apiovh:y/get"]);
        assert_eq!(
            two.details["unauthorizedActionsByIAM"],
            "a:apiovh:x/get,a:apiovh:y/get"
        );
    }

    #[test]
    fn a_stale_timestamp_reads_like_a_bad_signature_today_but_not_in_the_legacy_shape() {
        let skew = AuthRefusal::Timestamp("Query out of time".into());
        let sig = AuthRefusal::Signature("Invalid signature".into());
        assert_eq!(skew.current().message, sig.current().message);
        assert_eq!(skew.current().status, StatusCode::BAD_REQUEST);
        assert_eq!(skew.legacy().code, AuthCode::QueryTimeOut);
        assert_eq!(sig.legacy().code, AuthCode::InvalidSignature);
        assert_eq!(
            AuthRefusal::ExpiredToken.legacy().status,
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn bad_request_class() {
        assert_eq!(
            ApiError::bad_request("CredentialNameMaximumExceeded", "x").class,
            "Client::BadRequest::CredentialNameMaximumExceeded"
        );
        assert_eq!(ApiError::bad_request("", "x").class, "Client::BadRequest");
    }
}
