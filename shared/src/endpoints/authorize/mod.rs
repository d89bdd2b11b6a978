//! The authorization endpoint (RFC 6749 §3.1, §4.1) with its login and consent
//! pages.
//!
//! `GET /authorize` checks the request ([`request`]), then: no session → the login
//! page; consent needed → the consent page; else a code, by redirect. The pages
//! POST back to `/authorize` with the original query string in a hidden field, so
//! every step checks the whole request again; nothing is kept between requests
//! but the login session (a record named by its cookie) and the CSRF cookie.

pub mod login;
pub mod pages;
pub mod request;

use crate::app::{App, now};
use crate::domain::grant::{CodeBinding, GrantOwner};
use crate::domain::scope::{Scope, ScopeDefinition};
use crate::domain::session::{LoginSession, cookie_value, parse_cookie};
use crate::domain::user::{User, UserState};
use crate::endpoints::http::cookies::{
    CookieNames, cookie, csrf_matches, csrf_token, new_csrf_nonce,
};
use crate::endpoints::http::form::Form;
use crate::endpoints::http::{Body, Request, Response, source_ip};
use crate::error::AuthorizeErrorCode;
use crate::grants::authorization_code::{self, CodeIssue};
use crate::paths::AUTHORIZE_PATH;
use crate::secret::{Secret, random_id, random_token};
use crate::store::{ConsentStore, SessionStore, StoreError, UserStore};
use crate::tokens::owner;
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use login::Login;
use pages::{ConsentPage, LoginPage, STYLE, error_page, html};
use request::{AuthorizationRequest, ErrorRedirect, Refusal};
use std::sync::Arc;

/// With `prompt=login`, how recent the sign-in must be for the consent form to
/// be accepted: the time to read the consent page after signing in.
const FRESH_LOGIN_SECONDS: u64 = 600;

const GENERIC_LOGIN_ERROR: &str = "The username or password is incorrect.";
const THROTTLED_LOGIN_ERROR: &str =
    "Too many failed sign-in attempts. Wait a few minutes and try again.";

/// `GET` and `POST` only. `HEAD` too is 405 (RFC 9110 §15.5.6, with `Allow`):
/// a `GET` here can issue a code (a signed-in user with remembered consent, or a
/// client that skips consent) or set cookies, and a `HEAD` must change nothing
/// (§9.2.1, §9.3.2); its headers cannot be those of such a `GET` (a `Location`
/// with a code that was never stored) without answering something else than the
/// `GET` would. On AWS the HTTP API has routes for `GET /authorize` and
/// `POST /authorize` only (`template.yaml`), no `ANY` or `HEAD` route, so a `HEAD`
/// there is answered by API Gateway (no route matches) or, should it ever reach
/// the function, by this same 405; the local server sends it here.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let result = match *req.method() {
        Method::GET => get(app, &req).await,
        Method::POST => post(app, &req).await,
        _ => {
            let mut r = error_page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                "This page accepts only GET and POST.",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return r;
        }
    };
    result.unwrap_or_else(|e| {
        tracing::error!(cause = %e, "authorization request failed");
        error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "The server could not complete the request. Try again in a moment.",
        )
    })
}

/// What every step needs besides the request: the session key, the cookie names,
/// and the cookies to set on the response.
struct Step<'a> {
    app: &'a App,
    req: &'a Request,
    key: Arc<Secret>,
    names: CookieNames,
    set_cookies: Vec<String>,
}

impl<'a> Step<'a> {
    async fn new(app: &'a App, req: &'a Request) -> Result<Self, StoreError> {
        Ok(Self {
            app,
            req,
            key: app.session_key().await?,
            names: CookieNames::new(app.config.secure_cookies()),
            set_cookies: Vec::new(),
        })
    }

