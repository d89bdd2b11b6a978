//! The authorization endpoint (RFC 6749 §3.1). The authorization code flow is not
//! in this release: every request gets an error page and is never redirected, so
//! the endpoint cannot serve as an open redirector (RFC 9700 §4.11).

use crate::app::App;
use crate::error::AuthorizeErrorCode;
use crate::http::{Body, Request, Response};
use lambda_http::http::{HeaderValue, StatusCode, header};

pub async fn handle(_app: &App, _req: Request) -> Response<Body> {
    let code = AuthorizeErrorCode::UnsupportedResponseType;
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Authorization unavailable</title></head><body><main>\
         <h1>Authorization unavailable</h1>\
         <p>This server does not offer the authorization code flow yet ({}).</p>\
         </main></body></html>",
        code.as_str()
    );
    let mut r = Response::new(Body::Text(html));
    *r.status_mut() = StatusCode::BAD_REQUEST;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}
