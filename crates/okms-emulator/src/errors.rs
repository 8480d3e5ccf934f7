//! The three error shapes the emulator answers with, one per layer of the real service:
//! the API's `{"class","message"}`, the authentication layer's
//! `{"errorCode","httpCode","message"}` and the KMS data plane's
//! `{"error_id","error_code","errors","request_id"}`.

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
}

impl ApiError {
    /// A 400 with a credential validation class (`Client::BadRequest::<suffix>`).
    pub fn bad_request(suffix: &str, message: impl Into<String>) -> Self {
        let class = if suffix.is_empty() {
            "Client::BadRequest".to_owned()
        } else {
            format!("Client::BadRequest::{suffix}")
        };
        Self {
            status: StatusCode::BAD_REQUEST,
            class,
            message: message.into(),
        }
    }

    /// A 404 `Client::NotFound`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            class: "Client::NotFound".to_owned(),
            message: message.into(),
        }
    }

    /// Any other status and class.
    pub fn new(status: StatusCode, class: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            class: class.to_owned(),
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "class": self.class, "message": self.message })),
        )
            .into_response()
    }
}

/// The authentication layer's error codes (spec §6). The statuses are INFERRED: the sources
/// show the codes and one `403 Forbidden`, not a status per code.
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

/// An authentication-layer error: `{"errorCode","httpCode","message"}`.
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

/// Data-plane error categories (okms-sdk-go `errors.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum KmsCategory {
    /// 2: bad argument.
    Argument = 2,
    /// 3: no or bad credentials.
    Authentication = 3,
    /// 4: credentials valid but not for this resource.
    Authorization = 4,
    /// 5: unknown resource.
    NotFound = 5,
}

/// A data-plane error: `{"error_id","error_code","errors":[...],"request_id"}`.
#[derive(Debug, Clone)]
pub struct KmsError {
    /// HTTP status.
    pub status: StatusCode,
    /// Category, encoded into `error_code`.
    pub category: KmsCategory,
    /// Human text (one entry of `errors`).
    pub message: String,
}

impl KmsError {
    /// Builds the error; the status follows the category.
    pub fn new(category: KmsCategory, message: impl Into<String>) -> Self {
        let status = match category {
            KmsCategory::Argument => StatusCode::BAD_REQUEST,
            KmsCategory::Authentication => StatusCode::UNAUTHORIZED,
            KmsCategory::Authorization => StatusCode::FORBIDDEN,
            KmsCategory::NotFound => StatusCode::NOT_FOUND,
        };
        Self {
            status,
            category,
            message: message.into(),
        }
    }

    /// `error_code` as the SDK decodes it: major 1, minor 1, the category, app code 1.
    /// Only the category is meaningful; the other fields are invented.
    pub fn error_code(&self) -> u32 {
        (1 << 24) | (1 << 16) | ((self.category as u32) << 12) | 1
    }
}

impl IntoResponse for KmsError {
    fn into_response(self) -> Response {
        let error_id = Uuid::new_v4().to_string();
        let request_id = Uuid::new_v4().to_string();
        (
            self.status,
            Json(json!({
                "error_id": error_id,
                "error_code": self.error_code(),
                "errors": [self.message],
                "request_id": request_id,
            })),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_error_code_decodes_to_category() {
        let e = KmsError::new(KmsCategory::Authorization, "x");
        let c = e.error_code();
        assert_eq!((c >> 24) & 0xff, 1);
        assert_eq!((c >> 16) & 0xff, 1);
        assert_eq!((c >> 12) & 0xf, 4);
        assert_eq!(c & 0xfff, 1);
        assert_eq!(e.status, StatusCode::FORBIDDEN);
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
