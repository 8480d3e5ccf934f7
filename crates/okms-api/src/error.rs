//! The crate's single error type, and the server error shapes it decodes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::transport::TransportError;
use crate::types::CredentialStatus;

/// Everything that can go wrong in `okms-api`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint name is not one of OVHcloud's API endpoints.
    #[error(
        "unknown endpoint {}: use one of {valid}, or an https:// URL",
        quote_value(name)
    )]
    UnknownEndpoint {
        /// The name that was given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// The endpoint (or KMS) URL is malformed or not allowed.
    #[error("invalid URL {}: {reason}", quote_value(url))]
    InvalidUrl {
        /// The URL that was given.
        url: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A plain `http://` URL names a host that is not loopback.
    #[error(
        "URL {} uses plain http:// to a host that is not loopback (127.0.0.0/8, ::1, localhost); use https://",
        quote_value(url)
    )]
    InsecureUrl {
        /// The URL that was given.
        url: String,
    },
    /// More than one authentication method is configured.
    #[error(
        "can't use multiple authentication methods: {first} and {second} are both configured; keep only one"
    )]
    MultipleAuthMethods {
        /// The first method found.
        first: &'static str,
        /// The second method found.
        second: &'static str,
    },
    /// No authentication method is configured.
    #[error(
        "no OVHcloud API credentials for endpoint {endpoint}: set application_key + application_secret + consumer_key, \
         or client_id + client_secret, or access_token (in ovh.conf section [{endpoint}] or OVH_* environment variables)"
    )]
    NoCredentials {
        /// The endpoint whose credentials were looked up.
        endpoint: String,
    },
    /// One half of a credential pair is set without the other.
    #[error("{present} is set but {missing} is missing; set both or neither")]
    IncompleteCredentials {
        /// The setting that is present.
        present: &'static str,
        /// The setting that is missing.
        missing: &'static str,
    },
    /// OAuth2 client credentials are not available on this endpoint.
    #[error(
        "oauth2 authentication is not compatible with endpoint {endpoint}; use application keys or an access token"
    )]
    OAuth2NotSupported {
        /// The endpoint name.
        endpoint: String,
    },
    /// A configuration file could not be read.
    #[error("cannot read config file {}", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration file is not valid INI.
    #[error("cannot parse config file {}: {message}", path.display())]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A field failed client-side validation (request body, identifier, PEM input).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Which field; its `Display` is the name as the API spells it (e.g. `name`,
        /// `identityURNs[2]`). Callers match on it to point at the input to fix.
        field: Field,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A credential request (JSON) could not be decoded.
    #[error("cannot decode credential request JSON")]
    RequestDecode(#[source] serde_json::Error),
    /// The server answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// A renewal broker refused (its protocol's own error answer, [`crate::broker`]).
    #[error("the broker refused (HTTP {}, {:?}): {}", .0.status, .0.code, .0.message)]
    Broker(Box<crate::broker_refusal::BrokerRefusal>),
    /// A successful answer could not be decoded into the expected type.
    #[error("cannot decode {what} from the server answer (HTTP {status}): {body_excerpt:?}")]
    Decode {
        /// What was expected.
        what: &'static str,
        /// HTTP status of the answer.
        status: u16,
        /// The start of the body, for diagnosis (never used for secret-bearing answers).
        body_excerpt: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The request could not be sent, or the answer could not be received.
    #[error("{method} {url} failed: {source}")]
    Transport {
        /// The HTTP method.
        method: String,
        /// The URL (no secrets: signatures travel in headers).
        url: String,
        /// The transport's error.
        #[source]
        source: TransportError,
    },
    /// The create POST failed in a way where the server may still have created the credential.
    ///
    /// The POST is never repeated automatically. Use
    /// [`Client::find_credentials_by_name`](crate::Client::find_credentials_by_name) with `sent_at`
    /// to find out, then adopt, or delete and create again.
    #[error(
        "the create request for credential {} in domain {okms_id} may or may not have been processed \
         (sent at {sent_at}); list the domain's credentials to reconcile before creating again",
        quote_value(name)
    )]
    CreateOutcomeUnknown {
        /// The credential name that was sent.
        name: String,
        /// The OKMS domain.
        okms_id: Uuid,
        /// Local time just before the POST was sent.
        sent_at: OffsetDateTime,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// A create whose outcome was unknown could not be reconciled automatically.
    #[error(
        "cannot tell what became of the create request for credential {} in domain {okms_id}: {reason}{}",
        quote_value(name),
        if candidates.is_empty() { String::new() } else { format!("; credentials to check: {}", join_ids(candidates)) }
    )]
    ReconcileFailed {
        /// The credential name that was sent.
        name: String,
        /// The OKMS domain.
        okms_id: Uuid,
        /// The credentials a person should look at (possibly none).
        candidates: Vec<Uuid>,
        /// What could not be decided.
        reason: String,
    },
    /// Waiting for READY ran past its deadline.
    #[error("credential {id} is still {status} after {waited:?}; wait again later")]
    WaitTimeout {
        /// The credential.
        id: Uuid,
        /// Its last seen status.
        status: CredentialStatus,
        /// How long we waited.
        waited: Duration,
    },
    /// The credential reached a status from which it will never become READY.
    #[error("credential {id} reached status {status} instead of READY")]
    UnexpectedStatus {
        /// The credential.
        id: Uuid,
        /// The status seen.
        status: CredentialStatus,
    },
    /// The OAuth2 token endpoint answered without a usable token.
    #[error("the OAuth2 token endpoint returned no usable access token: {reason}")]
    OAuth2Token {
        /// What was missing or wrong.
        reason: String,
    },
    /// TLS configuration (certificates, keys, trust roots) is unusable.
    #[error("TLS setup failed: {reason}")]
    Tls {
        /// What is wrong.
        reason: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The API gave a domain CA field that is not PEM certificates (or none at all).
    #[error("the API's {field} for OKMS domain {okms_id} is unusable: {reason}")]
    BadDomainCa {
        /// The domain.
        okms_id: Uuid,
        /// The field, as the API spells it (`publicCA`, `publicRsaCA`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An IAM action is not one okms-rs knows (see [`crate::iam::actions`]).
    #[error(
        "unknown IAM action {}{}; use one of the known actions (okms_api::iam::actions) or a pattern ending in * (e.g. okms:apikms:*)",
        quote_value(action),
        suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default()
    )]
    UnknownAction {
        /// The action given.
        action: String,
        /// The closest known action, when one is close.
        suggestion: Option<String>,
    },
    /// An IAM preset name is not one of [`crate::iam::actions::PRESETS`].
    #[error(
        "unknown preset {}{}; the presets are: {valid}",
        quote_value(name),
        suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default()
    )]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The closest preset name, when one is close.
        suggestion: Option<String>,
        /// Every preset name, comma-separated.
        valid: String,
    },
    /// The KMIP check failed before the server could answer in KMIP (see `kmip`).
    #[error("KMIP endpoint {endpoint}: {reason}")]
    Kmip {
        /// The endpoint, `host:port`.
        endpoint: String,
        /// Where it failed.
        stage: KmipStage,
        /// What went wrong.
        reason: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An HTTP request could not be assembled (a header value or URL the `http` crate refuses).
    #[error("cannot build HTTP request")]
    Http(#[from] http::Error),
}

/// Where a KMIP check failed, for a caller that explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KmipStage {
    /// No TCP connection (wrong host or port, nothing listening, a firewall).
    Connect,
    /// TLS refused by either side (an untrusted server, or a client certificate the server
    /// refuses: expired, revoked, of another region or domain).
    Handshake,
    /// The server answered bytes that are not a KMIP response (or too many of them).
    NotKmip,
    /// The connection closed or stalled before a whole answer.
    Answer,
}

