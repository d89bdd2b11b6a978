//! The grants of the browser flow at the token endpoint: the authorization code
//! (RFC 6749 §4.1.3, RFC 7636 §4.6) and the refresh token (RFC 6749 §6, RFC 9700
//! §4.14). Both consume a single-use credential with one conditional write, then
//! write the new tokens in one transaction.

pub mod authorization_code;
pub mod refresh_token;

use crate::access_token;
use crate::app::{App, now};
use crate::domain::client::{Client, GrantType};
use crate::domain::scope::Scope;
use crate::domain::token::{TokenKind, TokenRecord};
use crate::error::{TokenError, TokenErrorCode};
use crate::http::response::json_no_store;
use crate::http::{Body, Response};
use crate::secret::{SecretHash, random_token};
use crate::store::{StoreError, TokenStore, UserStore};
use lambda_http::http::StatusCode;
use serde_json::json;

pub(crate) fn invalid_grant(description: &str) -> TokenError {
    TokenError::new(TokenErrorCode::InvalidGrant, description)
}

/// Whether the resource owner of a grant may still be issued tokens: the user
/// exists, is enabled, and is the same user (not one re-created under the name).
pub(crate) async fn user_still_valid(app: &App, record: &TokenRecord) -> Result<bool, TokenError> {
    let Some(username) = &record.username else {
        return Ok(false);
    };
    Ok(app
        .store
        .get_user(username)
        .await?
        .is_some_and(|u| !u.disabled && u.user_id == record.subject))
}

/// Revokes a replayed credential and every token of its grant (RFC 6749 §4.1.2,
/// RFC 9700 §4.14.2): the credential first, by key, so that a redemption racing
/// with this one fails its transaction.
pub(crate) async fn revoke_family(app: &App, record: &TokenRecord) -> Result<(), TokenError> {
    app.store.revoke_token(&record.token_hash).await?;
    let n = app.store.revoke_grant(&record.grant_id).await?;
    tracing::warn!(
        client_id = %record.client_id,
        kind = record.kind.as_str(),
        revoked = n,
        "replayed credential: its grant is revoked"
    );
    Ok(())
}

/// Signs an access token with `scope`, and a new refresh token (carrying the
/// grant's full `grant_scope`) when the client may refresh; writes both (for a
/// refresh, on the condition that `parent` is unrevoked); answers RFC 6749 §5.1.
pub(crate) async fn issue_from(
    app: &App,
    client: &Client,
    parent: &TokenRecord,
    scope: Scope,
    grant_scope: &Scope,
) -> Result<Response<Body>, TokenError> {
    let (access, access_record) = access_token::sign(
        app,
        client,
        &parent.subject,
        parent.username.as_deref(),
        scope,
        &parent.grant_id,
    )
    .await?;
    let mut records = vec![access_record];
    let refresh = client.allows_grant(GrantType::RefreshToken).then(|| {
        let value = random_token();
        let t = now();
        records.push(TokenRecord {
            token_hash: value.hash(),
            kind: TokenKind::RefreshToken,
            client_id: client.client_id.clone(),
            subject: parent.subject.clone(),
            scope: grant_scope.clone(),
            audience: app.config.audience.clone(),
            grant_id: parent.grant_id.clone(),
            jti: None,
            issued_at: t,
            expires_at: t + app.config.refresh_token_ttl,
            revoked: false,
            username: parent.username.clone(),
            code: None,
            used_at: None,
        });
        value
    });
    // A refresh is written only if no replay revoked its token meanwhile (at most
    // one live family). A code's first redemption always completes: exactly one
    // of any number of concurrent redemptions succeeds, and a replay revokes the
    // tokens issued before it (RFC 6749 §4.1.2).
    let unrevoked_parent = (parent.kind == TokenKind::RefreshToken).then_some(&parent.token_hash);
    match app.store.put_tokens_from(unrevoked_parent, &records).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(invalid_grant("the grant was revoked"));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(
        client_id = %client.client_id,
        grant = parent.kind.as_str(),
        scope = %access.scope,
        refresh = refresh.is_some(),
        "access token issued"
    );
    let mut body = json!({
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_in,
        "scope": access.scope.to_string(),
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r.expose());
    }
    Ok(json_no_store(StatusCode::OK, &body))
}

/// Hash of a presented code or refresh token; `None` when it is too long to be one.
pub(crate) fn presented_hash(value: &str) -> Option<SecretHash> {
    (value.len() <= crate::endpoints::introspect::MAX_TOKEN_LENGTH).then(|| SecretHash::of(value))
}
