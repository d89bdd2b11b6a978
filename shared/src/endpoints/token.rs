//! The token endpoint (RFC 6749 §3.2, §5): client authentication, then the grant:
//! client credentials (§4.4) here, the authorization code (§4.1.3) and refresh
//! token (§6) grants in [`crate::grants`].

use crate::access_token;
use crate::app::App;
use crate::domain::client::{Client, GrantType};
use crate::domain::scope::Scope;
use crate::error::{TokenError, TokenErrorCode};
use crate::http::client_auth::{Presented, authenticate};
use crate::http::form::Form;
use crate::http::response::{json_no_store, token_error};
use crate::http::{Body, Request, Response};
use crate::secret::random_id;
use lambda_http::http::StatusCode;
use serde_json::json;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    match token(app, &req).await {
        Ok(r) => r,
        Err(e) => token_error(&e),
    }
}

async fn token(app: &App, req: &Request) -> Result<Response<Body>, TokenError> {
    let form = Form::from_post(req.method(), req.headers(), req.body())?;
    let presented = Presented::from_request(req.headers(), &form)?;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| TokenError::invalid_request("grant_type is required"))?;
    let client = authenticate(&app.store, &presented, true).await?;
    let grant = grant_type.parse::<GrantType>().map_err(|_| {
        TokenError::new(
            TokenErrorCode::UnsupportedGrantType,
            "the grant type is not supported by this server",
        )
    })?;
    if !client.allows_grant(grant) {
        return Err(TokenError::new(
            TokenErrorCode::UnauthorizedClient,
            format!("this client is not registered for the {grant} grant"),
        ));
    }
    match grant {
        GrantType::ClientCredentials => client_credentials(app, &client, &form).await,
        GrantType::AuthorizationCode => {
            crate::grants::authorization_code::redeem(app, &client, &form).await
        }
        GrantType::RefreshToken => crate::grants::refresh_token::refresh(app, &client, &form).await,
    }
}

/// The client credentials grant (RFC 6749 §4.4): the client acts on its own behalf,
/// so `sub` is its client id, and no refresh token is issued (§4.4.3).
async fn client_credentials(
    app: &App,
    client: &Client,
    form: &Form,
) -> Result<Response<Body>, TokenError> {
    let scope = requested_scope(form.get("scope"), client)?;
    let grant_id = random_id();
    let issued = access_token::issue(app, client, &client.client_id, scope, &grant_id).await?;
    tracing::info!(client_id = %client.client_id, grant = "client_credentials", scope = %issued.scope, "access token issued");
    Ok(json_no_store(
        StatusCode::OK,
        &json!({
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope.to_string(),
        }),
    ))
}

/// The scope to grant (RFC 6749 §3.3): the requested scope when it is well formed
/// and within the client's allowed scopes, else `invalid_scope`; the client's
/// default scopes when none is requested.
pub fn requested_scope(requested: Option<&str>, client: &Client) -> Result<Scope, TokenError> {
    let invalid = |d: String| TokenError::new(TokenErrorCode::InvalidScope, d);
    let scope = match requested {
        None => client.default_scope.clone(),
        Some(s) => {
            Scope::parse(s).ok_or_else(|| invalid("the scope parameter is malformed".into()))?
        }
    };
    if scope.is_empty() {
        return Err(invalid(
            "no scope was requested and the client has no default scope".into(),
        ));
    }
    let outside = scope.difference(&client.allowed_scope);
    if !outside.is_empty() {
        return Err(invalid(format!(
            "scope not allowed for this client: {}",
            outside.join(" ")
        )));
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::ClientType;

    fn client() -> Client {
        Client {
            client_id: "c".into(),
            name: "c".into(),
            client_type: ClientType::Confidential,
            secret_hash: None,
            previous_secret: None,
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            allowed_scope: Scope::parse("read write").unwrap(),
            default_scope: Scope::parse("read").unwrap(),
            access_token_ttl: None,
            introspect_any: false,
            skip_consent: false,
            created_at: 0,
        }
    }

    #[test]
    fn requested_scope_is_narrowed_defaulted_or_refused() {
        let c = client();
        let ok = |s: Option<&str>| requested_scope(s, &c).unwrap().to_string();
        assert_eq!(ok(None), "read");
        assert_eq!(ok(Some("write")), "write");
        assert_eq!(ok(Some("write read")), "read write");
        for bad in ["admin", "read admin", "read  write", "re\"ad"] {
            assert_eq!(
                requested_scope(Some(bad), &c).unwrap_err().code,
                TokenErrorCode::InvalidScope,
                "{bad}"
            );
        }
        let mut no_default = client();
        no_default.default_scope = Scope::default();
        assert_eq!(
            requested_scope(None, &no_default).unwrap_err().code,
            TokenErrorCode::InvalidScope
        );
    }
}
