//! The upstream code exchange: at the callback, this server, as a relying
//! party, trades the upstream's authorization code for its tokens at the
//! upstream token endpoint (OpenID Connect Core 1.0 §3.1.3.1-§3.1.3.4; RFC 6749
//! §4.1.3, §5.1, §5.2), authenticated as the provider's metadata chose
//! (RFC 6749 §2.3.1), with the PKCE verifier (RFC 7636 §4.5).
//!
//! Nothing secret leaves this module except onto the wire: the code, the
//! verifier, the client secret and the tokens are never logged nor put in an
//! error, and errors name the endpoint's host at most. The ID token answered
//! is not checked here: `upstream_id_token` validates it.

use crate::domain::provider::UpstreamAuthMethod;
use crate::outbound_http::{FetchError, OutboundError, OutboundHttp};
use crate::secret::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// The most bytes a token answer may have (an ID token and an access token
/// are a few KiB).
pub const MAX_TOKEN_ANSWER_BYTES: usize = 64 * 1024;

/// The longest `error` code of an RFC 6749 §5.2 answer that is kept.
pub const MAX_ERROR_CODE_LEN: usize = 64;

/// One token request (RFC 6749 §4.1.3; Core §3.1.3.1).
pub struct CodeExchange<'a> {
    pub token_endpoint: &'a str,
    pub auth_method: UpstreamAuthMethod,
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
    pub code: &'a str,
    /// The redirect URI the authorization request carried.
    pub redirect_uri: &'a str,
    pub code_verifier: &'a Secret,
}

/// What a successful token answer holds (Core §3.1.3.3): the ID token, still
/// to be validated, and the access token when one was issued, for UserInfo.
pub struct UpstreamTokens {
    pub id_token: String,
    pub access_token: Option<Secret>,
}

impl std::fmt::Debug for UpstreamTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTokens")
            .field("id_token", &"[redacted]")
            .field("access_token", &self.access_token)
            .finish()
    }
}

/// Why no tokens came back. `Display` names the endpoint's host at most, and
/// never a token, code, secret or the answer's body.
#[derive(Debug)]
pub enum ExchangeError {
    /// The request was refused before it was sent (address policy, scheme), or
    /// connecting, sending or reading failed.
    Request { host: String, cause: OutboundError },
    /// The provider refused with an RFC 6749 §5.2 error answer (400 or 401
    /// with a JSON `error`). `error` is its code when that is one (the §5.2
    /// characters, at most [`MAX_ERROR_CODE_LEN`]), `None` otherwise.
    Refused {
        host: String,
        status: u16,
        error: Option<String>,
    },
    /// Any other status than 200, or a 400/401 that is no §5.2 error answer.
    Status { host: String, status: u16 },
    /// The answer is larger than the limit, in bytes.
    TooLarge { host: String, limit: usize },
    /// A 200 answer that is not JSON.
    NotJson { host: String },
    /// A 200 JSON answer that is not a token answer of OpenID Connect: which
    /// rule it breaks.
    Malformed { host: String, reason: &'static str },
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Request { host, cause } => {
                write!(f, "the token request to {host} was not answered: {cause}")
            }
            Self::Refused {
                host,
                status,
                error: Some(code),
            } => write!(f, "{host} refused the code (HTTP {status}, error {code})"),
            Self::Refused {
                host,
                status,
                error: None,
            } => write!(
                f,
                "{host} refused the code (HTTP {status}, an error code that is not one)"
            ),
            Self::Status { host, status } => {
                write!(f, "the token endpoint of {host} answered HTTP {status}")
            }
            Self::TooLarge { host, limit } => {
                write!(f, "the token answer of {host} is larger than {limit} bytes")
            }
            Self::NotJson { host } => write!(f, "the token answer of {host} is not JSON"),
            Self::Malformed { host, reason } => {
                write!(f, "the token answer of {host} is not usable: {reason}")
            }
        }
    }
}

impl std::error::Error for ExchangeError {}

/// The host of `uri`, for errors (never its path or query).
pub(crate) fn host_of(uri: &str) -> String {
    url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "the provider".into())
}

