//! The UserInfo request below HTTP (OpenID Connect Core §5.3): from a presented
//! access token to the claims about its user, or why there are none.
//!
//! The token must be active ([`super::active::active_access_token`]: signature,
//! expiry, revocation list, client, grant and owner), be a user's, and carry the
//! `openid` scope (§5.3: the token was "obtained through OpenID Connect
//! Authentication"). The claims are then read from the user (one `GetItem` that
//! projects the profile attributes alone) and chosen by scope
//! ([`crate::domain::userinfo_claims`]).

use super::active::active_access_token;
use crate::app::App;
use crate::domain::client::Client;
use crate::domain::userinfo_claims::{OPENID_SCOPE, Subject, userinfo_claims};
use crate::store::{StoreError, UserStore};
use serde_json::{Map, Value};

/// Why a UserInfo request gets no claims (Core §5.3.3 uses RFC 6750 §3.1's codes).
#[derive(Debug)]
pub enum UserinfoError {
    /// `invalid_token`: the token is not an active user access token. The cause
    /// is for the log only.
    InvalidToken(&'static str),
    /// `insufficient_scope`: the token is active but lacks `openid`.
    InsufficientScope,
    Store(StoreError),
}

impl From<StoreError> for UserinfoError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The UserInfo claims for the bearer of `token`. `token_client` is set to the
/// client the token was issued to (its `client_id` claim, RFC 9068 §2.2) when the
/// answer is the claims or `insufficient_scope`, so that the endpoint can tell
/// which browser origins may read it; never for `invalid_token`.
///
/// A client-credentials token is `invalid_token`, not `insufficient_scope`: it
/// was issued to a client acting for itself (RFC 6749 §4.4), there is no End-User
/// whose claims §5.3 could return, and no scope would make one appear, so the
/// token is "invalid for other reasons" (RFC 6750 §3.1) here. Its `sub` is the
/// client id, which must never be mistaken for a user's.
pub async fn userinfo(
    app: &App,
    token: &str,
    token_client: &mut Option<Client>,
) -> Result<Map<String, Value>, UserinfoError> {
    let Some(mut active) = active_access_token(app, token, &|_| true, None).await? else {
        return Err(UserinfoError::InvalidToken(
            "not an active access token (unknown, expired, revoked, or its grant ended)",
        ));
    };
    let Some(username) = active.username.as_deref() else {
        return Err(UserinfoError::InvalidToken(
            "a client credentials token: no user",
        ));
    };
    if !active.scope.contains(OPENID_SCOPE) {
        *token_client = active.client.take();
        return Err(UserinfoError::InsufficientScope);
    }
    // Deleted, or deleted and created again, since the owner check just now.
    let user = app
        .store
        .get_user_profile(username)
        .await?
        .filter(|u| u.user_id == active.subject)
        .ok_or(UserinfoError::InvalidToken("the user is gone"))?;
    *token_client = active.client.take();
    let subject = Subject {
        sub: &user.user_id,
        username: &user.username,
        profile: &user.profile,
    };
    Ok(userinfo_claims(&subject, &active.scope))
}
