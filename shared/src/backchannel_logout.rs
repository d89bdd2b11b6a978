//! OpenID Connect Back-Channel Logout 1.0: when a login session ends, every
//! client that was part of it and registered a `backchannel_logout_uri` (§2.2)
//! is sent a logout token (§2.4, `tokens/logout_token.rs`) in a POST (§2.5).
//! Who is told is a pure rule (`domain/backchannel_logout.rs`); this module reads
//! what it needs, signs, and delivers or enqueues.
//!
//! Entry points: [`notify_session_ended`] for one session (logout), and
//! [`user_sessions_ending`] then [`EndingUserSessions::notify`] for every session
//! of a user (a password change, disabling, `user end-sessions`, deletion), read
//! before the change so that a deleted user's grants are still there.
//!
//! How deliveries run ([`LogoutDispatch`]):
//! - On AWS they go through an SQS queue (`LogoutDeliveryQueue` in
//!   `template.yaml`): a Lambda function is frozen as soon as it has answered,
//!   and may never run again, so work left in a background task would be lost,
//!   and waiting for slow or dead endpoints would hold up the user's logout
//!   response. The function that ends the session enqueues one message per
//!   delivery, carrying ids only (client, `sid`, `sub`), never a token; the
//!   `backchannel_logout` function consumes them, signs a fresh logout token and
//!   delivers it, and SQS retries what fails, then moves it to a dead-letter
//!   queue.
//! - Locally (`gatehouse serve`) a process outlives its responses: deliveries run
//!   in a spawned task, and the response never waits for them.
//! - The CLI on local data, and tests, await the deliveries with their retries,
//!   so a command can say which failed; the CLI's `--aws` enqueues.
//!
//! Each delivery is bounded: [`ATTEMPTS`] attempts with a doubling pause, each
//! within the outbound client's timeouts (`outbound_http.rs`), no redirects
//! followed. §2.8: the client answers 200 when it logged out; 204 is taken as
//! success too (frameworks send it for an empty 200); 400 says it refused or
//! failed, and is not retried, nor is any other 4xx but 408 and 429. Every
//! failure is logged with the client id and the URI's host, never the token.

use crate::app::{App, now};
use crate::domain::backchannel_logout::{Delivery, EndedSessions, client_ids, deliveries};
use crate::domain::client::Client;
use crate::domain::grant::Grant;
use crate::domain::session::LoginSession;
use crate::keys::SigningKey;
use crate::outbound_http::{OutboundError, OutboundHttp};
use crate::store::{ClientStore, GrantStore, GrantsOf, StoreError, UserStore};
use crate::tokens::logout_token;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Attempts per delivery (the first and two retries).
pub const ATTEMPTS: u32 = 3;
/// The pause before the first retry; each next one doubles.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// One queued delivery: ids only, never a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutMessage {
    pub client_id: String,
    pub sid: String,
    pub sub: String,
}

/// Where deliveries go (see the module doc).
#[derive(Clone, Default)]
pub enum LogoutDispatch {
    /// Delivered, and awaited with their retries (the CLI on local data, tests).
    #[default]
    Await,
    /// Delivered in a spawned task (`gatehouse serve`).
    Spawn,
    /// Enqueued (Lambda, the CLI's `--aws`).
    Queue(Arc<dyn LogoutQueue>),
}

impl fmt::Debug for LogoutDispatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Await => "Await",
            Self::Spawn => "Spawn",
            Self::Queue(_) => "Queue",
        })
    }
}

/// A boxed future, for the object-safe [`LogoutQueue`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The queue of deliveries (SQS on AWS: the crate `gatehouse-logout-queue`).
pub trait LogoutQueue: Send + Sync {
    /// Enqueues every message; the error names what failed.
    fn send<'a>(&'a self, messages: &'a [LogoutMessage]) -> BoxFuture<'a, Result<(), String>>;
}

/// A delivery that did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryFailure {
    pub client_id: String,
    /// The host of the client's back-channel logout URI.
    pub host: String,
    pub cause: String,
}

impl fmt::Display for DeliveryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "back-channel logout of client {} at {} failed: {}",
            self.client_id, self.host, self.cause
        )
    }
}

/// What a notification did.
#[derive(Debug, Default)]
pub struct Notified {
    /// Deliveries found (sent, enqueued or spawned).
    pub deliveries: usize,
    /// Those that failed (awaited deliveries), or could not be started.
    pub failures: Vec<DeliveryFailure>,
    /// The task running spawned deliveries ([`LogoutDispatch::Spawn`]).
    pub pending: Option<tokio::task::JoinHandle<Vec<DeliveryFailure>>>,
}

impl Notified {
    /// Every failure, the spawned ones included once they are done.
    pub async fn all_failures(self) -> Vec<DeliveryFailure> {
        let mut failures = self.failures;
        if let Some(task) = self.pending {
            failures.extend(task.await.unwrap_or_default());
        }
        failures
    }
}

