//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2): every use issues a new refresh token and retires the old
//! one; a retired token used again revokes its whole grant, unless the second use
//! comes within the grace window (a client retrying a request whose answer it
//! lost), which is refused without revoking anything.

use super::{invalid_grant, issue_from, presented_hash, revoke_family, user_still_valid};
use crate::app::{App, now};
use crate::domain::client::Client;
use crate::domain::scope::Scope;
use crate::domain::token::TokenKind;
use crate::error::{TokenError, TokenErrorCode};
use crate::http::form::Form;
use crate::http::{Body, Response};
use crate::store::{TokenStore, TokenUse};

const INVALID_REFRESH: &str = "the refresh token is invalid, expired or revoked";

pub async fn refresh(
    app: &App,
    client: &Client,
    form: &Form,
) -> Result<Response<Body>, TokenError> {
    let value = form
        .get("refresh_token")
        .ok_or_else(|| TokenError::invalid_request("refresh_token is required"))?;
    let Some(hash) = presented_hash(value) else {
        return Err(invalid_grant(INVALID_REFRESH));
    };
    let t = now();
    // RFC 6749 §6: the scope may be narrowed, never widened. A malformed or wider
    // scope is refused before the token is used: the refusal issues no refresh
    // token to replace it, so using it up would cost the client its grant.
    let requested = form
        .get("scope")
        .map(|s| Scope::parse(s).ok_or_else(malformed_scope))
        .transpose()?;
    if let Some(requested) = &requested
        && let Some(current) = app.store.get_token(&hash).await?
        && current.kind == TokenKind::RefreshToken
        && current.client_id == client.client_id
        && current.used_at.is_none()
        && current.is_active(t)
        && !requested.is_subset_of(&current.scope)
    {
        return Err(wider_scope());
    }
    let record = match app
        .store
        .use_token(&hash, TokenKind::RefreshToken, t)
        .await?
    {
        TokenUse::Unknown => return Err(invalid_grant(INVALID_REFRESH)),
        TokenUse::Again(record) => {
            let retry = record.client_id == client.client_id
                && !record.revoked
                && record
                    .used_at
                    .is_some_and(|u| t.saturating_sub(u) < app.config.refresh_reuse_grace);
            if retry {
                return Err(invalid_grant(
                    "the refresh token was just used; use the refresh token issued with it",
                ));
            }
            revoke_family(app, &record).await?;
            return Err(invalid_grant(INVALID_REFRESH));
        }
        TokenUse::First(record) => record,
    };
    if record.client_id != client.client_id {
        tracing::warn!(client_id = %client.client_id, "refresh token of another client refused");
        return Err(invalid_grant(INVALID_REFRESH));
    }
    if !record.is_active(t) {
        return Err(invalid_grant(INVALID_REFRESH));
    }
    // The new refresh token keeps the grant's full scope (RFC 6749 §6).
    let scope = match requested {
        None => record.scope.clone(),
        Some(requested) if requested.is_subset_of(&record.scope) => requested,
        Some(_) => return Err(wider_scope()),
    };
    if !user_still_valid(app, &record).await? {
        return Err(invalid_grant(
            "the resource owner's account is not available",
        ));
    }
    let grant_scope = record.scope.clone();
    issue_from(app, client, &record, scope, &grant_scope).await
}

fn malformed_scope() -> TokenError {
    TokenError::new(
        TokenErrorCode::InvalidScope,
        "the scope parameter is malformed",
    )
}

fn wider_scope() -> TokenError {
    TokenError::new(
        TokenErrorCode::InvalidScope,
        "the requested scope exceeds the scope originally granted",
    )
}