    /// The signed-in user: the cookie names an open session record whose secret
    /// it holds, and the user is still valid at the session's epoch.
    async fn session(&self) -> Result<Option<(LoginSession, UserState)>, StoreError> {
        let Some((id, secret)) =
            cookie(self.req.headers(), self.names.session).and_then(parse_cookie)
        else {
            return Ok(None);
        };
        let Some(s) = self.app.store.get_session(id).await? else {
            return Ok(None);
        };
        if !s.secret_hash.matches(secret) || !s.is_open(now()) {
            return Ok(None);
        }
        let user = self.app.store.get_user_state(&s.username).await?;
        let owner_of_session = GrantOwner {
            user_id: s.user_id.clone(),
            username: s.username.clone(),
            epoch: s.user_epoch,
        };
        if !owner::is_valid(user.as_ref(), &owner_of_session) {
            return Ok(None);
        }
        Ok(user.map(|u| (s, u)))
    }

    /// Starts a login session for `user` and sets its cookie.
    async fn start_session(&mut self, user: &User) -> Result<LoginSession, StoreError> {
        let t = now();
        let secret = random_token();
        let session = LoginSession {
            session_id: random_id(),
            secret_hash: secret.hash(),
            user_id: user.user_id.clone(),
            username: user.username.clone(),
            user_epoch: user.epoch,
            auth_time: t,
            amr: "pwd".into(),
            created_at: t,
            last_seen_at: t,
            expires_at: t + self.app.config.session_ttl,
            ended_at: None,
        };
        self.app.store.create_session(&session).await?;
        let value = cookie_value(&session.session_id, secret.expose());
        let c = self.names.set(
            self.names.session,
            &value,
            Some(self.app.config.session_ttl),
        );
        self.set_cookies.push(c);
        Ok(session)
    }

    /// The CSRF token for the forms of this response, setting the nonce cookie
    /// when the browser has none.
    fn csrf(&mut self) -> String {
        let nonce = match cookie(self.req.headers(), self.names.csrf) {
            Some(n) if !n.is_empty() && n.len() <= 64 => n.to_owned(),
            _ => {
                let n = new_csrf_nonce();
                self.set_cookies
                    .push(self.names.set(self.names.csrf, &n, None));
                n
            }
        };
        csrf_token(&self.key, &nonce)
    }

    fn csrf_ok(&self, form: &Form) -> bool {
        let nonce = cookie(self.req.headers(), self.names.csrf).unwrap_or("");
        csrf_matches(&self.key, nonce, form.get("csrf_token").unwrap_or(""))
    }

