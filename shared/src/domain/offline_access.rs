//! Offline access (OpenID Connect Core §11): which grants get refresh tokens.
//!
//! A request without `openid` is plain OAuth, and its client gets refresh tokens
//! as its registration allows (RFC 6749 §1.5). For an OpenID request a refresh
//! token gives access while the user is not present, which Core §11 ties to the
//! `offline_access` scope: without it the grant gets no refresh token. That scope
//! is granted only as any scope is, with the user's consent (the consent page, or
//! a remembered consent that covers it), or for a client the operator registered
//! to skip consent: that explicit registration is the "other condition" of §11
//! that permits offline access without asking.

use crate::domain::scope::{OFFLINE_ACCESS, OPENID, Scope};

/// Whether a grant of `scope`, to a client registered for the refresh token
/// grant, gets refresh tokens.
pub fn may_refresh(scope: &Scope) -> bool {
    !scope.contains(OPENID) || scope.contains(OFFLINE_ACCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_grants_refresh_only_with_offline_access() {
        let cases = [
            ("read", true),
            ("read offline_access", true),
            ("openid", false),
            ("openid read", false),
            ("openid offline_access", true),
            ("openid offline_access read", true),
        ];
        for (scope, expected) in cases {
            assert_eq!(
                may_refresh(&Scope::parse(scope).unwrap()),
                expected,
                "{scope}"
            );
        }
    }
}
