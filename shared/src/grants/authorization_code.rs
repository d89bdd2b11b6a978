//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3).

use super::{invalid_grant, issue_from, presented_hash, revoke_family, user_still_valid};
use crate::app::{App, now};
use crate::domain::client::Client;
use crate::domain::token::TokenKind;
use crate::error::TokenError;
use crate::http::form::Form;
use crate::http::{Body, Response};
use crate::store::{TokenStore, TokenUse};

const INVALID_CODE: &str = "the authorization code is invalid, expired or already used";

/// Redeems a code: once only (a conditional write), then checks client, expiry,
/// redirect URI, PKCE verifier and user, then issues the tokens. A second
/// redemption fails and revokes what the first one issued (§4.1.2).
pub async fn redeem(app: &App, client: &Client, form: &Form) -> Result<Response<Body>, TokenError> {
    let code = form
        .get("code")
        .ok_or_else(|| TokenError::invalid_request("code is required"))?;
    let Some(hash) = presented_hash(code) else {
        return Err(invalid_grant(INVALID_CODE));
    };
    let record = match app
        .store
        .use_token(&hash, TokenKind::AuthorizationCode, now())
        .await?
    {
        TokenUse::Unknown => return Err(invalid_grant(INVALID_CODE)),
        TokenUse::Again(record) => {
            revoke_family(app, &record).await?;
            return Err(invalid_grant(INVALID_CODE));
        }
        TokenUse::First(record) => record,
    };
    if record.client_id != client.client_id {
        tracing::warn!(client_id = %client.client_id, "code issued to another client refused");
        return Err(invalid_grant(INVALID_CODE));
    }
    if !record.is_active(now()) {
        return Err(invalid_grant(INVALID_CODE));
    }
    let Some(binding) = &record.code else {
        return Err(TokenError::server_error(
            "authorization code without its binding",
        ));
    };
    // RFC 6749 §4.1.3: redirect_uri is required, and identical, when the
    // authorization request had one; when given otherwise it must still match.
    match form.get("redirect_uri") {
        Some(given) if given == binding.redirect_uri => {}
        None if !binding.redirect_uri_in_request => {}
        None => {
            return Err(invalid_grant(
                "redirect_uri is required: the authorization request had one",
            ));
        }
        Some(_) => {
            return Err(invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
    }
    // RFC 7636 §4.6; RFC 9700 §4.8.2: a verifier for a code issued without a
    // challenge is refused too (PKCE downgrade).
    match (&binding.challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if !challenge.verify(verifier) {
                return Err(invalid_grant(
                    "the code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => return Err(invalid_grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(invalid_grant(
                "code_verifier given, but the authorization request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    if !user_still_valid(app, &record).await? {
        return Err(invalid_grant(
            "the resource owner's account is not available",
        ));
    }
    let scope = record.scope.clone();
    issue_from(app, client, &record, scope.clone(), &scope).await
}
