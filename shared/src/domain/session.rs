//! The login session: a record of one user's sign-in in one browser. The session
//! cookie carries its id and a secret; the record keeps the secret's hash, the
//! user, `auth_time` and how the user authenticated (OpenID Connect Core §2
//! `auth_time`, `amr`; `sid` of Front- and Back-Channel Logout).

use crate::secret::SecretHash;

/// One login session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginSession {
    /// The session id (`sid`): random, not secret on its own.
    pub session_id: String,
    /// The hash of the secret half of the cookie.
    pub secret_hash: SecretHash,
    pub user_id: String,
    pub username: String,
    /// The user's epoch at sign-in: a later password change, disabling or
    /// `end-sessions` moves it on, which ends the session.
    pub user_epoch: u64,
    /// When the user authenticated.
    pub auth_time: u64,
    /// How: `pwd` for a password (RFC 8176 §2).
    pub amr: String,
    pub created_at: u64,
    pub last_seen_at: u64,
    pub expires_at: u64,
    pub ended_at: Option<u64>,
}

impl LoginSession {
    /// Open at `now`: not ended, not expired. The user's state is checked apart
    /// ([`crate::tokens::owner`]).
    pub fn is_open(&self, now: u64) -> bool {
        self.ended_at.is_none() && now < self.expires_at
    }
}

/// The session cookie's value: `{session_id}.{secret}`.
pub fn cookie_value(session_id: &str, secret: &str) -> String {
    format!("{session_id}.{secret}")
}

/// Splits a session cookie into its id and secret; `None` if it has not that shape.
pub fn parse_cookie(value: &str) -> Option<(&str, &str)> {
    let (id, secret) = value.split_once('.')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (ok(id) && ok(secret)).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_parse_strictly() {
        assert_eq!(parse_cookie("abc.def"), Some(("abc", "def")));
        assert_eq!(
            parse_cookie(&cookie_value("a_b", "c-d")),
            Some(("a_b", "c-d"))
        );
        for bad in [
            "",
            ".",
            "abc",
            "abc.",
            ".def",
            "a.b.c",
            "a b.c",
            &"a".repeat(65),
        ] {
            assert_eq!(parse_cookie(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_session_is_open_until_it_ends_or_expires() {
        let s = LoginSession {
            session_id: "s".into(),
            secret_hash: SecretHash::of("x"),
            user_id: "u".into(),
            username: "alice".into(),
            user_epoch: 0,
            auth_time: 10,
            amr: "pwd".into(),
            created_at: 10,
            last_seen_at: 10,
            expires_at: 20,
            ended_at: None,
        };
        assert!(s.is_open(19));
        assert!(!s.is_open(20));
        let ended = LoginSession {
            ended_at: Some(15),
            ..s
        };
        assert!(!ended.is_open(16));
    }
}
