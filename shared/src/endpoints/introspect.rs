//! Token introspection (RFC 7662): HTTP around [`crate::tokens::active`].
//!
//! Only authenticated confidential clients may introspect (§2.1, RFC 9700 §4.14):
//! a client sees its own tokens; a client registered with `introspect_any` (a
//! resource server) sees every token. Anything else — unknown, expired, revoked,
//! rotated out, another client's, or a token whose grant ended, whose client was
//! deleted or whose user was disabled or deleted — is `{"active": false}` (§2.2),
//! so the answer reveals nothing about tokens the caller may not see.
//!
//! An access token that verifies is judged in one `BatchGetItem`: the caller's
//! client record is read with the token's state
//! ([`crate::tokens::active::access_token_state`]) and the caller authenticated
//! against it before the token's state is judged. Any other value costs the
//! caller's `GetItem` first, then what [`active`] reads.

use crate::app::App;
use crate::domain::client::Client;
use crate::endpoints::http::client_auth::{Presented, authenticate, check};
use crate::endpoints::http::form::Form;
use crate::endpoints::http::response::{json_no_store, token_error};
use crate::endpoints::http::{Body, Request, Response};
use crate::error::TokenError;
use crate::tokens::active::{
    ActiveKind, ActiveToken, access_token_state, active, judge_access_token, verified_access_token,
};
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
    let Some(t) = active_for_caller(app, &presented, form.get("token")).await? else {
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

/// The token, if it is active and the authenticated caller may see it (§2.1).
async fn active_for_caller(
    app: &App,
    presented: &Presented,
    token: Option<&str>,
) -> Result<Option<ActiveToken>, TokenError> {
    let with_secret = matches!(presented, Presented::Basic { .. } | Presented::Post { .. });
    if let (true, Some(caller_id), Some(token)) = (with_secret, presented.client_id(), token)
        && let Some(claims) = verified_access_token(app, token).await?
    {
        let known_client = claims.client_id == caller_id;
        let mut state = access_token_state(app, &claims, known_client, Some(caller_id)).await?;
        let caller = check(presented, state.caller.take(), false)?;
        if !visible_to(&caller, &claims.client_id) {
            return Ok(None);
        }
        return Ok(judge_access_token(app, claims, state, known_client).await?);
    }
    let caller = authenticate(&app.store, presented, false).await?;
    let token = token.ok_or_else(|| TokenError::invalid_request("token is required"))?;
    let visible = |client_id: &str| visible_to(&caller, client_id);
    Ok(active(app, token, &visible, Some(&caller)).await?)
}

/// A client sees its own tokens; one registered with `introspect_any` sees all.
fn visible_to(caller: &Client, client_id: &str) -> bool {
    client_id == caller.client_id || caller.introspect_any
}
