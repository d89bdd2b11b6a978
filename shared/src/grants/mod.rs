//! The grants of the token endpoint, one file each: [`authorization_code`]
//! (RFC 6749 §4.1.3, with its issuance at the authorization endpoint),
//! [`client_credentials`] (§4.4) and [`refresh_token`] (§6). Each takes typed
//! parameters and returns a [`TokenResponse`] or an OAuth error; the token
//! endpoint only translates HTTP to a [`GrantRequest`] and the answer back.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use crate::app::App;
use crate::domain::client::{Client, GrantType};
use crate::domain::grant::{Grant, RefreshState};
use crate::domain::grant_lifetime;
use crate::domain::offline_access;
use crate::domain::scope::{OPENID, Scope};
use crate::error::{TokenError, TokenErrorCode};
use crate::secret::Secret;
use crate::store::ClientStore;
use crate::store::GrantUpdate;
use crate::store::{TokenStateQuery, TokenStateStore};
use crate::tokens::access::{self, AccessTokenRequest, IssuedAccessToken};
use crate::tokens::id_token::{self, IdTokenFor};
use crate::tokens::{owner, refresh};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A token request's grant and its parameters (RFC 6749 §4.1.3, §4.4.2, §6.1).
pub enum GrantRequest {
    AuthorizationCode {
        code: Secret,
        redirect_uri: Option<String>,
        code_verifier: Option<Secret>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
    RefreshToken {
        refresh_token: Secret,
        scope: Option<String>,
    },
}

impl GrantRequest {
    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
        }
    }
}

/// A successful token response (RFC 6749 §5.1), with the ID token of a grant
/// whose scope includes `openid` (OpenID Connect Core §3.1.3.3, §12.2).
pub struct TokenResponse {
    pub access_token: IssuedAccessToken,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<String>,
}

impl Serialize for TokenResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("access_token", &self.access_token.token)?;
        m.serialize_entry("token_type", "Bearer")?;
        m.serialize_entry("expires_in", &self.access_token.expires_in)?;
        m.serialize_entry("scope", &self.access_token.scope.to_string())?;
        if let Some(r) = &self.refresh_token {
            m.serialize_entry("refresh_token", r.expose())?;
        }
        if let Some(t) = &self.id_token {
            m.serialize_entry("id_token", t)?;
        }
        m.end()
    }
}

/// The record of the grant a code or refresh token names, when the token
/// endpoint read it with the client's record, in one request. Redemption and
/// refresh use it for their first attempt; a retry reads the grant again.
#[derive(Debug, Default)]
pub struct GrantRead {
    read: Option<(String, Option<Grant>)>,
}

impl GrantRead {
    /// What was read for `grant_id` (`None`: no such grant).
    pub fn of(grant_id: &str, grant: Option<Grant>) -> Self {
        Self {
            read: Some((grant_id.to_owned(), grant)),
        }
    }

    /// The grant `grant_id`: the record read ahead, once, if it was read for
    /// this id; otherwise a strongly consistent read, by the same request type
    /// (so the token function's policy needs no `GetItem` on grants).
    pub(crate) async fn next(
        &mut self,
        app: &App,
        grant_id: &str,
    ) -> Result<Option<Grant>, crate::store::StoreError> {
        match self.read.take() {
            Some((id, grant)) if id == grant_id => Ok(grant),
            _ => {
                let q = TokenStateQuery {
                    grant_id: Some(grant_id),
                    ..TokenStateQuery::default()
                };
                Ok(app.store.token_state(&q).await?.grant)
            }
        }
    }
}

