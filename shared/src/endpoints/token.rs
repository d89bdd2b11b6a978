//! The token endpoint (RFC 6749 §3.2, §5): HTTP to a [`GrantRequest`] and back.
//! Client authentication is the shared step of [`client_auth`]; the grants are in
//! [`crate::grants`].
//!
//! A code or refresh token names its grant, so that grant's record is read with
//! the client's in one `BatchGetItem` and the client authenticated against what
//! was read ([`authenticate_reading_grant`]); nothing of the grant is used
//! unless the client authenticates.

use crate::app::App;
use crate::domain::client::Client;
use crate::domain::client::GrantType;
use crate::endpoints::http::client_auth::{Presented, authenticate, check};
use crate::endpoints::http::cors;
use crate::endpoints::http::form::Form;
use crate::endpoints::http::response::{json_no_store, token_error};
use crate::endpoints::http::{Body, Request, Response};
use crate::error::{TokenError, TokenErrorCode};
use crate::grants::{self, GrantRead, GrantRequest};
use crate::secret::Secret;
use crate::store::{TokenStateQuery, TokenStateStore};
use crate::tokens::presented;
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
    let grant = grant_type.parse::<GrantType>();
    let named = match grant {
        Ok(GrantType::AuthorizationCode) => form
            .get("code")
            .and_then(presented::code)
            .map(|c| c.grant_id),
        Ok(GrantType::RefreshToken) => form
            .get("refresh_token")
            .and_then(presented::refresh)
            .map(|r| r.grant_id),
        _ => None,
    };
    let (client, read) = authenticate_reading_grant(app, &presented, named).await?;
    let client = &*authenticated.insert(client);
    let grant = grant.map_err(|_| {
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
    let response = grants::exchange(app, client, request, read).await?;
    Ok(json_no_store(StatusCode::OK, &response))
}

/// Authenticates the client (public clients too, RFC 6749 §2.1); when the
/// request names a grant (`grant_id`) and a client, both records are read in one
/// request, and the grant's is handed on only with the authenticated client.
async fn authenticate_reading_grant(
    app: &App,
    presented: &Presented,
    grant_id: Option<&str>,
) -> Result<(Client, GrantRead), TokenError> {
    let (Some(grant_id), Some(client_id)) = (grant_id, presented.client_id()) else {
        return Ok((
            authenticate(&app.store, presented, true).await?,
            GrantRead::default(),
        ));
    };
    let state = app
        .store
        .token_state(&TokenStateQuery {
            grant_id: Some(grant_id),
            caller_id: Some(client_id),
            ..TokenStateQuery::default()
        })
        .await?;
    let client = check(presented, state.caller, true)?;
    Ok((client, GrantRead::of(grant_id, state.grant)))
}
