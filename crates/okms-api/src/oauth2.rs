//! OAuth2 client-credentials: the token request and answer (sans-IO).

use std::time::Duration;

use base64ct::{Base64, Encoding};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::sans_io::{check_status, sensitive};

/// The form body OVHcloud expects.
pub const TOKEN_REQUEST_BODY: &str = "grant_type=client_credentials&scope=all";

/// Lifetime assumed when the server does not say (`expires_in` absent).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Longest lifetime trusted, whatever the server says.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// An access token and how long it lives.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The token.
    pub token: SecretString,
    /// Lifetime announced by the server (`expires_in`), if any.
    pub expires_in: Option<Duration>,
}

impl AccessToken {
    /// How long after fetching the token should be replaced: 10 s before expiry, or at half
    /// its life for very short-lived tokens.
    pub fn renew_after(&self) -> Duration {
        // Capped so a server's absurd `expires_in` cannot overflow time arithmetic.
        let life = self
            .expires_in
            .unwrap_or(DEFAULT_TOKEN_LIFETIME)
            .min(MAX_TOKEN_LIFETIME);
        life.saturating_sub(Duration::from_secs(10)).max(life / 2)
    }
}

/// `POST {token_url}` with HTTP Basic client authentication and the client-credentials form.
pub fn token_request(
    token_url: &str,
    client_id: &str,
    client_secret: &SecretString,
) -> Result<http::Request<Vec<u8>>, Error> {
    crate::endpoint::check_url(token_url)?;
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = Zeroizing::new(format!(
        "{}:{}",
        enc(client_id),
        enc(client_secret.expose_secret())
    ));
    let basic = Zeroizing::new(format!("Basic {}", Base64::encode_string(pair.as_bytes())));
    Ok(http::Request::builder()
        .method(http::Method::POST)
        .uri(token_url)
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(AUTHORIZATION, sensitive(&basic)?)
        .body(TOKEN_REQUEST_BODY.as_bytes().to_vec())?)
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<SecretString>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
}

/// Decodes the token answer, or the OAuth2 error `{"error","error_description"}`.
pub fn parse_token_response(response: &http::Response<Vec<u8>>) -> Result<AccessToken, Error> {
    check_status(response)?;
    let a: TokenAnswer = crate::sans_io::parse_json_secret(response, "OAuth2 token")?;
    let Some(token) = a.access_token.filter(|t| !t.expose_secret().is_empty()) else {
        return Err(Error::OAuth2Token {
            reason: "no access_token in the answer".into(),
        });
    };
    if let Some(t) = &a.token_type
        && !t.eq_ignore_ascii_case("bearer")
    {
        // The value is not quoted: nothing from a token answer is (it carries the token).
        return Err(Error::OAuth2Token {
            reason: "the token_type is not Bearer".into(),
        });
    }
    // Some servers send expires_in as a string.
    let expires_in = match a.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .map(Duration::from_secs);
    Ok(AccessToken { token, expires_in })
}
