//! The authorization endpoint (RFC 6749 §3.1, §4.1) with its login and consent
//! pages.
//!
//! `GET /authorize`, or a `POST` of the same parameters as a form (OpenID Connect
//! Core §3.1.2.1), checks the request ([`request`]), then: no session that may
//! answer it ([`crate::domain::reauthentication`]) → the login page; consent
//! needed → the consent page; else a code, by redirect. The pages POST back to
//! `/authorize` with the original request, as a query string, in a hidden field,
//! so every step checks the whole request again; nothing is kept between
//! requests but the login session (a record named by its cookie) and the CSRF
//! cookie. A POST is a step of the pages exactly when it carries one of their
//! fields ([`request::is_step_form`]); only a step, with its CSRF token, can
//! sign in or approve.

pub mod federation;
pub mod login;
pub mod pages;
pub mod request;

use crate::app::{App, now};
use crate::domain::grant::CodeBinding;
use crate::domain::login_hint;
use crate::domain::reauthentication::{self, Decision, SessionFacts};
use crate::domain::scope::{Scope, ScopeDefinition};
use crate::domain::session::{LoginSession, cookie_value};
use crate::domain::user::{User, UserState};
use crate::endpoints::http::cookies::{
    CookieNames, cookie, csrf_matches, csrf_token, new_csrf_nonce,
};
use crate::endpoints::http::form::{self, Form};
use crate::endpoints::http::login_session::signed_in;
use crate::endpoints::http::{Body, Request, Response, source_ip};
use crate::error::AuthorizeErrorCode;
use crate::grants::authorization_code::{self, CodeIssue};
use crate::paths::AUTHORIZE_PATH;
use crate::secret::{Secret, random_id, random_token};
use crate::store::{ConsentStore, ProviderStore, SessionStore, StoreError};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use login::Login;
use pages::{
    ConsentPage, LoginPage, ProviderButton, STYLE, error_page, get_and_post_only, html, try_again,
};
use request::{AuthorizationRequest, ErrorRedirect, Refusal};
use std::sync::Arc;

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
        _ => return get_and_post_only(),
    };
    result.unwrap_or_else(|e| try_again("authorization request", &e))
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
        signed_in(self.app, self.req.headers(), &self.names).await
    }

    /// Starts a login session for `user`, who signed in with a password now,
    /// and sets its cookie.
    async fn start_session(&mut self, user: &User) -> Result<LoginSession, StoreError> {
        self.start_session_as(user, now(), "pwd").await
    }

    /// Starts a login session for `user`, who authenticated at `auth_time` by
    /// `amr` (RFC 8176 §2 values, space-separated), and sets its cookie.
    async fn start_session_as(
        &mut self,
        user: &User,
        auth_time: u64,
        amr: &str,
    ) -> Result<LoginSession, StoreError> {
        let t = now();
        let secret = random_token();
        let session = LoginSession {
            session_id: random_id(),
            secret_hash: secret.hash(),
            user_id: user.user_id.clone(),
            username: user.username.clone(),
            user_epoch: user.epoch,
            auth_time,
            amr: amr.into(),
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

    async fn login_page(
        &mut self,
        ar: &AuthorizationRequest,
        status: StatusCode,
        username: &str,
        error: Option<&str>,
    ) -> Result<Response<Body>, StoreError> {
        self.login_page_for(ar, status, username, error, None).await
    }

    /// The login page; `current_user` names the session's user for
    /// `prompt=select_account`. An empty `username` is pre-filled from
    /// `login_hint`.
    async fn login_page_for(
        &mut self,
        ar: &AuthorizationRequest,
        status: StatusCode,
        username: &str,
        error: Option<&str>,
        current_user: Option<&str>,
    ) -> Result<Response<Body>, StoreError> {
        // Read at every page: a provider removed is gone from the next one.
        let providers: Vec<ProviderButton> = self
            .app
            .store
            .list_providers()
            .await?
            .into_iter()
            .map(|p| ProviderButton {
                id: p.provider_id,
                name: p.display_name,
            })
            .collect();
        let username = match username {
            "" => login_hint::prefill(ar.login_hint.as_deref()),
            given => given,
        };
        let csrf = self.csrf();
        Ok(self.finish(html(
            status,
            &LoginPage {
                style: STYLE,
                action: &self.app.config.endpoint(AUTHORIZE_PATH),
                client_name: &ar.client.name,
                request: &ar.raw,
                csrf: &csrf,
                username,
                error,
                current_user,
                providers: &providers,
            },
        )))
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
            return self.login_page(ar, StatusCode::OK, "", None).await;
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
    authenticate(app, req, raw, StatusCode::FOUND).await
}

/// The authentication request `raw` (a query string), by `GET` or as a `POST`ed
/// form: the session answers it, or the login page (or with `prompt=none`
/// `login_required`, at the redirect URI once client and redirect URI are
/// valid). Redirects use `redirect`. Nothing here signs in or records consent.
async fn authenticate(
    app: &App,
    req: &Request,
    raw: &str,
    redirect: StatusCode,
) -> Result<Response<Body>, StoreError> {
    let ar = match request::check(app, raw).await {
        Ok(ar) => ar,
        Err(refusal) => return Ok(refuse(app, redirect, &refusal)),
    };
    let mut step = Step::new(app, req).await?;
    // With `prompt=login` no session may answer: it is not read.
    let session = if ar.prompt.login {
        None
    } else {
        step.session().await?
    };
    let facts = session.as_ref().map(|(s, _)| facts(s));
    match (reauthentication::decide(&ar.asked(), facts, now()), session) {
        (Decision::UseSession, Some((s, user))) => step.signed_in(&ar, &s, &user, redirect).await,
        (Decision::ChooseAccount, Some((s, _))) => {
            step.login_page_for(&ar, StatusCode::OK, "", None, Some(&s.username))
                .await
        }
        (Decision::LoginRequired, _) => Ok(error_redirect(
            app,
            redirect,
            &ErrorRedirect::from_request(
                &ar,
                AuthorizeErrorCode::LoginRequired,
                "the user must sign in",
            ),
        )),
        // `SignIn`, or (never decided) a session's answer without a session.
        _ => match &ar.identity_provider {
            Some(id) => step.federate(&ar, id, redirect).await,
            None => step.login_page(&ar, StatusCode::OK, "", None).await,
        },
    }
}

fn facts(s: &LoginSession) -> SessionFacts<'_> {
    SessionFacts {
        user_id: &s.user_id,
        auth_time: s.auth_time,
    }
}

/// A POST: the login and consent forms, or an authentication request sent as a
/// form (OpenID Connect Core §3.1.2.1), told apart by [`request::is_step_form`].
/// Redirects after a POST are 303, so the browser does not repeat the POST (and
/// its password) to the client (RFC 9700 §4.12).
async fn post(app: &App, req: &Request) -> Result<Response<Body>, StoreError> {
    let bad = |e: crate::error::TokenError| {
        error_page(
            if e.status().is_client_error() {
                e.status()
            } else {
                StatusCode::BAD_REQUEST
            },
            "Bad request",
            &e.description,
        )
    };
    let body: &[u8] = req.body();
    if let Err(e) = form::check_post(req.method(), req.headers(), body) {
        return Ok(bad(e));
    }
    if !request::is_step_form(body) {
        // A bare authentication request: exactly what its GET would do. A body
        // that does not decode is reported by the request check, as a query
        // string that does not would be.
        let Some(raw) = request::reencode(body) else {
            let raw = String::from_utf8_lossy(body);
            return authenticate(app, req, &raw, StatusCode::SEE_OTHER).await;
        };
        if lax_cookies_withheld(app, req) && raw.len() <= request::MAX_REQUEST_BYTES {
            return Ok(see_other(&format!(
                "{}?{raw}",
                app.config.endpoint(AUTHORIZE_PATH)
            )));
        }
        return authenticate(app, req, &raw, StatusCode::SEE_OTHER).await;
    }
    let form = match Form::parse(body) {
        Ok(f) => f,
        Err(e) => return Ok(bad(e)),
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
                Login::Throttled => {
                    step.login_page(
                        &ar,
                        StatusCode::TOO_MANY_REQUESTS,
                        username,
                        Some(THROTTLED_LOGIN_ERROR),
                    )
                    .await
                }
                Login::Failed => {
                    step.login_page(&ar, StatusCode::OK, username, Some(GENERIC_LOGIN_ERROR))
                        .await
                }
                // Core §3.1.2.1: the user the `id_token_hint` names must be the one
                // "logged in as a result of the request", or the OP "SHOULD
                // return an error, such as login_required". No session is started
                // for the other account.
                Login::Success(user)
                    if !reauthentication::hint_matches(ar.asked().hint_sub, &user.user_id) =>
                {
                    tracing::info!(client_id = %ar.client.client_id, "signed in as another user than the id_token_hint names");
                    Ok(error_redirect(
                        app,
                        StatusCode::SEE_OTHER,
                        &ErrorRedirect::from_request(
                            &ar,
                            AuthorizeErrorCode::LoginRequired,
                            "the user who signed in is not the one id_token_hint names",
                        ),
                    ))
                }
                Login::Success(user) => {
                    let session = step.start_session(&user).await?;
                    step.signed_in(&ar, &session, &user.state(), StatusCode::SEE_OTHER)
                        .await
                }
            }
        }
        // `prompt=select_account`: the user chose the session's account. It
        // must still answer the request as it stands (`max_age`, the hint).
        Some("continue") => {
            let session = step.session().await?;
            let facts = session.as_ref().map(|(s, _)| facts(s));
            let mut asked = ar.asked();
            asked.prompt.select_account = false;
            match (reauthentication::decide(&asked, facts, now()), session) {
                (Decision::UseSession, Some((s, user))) => {
                    step.signed_in(&ar, &s, &user, StatusCode::SEE_OTHER).await
                }
                _ => step.login_page(&ar, StatusCode::OK, "", None).await,
            }
        }
        Some("approve") => match step.session().await? {
            None => step.login_page(&ar, StatusCode::OK, "", None).await,
            // `prompt=login` or `max_age` asked for a recent sign-in, and a hint
            // for one user: another session cannot approve, even with the
            // consent form's CSRF token.
            Some((s, _)) if !reauthentication::may_approve(&ar.asked(), facts(&s), now()) => {
                step.login_page(&ar, StatusCode::OK, "", None).await
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
        Some("federate") => step.federate_from_form(&ar, &form).await,
        Some("link") => step.link(&ar, &form).await,
        Some("new_user") => step.new_user(&ar, &form).await,
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

/// Whether a browser withheld the session cookie from this POST: it is
/// `SameSite=Lax` ([`cookies`]), which a browser sends on a cross-site request
/// only for a top-level navigation with a safe method (RFC 6265bis, "Lax"
/// enforcement), so a relying party's cross-site form POST arrives without it
/// (`Sec-Fetch-Site: cross-site`, Fetch Metadata). Answered by [`see_other`] to
/// the same request by GET, which carries it: the session then answers as it
/// would a GET. A POST with the cookie, or from this site, is answered at once.
fn lax_cookies_withheld(app: &App, req: &Request) -> bool {
    let names = CookieNames::new(app.config.secure_cookies());
    cookie(req.headers(), names.session).is_none()
        && req
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
}

/// A 303 to `location`: the browser follows it with a GET (RFC 9110 §15.4.4).
fn see_other(location: &str) -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::SEE_OTHER;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
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
