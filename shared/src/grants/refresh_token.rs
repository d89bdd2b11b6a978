//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2).
//!
//! Every use issues the grant's next generation and retires the presented one, in
//! one transaction conditioned on the grant being live and the presented
//! generation being current. A rotated-out token presented again (its MAC proves
//! the grant issued it) ends the grant with one write: the thief's and the
//! victim's tokens die together, however fast either side keeps refreshing. The
//! decision itself is [`decide_refresh`]. A grant past its longest life
//! (`GATEHOUSE_GRANT_MAX_LIFETIME`, [`crate::domain::grant_lifetime`]) is refused
//! with `invalid_grant`, and no refresh token is issued past that end.

use super::{
    ATTEMPTS, GrantRead, OWNER_UNAVAILABLE, TokenResponse, invalid_grant, issue_for,
    owner_and_client_valid,
};
use crate::app::{App, now};
use crate::domain::client::Client;
use crate::domain::grant::{RefreshDecision, RevokeReason, decide_refresh};
use crate::domain::scope::Scope;
use crate::error::{TokenError, TokenErrorCode};
use crate::store::{GrantStore, StoreError};
use crate::tokens::id_token::IdTokenFor;
use crate::tokens::{presented, refresh};

const INVALID_REFRESH: &str = "the refresh token is invalid, expired or revoked";

pub async fn refresh(
    app: &App,
    client: &Client,
    value: &str,
    scope: Option<&str>,
    mut read: GrantRead,
) -> Result<TokenResponse, TokenError> {
    let invalid = || invalid_grant(INVALID_REFRESH);
    // RFC 6749 §6: the scope may be narrowed, never widened.
    let requested = scope
        .map(|s| {
            Scope::parse(s).ok_or_else(|| {
                TokenError::new(
                    TokenErrorCode::InvalidScope,
                    "the scope parameter is malformed",
                )
            })
        })
        .transpose()?;
    let Some(presented) = presented::refresh(value) else {
        return Err(invalid());
    };
    if !refresh::issued_here(app, &presented).await? {
        return Err(invalid());
    }
    for _ in 0..ATTEMPTS {
        let Some(grant) = read.next(app, presented.grant_id).await? else {
            return Err(invalid());
        };
        let t = now();
        let from = match decide_refresh(
            &grant,
            &client.client_id,
            presented.generation,
            t,
            app.config.refresh_reuse_grace,
            app.config.grant_max_lifetime,
        ) {
            RefreshDecision::Refuse => {
                if grant.client_id != client.client_id {
                    tracing::warn!(client_id = %client.client_id, "refresh token of another client refused");
                }
                return Err(invalid());
            }
            RefreshDecision::Reuse => {
                app.store
                    .revoke_grant(&grant.grant_id, None, RevokeReason::RefreshReuse, t)
                    .await?;
                tracing::warn!(client_id = %client.client_id, "rotated-out refresh token reused: its grant is revoked");
                return Err(invalid());
            }
            RefreshDecision::Rotate { from } => from,
        };
        let scope = match &requested {
            None => grant.scope.clone(),
            Some(r) if r.is_subset_of(&grant.scope) => r.clone(),
            Some(_) => {
                return Err(TokenError::new(
                    TokenErrorCode::InvalidScope,
                    "the requested scope exceeds the scope originally granted",
                ));
            }
        };
        let issue = issue_for(
            app,
            client,
            &grant,
            scope,
            IdTokenFor::Refresh,
            from + 1,
            presented.generation,
            t,
        )
        .await?;
        match app.store.rotate_refresh(&grant, from, &issue.update).await {
            Ok(()) => return Ok(issue.response),
            Err(StoreError::Conflict) => {
                // Rotated or revoked meanwhile (the next read decides: a concurrent
                // use of one token is a reuse), or the user or client is gone.
                if !owner_and_client_valid(app, &grant).await? {
                    return Err(invalid_grant(OWNER_UNAVAILABLE));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Only with a reuse grace can uses of one token keep superseding each other
    // (each a retry); this one lost every time.
    Err(invalid_grant(
        "the refresh token was used concurrently; use the refresh token issued last",
    ))
}