/// Tells the clients of `session` that it ended (a logout): the grants made in
/// it, from one Query on the grants' username index, and their clients.
pub async fn notify_session_ended(app: &App, session: &LoginSession) -> Notified {
    let sid = [session.session_id.as_str()];
    let found = async {
        let grants = app
            .store
            .list_grants(GrantsOf::User(&session.username))
            .await?;
        let clients = clients_of(app, &grants).await?;
        Ok::<_, StoreError>(deliveries(EndedSessions::Sessions(&sid), &grants, &clients))
    };
    match found.await {
        Ok(d) => dispatch(app, d).await,
        Err(e) => not_read(&e),
    }
}

/// The deliveries owed when every session of a user ends, read before the
/// change that ends them ([`user_sessions_ending`]).
#[derive(Debug)]
pub struct EndingUserSessions {
    deliveries: Vec<Delivery>,
}

/// Reads what telling the clients of every session of `username` needs: the
/// user's epoch (sessions of an earlier one ended already), their grants (one
/// Query on the username index) and those grants' clients. Call it before the
/// change (a deleted user's grants can no longer be listed by their owner's
/// state), then [`EndingUserSessions::notify`] once the change is made.
pub async fn user_sessions_ending(
    app: &App,
    username: &str,
) -> Result<EndingUserSessions, StoreError> {
    let Some(state) = app.store.get_user_state(username).await? else {
        return Ok(EndingUserSessions { deliveries: vec![] });
    };
    let grants: Vec<Grant> = app
        .store
        .list_grants(GrantsOf::User(username))
        .await?
        .into_iter()
        .filter(|g| g.user.user_id == state.user_id)
        .collect();
    let clients = clients_of(app, &grants).await?;
    Ok(EndingUserSessions {
        deliveries: deliveries(
            EndedSessions::EveryUserSession {
                epoch: Some(state.epoch),
            },
            &grants,
            &clients,
        ),
    })
}

impl EndingUserSessions {
    pub fn deliveries(&self) -> &[Delivery] {
        &self.deliveries
    }

    /// Sends (or enqueues) the deliveries, once the sessions have ended.
    pub async fn notify(self, app: &App) -> Notified {
        dispatch(app, self.deliveries).await
    }
}

/// [`user_sessions_ending`] and [`EndingUserSessions::notify`] in one, for a
/// caller that has already ended the sessions and whose user still exists.
pub async fn notify_user_sessions_ended(app: &App, username: &str) -> Notified {
    match user_sessions_ending(app, username).await {
        Ok(ending) => ending.notify(app).await,
        Err(e) => not_read(&e),
    }
}

fn not_read(e: &StoreError) -> Notified {
    tracing::error!(error = %e, "back-channel logout: the grants or clients could not be read");
    Notified {
        failures: vec![DeliveryFailure {
            client_id: "(unknown)".into(),
            host: "(unknown)".into(),
            cause: format!("the grants or clients could not be read: {e}"),
        }],
        ..Notified::default()
    }
}

async fn clients_of(app: &App, grants: &[Grant]) -> Result<Vec<Client>, StoreError> {
    let mut clients = Vec::new();
    for id in client_ids(grants) {
        if let Some(c) = app.store.get_client(&id).await? {
            clients.push(c);
        }
    }
    Ok(clients)
}

fn host_of(uri: &str) -> String {
    url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "(no host)".into())
}

fn failure(d: &Delivery, cause: impl Into<String>) -> DeliveryFailure {
    DeliveryFailure {
        client_id: d.client_id.clone(),
        host: host_of(&d.uri),
        cause: cause.into(),
    }
}

async fn dispatch(app: &App, found: Vec<Delivery>) -> Notified {
    let mut notified = Notified {
        deliveries: found.len(),
        ..Notified::default()
    };
    if found.is_empty() {
        return notified;
    }
    if let LogoutDispatch::Queue(queue) = app.logout_dispatch() {
        let messages: Vec<LogoutMessage> = found
            .iter()
            .map(|d| LogoutMessage {
                client_id: d.client_id.clone(),
                sid: d.sid.clone(),
                sub: d.sub.clone(),
            })
            .collect();
        if let Err(e) = queue.send(&messages).await {
            tracing::error!(error = %e, "back-channel logout: the deliveries could not be enqueued");
            notified.failures = found
                .iter()
                .map(|d| failure(d, format!("not enqueued: {e}")))
                .collect();
        }
        return notified;
    }
    let ready = async {
        let http = app.outbound_http()?;
        let key = app
            .signing_key()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no usable active signing key: run `gatehouse keys rotate`")?;
        Ok::<_, String>((http, key))
    };
    let (http, key) = match ready.await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout: cannot sign or send");
            notified.failures = found.iter().map(|d| failure(d, e.clone())).collect();
            return notified;
        }
    };
    let issuer = app.config.issuer.clone();
    match app.logout_dispatch() {
        LogoutDispatch::Spawn => {
            notified.pending = Some(tokio::spawn(async move {
                deliver_all(&http, &key, &issuer, &found).await
            }));
        }
        _ => notified.failures = deliver_all(&http, &key, &issuer, &found).await,
    }
    notified
}

