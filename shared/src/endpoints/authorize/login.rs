//! Password sign-in with throttling (OWASP ASVS v4.0.3 §2.2.1; RFC 9700 §4.4
//! context): an attempt takes its slots in the throttling counters before the
//! password is checked (`domain/login_throttle.rs` says which and with what
//! limits), so simultaneous attempts cannot outrun the limits, and a refused
//! attempt checks no password. An unknown user costs the same password check.

use crate::app::{App, now};
use crate::domain::login_throttle::{self, Attempt, Mode};
use crate::domain::throttle_source::throttle_source;
use crate::domain::user::{User, dummy_hash, validate_username, verify_password};
use crate::store::{LoginAttemptStore, Slots, StoreError, UserStore};

/// The outcome of a sign-in attempt. Callers show the same message for every
/// failure, so the page tells nobody which usernames exist.
pub enum Login {
    /// Boxed: a user (with their profile) is far larger than the other outcomes.
    Success(Box<User>),
    Failed,
    Throttled,
}

/// Checks `username` and `password`, counting the attempt under `source`.
pub async fn sign_in(
    app: &App,
    username: &str,
    password: &str,
    source: Option<&str>,
) -> Result<Login, StoreError> {
    let limits = app.config.login_limits();
    let valid_name = validate_username(username).is_ok();
    let source = throttle_source(source);
    let attempt = Attempt::new(valid_name.then_some(username), &source, now(), &limits);
    let mut mode = Mode::Normal;
    let taken = loop {
        let counters = attempt.counters(mode, &limits);
        match app
            .store
            .take_slots(&counters, attempt.expires_at())
            .await?
        {
            Slots::Taken => break counters,
            Slots::Refused(at) => {
                let kinds: Vec<_> = at
                    .iter()
                    .filter_map(|i| counters.get(*i).map(|c| c.kind))
                    .collect();
                match login_throttle::after_refusal(mode, &kinds) {
                    Some(next) => {
                        tracing::warn!(
                            username = %username,
                            source = %source,
                            "sign-in slowed: the username's ceiling is reached"
                        );
                        mode = next;
                    }
                    None => {
                        tracing::warn!(source = %source, refused = ?kinds, "sign-in throttled");
                        return Ok(Login::Throttled);
                    }
                }
            }
        }
    };
    let user = if valid_name {
        app.store.get_user(username).await?
    } else {
        None
    };
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    // A user without a password (federated only) is verified against the dummy
    // hash, as an unknown one is, and never matches: no timing tells them apart.
    let has_password = user.as_ref().is_some_and(|u| u.password_hash.is_some());
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .unwrap_or(false);
    match user {
        Some(u) if matches && has_password && !u.disabled => {
            app.store
                .release_slots(&login_throttle::release(&taken))
                .await?;
            tracing::info!(username = %u.username, "signed in");
            Ok(Login::Success(Box::new(u)))
        }
        // The attempt keeps its slots: they count the failure.
        _ => {
            tracing::info!(source = %source, "sign-in failed");
            Ok(Login::Failed)
        }
    }
}
