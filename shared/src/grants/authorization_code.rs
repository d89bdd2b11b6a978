//! The authorization code grant: issuing the code at the authorization endpoint
//! (RFC 6749 §4.1.2) and redeeming it at the token endpoint (§4.1.3).
//!
//! Issuing a code creates the grant record; the code is `{grant_id}.{secret}` and
//! the grant keeps its hash and what it is bound to. A redemption checks the code
//! against that binding first ([`check_redemption`]), so a wrong client, redirect
//! URI or verifier uses nothing up; then one transaction marks the code redeemed,
//! conditioned on the grant being live, the code unredeemed, the user valid and
//! the client registered. A code presented again by its owner ends the grant:
//! every token issued from it is inactive at once (§4.1.2, §10.5), even while
//! the first redemption is still running.

use super::{
    ATTEMPTS, GrantRead, OWNER_UNAVAILABLE, TokenResponse, invalid_grant, issue_for,
    owner_and_client_valid,
};
use crate::app::{App, now};
use crate::domain::client::Client;
use crate::domain::grant::{
    CodeBinding, CodeRefusal, CodeState, Grant, GrantOwner, GrantState, Redemption, RevokeReason,
    check_redemption,
};
use crate::domain::grant_lifetime;
use crate::domain::scope::Scope;
use crate::domain::session::LoginSession;
use crate::error::TokenError;
use crate::secret::{Secret, random_id, random_token};
use crate::store::{GrantStore, StoreError, StoreResult};
use crate::tokens::id_token::IdTokenFor;
use crate::tokens::presented;

/// What a code is issued for: the client, the signed-in user's session, the
/// approved scope, and the request's redirect URI and PKCE challenge.
pub struct CodeIssue<'a> {
    pub client: &'a Client,
    pub session: &'a LoginSession,
    pub scope: Scope,
    pub binding: CodeBinding,
}

/// Issues a code (RFC 6749 §4.1.2): 256 random bits, bound and short-lived. The
/// grant is written in one transaction with the session's last use; `None` if
/// the session ended meanwhile.
pub async fn issue(app: &App, r: CodeIssue<'_>) -> StoreResult<Option<Secret>> {
    let t = now();
    let grant_id = random_id();
    let code = Secret::new(presented::code_value(&grant_id, random_token().expose()));
    let expires_at = t + app.config.code_ttl;
    let grant = Grant {
        grant_id,
        client_id: r.client.client_id.clone(),
        user: GrantOwner {
            user_id: r.session.user_id.clone(),
            username: r.session.username.clone(),
            epoch: r.session.user_epoch,
        },
        scope: r.scope,
        created_at: t,
        last_used_at: t,
        session_id: r.session.session_id.clone(),
        auth_time: r.session.auth_time,
        amr: r.session.amr.clone(),
        state: GrantState::Live,
        code: CodeState {
            hash: code.hash(),
            binding: r.binding,
            expires_at,
            redeemed_at: None,
        },
        refresh: None,
        expires_at,
    };
    match app.store.create_grant(&grant, t).await {
        Ok(()) => {
            tracing::info!(client_id = %grant.client_id, scope = %grant.scope, "authorization code issued");
            Ok(Some(code))
        }
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a token request presents with the code.
pub struct Presented<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

/// Redeems a code for the authenticated `client`; `read` may hold its grant's
/// record, read with the client's.
pub async fn redeem(
    app: &App,
    client: &Client,
    p: Presented<'_>,
    mut read: GrantRead,
) -> Result<TokenResponse, TokenError> {
    let invalid = || invalid_grant(CodeRefusal::Invalid.description());
    let Some(code) = presented::code(p.code) else {
        return Err(invalid());
    };
    let redemption = Redemption {
        client_id: &client.client_id,
        code: code.value,
        redirect_uri: p.redirect_uri,
        code_verifier: p.code_verifier,
    };
    for _ in 0..ATTEMPTS {
        let Some(grant) = read.next(app, code.grant_id).await? else {
            return Err(invalid());
        };
        let t = now();
        match check_redemption(&grant, &redemption, t) {
            Ok(()) => {}
            Err(CodeRefusal::Replay) => {
                // The owner presents a redeemed code: a replay (RFC 6749 §4.1.2).
                app.store
                    .revoke_grant(&grant.grant_id, None, RevokeReason::CodeReplay, t)
                    .await?;
                tracing::warn!(client_id = %client.client_id, "authorization code replayed: its grant is revoked");
                return Err(invalid());
            }
            Err(refusal) => {
                if refusal == CodeRefusal::Invalid && grant.client_id != client.client_id {
                    tracing::warn!(client_id = %client.client_id, "code issued to another client refused");
                }
                return Err(invalid_grant(refusal.description()));
            }
        }
        // A cap shorter than the code's lifetime: the grant ended before its code
        // was used (RFC 6749 §5.2 `invalid_grant`).
        if grant_lifetime::has_ended(grant.created_at, app.config.grant_max_lifetime, t) {
            return Err(invalid());
        }
        let scope = grant.scope.clone();
        let issue = issue_for(app, client, &grant, scope, IdTokenFor::Code, 1, 0, t).await?;
        match app.store.redeem_code(&grant, &issue.update).await {
            Ok(()) => return Ok(issue.response),
            Err(StoreError::Conflict) => {
                // Redeemed or revoked meanwhile (the next read tells), or the user
                // or client is gone.
                if !owner_and_client_valid(app, &grant).await? {
                    return Err(invalid_grant(OWNER_UNAVAILABLE));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(TokenError::server_error(
        "the code redemption kept conflicting with other writes",
    ))
}
