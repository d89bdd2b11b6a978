//! The `nonce` of an authentication request (OpenID Connect Core §3.1.2.1): a
//! string the client binds to its session, stored with the code and echoed in
//! the ID token (§3.1.3.6), so that a replayed ID token is detected (§15.5.2).

/// The longest `nonce` accepted, in characters. Core sets no limit; the value
/// is stored with the grant and signed into every ID token of the code.
pub const MAX_NONCE_CHARS: usize = 512;

/// Checks a `nonce` parameter as received (after percent-decoding). `Err` is the
/// `invalid_request` description (Core §3.1.2.6).
pub fn check_nonce(nonce: &str) -> Result<(), &'static str> {
    if nonce.is_empty() {
        return Err("nonce must not be empty");
    }
    if nonce.chars().count() > MAX_NONCE_CHARS {
        return Err("nonce is longer than 512 characters");
    }
    if nonce.chars().any(char::is_control) {
        return Err("nonce must not contain control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_nonces_are_refused() {
        let long = "n".repeat(MAX_NONCE_CHARS + 1);
        for bad in [
            "",
            "a\u{0}b",
            "line\nbreak",
            "tab\t",
            "del\u{7f}",
            "c1\u{85}",
            &long,
        ] {
            assert!(check_nonce(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn printable_nonces_are_accepted_as_they_are() {
        let longest = "n".repeat(MAX_NONCE_CHARS);
        let longest_multibyte = "é".repeat(MAX_NONCE_CHARS);
        for good in [
            "n-0S6_WzA2Mj",
            "a b",
            "ünïcode",
            "=+/&?",
            &longest,
            &longest_multibyte,
        ] {
            assert_eq!(check_nonce(good), Ok(()), "{good:?}");
        }
    }
}