/// Delivers each of `found` (concurrently); the failures.
pub async fn deliver_all(
    http: &OutboundHttp,
    key: &Arc<SigningKey>,
    issuer: &str,
    found: &[Delivery],
) -> Vec<DeliveryFailure> {
    let mut tasks = tokio::task::JoinSet::new();
    for d in found {
        let d = d.clone();
        let (http, key, issuer) = (http.clone(), Arc::clone(key), issuer.to_owned());
        tasks.spawn(async move { deliver(&http, &key, &issuer, &d).await });
    }
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(f)) => failures.push(f),
            Err(e) => failures.push(DeliveryFailure {
                client_id: "(unknown)".into(),
                host: "(unknown)".into(),
                cause: format!("the delivery task failed: {e}"),
            }),
        }
    }
    failures
}

/// What one attempt's answer means (§2.8).
enum Attempt {
    Delivered,
    /// Worth another attempt: a network failure, a timeout, 408, 429, 5xx.
    Retry(String),
    /// Final: refused by the client (400, other 4xx) or by the address rule.
    Give(String),
}

fn judge(answer: Result<u16, OutboundError>) -> Attempt {
    match answer {
        Ok(200 | 204) => Attempt::Delivered,
        Ok(s @ (408 | 429)) => Attempt::Retry(format!("answered {s}")),
        Ok(s) if s >= 500 => Attempt::Retry(format!("answered {s}")),
        Ok(400) => Attempt::Give(
            "answered 400: the client refused the logout token or could not log out".into(),
        ),
        Ok(s) => Attempt::Give(format!("answered {s}")),
        Err(OutboundError::Refused(m)) => Attempt::Give(m),
        Err(OutboundError::Failed(m)) => Attempt::Retry(m),
    }
}

/// Signs a logout token for `d` and POSTs it (§2.5), retrying as the module
/// doc says.
pub async fn deliver(
    http: &OutboundHttp,
    key: &SigningKey,
    issuer: &str,
    d: &Delivery,
) -> Result<(), DeliveryFailure> {
    let claims = logout_token::claims(issuer, &d.client_id, &d.sub, &d.sid, now());
    let token = logout_token::sign_claims(key, &claims).map_err(|e| failure(d, e))?;
    let host = host_of(&d.uri);
    let mut pause = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let answer = http.post_form(&d.uri, &[("logout_token", &token)]).await;
        let cause = match judge(answer) {
            Attempt::Delivered => {
                tracing::info!(client_id = %d.client_id, %host, attempt, "back-channel logout delivered");
                return Ok(());
            }
            Attempt::Give(cause) => {
                tracing::warn!(client_id = %d.client_id, %host, attempt, %cause, "back-channel logout delivery failed; not retried");
                return Err(failure(d, cause));
            }
            Attempt::Retry(cause) => cause,
        };
        tracing::warn!(client_id = %d.client_id, %host, attempt, attempts = ATTEMPTS, %cause, "back-channel logout delivery failed");
        if attempt == ATTEMPTS {
            return Err(failure(d, format!("{cause} (after {ATTEMPTS} attempts)")));
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    unreachable!("the last attempt returns")
}

/// Delivers one queued message (the `backchannel_logout` function): reads the
/// client, signs a fresh logout token and delivers it. A client deleted since,
/// or without a URI now, is owed nothing.
pub async fn deliver_message(app: &App, m: &LogoutMessage) -> Result<(), String> {
    let client = app
        .store
        .get_client(&m.client_id)
        .await
        .map_err(|e| e.to_string())?;
    let Some(uri) = client.and_then(|c| c.backchannel_logout_uri) else {
        tracing::info!(client_id = %m.client_id, "back-channel logout: the client is gone or has no URI now");
        return Ok(());
    };
    let key = app
        .signing_key()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no usable active signing key")?;
    let http = app.outbound_http()?;
    let d = Delivery {
        client_id: m.client_id.clone(),
        uri,
        sid: m.sid.clone(),
        sub: m.sub.clone(),
    };
    deliver(&http, &key, &app.config.issuer, &d)
        .await
        .map_err(|f| f.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_as_section_2_8_says() {
        assert!(matches!(judge(Ok(200)), Attempt::Delivered));
        assert!(matches!(judge(Ok(204)), Attempt::Delivered));
        for retried in [500, 502, 503, 408, 429] {
            assert!(matches!(judge(Ok(retried)), Attempt::Retry(_)), "{retried}");
        }
        assert!(matches!(
            judge(Err(OutboundError::Failed("could not connect".into()))),
            Attempt::Retry(_)
        ));
        for final_ in [400, 401, 404, 302, 301, 201] {
            assert!(matches!(judge(Ok(final_)), Attempt::Give(_)), "{final_}");
        }
        assert!(matches!(
            judge(Err(OutboundError::Refused("internal".into()))),
            Attempt::Give(_)
        ));
    }

    #[test]
    fn queue_messages_carry_ids_only() {
        let m = LogoutMessage {
            client_id: "c".into(),
            sid: "s".into(),
            sub: "u".into(),
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"client_id": "c", "sid": "s", "sub": "u"})
        );
    }
}
