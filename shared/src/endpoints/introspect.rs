//! Token introspection (RFC 7662).
//!
//! Only authenticated confidential clients may introspect (§2.1, RFC 9700 §4.14):
//! a client sees its own tokens; a client registered with `introspect_any` (a
//! resource server) sees every token. Anything else — unknown, expired, revoked,
//! another client's, or a token whose client was deleted or whose user was disabled
//! or deleted — is `{"active": false}`
//! (§2.2), so the answer reveals nothing about tokens the caller may not see.

use crate::app::{App, now};
use crate::domain::token::{TokenKind, TokenRecord};
use crate::error::TokenError;
use crate::http::client_auth::{Presented, authenticate};
use crate::http::form::Form;
use crate::http::response::{json_no_store, token_error};
use crate::http::{Body, Request, Response};
use crate::secret::SecretHash;
use crate::store::{ClientStore, TokenStore};
use lambda_http::http::StatusCode;
use serde_json::json;

/// Longer values cannot be tokens this server issued; they are inactive.
pub const MAX_TOKEN_LENGTH: usize = 4096;

/// The record of `token` if it is active now: no longer than [`MAX_TOKEN_LENGTH`],
/// issued by this server (looked up by its SHA-256), neither revoked nor expired,
/// not an authorization code, its client still registered and, for a user's token,
/// the user still present, enabled and the same account (RFC 7662 §2.2).
///
/// `Ok(None)` for every way a token can be inactive, so callers cannot tell them
/// apart; `Err` only when the store fails. Refresh tokens are active too: a caller
/// that accepts access tokens only checks [`TokenRecord::kind`].
pub async fn active_token(app: &App, token: &str) -> Result<Option<TokenRecord>, TokenError> {
    active_token_where(app, token, |_| true).await
}

/// [`active_token`], with `visible` deciding first (before any further read) whether
/// the caller may see the token at all.
async fn active_token_where(
    app: &App,
    token: &str,
    visible: impl Fn(&TokenRecord) -> bool,
) -> Result<Option<TokenRecord>, TokenError> {
    if token.len() > MAX_TOKEN_LENGTH {
        return Ok(None);
    }
    let Some(record) = app.store.get_token(&SecretHash::of(token)).await? else {
        return Ok(None);
    };
    if !visible(&record) || !record.is_active(now()) || record.kind == TokenKind::AuthorizationCode
    {
        return Ok(None);
    }
    if app.store.get_client(&record.client_id).await?.is_none() {
        return Ok(None);
    }
    // A user's tokens die with the user: disabled, deleted or re-created.
    if record.username.is_some() && !crate::grants::user_still_valid(app, &record).await? {
        return Ok(None);
    }
    Ok(Some(record))
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    match introspect(app, &req).await {
        Ok(r) => r,
        Err(e) => token_error(&e),
    }
}

async fn introspect(app: &App, req: &Request) -> Result<Response<Body>, TokenError> {
    let form = Form::from_post(req.method(), req.headers(), req.body())?;
    let presented = Presented::from_request(req.headers(), &form)?;
    let caller = authenticate(&app.store, &presented, false).await?;
    let token = form
        .get("token")
        .ok_or_else(|| TokenError::invalid_request("token is required"))?;
    let visible =
        |record: &TokenRecord| record.client_id == caller.client_id || caller.introspect_any;
    let Some(record) = active_token_where(app, token, visible).await? else {
        return Ok(json_no_store(StatusCode::OK, &json!({ "active": false })));
    };
    let mut body = json!({
        "active": true,
        "scope": record.scope.to_string(),
        "client_id": record.client_id,
        "sub": record.subject,
        "aud": record.audience,
        "iss": app.config.issuer,
        "exp": record.expires_at,
        "iat": record.issued_at,
    });
    if record.kind == TokenKind::AccessToken {
        body["token_type"] = json!("Bearer");
    }
    if let Some(jti) = &record.jti {
        body["jti"] = json!(jti);
    }
    Ok(json_no_store(StatusCode::OK, &body))
}
