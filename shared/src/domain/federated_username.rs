//! The local name of a user created just in time at their first federated
//! sign-in.
//!
//! The name is a label, never the identity: the identity is the pair (`iss`,
//! `sub`) alone (OpenID Connect Core §5.7), kept in the identities table. Core
//! §5.1 says `preferred_username` "MAY be any valid JSON string including special
//! characters such as @, /, or whitespace" and must not be relied upon to be
//! unique, and the same holds for `email`; so they only suggest a name:
//!
//! - the base is the upstream's `preferred_username`, then the local part of its
//!   `email` (before the last `@`), each in ASCII lowercase with every character
//!   outside the username alphabet ([`validate_username`]: letters, digits, `.`,
//!   `_`, `-`, `@`) dropped, and `.`, `_`, `-`, `@` trimmed from both ends;
//! - the name is `{provider_id}.{base}`, cut to [`MAX_USERNAME_CHARS`]. The
//!   prefix keeps federated names apart from the names operators choose without
//!   it (an operator may still choose such a name: the creation is conditional
//!   on the name being free, so a taken name is never reused, the next candidate
//!   is tried);
//! - when every candidate is taken, or none can be made, [`fallback`] gives
//!   `{provider_id}.{random}`.
//!
//! Every name answered passes [`validate_username`].

use crate::domain::user::{MAX_USERNAME_CHARS, validate_username};
use crate::secret::random_id;

/// How many random characters [`fallback`] appends (base64url, 6 bits each).
const FALLBACK_RANDOM_CHARS: usize = 12;

/// The names to try, in order: from `preferred_username`, then from the e-mail's
/// local part, without repeats; possibly none.
pub fn candidates(
    provider_id: &str,
    preferred_username: Option<&str>,
    email: Option<&str>,
) -> Vec<String> {
    let local_part = email
        .and_then(|e| e.rsplit_once('@'))
        .map(|(local, _)| local);
    let mut names: Vec<String> = Vec::new();
    for base in [preferred_username, local_part].into_iter().flatten() {
        let base = sanitise(base);
        if base.is_empty() {
            continue;
        }
        let name = prefixed(provider_id, &base);
        if validate_username(&name).is_ok() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// `{provider_id}.` and 12 random base64url characters (72 bits): the name of a
/// user none of whose [`candidates`] was free.
pub fn fallback(provider_id: &str) -> String {
    let random: String = random_id().chars().take(FALLBACK_RANDOM_CHARS).collect();
    prefixed(provider_id, &random)
}

/// `{provider_id}.{base}`, cut to [`MAX_USERNAME_CHARS`], the prefix itself
/// reduced to the alphabet (a registered provider id already is:
/// `domain/provider.rs` `validate_id`).
fn prefixed(provider_id: &str, base: &str) -> String {
    let provider: String = provider_id.chars().filter(|c| allowed(*c)).collect();
    let mut name = format!("{provider}.{base}");
    // Every character is ASCII, so a byte count is a character count.
    name.truncate(MAX_USERNAME_CHARS);
    name
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')
}

fn sanitise(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| allowed(*c))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    kept.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_inputs_give_only_valid_names_or_none() {
        let long = "x".repeat(300);
        let inputs: [Option<&str>; 12] = [
            Some(""),
            Some("@"),
            Some("@@@"),
            Some("   "),
            Some("Jöhn Dœ"),
            Some("日本語"),
            Some("a b\tc\n"),
            Some("../../etc"),
            Some("alice@contoso.example"),
            Some(&long),
            Some("\u{0}\u{7f}"),
            None,
        ];
        for pref in inputs {
            for email in inputs {
                for name in candidates("google", pref, email) {
                    assert!(
                        validate_username(&name).is_ok(),
                        "{pref:?} {email:?}: {name}"
                    );
                    assert!(name.starts_with("google."), "{name}");
                }
            }
        }
    }

    #[test]
    fn nothing_usable_gives_no_candidate() {
        assert!(candidates("google", None, None).is_empty());
        assert!(candidates("google", Some(""), Some("")).is_empty());
        assert!(candidates("google", Some("@"), Some("@example.com")).is_empty());
        assert!(candidates("google", Some("日本語"), Some("no-at-sign")).is_empty());
        assert!(candidates("google", Some("   "), None).is_empty());
    }

    #[test]
    fn names_come_from_preferred_username_then_the_local_part() {
        assert_eq!(
            candidates(
                "entra",
                Some("Alice@Contoso.example"),
                Some("a.smith@contoso.example")
            ),
            ["entra.alice@contoso.example", "entra.a.smith"]
        );
        assert_eq!(candidates("g", None, Some("Bob+x@gmail.com")), ["g.bobx"]);
        assert_eq!(candidates("g", Some("Jöhn Dœ"), None), ["g.jhnd"]);
        // The same base twice is tried once.
        assert_eq!(
            candidates("g", Some("bob"), Some("BOB@example.com")),
            ["g.bob"]
        );
    }

    #[test]
    fn long_names_are_cut_to_the_limit() {
        let long = "x".repeat(300);
        let names = candidates("a-very-long-provider-id-32-chars", Some(&long), None);
        assert_eq!(names.len(), 1);
        assert_eq!(names[0].chars().count(), MAX_USERNAME_CHARS);
        assert!(names[0].starts_with("a-very-long-provider-id-32-chars.xxx"));
    }

    #[test]
    fn the_fallback_is_the_prefix_and_a_random_suffix() {
        let a = fallback("google");
        let b = fallback("google");
        assert_ne!(a, b);
        for name in [a, b, fallback("a-very-long-provider-id-32-chars")] {
            assert!(validate_username(&name).is_ok(), "{name}");
        }
        let a = fallback("google");
        assert_eq!(a.len(), "google.".len() + FALLBACK_RANDOM_CHARS);
        assert!(a.starts_with("google."));
    }
}
