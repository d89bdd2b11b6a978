//! JWT access tokens (RFC 9068), and the record that lets them be introspected and
//! revoked.

use crate::app::{App, now};
use crate::domain::client::Client;
use crate::domain::scope::Scope;
use crate::domain::token::{TokenKind, TokenRecord};
use crate::error::TokenError;
use crate::secret::{SecretHash, random_id};
use crate::store::TokenStore;
use jsonwebtoken::{Header, encode};
use serde::Serialize;

/// The claims of RFC 9068 §2.2.
#[derive(Serialize)]
pub struct AccessTokenClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub exp: u64,
    pub iat: u64,
    pub jti: &'a str,
    pub client_id: &'a str,
    pub scope: String,
}

/// An access token as handed to the client.
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: u64,
    pub scope: Scope,
}

/// Signs an access token and records it (client credentials: one write).
pub async fn issue(
    app: &App,
    client: &Client,
    subject: &str,
    scope: Scope,
    grant_id: &str,
) -> Result<IssuedAccessToken, TokenError> {
    let (issued, record) = sign(app, client, subject, None, scope, grant_id).await?;
    app.store.put_token(&record).await?;
    Ok(issued)
}

/// Signs an access token for `client` and `subject` with the active key
/// (header `typ: at+jwt`, RFC 9068 §2.1) and returns it with the record to store
/// under `grant_id`. The caller writes the record.
pub async fn sign(
    app: &App,
    client: &Client,
    subject: &str,
    username: Option<&str>,
    scope: Scope,
    grant_id: &str,
) -> Result<(IssuedAccessToken, TokenRecord), TokenError> {
    let keys = app.key_set().await?;
    let signing = keys.signing.as_ref().ok_or_else(|| {
        TokenError::server_error("no active signing key: run `gatehouse keys rotate`")
    })?;
    let iat = now();
    let expires_in = client
        .access_token_ttl
        .unwrap_or(app.config.access_token_ttl);
    let jti = random_id();
    let claims = AccessTokenClaims {
        iss: &app.config.issuer,
        sub: subject,
        aud: &app.config.audience,
        exp: iat + expires_in,
        iat,
        jti: &jti,
        client_id: &client.client_id,
        scope: scope.to_string(),
    };
    let mut header = Header::new(signing.alg.jwt_algorithm());
    header.typ = Some("at+jwt".into());
    header.kid = Some(signing.kid.clone());
    let token =
        encode(&header, &claims, signing.encoding_key()).map_err(TokenError::server_error)?;
    let record = TokenRecord {
        token_hash: SecretHash::of(&token),
        kind: TokenKind::AccessToken,
        client_id: client.client_id.clone(),
        subject: subject.to_owned(),
        scope: scope.clone(),
        audience: app.config.audience.clone(),
        grant_id: grant_id.to_owned(),
        jti: Some(jti),
        issued_at: iat,
        expires_at: iat + expires_in,
        revoked: false,
        username: username.map(str::to_owned),
        code: None,
        used_at: None,
    };
    Ok((
        IssuedAccessToken {
            token,
            expires_in,
            scope,
        },
        record,
    ))
}
