//! The HTML pages of the authorization endpoint: login, consent and the error page
//! shown when the request cannot be trusted enough to redirect. Templates are
//! askama's, which escape every value (RFC 9700 §4.1.3 context: nothing a request
//! carries may become markup). No script, no external asset.

use crate::domain::scope::ScopeDefinition;
use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use std::sync::OnceLock;

/// The one stylesheet, inline; the Content-Security-Policy allows it by hash.
pub const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;background:#f4f5f7}\
main{max-width:26rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #d8dce1;border-radius:8px}\
h1{font-size:1.4rem;margin:0 0 .5rem}\
label{display:block;margin:1rem 0 .25rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;padding:.6rem;font-size:1rem;border:1px solid #8a939e;border-radius:4px}\
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:4px;background:#1f5fbf;color:#fff;cursor:pointer}\
button.secondary{background:#e6e8eb;color:#1b1f24}\
.buttons{display:flex;gap:.75rem;flex-wrap:wrap}\
.error{padding:.6rem;background:#fdecea;border:1px solid #e0a39b;border-radius:4px}\
.scopes{padding-left:1.2rem}.scope{font-family:ui-monospace,monospace;font-weight:600}\
.note,.uri{color:#57606a;font-size:.9rem}.uri{font-family:ui-monospace,monospace;word-break:break-all}\
@media (max-width:30rem){main{margin:0;border:0;border-radius:0}}";

/// The Content-Security-Policy of every page: nothing but the inline stylesheet,
/// never framed (RFC 9700 §4.16).
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = STANDARD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            STYLE.as_bytes(),
        ));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'"
        )
    })
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub style: &'static str,
    pub action: &'a str,
    pub client_name: &'a str,
    pub request: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// With `prompt=select_account` and a session: its user, whom the page
    /// offers to continue as.
    pub current_user: Option<&'a str>,
    /// The registered upstream providers, a "Continue with" button each.
    pub providers: &'a [ProviderButton],
}

/// A "Continue with NAME" button of the login page.
pub struct ProviderButton {
    pub id: String,
    pub name: String,
}

/// The linking page: a local user has the e-mail address of the upstream
/// identity ([`crate::federation::account`]).
#[derive(Template)]
#[template(path = "link.html")]
pub struct LinkPage<'a> {
    pub style: &'static str,
    pub action: &'a str,
    pub provider_name: &'a str,
    pub email: Option<&'a str>,
    pub request: &'a str,
    pub csrf: &'a str,
    /// The sealed identity ([`crate::federation::pending_link`]).
    pub pending: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub style: &'static str,
    pub action: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    pub scopes: Vec<ScopeDefinition>,
    pub redirect_host: &'a str,
    pub request: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub style: &'static str,
    pub heading: &'a str,
    pub message: &'a str,
}

/// An HTML response with the page headers: CSP, no framing, no referrer, no cache.
pub fn html(status: StatusCode, page: &impl Template) -> Response<Body> {
    let body = page
        .render()
        .unwrap_or_else(|_| "<!doctype html><title>Error</title><p>Error</p>".into());
    let mut r = Response::new(Body::Text(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(content_security_policy()),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The page shown instead of a redirect when the client or redirect URI cannot be
/// trusted (RFC 6749 §4.1.2.1, RFC 9700 §4.11).
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response<Body> {
    html(
        status,
        &ErrorPage {
            style: STYLE,
            heading,
            message,
        },
    )
}

/// The answer of a page endpoint (`/authorize`, `/logout`) to a method other than
/// `GET` and `POST`: 405 with `Allow` (RFC 9110 §15.5.6).
pub fn get_and_post_only() -> Response<Body> {
    let mut r = error_page(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "This page accepts only GET and POST.",
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    r
}

/// The page of a request the store could not complete: 503, to try again. The
/// cause is logged by the caller's `what`, never shown.
pub fn try_again(what: &str, cause: &impl std::fmt::Display) -> Response<Body> {
    tracing::error!(cause = %cause, "{what} failed");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "The server could not complete the request. Try again in a moment.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_requests_carry() {
        let page = LoginPage {
            style: STYLE,
            action: "/authorize",
            client_name: "<script>alert(1)</script>",
            request: "a=1&b=\"><img src=x>",
            csrf: "t",
            username: "' onfocus='x",
            error: Some("<b>no</b>"),
            current_user: Some("<i>eve</i>"),
            providers: &[ProviderButton {
                id: "idp".into(),
                name: "<u>IdP</u>".into(),
            }],
        };
        let out = page.render().unwrap();
        assert!(!out.contains("<script>"), "{out}");
        assert!(!out.contains("<img"), "{out}");
        assert!(!out.contains("<b>"), "{out}");
        assert!(!out.contains("<i>"), "{out}");
        assert!(!out.contains("<u>"), "{out}");
        assert!(out.contains("Continue with"), "{out}");
        assert!(!out.contains("' onfocus"), "{out}");
        assert!(
            out.contains("&#60;script&#62;alert(1)") || out.contains("&lt;script&gt;alert(1)"),
            "{out}"
        );
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_stylesheet() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe"));
    }
}
