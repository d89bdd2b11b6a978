//! A user's account at an upstream OpenID Provider, linked to a local user.
//!
//! An identity is keyed by the pair (issuer, `sub`) and by nothing else: OpenID
//! Connect Core §5.7 says only `sub` and `iss` together identify an End-User
//! stably, and that `email` must not be used as a unique identifier. An e-mail
//! address is kept only as what the provider said when the link was made.

use crate::domain::user::User;

/// One linked upstream identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedIdentity {
    /// The upstream's `iss`, exactly as its ID tokens carry it.
    pub issuer: String,
    /// The upstream's `sub` for this End-User (Core §2: locally unique within
    /// the issuer, at most 255 ASCII characters).
    pub subject: String,
    /// The registered provider the link was made through.
    pub provider_id: String,
    /// The local user's stable `sub`.
    pub user_id: String,
    /// The local user's name (the users table's key).
    pub username: String,
    /// The upstream's `email` claim when the link was made, if any: a record, never
    /// a key.
    pub email_at_link: Option<String>,
    pub linked_at: u64,
}

impl FederatedIdentity {
    /// The identities-table key of this identity.
    pub fn key(&self) -> String {
        identity_key(&self.issuer, &self.subject)
    }
}

/// The identities-table key of (issuer, `sub`): the issuer's length in bytes, `:`,
/// the issuer, then the subject. The length prefix makes the encoding
/// collision-free whatever characters either part holds: (`a`, `b:c`) and
/// (`a:b`, `c`) get `1:ab:c` and `3:a:bc`.
pub fn identity_key(issuer: &str, subject: &str) -> String {
    format!("{}:{issuer}{subject}", issuer.len())
}

/// How many ways `user` has to sign in: a password, if they have one, and each
/// linked identity.
pub fn sign_in_methods(user: &User, identities: &[FederatedIdentity]) -> usize {
    usize::from(user.password_hash.is_some()) + identities.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::Profile;

    #[test]
    fn keys_of_different_pairs_never_collide() {
        let pairs = [
            ("a", "b:c"),
            ("a:b", "c"),
            ("ab", "c"),
            ("a", "bc"),
            ("", "1:ab"),
            ("https://idp.example", "123"),
            ("https://idp.example/1", "23"),
        ];
        let keys: std::collections::HashSet<String> =
            pairs.iter().map(|(i, s)| identity_key(i, s)).collect();
        assert_eq!(keys.len(), pairs.len(), "{keys:?}");
    }

    #[test]
    fn a_user_without_a_password_counts_only_identities() {
        let mut user = User {
            username: "alice".into(),
            user_id: "u1".into(),
            password_hash: None,
            disabled: false,
            created_at: 0,
            password_changed_at: 0,
            epoch: 0,
            profile: Profile::default(),
        };
        let id = FederatedIdentity {
            issuer: "https://idp.example".into(),
            subject: "123".into(),
            provider_id: "idp".into(),
            user_id: "u1".into(),
            username: "alice".into(),
            email_at_link: None,
            linked_at: 1,
        };
        assert_eq!(sign_in_methods(&user, &[]), 0);
        assert_eq!(sign_in_methods(&user, std::slice::from_ref(&id)), 1);
        user.password_hash = Some("$argon2id$x".into());
        assert_eq!(sign_in_methods(&user, &[id]), 2);
    }
}
