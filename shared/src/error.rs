//! Protocol errors. Two code enums, so an endpoint cannot answer with a code its RFC
//! does not define for it: the authorization endpoint's (RFC 6749 §4.1.2.1) and the
//! token, introspection and revocation endpoints' (RFC 6749 §5.2, RFC 7009 §2.2.1).
//!
//! An error carries a public description, sent to the client, and a private cause,
//! only logged (with the request id), never sent.

use http::StatusCode;
use std::fmt;

/// Error codes of the token endpoint (RFC 6749 §5.2), also used by introspection
/// (RFC 7662 §2.3) and revocation (RFC 7009 §2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 7009 §2.2.1.
    UnsupportedTokenType,
    /// The server failed; the request may be retried.
    ServerError,
}

impl TokenErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::ServerError => "server_error",
        }
    }

    /// 400 for every code but `invalid_client` (401, RFC 6749 §5.2) and `server_error`.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Error codes of the authorization endpoint (RFC 6749 §4.1.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizeErrorCode {
    InvalidRequest,
    UnauthorizedClient,
    AccessDenied,
    UnsupportedResponseType,
    InvalidScope,
    ServerError,
    TemporarilyUnavailable,
    /// `prompt=none` and no session (OpenID Connect Core §3.1.2.6).
    LoginRequired,
    /// `prompt=none` and consent would have to be asked (OpenID Connect Core §3.1.2.6).
    ConsentRequired,
    /// A `request` parameter: request objects are not supported (OpenID Connect
    /// Core §3.1.2.6, §6.1).
    RequestNotSupported,
    /// A `request_uri` parameter (OpenID Connect Core §3.1.2.6, §6.2).
    RequestUriNotSupported,
}

impl AuthorizeErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

/// An error from the token, introspection or revocation endpoint.
#[derive(Debug)]
pub struct TokenError {
    pub code: TokenErrorCode,
    /// Sent as `error_description`: safe for the client to read.
    pub description: String,
    /// Logged, never sent.
    pub cause: Option<String>,
    /// A status other than the code's own (405 for a wrong method, 413 for a body
    /// over the limit).
    pub status: Option<StatusCode>,
}

impl TokenError {
    pub fn new(code: TokenErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            cause: None,
            status: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(TokenErrorCode::InvalidRequest, description)
    }

    /// Every client-authentication failure reads the same (RFC 9700 §4.14 spirit:
    /// no oracle for which client ids exist or which part was wrong), whichever
    /// method was tried. Its 401 always carries the `Basic` challenge: the JSON
    /// response builder adds it to every 401 (RFC 9110 §15.5.2, RFC 6749 §5.2).
    pub fn invalid_client() -> Self {
        Self::new(
            TokenErrorCode::InvalidClient,
            "client authentication failed",
        )
    }

    pub fn server_error(cause: impl fmt::Display) -> Self {
        Self {
            cause: Some(cause.to_string()),
            ..Self::new(
                TokenErrorCode::ServerError,
                "the server could not complete the request; try again",
            )
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| self.code.status())
    }
}

impl From<crate::store::StoreError> for TokenError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::server_error(e)
    }
}