/// Runs the grant of a token request for an authenticated `client`; `read`
/// holds the grant record if it was read with the client's.
pub async fn exchange(
    app: &App,
    client: &Client,
    request: GrantRequest,
    read: GrantRead,
) -> Result<TokenResponse, TokenError> {
    let grant = request.grant_type();
    if !client.allows_grant(grant) {
        return Err(TokenError::new(
            TokenErrorCode::UnauthorizedClient,
            format!("this client is not registered for the {grant} grant"),
        ));
    }
    let response = match request {
        GrantRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            authorization_code::redeem(
                app,
                client,
                authorization_code::Presented {
                    code: code.expose(),
                    redirect_uri: redirect_uri.as_deref(),
                    code_verifier: code_verifier.as_ref().map(Secret::expose),
                },
                read,
            )
            .await?
        }
        GrantRequest::ClientCredentials { scope } => {
            client_credentials::issue(app, client, scope.as_deref()).await?
        }
        GrantRequest::RefreshToken {
            refresh_token,
            scope,
        } => {
            refresh_token::refresh(app, client, refresh_token.expose(), scope.as_deref(), read)
                .await?
        }
    };
    tracing::info!(
        client_id = %client.client_id,
        grant = grant.as_str(),
        scope = %response.access_token.scope,
        refresh = response.refresh_token.is_some(),
        id_token = response.id_token.is_some(),
        "access token issued"
    );
    Ok(response)
}

pub(crate) fn invalid_grant(description: &str) -> TokenError {
    TokenError::new(TokenErrorCode::InvalidGrant, description)
}

pub(crate) const OWNER_UNAVAILABLE: &str = "the resource owner's account is not available";

/// Whether the grant's user and client would let a redemption or refresh
/// transaction pass: asked after one was refused, to tell why.
pub(crate) async fn owner_and_client_valid(
    app: &App,
    grant: &Grant,
) -> Result<bool, crate::store::StoreError> {
    Ok(owner::still_valid(app, &grant.user).await?
        && app.store.get_client(&grant.client_id).await?.is_some())
}

/// How many times a redemption or refresh re-reads its grant after a conflicting
/// write before it gives up (real DynamoDB may cancel a transaction that races
/// another one on the same item).
pub(crate) const ATTEMPTS: usize = 3;

/// The tokens of a grant at one moment: an access token with `scope`, the
/// refresh token of `generation` when the client may refresh (and, for an
/// OpenID grant, was granted `offline_access`: [`offline_access`]), the ID token
/// when the grant's scope includes `openid`; and what the grant record must then
/// say.
pub(crate) struct Issue {
    pub response: TokenResponse,
    pub update: GrantUpdate,
}

/// Signs the access token of `grant` (and its ID token, issued with the code
/// or on refresh as `issued_with` says) and mints its refresh token of
/// `generation`, obtained by presenting `parent` (when the client may refresh).
/// Nothing is written: the caller's transaction makes them valid, or they are
/// dropped.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn issue_for(
    app: &App,
    client: &Client,
    grant: &Grant,
    scope: Scope,
    issued_with: IdTokenFor,
    generation: u64,
    parent: u64,
    now: u64,
) -> Result<Issue, TokenError> {
    let access_token = access::sign(
        app,
        AccessTokenRequest {
            client_id: &client.client_id,
            lifetime: client.access_token_ttl,
            subject: &grant.user.user_id,
            scope,
            grant_id: Some(&grant.grant_id),
        },
    )
    .await?;
    // The ID token lives as long as the access token it is issued with.
    let id_token = if grant.scope.contains(OPENID) {
        Some(
            id_token::sign(
                app,
                grant,
                issued_with,
                &access_token.token,
                access_token.expires_in,
            )
            .await?,
        )
    } else {
        None
    };
    let may_refresh =
        client.allows_grant(GrantType::RefreshToken) && offline_access::may_refresh(&grant.scope);
    let (refresh_token, refresh) = if may_refresh {
        let key = app.refresh_key().await?;
        (
            Some(refresh::mint(&key, &grant.grant_id, generation)),
            Some(RefreshState {
                generation,
                parent,
                issued_at: now,
                expires_at: grant_lifetime::refresh_expires_at(
                    grant.created_at,
                    app.config.grant_max_lifetime,
                    now,
                    app.config.refresh_token_ttl,
                ),
            }),
        )
    } else {
        (None, None)
    };
    let expires_at = refresh
        .map_or(0, |r| r.expires_at)
        .max(now + access_token.expires_in);
    Ok(Issue {
        response: TokenResponse {
            access_token,
            refresh_token,
            id_token,
        },
        update: GrantUpdate {
            now,
            refresh,
            expires_at,
        },
    })
}
