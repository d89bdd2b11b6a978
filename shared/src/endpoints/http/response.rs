//! Responses with the headers the RFCs require.

use crate::error::TokenError;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A JSON response that no cache may keep (RFC 6749 §5.1, RFC 7662 §2.2).
pub fn json_no_store(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let mut r = json(status, body);
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// A JSON response that caches may keep for `max_age` seconds (metadata, JWKS).
pub fn json_public(body: &impl Serialize, max_age: u32) -> Response<Body> {
    let mut r = json(StatusCode::OK, body);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("a valid header"),
    );
    r
}

/// The challenge of every 401: HTTP Basic, the scheme of `client_secret_basic`
/// (RFC 6749 §2.3.1, §5.2; RFC 7617 §2.1 for `charset`).
pub const CLIENT_AUTH_CHALLENGE: &str = "Basic realm=\"gatehouse\", charset=\"UTF-8\"";

/// Every JSON response is built here, so a 401 cannot leave without its
/// `WWW-Authenticate` (RFC 9110 §15.5.2: a 401 MUST carry one), whichever client
/// authentication method failed or none was tried.
fn json(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).expect("response bodies serialize");
    let mut r = Response::new(Body::Text(text));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(CLIENT_AUTH_CHALLENGE),
        );
    }
    r
}

/// The error response of RFC 6749 §5.2. Logs the private cause; never sends it.
pub fn token_error(err: &TokenError) -> Response<Body> {
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(
            error = err.code.as_str(),
            cause = err.cause.as_deref().unwrap_or(""),
            "request failed"
        );
    } else {
        tracing::info!(error = err.code.as_str(), description = %err.description, cause = err.cause.as_deref().unwrap_or(""), "request refused");
    }
    let mut r = json_no_store(
        status,
        &serde_json::json!({ "error": err.code.as_str(), "error_description": err.description }),
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    r
}

/// A 404 for paths no endpoint serves.
pub fn not_found() -> Response<Body> {
    json_no_store(
        StatusCode::NOT_FOUND,
        &serde_json::json!({ "error": "not_found", "error_description": "no endpoint at this path" }),
    )
}
