//! Token introspection (RFC 7662): HTTP around [`crate::tokens::active`].
//!
//! Only authenticated confidential clients may introspect (§2.1, RFC 9700 §4.14):
//! a client sees its own tokens; a client registered with `introspect_any` (a
//! resource server) sees every token. Anything else — unknown, expired, revoked,
//! rotated out, another client's, or a token whose grant ended, whose client was
//! deleted or whose user was disabled or deleted — is `{"active": false}` (§2.2),
//! so the answer reveals nothing about tokens the caller may not see.

use crate::app::App;
use crate::endpoints::http::client_auth::{Presented, authenticate};
use crate::endpoints::http::form::Form;
use crate::endpoints::http::response::{json_no_store, token_error};
use crate::endpoints::http::{Body, Request, Response};
use crate::error::TokenError;
use crate::tokens::active::{ActiveKind, active};
use lambda_http::http::StatusCode;
use serde_json::json;

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
    let visible = |client_id: &str| client_id == caller.client_id || caller.introspect_any;
    let Some(t) = active(app, token, &visible, Some(&caller)).await? else {
        return Ok(json_no_store(StatusCode::OK, &json!({ "active": false })));
    };
    let mut body = json!({
        "active": true,
        "scope": t.scope.to_string(),
        "client_id": t.client_id,
        "sub": t.subject,
        "aud": t.audience,
        "iss": app.config.issuer,
        "exp": t.expires_at,
        "iat": t.issued_at,
    });
    if t.kind == ActiveKind::AccessToken {
        body["token_type"] = json!("Bearer");
    }
    if let Some(jti) = &t.jti {
        body["jti"] = json!(jti);
    }
    if let Some(username) = &t.username {
        body["username"] = json!(username);
    }
    Ok(json_no_store(StatusCode::OK, &body))
}
