//! Issued tokens as the store records them: access tokens (RFC 9068 JWTs, recorded
//! by the hash of the whole token so they can be introspected and revoked),
//! authorization codes (RFC 6749 §4.1.2) and refresh tokens (§6).

use crate::domain::pkce::CodeChallenge;
use crate::domain::scope::Scope;
use crate::secret::SecretHash;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
    AuthorizationCode,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
            Self::AuthorizationCode => "authorization_code",
        }
    }
}

impl FromStr for TokenKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Self::AccessToken,
            Self::RefreshToken,
            Self::AuthorizationCode,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("unknown token kind `{s}`"))
    }
}

/// One issued token. The token itself is never stored, only its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_hash: SecretHash,
    pub kind: TokenKind,
    pub client_id: String,
    /// The resource owner, or the client itself for client credentials (RFC 9068 §2.2).
    pub subject: String,
    pub scope: Scope,
    pub audience: String,
    /// Every token issued from one authorization (a code, its tokens and their
    /// refreshes) shares a grant id, so that the whole family can be revoked.
    pub grant_id: String,
    /// The JWT id, for access tokens.
    pub jti: Option<String>,
    pub issued_at: u64,
    pub expires_at: u64,
    pub revoked: bool,
    /// The resource owner's login name, for tokens of the authorization code flow:
    /// every later use checks that the user still exists and is enabled.
    pub username: Option<String>,
    /// What an authorization code is bound to (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub code: Option<CodeBinding>,
    /// When a code was redeemed or a refresh token rotated: each may be used once.
    pub used_at: Option<u64>,
}

/// The request an authorization code was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeBinding {
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri`; if so the token
    /// request must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_in_request: bool,
    pub challenge: Option<CodeChallenge>,
}

impl TokenRecord {
    /// Active at `now`: not revoked and not expired. Expiry is checked here, in code,
    /// because DynamoDB's TTL deletion lags by up to days.
    pub fn is_active(&self, now: u64) -> bool {
        !self.revoked && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_active_only_before_expiry_and_unrevoked() {
        let mut t = TokenRecord {
            token_hash: SecretHash::of("t"),
            kind: TokenKind::AccessToken,
            client_id: "c".into(),
            subject: "c".into(),
            scope: Scope::default(),
            audience: "a".into(),
            grant_id: "g".into(),
            jti: None,
            issued_at: 100,
            expires_at: 200,
            revoked: false,
            username: None,
            code: None,
            used_at: None,
        };
        assert!(t.is_active(100));
        assert!(t.is_active(199));
        assert!(!t.is_active(200));
        t.revoked = true;
        assert!(!t.is_active(150));
    }
}
