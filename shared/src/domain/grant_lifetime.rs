//! A grant's longest life, whatever its refreshes.
//!
//! Each rotation starts a new refresh token lifetime (RFC 6749 §6), so without a
//! cap a client that keeps refreshing keeps a grant, and whoever holds its refresh
//! token keeps access, for ever. The grant ends `max_lifetime` seconds after it
//! was made: from then on a refresh is `invalid_grant` (RFC 6749 §5.2), and no
//! refresh token outlives it (RFC 9700 §4.14.2: refresh tokens may expire; the
//! user signs in again). Access tokens are not cut short: they keep their own
//! short lifetime.

/// When a grant made at `created_at` ends.
pub fn ends_at(created_at: u64, max_lifetime: u64) -> u64 {
    created_at.saturating_add(max_lifetime)
}

/// Whether a grant made at `created_at` has reached its end at `now`.
pub fn has_ended(created_at: u64, max_lifetime: u64, now: u64) -> bool {
    now >= ends_at(created_at, max_lifetime)
}

/// The expiry of a refresh token issued at `now`: its own lifetime, but never past
/// the grant's end.
pub fn refresh_expires_at(created_at: u64, max_lifetime: u64, now: u64, refresh_ttl: u64) -> u64 {
    now.saturating_add(refresh_ttl)
        .min(ends_at(created_at, max_lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_ends_at_its_creation_plus_the_cap() {
        let cases = [
            // (created, max, now, ended)
            (100, 50, 149, false),
            (100, 50, 150, true),
            (100, 50, 10_000, true),
            (100, 1, 100, false),
            (100, u64::MAX, u64::MAX - 1, false),
        ];
        for (created, max, now, ended) in cases {
            assert_eq!(has_ended(created, max, now), ended, "{created} {max} {now}");
        }
        assert_eq!(ends_at(u64::MAX - 1, 10), u64::MAX, "no overflow");
    }

    #[test]
    fn a_refresh_token_never_outlives_its_grant() {
        let cases = [
            // (created, max, now, ttl, expires)
            (100, 1_000, 200, 300, 500),
            (100, 1_000, 900, 300, 1_100),
            (100, 1_000, 1_099, 300, 1_100),
            (100, 1_000, 800, 300, 1_100),
            (100, 7_776_000, 100, 2_592_000, 2_592_100),
            (0, u64::MAX, 10, u64::MAX, u64::MAX),
        ];
        for (created, max, now, ttl, expires) in cases {
            assert_eq!(
                refresh_expires_at(created, max, now, ttl),
                expires,
                "{created} {max} {now} {ttl}"
            );
        }
    }
}
