//! Why a request is refused, and the response that says so (RFC 6750 §3).

use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The kinds of refusal, each with its status and error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The request carries no access token, or uses another scheme than Bearer
    /// (e.g. `Basic`): 401 with a bare challenge and no error code (RFC 6750 §3.1:
    /// "If the request lacks any authentication information (e.g., the client was
    /// unaware that authentication is necessary or attempted using an unsupported
    /// authentication method), the resource server SHOULD NOT include an error
    /// code").
    MissingToken,
    /// `invalid_request` (RFC 6750 §3.1): a malformed `Authorization: Bearer`
    /// header, or more than one `Authorization` header. 400.
    InvalidRequest,
    /// `invalid_token` (RFC 6750 §3.1): the token is malformed, expired, not yet
    /// valid, signed by an unknown key or with a refused algorithm, or meant for
    /// another issuer or audience. 401.
    InvalidToken,
    /// `insufficient_scope` (RFC 6750 §3.1): the token is valid but lacks a scope
    /// the request needs. 403, with the `scope` attribute naming what is needed.
    InsufficientScope,
    /// The key set (JWKS) could not be fetched, so the token can be neither
    /// accepted nor refused. This is not the client's fault and no challenge is
    /// sent: 503 with `Retry-After`, so that a client retries instead of
    /// discarding a token that may well be valid, and so that monitoring sees a
    /// server-side failure rather than a wave of 401s.
    JwksUnavailable,
}

impl RejectionKind {
    /// The HTTP status of the response.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::JwksUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error code: RFC 6750 §3.1 names three; `temporarily_unavailable`
    /// (borrowed from RFC 6749 §4.1.2.1) marks a key set that cannot be fetched;
    /// a request without a token has none.
    pub fn error_code(self) -> Option<&'static str> {
        match self {
            Self::MissingToken => None,
            Self::InvalidRequest => Some("invalid_request"),
            Self::InvalidToken => Some("invalid_token"),
            Self::InsufficientScope => Some("insufficient_scope"),
            Self::JwksUnavailable => Some("temporarily_unavailable"),
        }
    }
}

