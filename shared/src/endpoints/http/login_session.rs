//! The signed-in session of a browser request: the session cookie
//! ([`super::cookies`]) names an open login session record whose secret it holds,
//! and the user is still valid at the session's epoch ([`crate::tokens::owner`]).

use super::cookies::{CookieNames, cookie};
use crate::app::{App, now};
use crate::domain::grant::GrantOwner;
use crate::domain::session::{LoginSession, parse_cookie};
use crate::domain::user::UserState;
use crate::store::{SessionStore, StoreError, UserStore};
use crate::tokens::owner;
use lambda_http::http::HeaderMap;

/// The session and its user; `None` without a cookie, or when the session is
/// unknown, ended, expired, its secret wrong, or its user no longer valid.
pub async fn signed_in(
    app: &App,
    headers: &HeaderMap,
    names: &CookieNames,
) -> Result<Option<(LoginSession, UserState)>, StoreError> {
    let Some((id, secret)) = cookie(headers, names.session).and_then(parse_cookie) else {
        return Ok(None);
    };
    let Some(s) = app.store.get_session(id).await? else {
        return Ok(None);
    };
    if !s.secret_hash.matches(secret) || !s.is_open(now()) {
        return Ok(None);
    }
    let user = app.store.get_user_state(&s.username).await?;
    let owner_of_session = GrantOwner {
        user_id: s.user_id.clone(),
        username: s.username.clone(),
        epoch: s.user_epoch,
    };
    if !owner::is_valid(user.as_ref(), &owner_of_session) {
        return Ok(None);
    }
    Ok(user.map(|u| (s, u)))
}
