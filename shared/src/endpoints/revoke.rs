//! Token revocation (RFC 7009).
//!
//! The client authenticates (confidential) or names itself (public, §2.1). Revoking
//! is idempotent and answers 200 whether or not the token was known (§2.2); a token
//! issued to another client is left alone with the same 200, so the endpoint is no
//! oracle. Revoking any refresh token of a grant, current or rotated out, ends the
//! grant and so every token issued from it (§2.1): one conditional write. Revoking
//! an access token puts its `jti` on the revocation list until it expires.

use crate::app::{App, now};
use crate::domain::client::Client;
use crate::domain::grant::RevokeReason;
use crate::endpoints::http::client_auth::{Presented, authenticate};
use crate::endpoints::http::cors;
use crate::endpoints::http::form::Form;
use crate::endpoints::http::response::token_error;
use crate::endpoints::http::{Body, Request, Response};
use crate::error::TokenError;
use crate::store::{GrantStore, TokenStateStore};
use crate::tokens::presented::{self, classify};
use crate::tokens::{access, refresh};
use lambda_http::http::{HeaderValue, StatusCode, header};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    if cors::is_preflight(&req) {
        return cors::preflight_for_clients(app, &req).await;
    }
    let mut client = None;
    let r = match revoke(app, &req, &mut client).await {
        Ok(()) => {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = StatusCode::OK;
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => token_error(&e),
    };
    cors::for_client(app, &req, client.as_ref(), r)
}

/// Revokes; `authenticated` is the caller once it has authenticated.
async fn revoke(
    app: &App,
    req: &Request,
    authenticated: &mut Option<Client>,
) -> Result<(), TokenError> {
    let form = Form::from_post(req.method(), req.headers(), req.body())?;
    let presented = Presented::from_request(req.headers(), &form)?;
    let caller = &*authenticated.insert(authenticate(&app.store, &presented, true).await?);
    let token = form
        .get("token")
        .ok_or_else(|| TokenError::invalid_request("token is required"))?;
    match classify(token) {
        presented::Presented::RefreshToken(r) => {
            if !refresh::issued_here(app, &r).await? {
                return Ok(());
            }
            let revoked = app
                .store
                .revoke_grant(
                    r.grant_id,
                    Some(&caller.client_id),
                    RevokeReason::ClientRevocation,
                    now(),
                )
                .await?;
            tracing::info!(client_id = %caller.client_id, revoked, "refresh token revoked: its grant ended");
        }
        presented::Presented::AccessToken(t) => {
            let keys = app.key_set().await?;
            let issuer = Some(app.config.issuer.as_str());
            let Some(claims) = access::verify(&keys, issuer, &app.config.audience, t, now()) else {
                return Ok(());
            };
            if claims.client_id != caller.client_id {
                tracing::warn!(client_id = %caller.client_id, "revocation of another client's token ignored");
                return Ok(());
            }
            app.store
                .revoke_access_token(&claims.jti, &claims.client_id, claims.exp)
                .await?;
            tracing::info!(client_id = %caller.client_id, "access token revoked");
        }
        // Codes are not tokens of RFC 7009; unknown values need nothing.
        presented::Presented::Code(_) | presented::Presented::Unknown => {}
    }
    Ok(())
}
