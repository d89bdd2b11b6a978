//! The logout endpoint (`end_session_endpoint`, OpenID Connect RP-Initiated
//! Logout 1.0 §2, §3, §4): a relying party sends the browser here, by `GET` or by
//! a form `POST` (§2), to end the user's login session at this server and,
//! optionally, come back to a registered `post_logout_redirect_uri`.
//!
//! The request is checked first ([`crate::tokens::logout::check`]): a hint that is
//! not an ID token of this issuer, a `client_id` other than the hint's `aud`, or a
//! redirect URI that is not exactly one the client registered gets an error page,
//! never a redirect, and nothing ends. Then, with the browser's session
//! ([`login_session::signed_in`]): a hint about the signed-in user ends it at
//! once; otherwise the user is asked ("Sign out of Gatehouse?"), and only the
//! confirmation form, with its CSRF token, ends it. With no session there is
//! nothing to end, and the redirect (or the signed-out page) follows all the same
//! (§4: logout is idempotent).
//!
//! Every answer is a page or a redirect with `Cache-Control: no-store`, the pages
//! with the login page's headers (no framing); never CORS.

use crate::app::App;
use crate::domain::rp_initiated_logout::{LogoutRefusal, SessionAction, session_action};
use crate::endpoints::authorize::pages::{STYLE, error_page, get_and_post_only, html, try_again};
use crate::endpoints::http::cookies::{
    CookieNames, cookie, csrf_matches, csrf_token, new_csrf_nonce,
};
use crate::endpoints::http::form::Form;
use crate::endpoints::http::login_session;
use crate::endpoints::http::{Body, Request, Response};
use crate::paths::LOGOUT_PATH;
use crate::store::StoreError;
use crate::tokens::logout::{self, CheckedLogout, LogoutParameters};
use askama::Template;
use lambda_http::http::{HeaderValue, Method, StatusCode, header};

/// The request parameters the confirmation form carries back (§2), in order.
const FORWARDED: [&str; 6] = [
    "id_token_hint",
    "logout_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
];

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage<'a> {
    style: &'static str,
    action: &'a str,
    username: &'a str,
    client_name: Option<&'a str>,
    fields: Vec<(&'a str, &'a str)>,
    csrf: &'a str,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage {
    style: &'static str,
}

/// `GET` and `POST` only (§2); anything else is 405 with `Allow`, as at
/// `/authorize`.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let result = match *req.method() {
        Method::GET => get(app, &req).await,
        Method::POST => post(app, &req).await,
        _ => return get_and_post_only(),
    };
    result.unwrap_or_else(|e| try_again("logout request", &e))
}

async fn get(app: &App, req: &Request) -> Result<Response<Body>, StoreError> {
    match Form::parse(req.uri().query().unwrap_or("").as_bytes()) {
        Ok(form) => logout_request(app, req, &form, StatusCode::FOUND).await,
        Err(e) => Ok(bad_request(&e.description)),
    }
}

/// A relying party's form `POST` (§2) is read as a `GET` is; the confirmation
/// form (it has `csrf_token` or `action`) ends the session. Redirects after a
/// `POST` are 303 (RFC 9700 §4.12).
async fn post(app: &App, req: &Request) -> Result<Response<Body>, StoreError> {
    let form = match Form::from_post(req.method(), req.headers(), req.body()) {
        Ok(f) => f,
        Err(e) => {
            let status = if e.status().is_client_error() {
                e.status()
            } else {
                StatusCode::BAD_REQUEST
            };
            return Ok(error_page(status, "Bad request", &e.description));
        }
    };
    if form.contains("csrf_token") || form.contains("action") {
        confirmed(app, req, &form).await
    } else {
        logout_request(app, req, &form, StatusCode::SEE_OTHER).await
    }
}

fn parameters(form: &Form) -> LogoutParameters<'_> {
    LogoutParameters {
        id_token_hint: form.get("id_token_hint"),
        client_id: form.get("client_id"),
        post_logout_redirect_uri: form.get("post_logout_redirect_uri"),
        state: form.get("state"),
    }
}

/// The logout request itself (§2), by `GET` or the relying party's `POST`.
async fn logout_request(
    app: &App,
    req: &Request,
    form: &Form,
    status: StatusCode,
) -> Result<Response<Body>, StoreError> {
    let checked = match logout::check(app, &parameters(form)).await? {
        Ok(c) => c,
        Err(r) => return Ok(refuse(r)),
    };
    let names = CookieNames::new(app.config.secure_cookies());
    let session = login_session::signed_in(app, req.headers(), &names).await?;
    let action = session_action(
        session.as_ref().map(|(s, _)| s.user_id.as_str()),
        checked.hint.as_ref().map(|h| h.sub.as_str()),
    );
    match (action, session) {
        (SessionAction::EndNow, Some((s, _))) => {
            logout::end_session(app, &s).await?;
            Ok(signed_out(status, &checked, req, &names))
        }
        (SessionAction::Confirm, Some((_, user))) => {
            confirm_page(app, req, form, &checked, &names, &user.username).await
        }
        _ => Ok(signed_out(status, &checked, req, &names)),
    }
}

