//! Sign-in through an upstream OpenID Provider, the HTTP side: the login page's
//! "Continue with" buttons and `identity_provider` start it, the provider's
//! redirect to `/federation/{id}/callback` finishes it, and the linking page's
//! two forms answer a choice. The protocol is [`crate::federation`]'s; here
//! are the cookie, the redirects and the pages.
//!
//! After the callback the flow is the authorization endpoint's own: the
//! downstream request, kept in the upstream state record, is checked again
//! from scratch, then the session answers it (consent, or a code), so the
//! client sees exactly what a password sign-in would give it. Errors of the
//! upstream sign-in are answered to the client at its redirect URI with its
//! own `state` (RFC 6749 §4.1.2.1).

use super::login::{self, Login};
use super::pages::{LinkPage, STYLE, error_page, html, try_again};
use super::request::{self, AuthorizationRequest, ErrorRedirect};
use super::{GENERIC_LOGIN_ERROR, Step, THROTTLED_LOGIN_ERROR, error_redirect, redirect, refuse};
use crate::app::{App, now};
use crate::domain::provider::{Provider, validate_id};
use crate::domain::reauthentication;
use crate::domain::upstream_state::UPSTREAM_STATE_TTL_SECS;
use crate::domain::user::User;
use crate::endpoints::http::cookies::{CookieNames, cookie};
use crate::endpoints::http::form::Form;
use crate::endpoints::http::{Body, Request, Response, source_ip};
use crate::error::AuthorizeErrorCode;
use crate::federation::account::{self, Account};
use crate::federation::pending_link::PendingLink;
use crate::federation::sign_in::{self, CallbackParams, Forwarded, Refusal, Upstream};
use crate::federation::upstream_id_token::DEFAULT_SKEW_SECONDS;
use crate::paths::AUTHORIZE_PATH;
use crate::store::{ProviderStore, StoreError};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};

/// The provider id of a callback path, `/federation/{id}/callback`.
pub fn callback_provider(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix("/federation/")?
        .strip_suffix("/callback")?;
    validate_id(id).is_ok().then_some(id)
}

/// `GET /federation/{id}/callback`: the provider's authorization response
/// (OpenID Connect Core §3.1.2.5, §3.1.2.6).
pub async fn callback(app: &App, req: Request) -> Response<Body> {
    if req.method() != Method::GET {
        let mut r = error_page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "This address accepts only GET.",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    callback_get(app, &req)
        .await
        .unwrap_or_else(|e| try_again("upstream callback", &e))
}

async fn callback_get(app: &App, req: &Request) -> Result<Response<Body>, StoreError> {
    let bad = |message: &str| {
        error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in cannot be completed",
            message,
        )
    };
    let Some(provider_id) = callback_provider(req.uri().path()) else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no sign-in provider at this address.",
        ));
    };
    let query = req.uri().query().unwrap_or("");
    let Ok(form) = Form::parse(query.as_bytes()) else {
        return Ok(bad("The sign-in response is malformed."));
    };
    let params = CallbackParams {
        code: form.get("code").map(str::to_owned),
        state: form.get("state").map(str::to_owned),
        iss: form.get("iss").map(str::to_owned),
        error: form.get("error").map(str::to_owned),
    };
    let names = CookieNames::new(app.config.secure_cookies());
    let browser = cookie(req.headers(), names.federation);
    let resumed = match sign_in::callback(app, provider_id, &params, browser).await? {
        Ok(r) => r,
        Err(refusal) => {
            let status = match refusal {
                Refusal::UnknownProvider => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_REQUEST,
            };
            return Ok(error_page(
                status,
                "This sign-in cannot be completed",
                refusal.message(),
            ));
        }
    };
    let ar = match request::check(app, &resumed.downstream_request).await {
        Ok(ar) => ar,
        Err(refusal) => return Ok(refuse(app, StatusCode::FOUND, &refusal)),
    };
    let identity = match resumed.result {
        Ok(identity) => identity,
        Err(failure) => return Ok(upstream_failed(app, &ar, &failure)),
    };
    // `prompt=login` was forwarded: the provider must have authenticated the
    // user after the request was sent (Core §3.1.2.1 `prompt`, §2 `auth_time`).
    if ar.prompt.login && identity.auth_time + DEFAULT_SKEW_SECONDS < resumed.started_at {
        return Ok(upstream_failed(
            app,
            &ar,
            &Upstream::Invalid("the provider did not sign the user in again (prompt=login)".into()),
        ));
    }
    let mut step = Step::new(app, req).await?;
    match account::resolve(&app.store, &identity).await? {
        Account::User(user) => {
            step.federated(&ar, &user, identity.auth_time, "fed", StatusCode::FOUND)
                .await
        }
        Account::ChooseLink => step.link_page(&ar, &identity, "", None).await,
        Account::Refused(why) => {
            tracing::warn!(provider_id, reason = why, "upstream identity refused");
            Ok(error_redirect(
                app,
                StatusCode::FOUND,
                &ErrorRedirect::from_request(
                    &ar,
                    AuthorizeErrorCode::AccessDenied,
                    "the account cannot sign in",
                ),
            ))
        }
    }
}

