//! The record kept between sending the browser to an upstream OpenID Provider and
//! its callback: what the `state` value stands for (RFC 6749 §10.12: the `state`
//! binds the response to this browser's request; OpenID Connect Core §3.1.2.1
//! `nonce`; RFC 7636 §4.1 the PKCE verifier; RFC 9700 §4.4 the provider it went
//! to, against mix-up).
//!
//! Only the hash of `state` is stored (its key) and only the hash of the browser's
//! cookie value: a read of the table gives no value to replay. The record is
//! single use: the store takes it with one conditional delete.

use crate::secret::{Secret, SecretHash};
use std::fmt;

/// How long a browser has to come back from the upstream provider.
pub const UPSTREAM_STATE_TTL_SECS: u64 = 600;

/// One upstream authorization request in flight.
#[derive(Clone, PartialEq, Eq)]
pub struct UpstreamState {
    /// SHA-256 of the random `state` sent upstream; the value itself is never stored.
    pub state_hash: SecretHash,
    /// The provider the browser was sent to (RFC 9700 §4.4.2: one redirect URI and
    /// one record per provider, so a response at another's callback is refused).
    pub provider_id: String,
    /// SHA-256 of the random value in the cookie that binds this request to the
    /// browser that started it.
    pub browser_hash: SecretHash,
    /// The `nonce` sent upstream (Core §3.1.2.1), checked in the ID token.
    pub nonce: Secret,
    /// The PKCE `code_verifier` (RFC 7636 §4.1), sent with the code.
    pub pkce_verifier: Secret,
    /// The original `/authorize` query string, resumed after the callback.
    pub downstream_request: String,
    pub created_at: u64,
    pub expires_at: u64,
}

impl UpstreamState {
    /// Whether the record has expired at `now` (it lives until `expires_at`, exclusive).
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }
}

impl fmt::Debug for UpstreamState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamState")
            .field("state_hash", &self.state_hash)
            .field("provider_id", &self.provider_id)
            .field("browser_hash", &self.browser_hash)
            .field("nonce", &"[redacted]")
            .field("pkce_verifier", &"[redacted]")
            .field("downstream_request", &self.downstream_request)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a callback does not belong to the state record it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The response arrived at another provider's callback: a mix-up (RFC 9700 §4.4).
    OtherProvider,
    /// The browser's cookie is missing or is not the one the request was bound to
    /// (RFC 6749 §10.12).
    OtherBrowser,
    /// The record's ten minutes are over.
    Expired,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OtherProvider => "the response came back to another provider's callback",
            Self::OtherBrowser => "the sign-in was started in another browser",
            Self::Expired => "the sign-in took too long",
        })
    }
}

/// Checks a taken state record against its callback: the provider named by the
/// callback's path, the browser's cookie value (compared by hash, in constant
/// time) and the expiry. Every check runs; the first failure in that order is
/// reported.
pub fn matches(
    state: &UpstreamState,
    provider_id_in_path: &str,
    browser_cookie: Option<&str>,
    now: u64,
) -> Result<(), Mismatch> {
    let provider_ok = state.provider_id == provider_id_in_path;
    let browser_ok = browser_cookie.is_some_and(|c| state.browser_hash.matches(c));
    if !provider_ok {
        Err(Mismatch::OtherProvider)
    } else if !browser_ok {
        Err(Mismatch::OtherBrowser)
    } else if state.is_expired(now) {
        Err(Mismatch::Expired)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> UpstreamState {
        UpstreamState {
            state_hash: SecretHash::of("state-value"),
            provider_id: "google".into(),
            browser_hash: SecretHash::of("cookie-value"),
            nonce: Secret::new("nonce-value"),
            pkce_verifier: Secret::new("verifier-value"),
            downstream_request: "client_id=app&response_type=code".into(),
            created_at: 100,
            expires_at: 100 + UPSTREAM_STATE_TTL_SECS,
        }
    }

    #[test]
    fn a_response_at_another_providers_callback_is_a_mix_up() {
        assert_eq!(
            matches(&state(), "entra", Some("cookie-value"), 101),
            Err(Mismatch::OtherProvider)
        );
    }

    #[test]
    fn another_browser_or_no_cookie_is_refused() {
        assert_eq!(
            matches(&state(), "google", Some("other-cookie"), 101),
            Err(Mismatch::OtherBrowser)
        );
        assert_eq!(
            matches(&state(), "google", None, 101),
            Err(Mismatch::OtherBrowser)
        );
        assert_eq!(
            matches(&state(), "google", Some(""), 101),
            Err(Mismatch::OtherBrowser)
        );
    }

    #[test]
    fn an_expired_state_is_refused() {
        let s = state();
        assert_eq!(
            matches(&s, "google", Some("cookie-value"), s.expires_at),
            Err(Mismatch::Expired)
        );
    }

    #[test]
    fn the_right_provider_browser_and_time_match() {
        let s = state();
        assert_eq!(
            matches(&s, "google", Some("cookie-value"), s.expires_at - 1),
            Ok(())
        );
    }

    #[test]
    fn debug_hides_the_nonce_and_the_verifier() {
        let d = format!("{:?}", state());
        assert!(!d.contains("nonce-value"), "{d}");
        assert!(!d.contains("verifier-value"), "{d}");
        assert!(d.contains("google"));
    }
}
