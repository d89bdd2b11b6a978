//! An RP-initiated logout below HTTP (OpenID Connect RP-Initiated Logout 1.0 §2,
//! §3, §4): the request's `id_token_hint` verified ([`super::id_token_hint`]), the
//! client it names read, its `post_logout_redirect_uri` matched against that
//! client's registered ones; and the end of a login session. The decisions are
//! [`crate::domain::rp_initiated_logout`]'s.

use super::id_token_hint::{self, IdTokenHint};
use crate::app::{App, now};
use crate::backchannel_logout;
use crate::domain::client::Client;
use crate::domain::client::could_be_registered;
use crate::domain::rp_initiated_logout::{LogoutRefusal, client_named};
use crate::domain::session::LoginSession;
use crate::store::{ClientStore, SessionStore, StoreError};

/// The parameters of a logout request (§2) that this server acts on;
/// `ui_locales` and `logout_hint` are accepted and not needed (one language, one
/// account per session).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogoutParameters<'a> {
    pub id_token_hint: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

/// Where the browser goes after logout (§3): a URI the client registered, with
/// the request's `state`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostLogoutRedirect {
    pub uri: String,
    pub state: Option<String>,
}

/// A logout request whose every part validated.
#[derive(Clone, Debug)]
pub struct CheckedLogout {
    /// The verified hint, when one was given.
    pub hint: Option<IdTokenHint>,
    /// The client it names (by `client_id` or the hint's `aud`), when it exists.
    pub client: Option<Client>,
    pub redirect: Option<PostLogoutRedirect>,
}

/// Checks a logout request (§2, §3, §4). A refusal means an error page and no
/// logout: whatever failed to validate is not used (§4).
pub async fn check(
    app: &App,
    p: &LogoutParameters<'_>,
) -> Result<Result<CheckedLogout, LogoutRefusal>, StoreError> {
    let hint = match p.id_token_hint {
        None => None,
        Some(token) => {
            let keys = app.key_set().await?;
            match id_token_hint::verify(&keys, &app.config.issuer, token) {
                Some(h) => Some(h),
                None => return Ok(Err(LogoutRefusal::InvalidHint)),
            }
        }
    };
    let client_id = match client_named(p.client_id, hint.as_ref().map(|h| h.client_id.as_str())) {
        Ok(c) => c.map(str::to_owned),
        Err(r) => return Ok(Err(r)),
    };
    let client = match client_id.as_deref() {
        Some(id) if could_be_registered(id) => app.store.get_client(id).await?,
        _ => None,
    };
    let redirect = match p.post_logout_redirect_uri {
        None => None,
        Some(given) => {
            if client_id.is_none() {
                return Ok(Err(LogoutRefusal::UnidentifiedClient));
            }
            let Some(c) = &client else {
                return Ok(Err(LogoutRefusal::UnknownClient));
            };
            match c.registered_post_logout_redirect_uri(given) {
                Some(uri) => Some(PostLogoutRedirect {
                    uri: uri.to_owned(),
                    state: p.state.map(str::to_owned),
                }),
                None => return Ok(Err(LogoutRefusal::UnregisteredRedirectUri)),
            }
        }
    };
    Ok(Ok(CheckedLogout {
        hint,
        client,
        redirect,
    }))
}

/// Ends `session` in the database (one conditional write: later requests with its
/// cookie find it ended, so `/authorize` with `prompt=none` answers
/// `login_required`). Ending one already ended is not an error (§4: logout is
/// idempotent).
pub async fn end_session(app: &App, session: &LoginSession) -> Result<(), StoreError> {
    let ended = app.store.end_session(&session.session_id, now()).await?;
    tracing::info!(ended, "login session ended by RP-initiated logout");
    if ended {
        after_session_ended(app, session).await;
    }
    Ok(())
}

/// What follows the end of a session: Back-Channel Logout 1.0 §2.5, the logout
/// tokens to the clients of this session. Enqueued on AWS and spawned by the
/// local server, so the logout answer never waits for a client; a delivery that
/// cannot even start is logged by the notification and ends nothing here.
async fn after_session_ended(app: &App, session: &LoginSession) {
    let notified = backchannel_logout::notify_session_ended(app, session).await;
    tracing::info!(
        deliveries = notified.deliveries,
        failed = notified.failures.len(),
        "back-channel logout notified"
    );
}