/// Longest part of a value an error message quotes, in characters.
const QUOTED_CHARS: usize = 64;

/// A value the caller gave, as an error message quotes it: Rust-escaped in double quotes (so a
/// control character cannot drive the terminal), cut after 64 characters with its length
/// appended, e.g. `"aaaa…" (100000 characters)`. A pasted file or a runaway variable must not
/// turn one error line into 100 kB of stderr, and the length tells the user what happened.
#[must_use]
pub fn quote_value(value: &str) -> String {
    quote_with(value, '"')
}

/// [`quote_value`] between `mark`s (a URN's parts are quoted with `'`, inside a quoted URN).
pub(crate) fn quote_with(value: &str, mark: char) -> String {
    let count = value.chars().count();
    let head: String = value.chars().take(QUOTED_CHARS).collect();
    if count <= QUOTED_CHARS {
        return format!("{mark}{}{mark}", head.escape_debug());
    }
    format!("{mark}{}…{mark} ({count} characters)", head.escape_debug())
}

impl Error {
    /// The server error, when this is (or wraps) one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::CreateOutcomeUnknown { source, .. } => source.api_error(),
            _ => None,
        }
    }

    /// The HTTP status of a server error.
    pub fn status(&self) -> Option<u16> {
        self.api_error().map(|e| e.status)
    }

    /// The OVH error `class` (e.g. `Client::BadRequest::CredentialNameMaximumExceeded`).
    pub fn class(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.class.as_deref())
    }

    /// The `X-Ovh-QueryID` of the failed call, to quote to OVHcloud support.
    pub fn query_id(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.query_id.as_deref())
    }

    /// The server said 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The IAM actions an IAM refusal names (`details.unauthorizedActionsByIAM`); empty when
    /// this is not such a refusal.
    pub fn unauthorized_actions_by_iam(&self) -> &[String] {
        self.api_error()
            .map_or(&[], |e| e.unauthorized_actions_by_iam.as_slice())
    }

    /// The create POST may have been processed; reconcile before trying again.
    pub fn is_create_outcome_unknown(&self) -> bool {
        matches!(self, Error::CreateOutcomeUnknown { .. })
    }

    pub(crate) fn invalid(field: Field, reason: impl Into<String>) -> Self {
        Error::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}