/// An upstream sign-in that ended without an identity, answered to the client
/// (RFC 6749 §4.1.2.1): the provider's `access_denied` and
/// `temporarily_unavailable` as themselves; a response or token that failed
/// a check is `access_denied` (this server denies it); the provider failing
/// otherwise is `temporarily_unavailable`, and any other error code it sent,
/// a misconfiguration between the two servers, `server_error`.
fn upstream_failed(app: &App, ar: &AuthorizationRequest, failure: &Upstream) -> Response<Body> {
    let (code, description) = match failure {
        Upstream::Error(e) if e == "access_denied" => (
            AuthorizeErrorCode::AccessDenied,
            "the user did not sign in at the provider",
        ),
        Upstream::Error(e) if e == "temporarily_unavailable" => (
            AuthorizeErrorCode::TemporarilyUnavailable,
            "the provider is temporarily unavailable",
        ),
        Upstream::Error(_) => (
            AuthorizeErrorCode::ServerError,
            "the provider refused the sign-in request",
        ),
        Upstream::Invalid(_) => (
            AuthorizeErrorCode::AccessDenied,
            "the provider's answer could not be verified",
        ),
        Upstream::Unavailable(_) => (
            AuthorizeErrorCode::TemporarilyUnavailable,
            "the provider could not be reached",
        ),
    };
    error_redirect(
        app,
        StatusCode::FOUND,
        &ErrorRedirect::from_request(ar, code, description),
    )
}

/// The linking page's form came from another browser, was altered, or is
/// older than its ten minutes.
fn choice_expired() -> Response<Body> {
    error_page(
        StatusCode::BAD_REQUEST,
        "This choice has expired",
        "Return to the application and sign in again.",
    )
}

