//! The token endpoint (RFC 6749 §3.2, §5): HTTP to a [`GrantRequest`] and back.
//! Client authentication is the shared step of [`client_auth`]; the grants are in
//! [`crate::grants`].

use crate::app::App;
use crate::domain::client::Client;
use crate::domain::client::GrantType;
use crate::endpoints::http::client_auth::{Presented, authenticate};
use crate::endpoints::http::cors;
use crate::endpoints::http::form::Form;
use crate::endpoints::http::response::{json_no_store, token_error};
use crate::endpoints::http::{Body, Request, Response};
use crate::error::{TokenError, TokenErrorCode};
use crate::grants::{self, GrantRequest};
use crate::secret::Secret;
use lambda_http::http::StatusCode;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    if cors::is_preflight(&req) {
        return cors::preflight_for_clients(app, &req).await;
    }
    let mut client = None;
    let r = match token(app, &req, &mut client).await {
        Ok(r) => r,
        Err(e) => token_error(&e),
    };
    cors::for_client(app, &req, client.as_ref(), r)
}

/// The answer; `authenticated` is the client once it has authenticated, so
/// that its errors too can be read by its browser origins.
async fn token(
    app: &App,
    req: &Request,
    authenticated: &mut Option<Client>,
) -> Result<Response<Body>, TokenError> {
    let form = Form::from_post(req.method(), req.headers(), req.body())?;
    let presented = Presented::from_request(req.headers(), &form)?;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| TokenError::invalid_request("grant_type is required"))?;
    let client = &*authenticated.insert(authenticate(&app.store, &presented, true).await?);
    let grant = grant_type.parse::<GrantType>().map_err(|_| {
        TokenError::new(
            TokenErrorCode::UnsupportedGrantType,
            "the grant type is not supported by this server",
        )
    })?;
    let required = |name: &str| {
        form.get(name)
            .map(Secret::new)
            .ok_or_else(|| TokenError::invalid_request(format!("{name} is required")))
    };
    let owned = |name: &str| form.get(name).map(str::to_owned);
    let request = match grant {
        GrantType::AuthorizationCode => GrantRequest::AuthorizationCode {
            code: required("code")?,
            redirect_uri: owned("redirect_uri"),
            code_verifier: form.get("code_verifier").map(Secret::new),
        },
        GrantType::ClientCredentials => GrantRequest::ClientCredentials {
            scope: owned("scope"),
        },
        GrantType::RefreshToken => GrantRequest::RefreshToken {
            refresh_token: required("refresh_token")?,
            scope: owned("scope"),
        },
    };
    let response = grants::exchange(app, client, request).await?;
    Ok(json_no_store(StatusCode::OK, &response))
}
