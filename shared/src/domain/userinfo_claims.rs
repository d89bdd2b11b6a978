//! Which claims the UserInfo endpoint releases for which scopes (OpenID Connect
//! Core §5.3.2, §5.4).
//!
//! `sub` always (§5.3.2: it "MUST always be returned"); the `profile` scope adds
//! `name`, `given_name`, `family_name`, `preferred_username` and `updated_at`; the
//! `email` scope adds `email` and `email_verified` (§5.4). A claim without a value
//! is left out rather than sent empty or null (§5.3.2). The other `profile`
//! claims of §5.4 (`nickname`, `picture`, ...) are not kept, so never sent.

use crate::domain::scope::Scope;
use crate::domain::user::Profile;
use serde_json::{Map, Value, json};

/// The scope value that makes an access token usable at the UserInfo endpoint
/// (Core §3.1.2.1, §5.3).
pub const OPENID_SCOPE: &str = "openid";

/// The profile of the user a UserInfo request is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject<'a> {
    /// The stable identifier: the token's `sub`, the user's `user_id`.
    pub sub: &'a str,
    /// The login name, released as `preferred_username` (§5.1).
    pub username: &'a str,
    pub profile: &'a Profile,
}

/// The UserInfo claims `scope` releases about `subject`.
pub fn userinfo_claims(subject: &Subject<'_>, scope: &Scope) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(subject.sub));
    let p = subject.profile;
    if scope.contains("profile") {
        for (name, value) in [
            ("name", &p.name),
            ("given_name", &p.given_name),
            ("family_name", &p.family_name),
        ] {
            if let Some(v) = value {
                claims.insert(name.into(), json!(v));
            }
        }
        claims.insert("preferred_username".into(), json!(subject.username));
        claims.insert("updated_at".into(), json!(p.updated_at));
    }
    if scope.contains("email")
        && let Some(email) = &p.email
    {
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(p.email_verified));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Profile {
        Profile {
            email: Some("alice@example.com".into()),
            email_verified: true,
            name: Some("Alice Smith".into()),
            given_name: Some("Alice".into()),
            family_name: Some("Smith".into()),
            updated_at: 1_700_000_000,
        }
    }

    fn claims(profile: &Profile, scope: &str) -> Value {
        let subject = Subject {
            sub: "u1",
            username: "alice",
            profile,
        };
        Value::Object(userinfo_claims(&subject, &Scope::parse(scope).unwrap()))
    }

    #[test]
    fn each_scope_releases_its_claims_and_sub_is_always_there() {
        let p = full();
        assert_eq!(claims(&p, "openid"), json!({ "sub": "u1" }));
        assert_eq!(claims(&p, "openid read"), json!({ "sub": "u1" }));
        assert_eq!(
            claims(&p, "openid profile"),
            json!({
                "sub": "u1",
                "name": "Alice Smith",
                "given_name": "Alice",
                "family_name": "Smith",
                "preferred_username": "alice",
                "updated_at": 1_700_000_000,
            })
        );
        assert_eq!(
            claims(&p, "openid email"),
            json!({ "sub": "u1", "email": "alice@example.com", "email_verified": true })
        );
        let both = claims(&p, "openid profile email");
        assert_eq!(both.as_object().unwrap().len(), 8);
    }

    #[test]
    fn claims_without_a_value_are_left_out() {
        let p = Profile {
            updated_at: 5,
            ..Profile::default()
        };
        assert_eq!(
            claims(&p, "openid profile email"),
            json!({ "sub": "u1", "preferred_username": "alice", "updated_at": 5 }),
            "no email, so no email_verified either"
        );
        let unverified = Profile {
            email: Some("a@b.example".into()),
            ..p
        };
        assert_eq!(
            claims(&unverified, "openid email")["email_verified"],
            json!(false)
        );
    }
}