impl Step<'_> {
    /// `identity_provider=ID`: straight to that provider, or `invalid_request`
    /// when no such provider is registered.
    pub(super) async fn federate(
        &mut self,
        ar: &AuthorizationRequest,
        provider_id: &str,
        status: StatusCode,
    ) -> Result<Response<Body>, StoreError> {
        let Some(provider) = self.app.store.get_provider(provider_id).await? else {
            return Ok(error_redirect(
                self.app,
                status,
                &ErrorRedirect::from_request(
                    ar,
                    AuthorizeErrorCode::InvalidRequest,
                    "identity_provider names no registered provider",
                ),
            ));
        };
        self.send_upstream(ar, &provider, status).await
    }

    /// The login page's "Continue with" button.
    pub(super) async fn federate_from_form(
        &mut self,
        ar: &AuthorizationRequest,
        form: &Form,
    ) -> Result<Response<Body>, StoreError> {
        let id = form.get("provider").unwrap_or("");
        let provider = match validate_id(id) {
            Ok(()) => self.app.store.get_provider(id).await?,
            Err(_) => None,
        };
        let Some(provider) = provider else {
            return self
                .login_page(
                    ar,
                    StatusCode::OK,
                    "",
                    Some("That sign-in option is no longer available."),
                )
                .await;
        };
        self.send_upstream(ar, &provider, StatusCode::SEE_OTHER)
            .await
    }

    /// Sends the browser to `provider` for `ar`, setting the federation cookie.
    async fn send_upstream(
        &mut self,
        ar: &AuthorizationRequest,
        provider: &Provider,
        status: StatusCode,
    ) -> Result<Response<Body>, StoreError> {
        let started = sign_in::start(
            self.app,
            provider,
            &ar.raw,
            cookie(self.req.headers(), self.names.federation),
            Forwarded {
                prompt_login: ar.prompt.login,
                max_age: ar.max_age,
            },
        )
        .await?;
        let c = self.names.set(
            self.names.federation,
            &started.browser_cookie,
            Some(UPSTREAM_STATE_TTL_SECS),
        );
        self.set_cookies.push(c);
        Ok(self.finish(redirect(status, &started.location, &[])))
    }

    /// Signed in through a provider (as `user`, at `auth_time`, by `amr`): a
    /// session, then the request's answer. The user the request's
    /// `id_token_hint` names must be the one who signed in (Core §3.1.2.1).
    async fn federated(
        &mut self,
        ar: &AuthorizationRequest,
        user: &User,
        auth_time: u64,
        amr: &str,
        status: StatusCode,
    ) -> Result<Response<Body>, StoreError> {
        if !reauthentication::hint_matches(ar.asked().hint_sub, &user.user_id) {
            return Ok(error_redirect(
                self.app,
                status,
                &ErrorRedirect::from_request(
                    ar,
                    AuthorizeErrorCode::LoginRequired,
                    "the user who signed in is not the one id_token_hint names",
                ),
            ));
        }
        let session = self.start_session_as(user, auth_time, amr).await?;
        self.signed_in(ar, &session, &user.state(), status).await
    }

    /// The linking page for `identity`.
    async fn link_page(
        &mut self,
        ar: &AuthorizationRequest,
        identity: &PendingLink,
        username: &str,
        error: Option<&str>,
    ) -> Result<Response<Body>, StoreError> {
        let provider_name = match self.app.store.get_provider(&identity.provider_id).await? {
            Some(p) => p.display_name,
            None => identity.provider_id.clone(),
        };
        let csrf = self.csrf();
        let pending = identity.seal(&self.key);
        Ok(self.finish(html(
            StatusCode::OK,
            &LinkPage {
                style: STYLE,
                action: &self.app.config.endpoint(AUTHORIZE_PATH),
                provider_name: &provider_name,
                email: identity.email.as_deref(),
                request: &ar.raw,
                csrf: &csrf,
                pending: &pending,
                username,
                error,
            },
        )))
    }

    /// The identity of the linking page's form, if it is this browser's and
    /// still open.
    fn pending(&self, form: &Form) -> Option<PendingLink> {
        let browser = cookie(self.req.headers(), self.names.federation);
        PendingLink::open(&self.key, form.get("pending").unwrap_or(""), browser, now())
            .inspect_err(|e| tracing::info!(reason = ?e, "linking form refused"))
            .ok()
    }

    /// "Sign in and link": the local account's password, then the link. The
    /// session's `amr` says both ways were used.
    pub(super) async fn link(
        &mut self,
        ar: &AuthorizationRequest,
        form: &Form,
    ) -> Result<Response<Body>, StoreError> {
        let Some(identity) = self.pending(form) else {
            return Ok(choice_expired());
        };
        let username = form.get("username").unwrap_or("");
        let password = form.get("password").unwrap_or("");
        let user = match login::sign_in(self.app, username, password, source_ip(self.req)).await? {
            Login::Success(user) => user,
            Login::Failed => {
                return self
                    .link_page(ar, &identity, username, Some(GENERIC_LOGIN_ERROR))
                    .await;
            }
            Login::Throttled => {
                let mut r = self
                    .link_page(ar, &identity, username, Some(THROTTLED_LOGIN_ERROR))
                    .await?;
                *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                return Ok(r);
            }
        };
        match account::link(&self.app.store, &identity, &user).await? {
            Account::User(linked) if linked.user_id == user.user_id => {
                self.federated(ar, &linked, now(), "pwd fed", StatusCode::SEE_OTHER)
                    .await
            }
            _ => Ok(error_page(
                StatusCode::CONFLICT,
                "This account cannot be linked",
                "The account you signed in with at the provider is already linked to another user here.",
            )),
        }
    }

    /// "Continue as a new user".
    pub(super) async fn new_user(
        &mut self,
        ar: &AuthorizationRequest,
        form: &Form,
    ) -> Result<Response<Body>, StoreError> {
        let Some(identity) = self.pending(form) else {
            return Ok(choice_expired());
        };
        match account::create_user(&self.app.store, &identity).await? {
            Account::User(user) => {
                self.federated(ar, &user, identity.auth_time, "fed", StatusCode::SEE_OTHER)
                    .await
            }
            _ => Ok(error_redirect(
                self.app,
                StatusCode::SEE_OTHER,
                &ErrorRedirect::from_request(
                    ar,
                    AuthorizeErrorCode::AccessDenied,
                    "the account cannot sign in",
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_paths_name_a_provider() {
        assert_eq!(
            callback_provider("/federation/google/callback"),
            Some("google")
        );
        assert_eq!(callback_provider("/federation//callback"), None);
        assert_eq!(callback_provider("/federation/a/b/callback"), None);
        assert_eq!(callback_provider("/federation/google"), None);
        assert_eq!(callback_provider("/authorize"), None);
    }
}
