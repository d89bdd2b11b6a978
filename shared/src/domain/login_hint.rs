//! `login_hint` (OpenID Connect Core §3.1.2.1): "Hint to the Authorization
//! Server about the login identifier the End-User might use to log in (if
//! necessary)". Here it pre-fills the login page's username field and nothing
//! more: who signs in is decided by the password alone. The page template
//! escapes it; this rule bounds what is shown.

use crate::domain::user::MAX_USERNAME_CHARS;

/// The value to pre-fill: the hint without control characters, when it is at
/// most as long as a username can be; nothing otherwise (a longer hint cannot
/// name a user here, and a truncated one would name someone else).
pub fn prefill(hint: Option<&str>) -> &str {
    match hint {
        Some(h) if h.chars().count() <= MAX_USERNAME_CHARS && !h.chars().any(char::is_control) => h,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_prefills_only_what_could_be_a_username_field() {
        assert_eq!(prefill(None), "");
        assert_eq!(prefill(Some("alice")), "alice");
        assert_eq!(prefill(Some("alice@example.com")), "alice@example.com");
        // Markup is kept as text: the template escapes it.
        assert_eq!(prefill(Some("\"><b>x")), "\"><b>x");
        assert_eq!(
            prefill(Some(&"a".repeat(MAX_USERNAME_CHARS))).len(),
            MAX_USERNAME_CHARS
        );
        assert_eq!(prefill(Some(&"a".repeat(MAX_USERNAME_CHARS + 1))), "");
        assert_eq!(prefill(Some("al\nice")), "");
        assert_eq!(prefill(Some("al\u{7f}ice")), "");
    }
}
