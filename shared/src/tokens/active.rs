//! "This token is active" (RFC 7662 §2.2), for the introspection endpoint and the
//! Lambda authorizer alike.
//!
//! An access token is active when it verifies ([`super::access::verify`]) and what
//! can change since it was signed has not: its `jti` is not on the revocation
//! list, its client is registered, and for a user's token its grant is live and its
//! user valid ([`super::owner`]). A refresh token is active when its MAC verifies
//! and it is its grant's current generation, under the same checks. Codes are
//! never active. Reads for an access token: one `BatchGetItem` (grant, client,
//! revocation list), and one `GetItem` of the user for a user's token; none for a
//! value that cannot be ours.

use super::access::AccessTokenClaims;
use super::presented::{Presented, classify};
use super::{access, owner, refresh};
use crate::app::{App, now};
use crate::domain::client::Client;
use crate::domain::grant::{is_current_refresh, refresh_expiry};
use crate::domain::scope::Scope;
use crate::store::{
    ClientStore, GrantStore, StoreError, TokenState, TokenStateQuery, TokenStateStore,
};

/// Which kind of token is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveKind {
    AccessToken,
    RefreshToken,
}

/// What introspection tells of an active token (RFC 7662 §2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveToken {
    pub kind: ActiveKind,
    pub client_id: String,
    pub subject: String,
    pub scope: Scope,
    pub audience: String,
    pub issued_at: u64,
    pub expires_at: u64,
    pub jti: Option<String>,
    /// The resource owner's login name, for a user's token.
    pub username: Option<String>,
    /// The token's client as read to check it; `None` when it is the caller,
    /// which is not read again. The UserInfo endpoint's CORS answer needs its
    /// redirect URIs (`endpoints/http/cors.rs`), at no further read.
    pub client: Option<Client>,
}

/// Who may see a token: introspection shows a caller its own tokens, or every
/// token to a resource server registered to introspect any (RFC 7662 §2.1).
pub type Visible<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// The active token `value`, or `None` for every way a token can be inactive or
/// invisible (callers cannot tell them apart). `caller`, when it is the client
/// the token belongs to, saves reading that client again.
pub async fn active(
    app: &App,
    value: &str,
    visible: Visible<'_>,
    caller: Option<&Client>,
) -> Result<Option<ActiveToken>, StoreError> {
    match classify(value) {
        Presented::AccessToken(t) => active_access_token(app, t, visible, caller).await,
        Presented::RefreshToken(r) => {
            if !refresh::issued_here(app, &r).await? {
                return Ok(None);
            }
            let Some(grant) = app.store.get_grant(r.grant_id).await? else {
                return Ok(None);
            };
            let max_lifetime = app.config.grant_max_lifetime;
            if !visible(&grant.client_id)
                || !is_current_refresh(&grant, r.generation, now(), max_lifetime)
            {
                return Ok(None);
            }
            // The client is read unless it is the caller (the usual case).
            let known_client = caller.is_some_and(|c| c.client_id == grant.client_id);
            let client = if known_client {
                None
            } else {
                let Some(client) = app.store.get_client(&grant.client_id).await? else {
                    return Ok(None);
                };
                Some(client)
            };
            if !owner::still_valid(app, &grant.user).await? {
                return Ok(None);
            }
            let r = grant.refresh.expect("checked by is_current_refresh");
            Ok(Some(ActiveToken {
                kind: ActiveKind::RefreshToken,
                client_id: grant.client_id.clone(),
                subject: grant.user.user_id.clone(),
                scope: grant.scope.clone(),
                audience: app.config.audience.clone(),
                issued_at: r.issued_at,
                expires_at: refresh_expiry(&grant, &r, max_lifetime),
                jti: None,
                username: Some(grant.user.username.clone()),
                client,
            }))
        }
        Presented::Code(_) | Presented::Unknown => Ok(None),
    }
}

/// The active access token `token` (the Lambda authorizer accepts no other kind).
pub async fn active_access_token(
    app: &App,
    token: &str,
    visible: Visible<'_>,
    caller: Option<&Client>,
) -> Result<Option<ActiveToken>, StoreError> {
    let Some(claims) = verified_access_token(app, token).await? else {
        return Ok(None);
    };
    if !visible(&claims.client_id) {
        return Ok(None);
    }
    let known_client = caller.is_some_and(|c| c.client_id == claims.client_id);
    let state = access_token_state(app, &claims, known_client, None).await?;
    judge_access_token(app, claims, state, known_client).await
}

/// The claims of `token` when it is one of our access tokens and verifies
/// ([`access::verify`]: the key, the signature, `typ`, `iss`, `aud`, `exp`);
/// `None` otherwise. No record is read (the keys are cached), and a token that
/// verified before is not verified again ([`super::verified_memo`]: its key must
/// still be published and its `exp` still ahead).
pub async fn verified_access_token(
    app: &App,
    token: &str,
) -> Result<Option<AccessTokenClaims>, StoreError> {
    if !matches!(classify(token), Presented::AccessToken(_)) {
        return Ok(None);
    }
    let keys = app.key_set().await?;
    let now = now();
    if let Some(claims) = app.verified_tokens.get(token, &keys, now) {
        return Ok(Some(claims));
    }
    let issuer = app
        .config
        .verifies_issuer()
        .then_some(app.config.issuer.as_str());
    let verified = access::verify_keyed(&keys, issuer, &app.config.audience, token, now);
    Ok(verified.map(|(claims, kid)| {
        app.verified_tokens.put(token, kid, &claims, now);
        claims
    }))
}

/// What can have changed since a verified access token was signed, in one
/// `BatchGetItem`: its grant, its client (unless `known_client`: the caller is
/// that client), the revocation list; and the record of `caller_id`, the client
/// calling introspection, when it authenticates in the same read (RFC 7662 §2.1).
pub async fn access_token_state(
    app: &App,
    claims: &AccessTokenClaims,
    known_client: bool,
    caller_id: Option<&str>,
) -> Result<TokenState, StoreError> {
    app.store
        .token_state(&TokenStateQuery {
            grant_id: claims.grant_id.as_deref(),
            client_id: (!known_client).then_some(claims.client_id.as_str()),
            jti: Some(&claims.jti),
            caller_id,
        })
        .await
}

/// Whether a verified access token is active, given its state as read: not
/// revoked, its client registered (known to be when `known_client`), and for a
/// user's token its grant live and its owner valid ([`owner`]; one `GetItem`).
pub async fn judge_access_token(
    app: &App,
    claims: AccessTokenClaims,
    state: TokenState,
    known_client: bool,
) -> Result<Option<ActiveToken>, StoreError> {
    if state.jti_revoked || (!known_client && state.client.is_none()) {
        return Ok(None);
    }
    let mut username = None;
    if claims.grant_id.is_some() {
        let Some(grant) = state.grant else {
            return Ok(None);
        };
        if !grant.is_live()
            || grant.client_id != claims.client_id
            || grant.user.user_id != claims.sub
            || !owner::still_valid(app, &grant.user).await?
        {
            return Ok(None);
        }
        username = Some(grant.user.username);
    }
    Ok(Some(ActiveToken {
        kind: ActiveKind::AccessToken,
        scope: Scope::parse(&claims.scope).unwrap_or_default(),
        client_id: claims.client_id,
        subject: claims.sub,
        audience: claims.aud,
        issued_at: claims.iat,
        expires_at: claims.exp,
        jti: Some(claims.jti),
        username,
        client: state.client,
    }))
}