    fn finish(&self, mut r: Response<Body>) -> Response<Body> {
        for c in &self.set_cookies {
            if let Ok(v) = HeaderValue::from_str(c) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        r
    }

    fn login_page(
        &mut self,
        ar: &AuthorizationRequest,
        status: StatusCode,
        username: &str,
        error: Option<&str>,
    ) -> Response<Body> {
        let csrf = self.csrf();
        self.finish(html(
            status,
            &LoginPage {
                style: STYLE,
                action: &self.app.config.endpoint(AUTHORIZE_PATH),
                client_name: &ar.client.name,
                request: &ar.raw,
                csrf: &csrf,
                username,
                error,
            },
        ))
    }

    fn consent_page(&mut self, ar: &AuthorizationRequest, user: &UserState) -> Response<Body> {
        let csrf = self.csrf();
        let scopes = ar
            .scope
            .iter()
            .map(|name| ScopeDefinition {
                name: name.to_owned(),
                description: self
                    .app
                    .config
                    .scopes
                    .definitions()
                    .iter()
                    .find(|d| d.name == name)
                    .map(|d| d.description.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let redirect_host = redirect_origin(&ar.redirect_uri);
        self.finish(html(
            StatusCode::OK,
            &ConsentPage {
                style: STYLE,
                action: &self.app.config.endpoint(AUTHORIZE_PATH),
                client_name: &ar.client.name,
                username: &user.username,
                scopes,
                redirect_host: &redirect_host,
                request: &ar.raw,
                csrf: &csrf,
            },
        ))
    }

    /// Signed in: ask for consent, or issue the code.
    async fn signed_in(
        &mut self,
        ar: &AuthorizationRequest,
        session: &LoginSession,
        user: &UserState,
        redirect: StatusCode,
    ) -> Result<Response<Body>, StoreError> {
        if needs_consent(self.app, ar, user).await? {
            if ar.prompt.none {
                return Ok(self.finish(error_redirect(
                    self.app,
                    redirect,
                    &ErrorRedirect::from_request(
                        ar,
                        AuthorizeErrorCode::ConsentRequired,
                        "consent is required",
                    ),
                )));
            }
            return Ok(self.consent_page(ar, user));
        }
        let r = self.issue_code(ar, session, redirect).await?;
        Ok(self.finish(r))
    }

    /// Issues a code (the grant is made in [`authorization_code::issue`]) and
    /// redirects with it; the login page if the session ended meanwhile.
    async fn issue_code(
        &mut self,
        ar: &AuthorizationRequest,
        session: &LoginSession,
        status: StatusCode,
    ) -> Result<Response<Body>, StoreError> {
        let issued = authorization_code::issue(
            self.app,
            CodeIssue {
                client: &ar.client,
                session,
                scope: ar.scope.clone(),
                binding: CodeBinding {
                    redirect_uri: ar.redirect_uri.clone(),
                    redirect_uri_in_request: ar.redirect_uri_in_request,
                    challenge: ar.challenge.clone(),
                    nonce: ar.nonce.clone(),
                },
            },
        )
        .await?;
        let Some(code) = issued else {
            return Ok(self.login_page(ar, StatusCode::OK, "", None));
        };
        let mut params = vec![("code", code.expose())];
        if let Some(s) = &ar.state {
            params.push(("state", s));
        }
        params.push(("iss", &self.app.config.issuer));
        Ok(redirect(status, &ar.redirect_uri, &params))
    }
}

impl ErrorRedirect {
    fn from_request(ar: &AuthorizationRequest, code: AuthorizeErrorCode, d: &str) -> Self {
        Self {
            redirect_uri: ar.redirect_uri.clone(),
            state: ar.state.clone(),
            code,
            description: d.to_owned(),
        }
    }
}

async fn get(app: &App, req: &Request) -> Result<Response<Body>, StoreError> {
    let raw = req.uri().query().unwrap_or("");
    let ar = match request::check(app, raw).await {
        Ok(ar) => ar,
        Err(refusal) => return Ok(refuse(app, StatusCode::FOUND, &refusal)),
    };
    let mut step = Step::new(app, req).await?;
    let session = if ar.prompt.login {
        None
    } else {
        step.session().await?
    };
    match session {
        Some((s, user)) => step.signed_in(&ar, &s, &user, StatusCode::FOUND).await,
        None if ar.prompt.none => Ok(error_redirect(
            app,
            StatusCode::FOUND,
            &ErrorRedirect::from_request(
                &ar,
                AuthorizeErrorCode::LoginRequired,
                "the user is not signed in",
            ),
        )),
        None => Ok(step.login_page(&ar, StatusCode::OK, "", None)),
    }
}

/// The login and consent forms. Redirects after a POST are 303, so the browser
/// does not repeat the POST (and its password) to the client (RFC 9700 §4.12).
async fn post(app: &App, req: &Request) -> Result<Response<Body>, StoreError> {
    let form = match Form::from_post(req.method(), req.headers(), req.body()) {
        Ok(f) => f,
        Err(e) => {
            return Ok(error_page(
                if e.status().is_client_error() {
                    e.status()
                } else {
                    StatusCode::BAD_REQUEST
                },
                "Bad request",
                &e.description,
            ));
        }
    };
    let ar = match request::check(app, form.get("request").unwrap_or("")).await {
        Ok(ar) => ar,
        Err(refusal) => return Ok(refuse(app, StatusCode::SEE_OTHER, &refusal)),
    };
    let mut step = Step::new(app, req).await?;
    if !step.csrf_ok(&form) {
        tracing::warn!(client_id = %ar.client.client_id, "form refused: CSRF token missing or wrong");
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form has expired or was not sent from this site. Return to the application and start again.",
        ));
    }
    match form.get("action") {
        Some("login") => {
            let username = form.get("username").unwrap_or("");
            let password = form.get("password").unwrap_or("");
            match login::sign_in(app, username, password, source_ip(req)).await? {
                Login::Throttled => Ok(step.login_page(
                    &ar,
                    StatusCode::TOO_MANY_REQUESTS,
                    username,
                    Some(THROTTLED_LOGIN_ERROR),
                )),
                Login::Failed => {
                    Ok(step.login_page(&ar, StatusCode::OK, username, Some(GENERIC_LOGIN_ERROR)))
                }
                Login::Success(user) => {
                    let session = step.start_session(&user).await?;
                    step.signed_in(&ar, &session, &user.state(), StatusCode::SEE_OTHER)
                        .await
                }
            }
        }
        Some("approve") => match step.session().await? {
            None => Ok(step.login_page(&ar, StatusCode::OK, "", None)),
            // `prompt=login` asked for a fresh sign-in: an older session cannot
            // approve, even with the consent form's CSRF token.
            Some((s, _))
                if ar.prompt.login && now().saturating_sub(s.auth_time) > FRESH_LOGIN_SECONDS =>
            {
                Ok(step.login_page(&ar, StatusCode::OK, "", None))
            }
            Some((session, user)) => {
                let previous = app
                    .store
                    .get_consent(&user.user_id, &ar.client.client_id)
                    .await?
                    .unwrap_or_default();
                let granted = Scope::from_tokens(previous.iter().chain(ar.scope.iter()));
                app.store
                    .put_consent(&user.user_id, &ar.client.client_id, &granted, now())
                    .await?;
                tracing::info!(client_id = %ar.client.client_id, scope = %ar.scope, "consent given");
                let r = step
                    .issue_code(&ar, &session, StatusCode::SEE_OTHER)
                    .await?;
                Ok(step.finish(r))
            }
        },
        Some("deny") => {
            tracing::info!(client_id = %ar.client.client_id, "consent denied");
            Ok(error_redirect(
                app,
                StatusCode::SEE_OTHER,
                &ErrorRedirect::from_request(
                    &ar,
                    AuthorizeErrorCode::AccessDenied,
                    "the user denied the request",
                ),
            ))
        }
        _ => Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form was not understood.",
        )),
    }
}

