//! Token revocation (RFC 7009).
//!
//! The client authenticates (confidential) or names itself (public, §2.1). Revoking
//! is idempotent and answers 200 whether or not the token was known (§2.2); a token
//! issued to another client is left alone with the same 200, so the endpoint is no
//! oracle. Revoking a refresh token revokes every token of its grant (§2.1).

use crate::app::App;
use crate::domain::token::TokenKind;
use crate::endpoints::introspect::MAX_TOKEN_LENGTH;
use crate::error::TokenError;
use crate::http::client_auth::{Presented, authenticate};
use crate::http::form::Form;
use crate::http::response::token_error;
use crate::http::{Body, Request, Response};
use crate::secret::SecretHash;
use crate::store::TokenStore;
use lambda_http::http::{HeaderValue, StatusCode, header};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    match revoke(app, &req).await {
        Ok(()) => {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = StatusCode::OK;
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => token_error(&e),
    }
}

async fn revoke(app: &App, req: &Request) -> Result<(), TokenError> {
    let form = Form::from_post(req.method(), req.headers(), req.body())?;
    let presented = Presented::from_request(req.headers(), &form)?;
    let caller = authenticate(&app.store, &presented, true).await?;
    let token = form
        .get("token")
        .ok_or_else(|| TokenError::invalid_request("token is required"))?;
    if token.len() > MAX_TOKEN_LENGTH {
        return Ok(());
    }
    let Some(record) = app.store.get_token(&SecretHash::of(token)).await? else {
        return Ok(());
    };
    if record.client_id != caller.client_id {
        tracing::warn!(client_id = %caller.client_id, "revocation of another client's token ignored");
        return Ok(());
    }
    match record.kind {
        TokenKind::RefreshToken => {
            app.store.revoke_grant(&record.grant_id).await?;
        }
        TokenKind::AccessToken | TokenKind::AuthorizationCode => {
            app.store.revoke_token(&record.token_hash).await?;
        }
    }
    tracing::info!(client_id = %caller.client_id, kind = record.kind.as_str(), "token revoked");
    Ok(())
}