/// Trades the code for the provider's tokens (RFC 6749 §4.1.3): the form
/// carries `grant_type=authorization_code`, `code`, `redirect_uri` and
/// `code_verifier`; with `client_secret_post` also `client_id` and
/// `client_secret`, with `client_secret_basic` neither, the credentials going
/// in the `Authorization` header instead (RFC 6749 §2.3.1). No redirect is
/// followed.
pub async fn exchange(
    http: &OutboundHttp,
    x: &CodeExchange<'_>,
) -> Result<UpstreamTokens, ExchangeError> {
    let host = host_of(x.token_endpoint);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", x.code),
        ("redirect_uri", x.redirect_uri),
        ("code_verifier", x.code_verifier.expose()),
    ];
    let authorization = match x.auth_method {
        UpstreamAuthMethod::ClientSecretBasic => {
            Some(basic_authorization(x.client_id, x.client_secret))
        }
        UpstreamAuthMethod::ClientSecretPost => {
            form.push(("client_id", x.client_id));
            form.push(("client_secret", x.client_secret.expose()));
            None
        }
    };
    let answer = http
        .post_form_json(
            x.token_endpoint,
            authorization.as_ref(),
            &form,
            MAX_TOKEN_ANSWER_BYTES,
        )
        .await
        .map_err(|e| match e {
            FetchError::Request(cause) => ExchangeError::Request {
                host: host.clone(),
                cause,
            },
            FetchError::TooLarge(limit) => ExchangeError::TooLarge {
                host: host.clone(),
                limit,
            },
            // Not produced by `post_form_json`, which answers any status and
            // any body.
            FetchError::Status(status) => ExchangeError::Status {
                host: host.clone(),
                status,
            },
            FetchError::NotJson(_) => ExchangeError::NotJson { host: host.clone() },
        })?;
    match (answer.status, answer.json) {
        (200, Some(json)) => {
            token_answer(&json).map_err(|reason| ExchangeError::Malformed { host, reason })
        }
        (200, None) => Err(ExchangeError::NotJson { host }),
        (status @ (400 | 401), Some(json)) if json.get("error").is_some() => {
            Err(ExchangeError::Refused {
                host,
                status,
                error: error_code(&json),
            })
        }
        (status, _) => Err(ExchangeError::Status { host, status }),
    }
}

/// The `Authorization` header value of `client_secret_basic`: RFC 6749 §2.3.1
/// says the client id and secret are each encoded with
/// `application/x-www-form-urlencoded` (Appendix B) before they are joined by
/// `:` and Base64-encoded as HTTP Basic (RFC 7617).
pub fn basic_authorization(client_id: &str, client_secret: &Secret) -> Secret {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(client_secret.expose()));
    Secret::new(format!("Basic {}", STANDARD.encode(pair)))
}

/// Reads a 200 answer (RFC 6749 §5.1, Core §3.1.3.3): a JSON object with a
/// non-empty string `id_token` (required in OpenID Connect); an
/// `access_token`, when present, a non-empty string whose `token_type` is
/// `Bearer`, compared without case (RFC 6749 §7.1, RFC 6750 §4). The reason
/// of a refusal names a rule, never a value.
pub fn token_answer(answer: &Value) -> Result<UpstreamTokens, &'static str> {
    let Value::Object(fields) = answer else {
        return Err("not a JSON object");
    };
    let id_token = match fields.get("id_token") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(_) => return Err("id_token is not a non-empty string"),
        None => return Err("no id_token (this is OpenID Connect)"),
    };
    let access_token = match fields.get("access_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if !t.is_empty() => {
            match fields.get("token_type") {
                Some(Value::String(ty)) if ty.eq_ignore_ascii_case("Bearer") => {}
                Some(Value::String(_)) => return Err("token_type is not Bearer"),
                _ => return Err("an access_token without a token_type string"),
            }
            Some(Secret::new(t.clone()))
        }
        Some(_) => return Err("access_token is not a non-empty string"),
    };
    Ok(UpstreamTokens {
        id_token,
        access_token,
    })
}

