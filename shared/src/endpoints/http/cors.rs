//! The CORS protocol (Fetch standard §3.2) for the endpoints a browser app calls:
//! the token, revocation and UserInfo endpoints, for the origins of
//! `domain/cors.rs`; the metadata and the JWKS, public documents, for every origin. Never
//! `/authorize` (a navigation, not a fetch), never introspection (confidential
//! resource servers only), and never `Access-Control-Allow-Credentials`: no
//! endpoint reads cookies from a cross-origin fetch.

use crate::app::App;
use crate::domain::client::Client;
use crate::domain::cors::{allowed_for_client, presented_origin};
use crate::endpoints::http::{Body, Request, Response};
use crate::store::OriginStore;
use lambda_http::http::{HeaderValue, Method, StatusCode, header};

/// How long a browser may keep a preflight's answer (Fetch §3.2.3
/// `Access-Control-Max-Age`).
pub const PREFLIGHT_MAX_AGE: &str = "600";

/// The request headers a browser app sends to the token, revocation and UserInfo
/// endpoints: HTTP Basic client authentication or the bearer token (RFC 6750
/// §2.1), and the form's content type.
pub const ALLOWED_HEADERS: &str = "authorization, content-type";

/// A CORS-preflight request (Fetch §3.2.2): `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`. Any other `OPTIONS` is an ordinary request,
/// which the endpoints answer 405.
pub fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn origin(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::ORIGIN)?
        .to_str()
        .ok()
        .and_then(presented_origin)
}

fn no_content() -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::NO_CONTENT;
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `Access-Control-Allow-Origin: <origin>` and `Vary: Origin` (Fetch §3.2.3,
/// §3.2.5: the answer depends on the request's origin).
fn allow_origin(r: &mut Response<Body>, origin: &str) {
    let Ok(value) = HeaderValue::from_str(origin) else {
        return;
    };
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The answer to a preflight of the token or revocation endpoint: 204, with the
/// CORS headers only when the origin is on the allowlist or is some registered
/// client's redirect URI origin (one read of the origins table: the client is
/// not known before the actual request). A store failure allows nothing.
pub async fn preflight_for_clients(app: &App, req: &Request) -> Response<Body> {
    preflight_registered(app, req, "POST").await
}

/// The answer to a preflight of the UserInfo endpoint (OpenID Connect Core §5.3:
/// it SHOULD support CORS): as [`preflight_for_clients`], with `GET, POST`
/// allowed (§5.3: the endpoint MUST support both).
pub async fn preflight_userinfo(app: &App, req: &Request) -> Response<Body> {
    preflight_registered(app, req, "GET, POST").await
}

async fn preflight_registered(app: &App, req: &Request, methods: &'static str) -> Response<Body> {
    let mut r = no_content();
    let Some(origin) = origin(req) else {
        return r;
    };
    let allowed = app.config.cors_origins.contains(origin)
        || match app.store.origin_registered(origin).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "origins table unreadable: preflight refused");
                false
            }
        };
    if allowed {
        allow_origin(&mut r, origin);
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
    } else {
        tracing::info!(origin, "CORS preflight from an origin no client registers");
    }
    r
}

/// The CORS headers of an actual request to the token or revocation endpoint:
/// only when the client authenticated and the origin is one of its redirect URI
/// origins or on the allowlist. Before a client is known (a failed
/// authentication), only the allowlist counts.
pub fn for_client(
    app: &App,
    req: &Request,
    client: Option<&Client>,
    mut r: Response<Body>,
) -> Response<Body> {
    let Some(origin) = origin(req) else {
        return r;
    };
    let allowed = match client {
        Some(c) => allowed_for_client(origin, c, &app.config.cors_origins),
        None => app.config.cors_origins.contains(origin),
    };
    if allowed {
        allow_origin(&mut r, origin);
    }
    r
}

/// The CORS headers of a UserInfo answer, its errors included: as
/// [`for_client`] with the client the access token was issued to (`None` for an
/// invalid token: then only the allowlist counts). An allowed answer also
/// exposes `WWW-Authenticate` (Fetch §3.2.3 `Access-Control-Expose-Headers`: a
/// page reads only safelisted response headers otherwise), which carries the
/// RFC 6750 §3 error of a refused token.
pub fn for_userinfo(
    app: &App,
    req: &Request,
    token_client: Option<&Client>,
    r: Response<Body>,
) -> Response<Body> {
    let mut r = for_client(app, req, token_client, r);
    if r.headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        r.headers_mut().insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate"),
        );
    }
    r
}

/// The metadata and the JWKS are public (RFC 8414 §3, RFC 7517 §5) and cached
/// by shared caches: every answer carries `Access-Control-Allow-Origin: *`,
/// whatever the origin or none, and no `Vary` (Fetch §3.2.5). Without
/// credentials, `*` lets a page read only what any server could fetch.
pub fn public(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// The answer to a preflight of the metadata or the JWKS: 204 for any origin,
/// `GET, HEAD` allowed.
pub fn preflight_public() -> Response<Body> {
    let mut r = public(no_content());
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = lambda_http::http::Request::builder()
            .method(method)
            .uri("/token");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::Empty).unwrap()
    }

    #[test]
    fn only_options_with_origin_and_request_method_is_a_preflight() {
        let o = ("origin", "https://a.example");
        let m = ("access-control-request-method", "POST");
        assert!(!is_preflight(&request("OPTIONS", &[])));
        assert!(!is_preflight(&request("OPTIONS", &[o])));
        assert!(!is_preflight(&request("OPTIONS", &[m])));
        assert!(!is_preflight(&request("POST", &[o, m])));
        assert!(is_preflight(&request("OPTIONS", &[o, m])));
    }

    #[test]
    fn a_malformed_origin_is_no_origin() {
        assert_eq!(origin(&request("POST", &[("origin", "null")])), None);
        assert_eq!(
            origin(&request("POST", &[("origin", "https://a.example/")])),
            None
        );
        assert_eq!(
            origin(&request("POST", &[("origin", "https://a.example")])),
            Some("https://a.example")
        );
    }

    #[test]
    fn public_answers_allow_any_origin_without_vary_or_credentials() {
        let r = preflight_public();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        assert!(!r.headers().contains_key("vary"));
        assert!(!r.headers().contains_key("access-control-allow-credentials"));
    }
}
