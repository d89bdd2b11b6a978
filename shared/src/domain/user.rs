//! Resource owners (RFC 6749 §1.1): the people who sign in on the login page and
//! approve clients. Passwords are kept only as argon2id hashes (RFC 9700 §2.4 leaves
//! passwords to the authorization server; OWASP parameters: 19 MiB, 2 passes).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

/// Shortest password accepted (NIST SP 800-63B §3.1.1.2).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted: argon2 hashes any length, but an unbounded input is a
/// denial-of-service lever.
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MAX_USERNAME_CHARS: usize = 64;

/// A user as the store keeps it.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The login name: unique, chosen by the operator.
    pub username: String,
    /// The stable subject identifier (`sub`): random, never reused, so a user
    /// deleted and created again under the same name is a different subject.
    pub user_id: String,
    /// The PHC string of the argon2id hash.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: u64,
    /// When the password last changed.
    pub password_changed_at: u64,
    /// Moves on at every password change, disabling and `end-sessions`: sessions
    /// and grants made at an earlier epoch are over ([`crate::tokens::owner`]).
    pub epoch: u64,
}

/// What the token checks read of a user: never the password hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserState {
    pub username: String,
    pub user_id: String,
    pub disabled: bool,
    pub epoch: u64,
}

impl User {
    pub fn state(&self) -> UserState {
        UserState {
            username: self.username.clone(),
            user_id: self.user_id.clone(),
            disabled: self.disabled,
            epoch: self.epoch,
        }
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("user_id", &self.user_id)
            .field("password_hash", &"[redacted]")
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .field("password_changed_at", &self.password_changed_at)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// Checks a username: 1 to 64 characters, letters, digits and `.` `_` `-` `@`.
pub fn validate_username(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "a username is 1 to {MAX_USERNAME_CHARS} characters: letters, digits, `.`, `_`, `-`, `@`"
        ))
    }
}

/// Checks a new password's length (NIST SP 800-63B: length, not composition rules).
pub fn validate_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!("a password has at most {MAX_PASSWORD_BYTES} bytes"));
    }
    Ok(())
}

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes a password with argon2id and a random salt; returns the PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password failed: {e}"))
}

/// Whether `password` matches the PHC string `stored`. A malformed hash never
/// matches. Runs argon2 whatever the input, so timing does not tell.
pub fn verify_password(password: &str, stored: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        // Still spend the work, against a fixed hash.
        let _ = verify_password("", dummy_hash());
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(h) => hasher().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => {
            let _ = verify_password(password, dummy_hash());
            false
        }
    }
}

/// A hash to verify against when the username is unknown, so that an unknown
/// username costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password("gatehouse-unknown-user-placeholder").expect("argon2 hashes a fixed input")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("correct horse", "not a phc string"));
        assert_ne!(h, hash_password("correct horse").unwrap(), "salted");
    }

    #[test]
    fn usernames_and_passwords_are_checked() {
        for ok in ["alice", "a", "bob.smith@example.com", "x_y-z"] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in ["", "al ice", "<b>", "a#b", long.as_str(), "é"] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn a_user_debug_hides_the_password_hash() {
        let u = User {
            username: "alice".into(),
            user_id: "u1".into(),
            password_hash: "$argon2id$secret".into(),
            disabled: false,
            created_at: 0,
            password_changed_at: 0,
            epoch: 0,
        };
        assert!(!format!("{u:?}").contains("argon2id"));
    }
}
