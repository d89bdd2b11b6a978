//! `max_age` (OpenID Connect Core §3.1.2.1): the allowable elapsed time in
//! seconds since the End-User last actively authenticated. "If the elapsed time
//! is greater than this value, the OP MUST attempt to actively re-authenticate
//! the End-User"; `max_age=0` is equivalent to `prompt=login` (§3.1.2.1,
//! `prompt`), so it always asks. The ID token carries `auth_time` whatever the
//! request (§2), so the relying party can check the answer.

/// Parses a `max_age` value: a non-negative integer in decimal digits (no sign,
/// no fraction, no exponent). A value beyond `u64` is still a valid
/// non-negative integer and means "any age" in practice: it saturates.
pub fn parse_max_age(value: &str) -> Result<u64, &'static str> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("max_age must be a non-negative integer (seconds)");
    }
    Ok(value.parse::<u64>().unwrap_or(u64::MAX))
}

/// Whether a sign-in at `auth_time` is too old for `max_age` at `now`: always
/// with `max_age=0`, else when more than `max_age` seconds have passed.
pub fn exceeded(max_age: Option<u64>, auth_time: u64, now: u64) -> bool {
    match max_age {
        None => false,
        Some(0) => true,
        Some(m) => now.saturating_sub(auth_time) > m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_a_non_negative_integer() {
        for (input, expected) in [
            ("0", 0),
            ("60", 60),
            ("0007", 7),
            ("99999999999999999999999", u64::MAX),
        ] {
            assert_eq!(parse_max_age(input), Ok(expected), "{input}");
        }
        for bad in ["", "-1", "+5", "1.5", "1e3", " 5", "5 ", "abc", "0x10", "٣"] {
            assert!(parse_max_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sign_in_older_than_max_age_must_be_repeated() {
        let now = 1_000;
        for (max_age, auth_time, expected) in [
            (None, 0, false),
            (Some(0), now, true),
            (Some(0), now - 1, true),
            (Some(60), now - 60, false),
            (Some(60), now - 61, true),
            (Some(60), now, false),
            (Some(u64::MAX), 0, false),
            // A session from the future (clock skew between functions) is not old.
            (Some(60), now + 5, false),
        ] {
            assert_eq!(
                exceeded(max_age, auth_time, now),
                expected,
                "{max_age:?} {auth_time}"
            );
        }
    }
}