/// The confirmation form: its CSRF token must match the browser's CSRF cookie
/// (the signed double-submit of [`crate::endpoints::http::cookies`]); then the
/// request it carries is checked again, and the session ends.
async fn confirmed(app: &App, req: &Request, form: &Form) -> Result<Response<Body>, StoreError> {
    let names = CookieNames::new(app.config.secure_cookies());
    let nonce = cookie(req.headers(), names.csrf).unwrap_or("");
    let presented = form.get("csrf_token").unwrap_or("");
    let valid = match app.existing_session_key().await? {
        Some(key) => csrf_matches(&key, nonce, presented),
        None => false,
    };
    if !valid {
        tracing::warn!("logout form refused: CSRF token missing or wrong");
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form has expired or was not sent from this site. You are still signed in. Return to the application and sign out again.",
        ));
    }
    if form.get("action") != Some("logout") {
        return Ok(bad_request("The form was not understood."));
    }
    let checked = match logout::check(app, &parameters(form)).await? {
        Ok(c) => c,
        Err(r) => return Ok(refuse(r)),
    };
    if let Some((s, _)) = login_session::signed_in(app, req.headers(), &names).await? {
        logout::end_session(app, &s).await?;
    }
    Ok(signed_out(StatusCode::SEE_OTHER, &checked, req, &names))
}

/// "Sign out of Gatehouse?", naming the client when the request names one that
/// exists; the form carries the request back with a CSRF token.
async fn confirm_page(
    app: &App,
    req: &Request,
    form: &Form,
    checked: &CheckedLogout,
    names: &CookieNames,
    username: &str,
) -> Result<Response<Body>, StoreError> {
    // A session exists, so `/authorize` created the key before it.
    let key = app.existing_session_key().await?.ok_or_else(|| {
        StoreError::Corrupt("a session exists but the session key does not".into())
    })?;
    let mut set_cookie = None;
    let nonce = match cookie(req.headers(), names.csrf) {
        Some(n) if !n.is_empty() && n.len() <= 64 => n.to_owned(),
        _ => {
            let n = new_csrf_nonce();
            set_cookie = Some(names.set(names.csrf, &n, None));
            n
        }
    };
    let csrf = csrf_token(&key, &nonce);
    let fields = FORWARDED
        .iter()
        .filter_map(|name| form.get(name).map(|v| (*name, v)))
        .collect();
    let mut r = html(
        StatusCode::OK,
        &ConfirmPage {
            style: STYLE,
            action: &app.config.endpoint(LOGOUT_PATH),
            username,
            client_name: checked.client.as_ref().map(|c| c.name.as_str()),
            fields,
            csrf: &csrf,
        },
    );
    if let Some(c) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

/// After the logout (or with nothing to end): the redirect to the registered URI
/// with `state` (§3), or the signed-out page; and a session cookie the browser
/// sent is cleared (`Max-Age=0`, the same attributes).
fn signed_out(
    status: StatusCode,
    checked: &CheckedLogout,
    req: &Request,
    names: &CookieNames,
) -> Response<Body> {
    let mut r = match &checked.redirect {
        Some(to) => redirect(status, &to.uri, to.state.as_deref()),
        None => html(StatusCode::OK, &SignedOutPage { style: STYLE }),
    };
    if cookie(req.headers(), names.session).is_some()
        && let Ok(v) = HeaderValue::from_str(&names.set(names.session, "", Some(0)))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// A redirect to the registered `uri`, `state` added to any query it has.
fn redirect(status: StatusCode, uri: &str, state: Option<&str>) -> Response<Body> {
    let location = match state {
        None => uri.to_owned(),
        Some(state) => match url::Url::parse(uri) {
            Ok(mut u) => {
                u.query_pairs_mut().append_pair("state", state);
                u.to_string()
            }
            // Registered URIs are checked to parse; this cannot happen.
            Err(_) => return bad_request("The post-logout redirect URI is malformed."),
        },
    };
    let Ok(location) = HeaderValue::from_str(&location) else {
        return bad_request("The post-logout redirect URI is malformed.");
    };
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn refuse(r: LogoutRefusal) -> Response<Body> {
    tracing::info!(refusal = ?r, "logout request refused without redirect");
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-out request cannot be completed",
        r.message(),
    )
}

fn bad_request(message: &str) -> Response<Body> {
    error_page(StatusCode::BAD_REQUEST, "Bad request", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_page_escapes_what_the_request_carries() {
        let page = ConfirmPage {
            style: STYLE,
            action: "/logout",
            username: "<b>alice</b>",
            client_name: Some("<script>x</script>"),
            fields: vec![("state", "\"><img src=x>"), ("client_id", "' onfocus='x")],
            csrf: "t",
        };
        let out = page.render().unwrap();
        for raw in ["<script>", "<img", "<b>", "' onfocus"] {
            assert!(!out.contains(raw), "{raw} in {out}");
        }
        assert!(out.contains("Sign out of Gatehouse?"));
        assert!(out.contains(r#"name="csrf_token" value="t""#), "{out}");
    }
}