/// The `error` code of an RFC 6749 §5.2 answer when it is one: a string of at
/// most [`MAX_ERROR_CODE_LEN`] characters from `%x20-21 / %x23-5B / %x5D-7E`
/// (printable ASCII without `"` and `\`), not empty. Nothing else of the
/// answer is kept (its `error_description` is the provider's free text).
pub fn error_code(answer: &Value) -> Option<String> {
    let code = answer.get("error")?.as_str()?;
    let allowed = |b: u8| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E);
    (!code.is_empty()
        && code.len() <= MAX_ERROR_CODE_LEN
        && code.bytes().all(allowed)
        && !code.trim().is_empty())
    .then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_without_an_id_token_is_refused() {
        for (answer, reason) in [
            (
                json!({"access_token": "at", "token_type": "Bearer"}),
                "no id_token (this is OpenID Connect)",
            ),
            (
                json!({"id_token": ""}),
                "id_token is not a non-empty string",
            ),
            (
                json!({"id_token": 42}),
                "id_token is not a non-empty string",
            ),
            (
                json!({"id_token": null}),
                "id_token is not a non-empty string",
            ),
            (json!(["id_token"]), "not a JSON object"),
            (json!("eyJ.eyJ.sig"), "not a JSON object"),
        ] {
            assert_eq!(token_answer(&answer).err(), Some(reason), "{answer}");
        }
    }

    #[test]
    fn an_access_token_must_be_a_bearer_token() {
        for (answer, reason) in [
            (
                json!({"id_token": "a.b.c", "access_token": "at", "token_type": "mac"}),
                "token_type is not Bearer",
            ),
            (
                json!({"id_token": "a.b.c", "access_token": "at", "token_type": "DPoP"}),
                "token_type is not Bearer",
            ),
            (
                json!({"id_token": "a.b.c", "access_token": "at"}),
                "an access_token without a token_type string",
            ),
            (
                json!({"id_token": "a.b.c", "access_token": "at", "token_type": 1}),
                "an access_token without a token_type string",
            ),
            (
                json!({"id_token": "a.b.c", "access_token": 7, "token_type": "Bearer"}),
                "access_token is not a non-empty string",
            ),
            (
                json!({"id_token": "a.b.c", "access_token": "", "token_type": "Bearer"}),
                "access_token is not a non-empty string",
            ),
        ] {
            assert_eq!(token_answer(&answer).err(), Some(reason), "{answer}");
        }
    }

    #[test]
    fn a_good_answer_gives_both_tokens_and_bearer_is_compared_without_case() {
        for ty in ["Bearer", "bearer", "BEARER"] {
            let answer = json!({
                "id_token": "h.p.s", "access_token": "at-1", "token_type": ty,
                "expires_in": 300, "refresh_token": "rt"
            });
            let tokens = token_answer(&answer).unwrap();
            assert_eq!(tokens.id_token, "h.p.s");
            assert_eq!(tokens.access_token, Some(Secret::new("at-1")));
        }
        // No access token: the ID token alone (no UserInfo then).
        let tokens = token_answer(&json!({"id_token": "h.p.s"})).unwrap();
        assert!(tokens.access_token.is_none());
    }

    #[test]
    fn debug_redacts_both_tokens() {
        let tokens = UpstreamTokens {
            id_token: "eyJhbGciOiJSUzI1NiJ9.payload.signature".into(),
            access_token: Some(Secret::new("access-token-value")),
        };
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("eyJ"), "{shown}");
        assert!(!shown.contains("payload"), "{shown}");
        assert!(!shown.contains("access-token-value"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn odd_error_codes_are_not_kept() {
        let long = "e".repeat(MAX_ERROR_CODE_LEN + 1);
        for odd in [
            json!({"error": "invalid_grant\r\nX-Injected: 1"}),
            json!({"error": "quote\"d"}),
            json!({"error": "back\\slash"}),
            json!({"error": "caf\u{e9}"}),
            json!({"error": "\u{1b}[31mred"}),
            json!({"error": ""}),
            json!({"error": "   "}),
            json!({"error": long}),
            json!({"error": 400}),
            json!({"error": {"code": "invalid_grant"}}),
            json!({"error_description": "no code"}),
        ] {
            assert_eq!(error_code(&odd), None, "{odd}");
        }
        let max = "e".repeat(MAX_ERROR_CODE_LEN);
        assert_eq!(error_code(&json!({"error": max})).as_deref(), Some(&*max));
        let good = json!({"error": "invalid_grant", "error_description": "bad verifier"});
        assert_eq!(error_code(&good).as_deref(), Some("invalid_grant"));
    }

    #[test]
    fn basic_credentials_are_form_encoded_before_base64() {
        let header = basic_authorization("my:client id", &Secret::new("p%ss+w:rd x"));
        let encoded = header.expose().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my%3Aclient+id:p%25ss%2Bw%3Ard+x");
        // One `:` is left, the separator, so the pair splits back unambiguously.
        assert_eq!(decoded.matches(':').count(), 1);
        let plain = basic_authorization("rp-1", &Secret::new("s3cret"));
        assert_eq!(
            plain.expose(),
            format!("Basic {}", STANDARD.encode("rp-1:s3cret"))
        );
        assert_eq!(format!("{header:?}"), "[redacted]");
    }

    #[test]
    fn errors_name_the_host_only() {
        assert_eq!(
            host_of("https://login.example.com/oauth2/token?x=1"),
            "login.example.com"
        );
        assert_eq!(host_of("not a uri"), "the provider");
        let e = ExchangeError::Refused {
            host: host_of("https://op.example/token"),
            status: 400,
            error: Some("invalid_grant".into()),
        };
        assert_eq!(
            e.to_string(),
            "op.example refused the code (HTTP 400, error invalid_grant)"
        );
    }
}