/// The field an [`Error::InvalidField`] is about. `Display` gives the name as the API (or the
/// HTTP header) spells it, the text the error message shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The credential `name`.
    Name,
    /// The credential `description`.
    Description,
    /// The certificate `validity`, in days.
    Validity,
    /// The `identityURNs` list as a whole (empty, too long).
    IdentityUrns,
    /// One entry of `identityURNs`, by index; [`IdentityUrn::parse`](crate::IdentityUrn::parse)
    /// alone, which knows no index, reports [`Field::IdentityUrns`].
    IdentityUrn(usize),
    /// `certificateType`.
    CertificateType,
    /// The `csr` PEM text.
    Csr,
    /// The account ID (nic) put into an identity URN.
    Nic,
    /// A user login put into an identity URN.
    UserLogin,
    /// A group name put into an identity URN.
    GroupName,
    /// An OAuth2 client ID put into a service-account URN.
    ClientId,
    /// An API region (`eu`, `ca`, `us`).
    Plate,
    /// The path of a request URL.
    Path,
    /// A credential (key, secret, token) that cannot travel in an HTTP header.
    Credential,
    /// The server's `X-Pagination-Cursor-Next` header.
    PaginationCursor,
    /// The client's authentication mode (an OAuth2 call without OAuth2 credentials).
    Auth,
    /// An IAM policy's `name`.
    PolicyName,
    /// An IAM policy's `identities` as a whole.
    PolicyIdentities,
    /// One entry of an IAM policy's `identities`, by index.
    PolicyIdentity(usize),
    /// An IAM policy's `resources`.
    PolicyResources,
    /// An IAM policy's `permissions.allow` (also the actions of an authorization check).
    PolicyAllow,
    /// An IAM policy's `expiredAt`.
    PolicyExpiredAt,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Field::Name => "name",
            Field::Description => "description",
            Field::Validity => "validity",
            Field::IdentityUrns => "identityURNs",
            Field::IdentityUrn(i) => return write!(f, "identityURNs[{i}]"),
            Field::CertificateType => "certificateType",
            Field::Csr => "csr",
            Field::Nic => "nic",
            Field::UserLogin => "user login",
            Field::GroupName => "group name",
            Field::ClientId => "client ID",
            Field::Plate => "plate",
            Field::Path => "path",
            Field::Credential => "credential",
            Field::PaginationCursor => "X-Pagination-Cursor-Next",
            Field::Auth => "auth",
            Field::PolicyName => "name",
            Field::PolicyIdentities => "identities",
            Field::PolicyIdentity(i) => return write!(f, "identities[{i}]"),
            Field::PolicyResources => "resources",
            Field::PolicyAllow => "permissions.allow",
            Field::PolicyExpiredAt => "expiredAt",
        };
        f.write_str(name)
    }
}

/// Compares with the name the message shows (`field == "identityURNs[1]"`), for tests and
/// logs; code that decides something matches the variant.
impl PartialEq<str> for Field {
    fn eq(&self, other: &str) -> bool {
        let name = self.to_string();
        name == other
    }
}

impl PartialEq<&str> for Field {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

/// Which error body shape the server used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorShape {
    /// The OVH API shape `{"class","message","details"}`.
    Ovh,
    /// The authentication layer shape `{"errorCode","httpCode","message"}`.
    AuthLayer,
    /// The OAuth2 shape `{"error","error_description"}`.
    OAuth2,
    /// The KMS data-plane shape `{"error_id","error_code","errors","request_id"}`.
    DataPlane,
    /// Not JSON, or JSON of an unknown shape: the body is kept verbatim (truncated).
    Raw,
}

