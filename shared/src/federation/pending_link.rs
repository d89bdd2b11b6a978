//! A verified upstream identity waiting for the person's choice on the linking
//! page: a local account already has its e-mail address, and nothing links by
//! e-mail unless the provider is trusted and both sides are verified (OpenID
//! Connect Core §5.7: only (`iss`, `sub`) identify the End-User). The page asks
//! to sign in with that account's password to link, or to continue as a new
//! user.
//!
//! The identity travels in the page's form, sealed: its JSON, then an
//! HMAC-SHA-256 of it under the deployment's session key (the key of the CSRF
//! tokens, with its own purpose label). It is bound to the browser that came
//! back from the provider (the hash of its federation cookie) and lives ten
//! minutes, so it cannot be carried to another browser or kept. It carries no
//! upstream token (none is kept, issue 12 §5) and nothing secret: the claims
//! the provider released and the time.
//!
//! It is not single use: within its ten minutes the same browser may send it
//! again, and each outcome is a database write that happens at most once (an
//! identity links to one user ever, `IdentityStore::link_identity`); a second
//! submission after the link signs in as that user, which is what a second
//! sign-in at the provider would have done.

use crate::secret::{Secret, SecretHash, constant_time_eq};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// How long the linking page's choice stays open.
pub const PENDING_LINK_TTL_SECS: u64 = 600;

/// The longest sealed value accepted (the claims are bounded upstream).
pub const MAX_SEALED_BYTES: usize = 8 * 1024;

/// An upstream identity the provider vouched for, not linked to any user yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    pub provider_id: String,
    /// The ID token's `iss` and `sub`: the identity.
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// Whether the e-mail may be believed (`provider_quirks::email_is_trustworthy`).
    pub email_trusted: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub preferred_username: Option<String>,
    /// When the user authenticated at the provider.
    pub auth_time: u64,
    /// SHA-256 of the federation cookie of the browser it belongs to.
    pub browser_hash: String,
    pub expires_at: u64,
}

/// Why a sealed value was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Not a value this deployment sealed (or altered).
    Forged,
    /// Sealed for another browser.
    OtherBrowser,
    Expired,
}

fn mac(key: &Secret, payload: &str) -> hmac::Tag {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes());
    let mut ctx = hmac::Context::with_key(&k);
    ctx.update(b"pending-link\0");
    ctx.update(payload.as_bytes());
    ctx.sign()
}

impl PendingLink {
    /// The sealed form value: `{base64url(json)}.{base64url(mac)}`.
    pub fn seal(&self, key: &Secret) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD.encode(mac(key, &payload).as_ref());
        format!("{payload}.{tag}")
    }

    /// Opens a sealed value from the form: this deployment's MAC (compared in
    /// constant time), this browser's cookie, not expired at `now`.
    pub fn open(
        key: &Secret,
        sealed: &str,
        browser_cookie: Option<&str>,
        now: u64,
    ) -> Result<Self, OpenError> {
        if sealed.len() > MAX_SEALED_BYTES {
            return Err(OpenError::Forged);
        }
        let (payload, tag) = sealed.split_once('.').ok_or(OpenError::Forged)?;
        let expected = URL_SAFE_NO_PAD.encode(mac(key, payload).as_ref());
        if !constant_time_eq(expected.as_bytes(), tag.as_bytes()) {
            return Err(OpenError::Forged);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| OpenError::Forged)?;
        let link: Self = serde_json::from_slice(&json).map_err(|_| OpenError::Forged)?;
        let browser_ok = browser_cookie.is_some_and(|c| {
            !c.is_empty() && SecretHash::from_stored(link.browser_hash.clone()).matches(c)
        });
        if !browser_ok {
            return Err(OpenError::OtherBrowser);
        }
        if now >= link.expires_at {
            return Err(OpenError::Expired);
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> PendingLink {
        PendingLink {
            provider_id: "idp".into(),
            issuer: "https://idp.example".into(),
            subject: "248289761001".into(),
            email: Some("jane@example.com".into()),
            email_trusted: false,
            name: Some("Jane".into()),
            given_name: None,
            family_name: None,
            preferred_username: None,
            auth_time: 100,
            browser_hash: SecretHash::of("browser").as_str().to_owned(),
            expires_at: 100 + PENDING_LINK_TTL_SECS,
        }
    }

    #[test]
    fn a_sealed_link_opens_in_its_browser_before_it_expires() {
        let key = Secret::new("k");
        let sealed = link().seal(&key);
        assert_eq!(
            PendingLink::open(&key, &sealed, Some("browser"), 101),
            Ok(link())
        );
    }

    #[test]
    fn another_key_or_an_altered_payload_is_forged() {
        let key = Secret::new("k");
        let sealed = link().seal(&key);
        assert_eq!(
            PendingLink::open(&Secret::new("other"), &sealed, Some("browser"), 101),
            Err(OpenError::Forged)
        );
        let mut other = link();
        other.subject = "someone-else".into();
        let (_, tag) = sealed.split_once('.').unwrap();
        let (payload, _) = other
            .seal(&key)
            .split_once('.')
            .map(|(p, t)| (p.to_owned(), t.to_owned()))
            .unwrap();
        assert_eq!(
            PendingLink::open(&key, &format!("{payload}.{tag}"), Some("browser"), 101),
            Err(OpenError::Forged)
        );
        for bad in ["", ".", "abc", "a.b.c", &"x".repeat(MAX_SEALED_BYTES + 1)] {
            assert_eq!(
                PendingLink::open(&key, bad, Some("browser"), 101),
                Err(OpenError::Forged),
                "{bad:.20}"
            );
        }
    }

    #[test]
    fn another_browser_or_a_late_answer_is_refused() {
        let key = Secret::new("k");
        let sealed = link().seal(&key);
        assert_eq!(
            PendingLink::open(&key, &sealed, Some("other"), 101),
            Err(OpenError::OtherBrowser)
        );
        assert_eq!(
            PendingLink::open(&key, &sealed, None, 101),
            Err(OpenError::OtherBrowser)
        );
        assert_eq!(
            PendingLink::open(&key, &sealed, Some("browser"), 100 + PENDING_LINK_TTL_SECS),
            Err(OpenError::Expired)
        );
    }
}
