//! The upstream UserInfo read: this server, as a relying party, GETs the
//! upstream's UserInfo endpoint with the upstream access token as a Bearer
//! token (OpenID Connect Core 1.0 §5.3.1; RFC 6750 §2.1) and uses the answer
//! (§5.3.2) only when it is about the ID token's subject
//! ([`super::userinfo_subject`]). An error answer (§5.3.3, RFC 6750 §3) keeps
//! only its status.
//!
//! This server never registers for a signed or encrypted UserInfo answer
//! (`userinfo_signed_response_alg`, Registration §2), so one (`application/jwt`,
//! §5.3.2) is refused, not parsed. Errors name the endpoint's host at most.

use super::code_exchange::host_of;
use super::userinfo_subject::{self, UserinfoSubjectError};
use crate::outbound_http::{FetchError, OutboundError, OutboundHttp};
use crate::secret::Secret;
use serde_json::{Map, Value};

/// The most bytes a UserInfo answer may have.
pub const MAX_USERINFO_BYTES: usize = 64 * 1024;

/// Why the UserInfo claims may not be used. `Display` names the endpoint's
/// host at most, never the token or the answer.
#[derive(Debug)]
pub enum UserinfoFetchError {
    /// Refused before it was sent, or connecting, sending or reading failed.
    Request { host: String, cause: OutboundError },
    /// Any status but 200 (401 for a token the provider does not take,
    /// RFC 6750 §3.1).
    Status { host: String, status: u16 },
    /// A signed or encrypted answer (`application/jwt`), never asked for.
    Signed { host: String },
    /// Larger than the limit, in bytes.
    TooLarge { host: String, limit: usize },
    /// A 200 answer that is not JSON.
    NotJson { host: String },
    /// Not a JSON object, no `sub`, or another `sub` than the ID token's
    /// (Core §5.3.2): its values must not be used.
    Subject {
        host: String,
        error: UserinfoSubjectError,
    },
}

impl std::fmt::Display for UserinfoFetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Request { host, cause } => {
                write!(
                    f,
                    "the UserInfo request to {host} was not answered: {cause}"
                )
            }
            Self::Status { host, status } => {
                write!(f, "the UserInfo endpoint of {host} answered HTTP {status}")
            }
            Self::Signed { host } => write!(
                f,
                "the UserInfo answer of {host} is a signed or encrypted JWT \
                 (application/jwt), which is not asked for: a plain JSON answer is expected"
            ),
            Self::TooLarge { host, limit } => write!(
                f,
                "the UserInfo answer of {host} is larger than {limit} bytes"
            ),
            Self::NotJson { host } => write!(f, "the UserInfo answer of {host} is not JSON"),
            Self::Subject { host, error } => write!(f, "{error} ({host})"),
        }
    }
}

impl std::error::Error for UserinfoFetchError {}

/// GETs the UserInfo endpoint with the access token as a Bearer token; answers the JSON
/// object's claims after `userinfo_subject::check(id_token_sub, &value)` passed.
/// A signed or encrypted answer (content type application/jwt) is refused with a clear error
/// (we never register for one).
pub async fn fetch(
    http: &OutboundHttp,
    userinfo_endpoint: &str,
    access_token: &Secret,
    id_token_sub: &str,
) -> Result<Map<String, Value>, UserinfoFetchError> {
    let host = host_of(userinfo_endpoint);
    let answer = http
        .get_json_bearer(userinfo_endpoint, access_token, MAX_USERINFO_BYTES)
        .await
        .map_err(|e| match e {
            FetchError::Request(cause) => UserinfoFetchError::Request {
                host: host.clone(),
                cause,
            },
            FetchError::TooLarge(limit) => UserinfoFetchError::TooLarge {
                host: host.clone(),
                limit,
            },
            // Not produced by `get_json_bearer`, which answers any status and
            // any body.
            FetchError::Status(status) => UserinfoFetchError::Status {
                host: host.clone(),
                status,
            },
            FetchError::NotJson(_) => UserinfoFetchError::NotJson { host: host.clone() },
        })?;
    if answer.status != 200 {
        return Err(UserinfoFetchError::Status {
            host,
            status: answer.status,
        });
    }
    if answer.media_type.as_deref() == Some("application/jwt") {
        return Err(UserinfoFetchError::Signed { host });
    }
    let Some(value) = answer.json else {
        return Err(UserinfoFetchError::NotJson { host });
    };
    claims(id_token_sub, value).map_err(|error| UserinfoFetchError::Subject { host, error })
}

/// The claims of a 200 JSON answer about `id_token_sub` (Core §5.3.2).
pub fn claims(
    id_token_sub: &str,
    value: Value,
) -> Result<Map<String, Value>, UserinfoSubjectError> {
    userinfo_subject::check(id_token_sub, &value)?;
    match value {
        Value::Object(claims) => Ok(claims),
        _ => Err(UserinfoSubjectError::NotAnObject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_of_another_subject_are_not_used() {
        assert_eq!(
            claims("alice", json!({"sub": "mallory", "email": "m@example.com"})),
            Err(UserinfoSubjectError::Mismatch)
        );
        assert_eq!(
            claims("alice", json!([])),
            Err(UserinfoSubjectError::NotAnObject)
        );
        assert_eq!(
            claims("alice", json!({"email": "a@example.com"})),
            Err(UserinfoSubjectError::MissingSub)
        );
        let got = claims("alice", json!({"sub": "alice", "name": "Alice"})).unwrap();
        assert_eq!(got.get("name"), Some(&json!("Alice")));
    }

    #[test]
    fn errors_show_no_token_nor_path() {
        let e = UserinfoFetchError::Subject {
            host: host_of("https://op.example/userinfo?t=secret"),
            error: UserinfoSubjectError::Mismatch,
        };
        let shown = e.to_string();
        assert_eq!(
            shown,
            "the UserInfo answer's sub is not the ID token's (op.example)"
        );
        let signed = UserinfoFetchError::Signed {
            host: "op.example".into(),
        };
        assert!(signed.to_string().contains("application/jwt"));
    }
}