/// Whether the user must be asked: always with `prompt=consent`; never for a
/// client registered to skip consent; else unless every requested scope was
/// approved before.
async fn needs_consent(
    app: &App,
    ar: &AuthorizationRequest,
    user: &UserState,
) -> Result<bool, StoreError> {
    if ar.prompt.consent {
        return Ok(true);
    }
    if ar.client.skip_consent {
        return Ok(false);
    }
    let approved = app
        .store
        .get_consent(&user.user_id, &ar.client.client_id)
        .await?;
    Ok(!approved.is_some_and(|a| ar.scope.is_subset_of(&a)))
}

fn refuse(app: &App, status: StatusCode, refusal: &Refusal) -> Response<Body> {
    match refusal {
        Refusal::Page { status, message } => {
            tracing::info!(message = %message, "authorization request refused without redirect");
            error_page(*status, "This request cannot be completed", message)
        }
        Refusal::Redirect(e) => error_redirect(app, status, e),
    }
}

/// The error response of RFC 6749 §4.1.2.1, with `iss` (RFC 9207 §2).
fn error_redirect(app: &App, status: StatusCode, e: &ErrorRedirect) -> Response<Body> {
    tracing::info!(error = e.code.as_str(), description = %e.description, "authorization request refused");
    let mut params = vec![
        ("error", e.code.as_str()),
        ("error_description", e.description.as_str()),
    ];
    if let Some(s) = &e.state {
        params.push(("state", s));
    }
    params.push(("iss", &app.config.issuer));
    redirect(status, &e.redirect_uri, &params)
}

/// A redirect to `uri` with `params` added to its query (RFC 6749 §3.1.2: any
/// query it has is kept).
fn redirect(status: StatusCode, uri: &str, params: &[(&str, &str)]) -> Response<Body> {
    let location = match url::Url::parse(uri) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(params);
            u.to_string()
        }
        // Registered URIs are checked to parse; this cannot happen.
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "This request cannot be completed",
                "The redirect URI is malformed.",
            );
        }
    };
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// The scheme and host the user is sent back to, for the consent page.
fn redirect_origin(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) => match u.host_str() {
            Some(h) => format!("{}://{h}", u.scheme()),
            None => format!("{}:", u.scheme()),
        },
        Err(_) => String::new(),
    }
}