/// An error answer from the OVHcloud API (or its OAuth2 endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// OVH error class, e.g. `Client::Forbidden`.
    pub class: Option<String>,
    /// Auth-layer `errorCode` (e.g. `INVALID_SIGNATURE`), OAuth2 `error`, or data-plane `error_code`.
    pub code: Option<String>,
    /// The server's message, verbatim.
    pub message: String,
    /// OVH `details` (e.g. `unauthorizedActionsByIAM`), each value as text (a list joined
    /// with `, `).
    pub details: BTreeMap<String, String>,
    /// The IAM actions the caller was not granted, from `details.unauthorizedActionsByIAM`
    /// (OVHcloud sends one string, several actions comma-separated; a JSON array is read
    /// too). Empty when the answer names none. The fix is an IAM policy granting them.
    pub unauthorized_actions_by_iam: Vec<String>,
    /// The actions the consumer key's own access rules refuse, from
    /// `details.unauthorizedActionsByAuthentication`, read the same way. The fix is a consumer
    /// key whose access rules allow the call, not an IAM policy.
    pub unauthorized_actions_by_authentication: Vec<String>,
    /// The `X-Ovh-QueryID` response header.
    pub query_id: Option<String>,
    /// `Retry-After`, in seconds, when the server sent one.
    pub retry_after: Option<Duration>,
    /// Which body shape was recognised.
    pub shape: ErrorShape,
}

impl ApiError {
    /// Whether this is the authentication layer refusing the request's signature or timestamp
    /// (a 400 or 401 that speaks of the time, the timestamp or the signature), in either error
    /// shape: today's `Client::BadRequest` "Invalid signature" or the older
    /// `INVALID_SIGNATURE` / `QUERY_TIME_OUT`. Nothing was processed.
    pub fn is_signature_refusal(&self) -> bool {
        matches!(self.status, 400 | 401) && self.speaks_of_clock_or_signature()
    }

    /// Whether the refusal names what it is about as the clock (`time`, `timestamp`) or the
    /// signature, in its message or its auth-layer code (`QUERY_TIME_OUT`,
    /// `INVALID_SIGNATURE`), as whole words in any case. Both error shapes say so only in
    /// free text, so this reads words rather than comparing one code.
    pub(crate) fn speaks_of_clock_or_signature(&self) -> bool {
        const WORDS: [&str; 5] = ["time", "timestamp", "timestamps", "signature", "signatures"];
        [Some(self.message.as_str()), self.code.as_deref()]
            .into_iter()
            .flatten()
            .flat_map(|text| text.split(|c: char| !c.is_ascii_alphanumeric()))
            .any(|word| WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)))
    }
}

impl fmt::Display for ApiError {
    // Same wording as go-ovh so users can search for it; details appended because IAM
    // refusals put the missing action there.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every part comes from the server: control characters are escaped so that an answer
        // cannot drive the terminal the error is printed on.
        write!(f, "OVHcloud API error (status code {}): ", self.status)?;
        match (&self.class, &self.code) {
            (Some(class), _) => write!(f, "{}: ", Escaped(class))?,
            (None, Some(code)) => write!(f, "{}: ", Escaped(code))?,
            (None, None) => {}
        }
        write!(f, "{:?}", self.message)?;
        // An empty value (OVHcloud sends `"unauthorizedActionsByAuthentication": ""` next to
        // the IAM one) says nothing.
        for (k, v) in self.details.iter().filter(|(_, v)| !v.is_empty()) {
            write!(f, " [{}: {}]", Escaped(k), Escaped(v))?;
        }
        if let Some(q) = &self.query_id {
            write!(f, " (X-OVH-Query-Id: {})", Escaped(q))?;
        }
        Ok(())
    }
}

/// Text from the server, shown with control and bidirectional-override characters escaped
/// (`\u{1b}`); everything else as is.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.0.chars() {
            let unsafe_char = c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if unsafe_char {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

/// Ids as a comma-separated list.
pub fn join_ids(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let mut details = BTreeMap::new();
        details.insert("k\u{1b}[2J".to_owned(), "v\u{202e}x".to_owned());
        let e = ApiError {
            status: 403,
            class: Some("Client::Forbidden\u{1b}]0;title\u{7}".to_owned()),
            code: None,
            message: "m\u{1b}".to_owned(),
            details,
            unauthorized_actions_by_iam: Vec::new(),
            unauthorized_actions_by_authentication: Vec::new(),
            query_id: Some("EU.q\t1".to_owned()),
            retry_after: None,
            shape: ErrorShape::Ovh,
        };
        let shown = e.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(!shown.contains('\u{202e}'), "{shown:?}");
        assert!(
            shown.contains("Client::Forbidden\\u{1b}]0;title\\u{7}"),
            "{shown}"
        );
        assert!(shown.contains("[k\\u{1b}[2J: v\\u{202e}x]"), "{shown}");
        assert!(shown.contains("(X-OVH-Query-Id: EU.q\\u{9}1)"), "{shown}");
    }
}
