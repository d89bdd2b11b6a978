//! The UserInfo endpoint (OpenID Connect Core §5.3): HTTP around
//! [`crate::tokens::userinfo`].
//!
//! `GET` and `POST` (§5.3: both MUST be supported). The access token is sent as
//! a bearer token (§5.3.1, RFC 6750): in the `Authorization` header (§2.1), or for a
//! `POST` in an `access_token` form field (§2.2). More than one way at once is
//! `invalid_request` (§3.1); the URI query (§2.3) is refused, since it ends up in
//! logs. Errors follow RFC 6750 §3 (Core §5.3.3): a request without a token gets a
//! bare `Bearer` challenge (§3.1: no error code), a bad token 401
//! `invalid_token`, a token without `openid` 403 `insufficient_scope`.
//!
//! A browser app calls it cross-origin: preflights and answers follow
//! [`cors`] (the origins of the token's client, or the allowlist).

use crate::app::App;
use crate::authorizer::event::{NoToken, bearer_token};
use crate::domain::client::Client;
use crate::endpoints::http::cors;
use crate::endpoints::http::form::Form;
use crate::endpoints::http::response::json_no_store;
use crate::endpoints::http::{Body, Request, Response};
use crate::tokens::userinfo::{UserinfoError, userinfo};
use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::json;

/// The challenge of a request that carries no token (RFC 6750 §3, §3.1).
pub const BEARER_CHALLENGE: &str = "Bearer realm=\"gatehouse\"";

/// A refused UserInfo request (RFC 6750 §3.1).
#[derive(Debug)]
enum Refusal {
    /// No token at all: 401 with the bare challenge.
    NoToken,
    InvalidRequest(String),
    InvalidToken(&'static str),
    InsufficientScope,
    MethodNotAllowed,
    ServerError(String),
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    if cors::is_preflight(&req) {
        return cors::preflight_userinfo(app, &req).await;
    }
    let mut token_client = None;
    let r = answer(app, &req, &mut token_client).await;
    cors::for_userinfo(app, &req, token_client.as_ref(), r)
}

/// The claims or the refusal; `token_client` is the token's client when the
/// token is active (see [`userinfo`]).
async fn answer(app: &App, req: &Request, token_client: &mut Option<Client>) -> Response<Body> {
    let refusal = match presented_token(req) {
        Ok(token) => match userinfo(app, &token, token_client).await {
            Ok(claims) => return json_no_store(StatusCode::OK, &claims),
            Err(UserinfoError::InvalidToken(cause)) => Refusal::InvalidToken(cause),
            Err(UserinfoError::InsufficientScope) => Refusal::InsufficientScope,
            Err(UserinfoError::Store(e)) => Refusal::ServerError(e.to_string()),
        },
        Err(r) => r,
    };
    refuse(&refusal)
}

/// The one bearer token of the request (RFC 6750 §2.1, §2.2).
fn presented_token(req: &Request) -> Result<String, Refusal> {
    let method = req.method();
    if method != Method::GET && method != Method::POST {
        return Err(Refusal::MethodNotAllowed);
    }
    let in_query = req
        .uri()
        .query()
        .is_some_and(|q| Form::parse(q.as_bytes()).map_or(true, |f| f.contains("access_token")));
    if in_query {
        return Err(Refusal::InvalidRequest(
            "send the access token in the Authorization header, not in the URI".into(),
        ));
    }
    let from_header = header_token(req.headers())?;
    // A POST body is read only when it is a form (RFC 6750 §2.2).
    let from_form = if *method == Method::POST && is_form(req.headers()) {
        Form::from_post(method, req.headers(), req.body())
            .map_err(|e| Refusal::InvalidRequest(e.description))?
            .get("access_token")
            .map(str::to_owned)
    } else {
        None
    };
    match (from_header, from_form) {
        (Some(_), Some(_)) => Err(Refusal::InvalidRequest(
            "the access token is sent both in the Authorization header and in the body".into(),
        )),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(Refusal::NoToken),
    }
}

/// The bearer token of the `Authorization` header, `None` without one. A header
/// of another scheme counts as none (RFC 6750 §3: an unsupported authentication
/// method gets the bare challenge); a repeated or malformed one is
/// `invalid_request`.
fn header_token(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(v), None) => v,
        (Some(_), Some(_)) => {
            return Err(Refusal::InvalidRequest(
                "the Authorization header is repeated".into(),
            ));
        }
    };
    let value = value
        .to_str()
        .map_err(|_| Refusal::InvalidRequest("the Authorization header is malformed".into()))?;
    match bearer_token(value) {
        Ok(t) => Ok(Some(t.to_owned())),
        Err(NoToken::NotBearer) => Ok(None),
        Err(why) => Err(Refusal::InvalidRequest(why.as_str().into())),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The error response of RFC 6750 §3: the code in the `WWW-Authenticate`
/// challenge and, for clients that read bodies, in a JSON body as well.
fn refuse(refusal: &Refusal) -> Response<Body> {
    let (status, code, description, challenge): (StatusCode, &str, &str, Option<&str>) =
        match refusal {
            Refusal::NoToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_request",
                "an access token is required",
                Some(BEARER_CHALLENGE),
            ),
            Refusal::InvalidRequest(d) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                d.as_str(),
                Some("Bearer error=\"invalid_request\""),
            ),
            Refusal::InvalidToken(_) => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is not valid",
                Some("Bearer error=\"invalid_token\""),
            ),
            Refusal::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the access token lacks the openid scope",
                Some("Bearer error=\"insufficient_scope\", scope=\"openid\""),
            ),
            Refusal::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "this endpoint accepts only GET and POST",
                None,
            ),
            Refusal::ServerError(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the server failed; try again",
                None,
            ),
        };
    match refusal {
        Refusal::ServerError(cause) => tracing::error!(error = code, cause, "request failed"),
        Refusal::InvalidToken(cause) => tracing::info!(error = code, cause, "request refused"),
        _ => tracing::info!(error = code, description, "request refused"),
    }
    let body = if matches!(refusal, Refusal::NoToken) {
        // §3.1: a request without authentication gets no error code.
        json!({ "error_description": description })
    } else {
        json!({ "error": code, "error_description": description })
    };
    let mut r = json_no_store(status, &body);
    let h = r.headers_mut();
    // Replaces the `Basic` challenge every other 401 carries.
    h.remove(header::WWW_AUTHENTICATE);
    if let Some(c) = challenge {
        h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        h.insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    }
    r
}
