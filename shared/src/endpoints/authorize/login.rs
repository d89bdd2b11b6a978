//! Password sign-in with throttling (RFC 9700 §4.4 context; OWASP authentication
//! guidance): failures are counted per username and per source address in fixed
//! windows, in DynamoDB with a TTL, and over the limit no password is checked.

use crate::app::{App, now};
use crate::domain::user::{User, dummy_hash, validate_username, verify_password};
use crate::store::{LoginAttemptStore, StoreError, UserStore};

/// The outcome of a sign-in attempt. Callers show the same message for every
/// failure, so the page tells nobody which usernames exist.
pub enum Login {
    Success(User),
    Failed,
    Throttled,
}

/// Checks `username` and `password`, counting failures from `source`.
pub async fn sign_in(
    app: &App,
    username: &str,
    password: &str,
    source: Option<&str>,
) -> Result<Login, StoreError> {
    let c = &app.config;
    let t = now();
    let window = t / c.login_failure_window;
    let expires_at = (window + 2) * c.login_failure_window;
    let valid_name = validate_username(username).is_ok();
    let user_key = valid_name.then(|| format!("user:{username}:{window}"));
    let source_key = source.map(|s| format!("source:{s}:{window}"));
    let keys: Vec<String> = user_key.iter().chain(source_key.iter()).cloned().collect();
    if !keys.is_empty() {
        let counts = app.store.failures(&keys).await?;
        let limits = user_key
            .iter()
            .map(|_| c.login_max_failures_per_user)
            .chain(source_key.iter().map(|_| c.login_max_failures_per_source));
        if counts.iter().zip(limits).any(|(n, max)| *n >= max) {
            tracing::warn!(source = source.unwrap_or("-"), "sign-in throttled");
            return Ok(Login::Throttled);
        }
    }
    let user = if valid_name {
        app.store.get_user(username).await?
    } else {
        None
    };
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let stored = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .unwrap_or(false);
    match user {
        Some(u) if matches && !u.disabled => {
            if let Some(k) = &user_key {
                app.store.clear_failures(k).await?;
            }
            tracing::info!(username = %u.username, "signed in");
            Ok(Login::Success(u))
        }
        _ => {
            if !keys.is_empty() {
                app.store.record_failure(&keys, expires_at).await?;
            }
            tracing::info!(source = source.unwrap_or("-"), "sign-in failed");
            Ok(Login::Failed)
        }
    }
}