/// A refused request: the status, the `WWW-Authenticate` challenge and a JSON
/// body, ready to be returned as a response.
///
/// The public description is fixed text chosen by this crate: it never contains
/// the token or any part of it. The private cause (in `Debug` and `Display`, for
/// your logs) says more about a key set that could not be fetched; it never
/// contains the token either.
#[derive(Clone)]
pub struct Rejection {
    kind: RejectionKind,
    description: &'static str,
    realm: Arc<str>,
    /// The scopes the request needs (`insufficient_scope` only).
    scope: Option<String>,
    /// What went wrong, for logs only.
    cause: Option<String>,
    retry_after: Option<Duration>,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, description: &'static str) -> Self {
        Self {
            kind,
            description,
            realm: Arc::from(""),
            scope: None,
            cause: None,
            retry_after: None,
        }
    }

    pub(crate) fn missing_token() -> Self {
        Self::new(
            RejectionKind::MissingToken,
            "the request needs a Bearer access token",
        )
    }

    pub(crate) fn invalid_request(description: &'static str) -> Self {
        Self::new(RejectionKind::InvalidRequest, description)
    }

    pub(crate) fn invalid_token(description: &'static str) -> Self {
        Self::new(RejectionKind::InvalidToken, description)
    }

    pub(crate) fn insufficient_scope(required: &[&str]) -> Self {
        let mut r = Self::new(
            RejectionKind::InsufficientScope,
            "the access token lacks a scope this request needs",
        );
        r.scope = Some(required.join(" "));
        r
    }

    pub(crate) fn jwks_unavailable(cause: String, retry_after: Duration) -> Self {
        let mut r = Self::new(
            RejectionKind::JwksUnavailable,
            "the access token cannot be verified right now; retry later",
        );
        r.cause = Some(cause);
        r.retry_after = Some(retry_after);
        r
    }

    pub(crate) fn in_realm(mut self, realm: &Arc<str>) -> Self {
        self.realm = realm.clone();
        self
    }

    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The RFC 6750 §3.1 error code (or `temporarily_unavailable`); `None` for a
    /// request that carried no token.
    pub fn error_code(&self) -> Option<&'static str> {
        self.kind.error_code()
    }

    /// The human-readable `error_description`.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The scopes the request needs, space-separated (`insufficient_scope` only).
    pub fn required_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The private cause, for logs; never sent.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// How long a client should wait before retrying (`JwksUnavailable` only).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3):
    ///
    /// - no token: `Bearer realm="api"`;
    /// - otherwise: `Bearer realm="api", error="invalid_token",
    ///   error_description="..."`, plus `scope="read write"` for
    ///   `insufficient_scope`.
    ///
    /// `None` for [`RejectionKind::JwksUnavailable`]: a 503 challenges no one.
    /// The realm is a quoted-string (RFC 9110 §5.6.4) with `"` and `\` escaped;
    /// `error_description` and `scope` may not contain `"` or `\` at all (RFC 6750
    /// §3), so such characters (and anything outside printable ASCII) are replaced.
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        if self.kind == RejectionKind::JwksUnavailable {
            return None;
        }
        let mut v = format!("Bearer realm=\"{}\"", quoted_string(&self.realm));
        if let Some(code) = self.error_code() {
            v.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                rfc6750_value(self.description)
            ));
            if let Some(scope) = &self.scope {
                v.push_str(&format!(", scope=\"{}\"", rfc6750_value(scope)));
            }
        }
        Some(HeaderValue::from_str(&v).expect("only visible ASCII and spaces"))
    }

    /// The JSON body: `{"error": ..., "error_description": ...}` (no `error` when
    /// the request carried no token), with `scope` for `insufficient_scope`.
    pub fn body(&self) -> String {
        let mut body = serde_json::Map::new();
        if let Some(code) = self.error_code() {
            body.insert("error".into(), code.into());
        }
        body.insert("error_description".into(), self.description.into());
        if let Some(scope) = &self.scope {
            body.insert("scope".into(), scope.as_str().into());
        }
        serde_json::Value::Object(body).to_string()
    }

    /// The whole response: status, `WWW-Authenticate`, `Retry-After` (503 only),
    /// `Content-Type: application/json`, `Cache-Control: no-store` and the body.
    /// Works for any body type built from a `String`, such as
    /// `lambda_http::Body`.
    pub fn into_response<B: From<String>>(self) -> Response<B> {
        let mut r = Response::new(B::from(self.body()));
        *r.status_mut() = self.status();
        let h = r.headers_mut();
        if let Some(challenge) = self.www_authenticate() {
            h.insert(WWW_AUTHENTICATE, challenge);
        }
        if let Some(after) = self.retry_after {
            // Whole seconds, at least one (RFC 9110 §10.2.3).
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            h.insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

impl<B: From<String>> From<Rejection> for Response<B> {
    fn from(r: Rejection) -> Self {
        r.into_response()
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.kind)
            .field("description", &self.description)
            .field("scope", &self.scope)
            .field("cause", &self.cause)
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error_code() {
            Some(code) => write!(f, "{code}: {}", self.description)?,
            None => f.write_str(self.description)?,
        }
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}

/// The inside of an RFC 9110 §5.6.4 quoted-string: `"` and `\` escaped, control
/// and non-ASCII characters (which a header cannot carry as text) replaced by `?`.
fn quoted_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' | '\t' | '!'..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// An `error_description` or `scope` value: RFC 6750 §3 allows only
/// `%x20-21 / %x23-5B / %x5D-7E`, so `"` becomes `'`, `\` becomes `/`, and
/// anything else outside that range becomes `?`.
fn rfc6750_value(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(r: &Rejection) -> String {
        r.www_authenticate().unwrap().to_str().unwrap().to_owned()
    }

    #[test]
    fn each_kind_has_its_status_code_and_challenge() {
        let realm: Arc<str> = Arc::from("api");
        let cases = [
            (
                Rejection::missing_token(),
                401,
                None,
                Some(r#"Bearer realm="api""#.to_owned()),
            ),
            (
                Rejection::invalid_request("bad header"),
                400,
                Some("invalid_request"),
                Some(
                    r#"Bearer realm="api", error="invalid_request", error_description="bad header""#
                        .to_owned(),
                ),
            ),
            (
                Rejection::invalid_token("expired"),
                401,
                Some("invalid_token"),
                Some(
                    r#"Bearer realm="api", error="invalid_token", error_description="expired""#
                        .to_owned(),
                ),
            ),
            (
                Rejection::insufficient_scope(&["read", "write"]),
                403,
                Some("insufficient_scope"),
                Some(format!(
                    r#"Bearer realm="api", error="insufficient_scope", error_description="{}", scope="read write""#,
                    "the access token lacks a scope this request needs"
                )),
            ),
            (
                Rejection::jwks_unavailable("down".into(), Duration::from_secs(5)),
                503,
                Some("temporarily_unavailable"),
                None,
            ),
        ];
        for (r, status, code, header) in cases {
            let r = r.in_realm(&realm);
            assert_eq!(r.status().as_u16(), status, "{r:?}");
            assert_eq!(r.error_code(), code, "{r:?}");
            assert_eq!(
                r.www_authenticate().map(|v| v.to_str().unwrap().to_owned()),
                header,
                "{r:?}"
            );
        }
    }

    #[test]
    fn the_realm_is_escaped_and_descriptions_lose_forbidden_characters() {
        let realm: Arc<str> = Arc::from("my \"api\" \\ é");
        let r = Rejection::invalid_token("say \"hi\" \\ ü").in_realm(&realm);
        assert_eq!(
            challenge(&r),
            r#"Bearer realm="my \"api\" \\ ?", error="invalid_token", error_description="say 'hi' / ?""#
        );
    }

    #[test]
    fn the_response_has_json_no_store_and_retry_after_when_unavailable() {
        let r =
            Rejection::jwks_unavailable("connection refused".into(), Duration::from_millis(1500));
        let resp: Response<String> = r.into();
        assert_eq!(resp.status(), 503);
        assert!(resp.headers().get(WWW_AUTHENTICATE).is_none());
        assert_eq!(resp.headers()[RETRY_AFTER], "2");
        assert_eq!(resp.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_str(resp.body()).unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
        assert!(
            !resp.body().contains("connection refused"),
            "the cause stays private"
        );
    }

    #[test]
    fn a_request_without_a_token_gets_a_body_without_an_error_code() {
        let body: serde_json::Value =
            serde_json::from_str(&Rejection::missing_token().body()).unwrap();
        assert!(body.get("error").is_none());
        assert!(body["error_description"].is_string());
    }
}
