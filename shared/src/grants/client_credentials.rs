//! The client credentials grant (RFC 6749 §4.4): the client acts on its own
//! behalf, so `sub` is its client id (RFC 9068 §2.2), no refresh token is issued
//! (§4.4.3), and no grant record is kept: the token is self-contained, and only
//! the client's existence and the revocation list can end it. No write.

use super::TokenResponse;
use crate::app::App;
use crate::domain::client::Client;
use crate::domain::scope::requested_scope;
use crate::error::{TokenError, TokenErrorCode};
use crate::tokens::access::{self, AccessTokenRequest};

pub async fn issue(
    app: &App,
    client: &Client,
    scope: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let scope = requested_scope(scope, &client.default_scope, &client.allowed_scope)
        .map_err(|d| TokenError::new(TokenErrorCode::InvalidScope, d))?;
    let access_token = access::sign(
        app,
        AccessTokenRequest {
            client_id: &client.client_id,
            lifetime: client.access_token_ttl,
            subject: &client.client_id,
            scope,
            grant_id: None,
        },
    )
    .await?;
    Ok(TokenResponse {
        access_token,
        refresh_token: None,
        // No user signed in: no ID token, whatever the scope (OpenID Connect
        // Core §2 is about an End-User's authentication).
        id_token: None,
    })
}
