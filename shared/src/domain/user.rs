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
    /// The PHC string of the argon2id hash; `None` for a user who signs in only
    /// through an upstream provider (created just in time), who can never sign in
    /// with a password until `gatehouse user set-password` gives them one.
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: u64,
    /// When the password last changed.
    pub password_changed_at: u64,
    /// Moves on at every password change, disabling and `end-sessions`: sessions
    /// and grants made at an earlier epoch are over ([`crate::tokens::owner`]).
    pub epoch: u64,
    /// The profile claims the UserInfo endpoint releases (OpenID Connect Core
    /// §5.1); changing them moves no epoch.
    pub profile: Profile,
}

/// A user's profile claims (OpenID Connect Core §5.1), as the operator set them.
/// Absent claims are `None` and are left out of the UserInfo response (§5.3.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub email: Option<String>,
    /// Whether the operator vouches for the address (§5.1 `email_verified`).
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// When the profile last changed, in seconds since the epoch (§5.1
    /// `updated_at`); set at creation too.
    pub updated_at: u64,
}

/// A change to a profile: each `Some` field replaces the stored value, and
/// `Some("")` (a text field) removes it; `None` keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileChange {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// Longest e-mail address accepted (RFC 5321 §4.5.3.1.3: a path of 256 octets,
/// less its angle brackets).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest name claim accepted.
pub const MAX_NAME_CHARS: usize = 256;

impl ProfileChange {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks every field given: an e-mail address of the form `local@domain`,
    /// names without control characters, and the lengths above. An empty text
    /// field (a removal) is always accepted.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(email) = self.email.as_deref().filter(|e| !e.is_empty()) {
            validate_email(email)?;
        }
        for (claim, value) in [
            ("name", &self.name),
            ("given name", &self.given_name),
            ("family name", &self.family_name),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                validate_name(claim, v)?;
            }
        }
        Ok(())
    }

    /// `profile` with this change applied, `updated_at` set to `now`.
    pub fn apply(&self, profile: &Profile, now: u64) -> Profile {
        let text = |new: &Option<String>, old: &Option<String>| match new {
            Some(v) if v.is_empty() => None,
            Some(v) => Some(v.clone()),
            None => old.clone(),
        };
        Profile {
            email: text(&self.email, &profile.email),
            email_verified: self.email_verified.unwrap_or(profile.email_verified),
            name: text(&self.name, &profile.name),
            given_name: text(&self.given_name, &profile.given_name),
            family_name: text(&self.family_name, &profile.family_name),
            updated_at: now,
        }
    }
}

/// The key a user is found by e-mail with (the users table's `email_key`
/// attribute and its `email-index`): the whole address in ASCII lowercase. Both
/// parts are folded, though RFC 5321 §2.4 lets a host treat the local part as
/// case-sensitive: almost none do, and the lookup only offers candidates (the
/// linking page asks for that account's password), it never decides who someone
/// is. Non-ASCII characters are kept as they are. OpenID Connect Core §5.7: an
/// e-mail address is never an identifier, only a hint.
pub fn email_key(email: &str) -> String {
    email.to_ascii_lowercase()
}

/// An e-mail address as the UserInfo `email` claim carries it (OpenID Connect
/// Core §5.1, RFC 5322 addr-spec): checked for shape only, one `@` between a
/// non-empty local part and a dotted domain, no spaces or control characters.
pub fn validate_email(email: &str) -> Result<(), String> {
    let shaped = email.len() <= MAX_EMAIL_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && domain.split('.').all(|label| !label.is_empty())
        });
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "an e-mail address is local@domain.example, at most {MAX_EMAIL_BYTES} bytes, \
             without spaces"
        ))
    }
}

fn validate_name(claim: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(format!("a {claim} has at most {MAX_NAME_CHARS} characters"));
    }
    if value.chars().any(char::is_control) || value.trim() != value {
        return Err(format!(
            "a {claim} has no control characters and no leading or trailing spaces"
        ));
    }
    Ok(())
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
            .field("profile", &self.profile)
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
            password_hash: Some("$argon2id$secret".into()),
            disabled: false,
            created_at: 0,
            password_changed_at: 0,
            epoch: 0,
            profile: Profile::default(),
        };
        assert!(!format!("{u:?}").contains("argon2id"));
    }

    #[test]
    fn the_email_key_folds_ascii_case_only() {
        assert_eq!(
            email_key("Alice.Smith@Mail.EXAMPLE"),
            "alice.smith@mail.example"
        );
        assert_eq!(email_key("Ärger@b.example"), "Ärger@b.example");
        assert_eq!(email_key(""), "");
    }

    #[test]
    fn profile_changes_are_checked() {
        for ok in ["a@b.example", "alice.smith+tag@mail.example.com"] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "alice@localhost",
            "alice@example..com",
            "a@b@example.com",
            "alice smith@example.com",
            "alice@example.com\n",
            long.as_str(),
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
        }
        let change = |name: &str| ProfileChange {
            name: Some(name.into()),
            ..ProfileChange::default()
        };
        assert!(change("Alice Smith").validate().is_ok());
        assert!(change("").validate().is_ok(), "a removal");
        assert!(change(&"x".repeat(257)).validate().is_err());
        assert!(change("Alice\u{7}").validate().is_err());
        assert!(change(" Alice").validate().is_err());
        let email = ProfileChange {
            email: Some("not an address".into()),
            ..ProfileChange::default()
        };
        assert!(email.validate().is_err());
    }

    #[test]
    fn a_change_replaces_removes_or_keeps_each_claim() {
        let before = Profile {
            email: Some("a@b.example".into()),
            email_verified: true,
            name: Some("Alice".into()),
            given_name: Some("Alice".into()),
            family_name: None,
            updated_at: 1,
        };
        let change = ProfileChange {
            email: Some(String::new()),
            family_name: Some("Smith".into()),
            ..ProfileChange::default()
        };
        let after = change.apply(&before, 5);
        assert_eq!(after.email, None, "removed");
        assert!(after.email_verified, "kept");
        assert_eq!(after.name.as_deref(), Some("Alice"), "kept");
        assert_eq!(after.family_name.as_deref(), Some("Smith"), "set");
        assert_eq!(after.updated_at, 5);
        assert!(ProfileChange::default().is_empty());
        assert!(!change.is_empty());
    }
}
