//! Random values, hashing and constant-time comparison for tokens, codes and secrets.
//!
//! Nothing secret is stored in clear (RFC 9700 §4.14, RFC 6819 §5.1.4.1.3): every
//! token, code and client secret is kept as the SHA-256 of its value, and values the
//! server hands out are 256 bits from the system's CSPRNG.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;
use subtle::ConstantTimeEq;

/// A value that must never be printed: client secrets, tokens, codes, passwords.
///
/// `Debug` prints `[redacted]`; equality is constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear value; call only where it must go on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which this value is stored.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Secret {}

/// Base64url (no padding) of the SHA-256 of a secret value: what the store keeps.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn of(value: &str) -> Self {
        let d = digest::digest(&digest::SHA256, value.as_bytes());
        Self(URL_SAFE_NO_PAD.encode(d.as_ref()))
    }

    /// Wraps a hash read back from the store.
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `value` hashes to this hash, in time independent of where they differ.
    pub fn matches(&self, value: &str) -> bool {
        constant_time_eq(Self::of(value).0.as_bytes(), self.0.as_bytes())
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({})", self.0)
    }
}

/// Constant-time byte comparison (length is not hidden).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `n` random bytes from the system CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the system random number generator failed");
    buf
}

/// A fresh 256-bit value, base64url without padding (43 characters).
pub fn random_token() -> Secret {
    Secret(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// A fresh 128-bit identifier, base64url without padding (22 characters).
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// The characters a client id may begin with: ASCII letters and digits.
const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh client id (RFC 6749 §2.2: unique, and not a secret): one random
/// alphanumeric character, then [`random_id`]'s 128 bits (22 base64url
/// characters), 23 characters in all. The id never begins with `-` (so that no
/// command line reads it as an option) nor `_`, and keeps 128 bits of entropy
/// from the 16 random bytes alone, about 6 more from the first character.
pub fn random_client_id() -> String {
    // Rejection sampling: 248 = 4 × 62 keeps the first character uniform.
    let first = loop {
        let [b] = random_bytes::<1>();
        if usize::from(b) < 4 * ALPHANUMERIC.len() {
            break ALPHANUMERIC[usize::from(b) % ALPHANUMERIC.len()];
        }
    };
    let mut id = String::with_capacity(23);
    id.push(char::from(first));
    id.push_str(&random_id());
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_secret_never_shows_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn a_hash_matches_its_value_and_nothing_else() {
        let h = SecretHash::of("abc");
        assert!(h.matches("abc"));
        assert!(!h.matches("abd"));
        assert!(!h.matches(""));
        // The SHA-256 of "abc", base64url.
        assert_eq!(h.as_str(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    #[test]
    fn random_tokens_are_256_bits_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
        assert_eq!(random_id().len(), 22);
    }

    #[test]
    fn client_ids_never_begin_with_a_hyphen_or_an_underscore() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| random_client_id()).collect();
        assert_eq!(ids.len(), 10_000, "distinct");
        for id in &ids {
            assert_eq!(id.len(), 23, "{id}");
            assert!(id.as_bytes()[0].is_ascii_alphanumeric(), "{id}");
            assert_eq!(
                URL_SAFE_NO_PAD.decode(&id[1..]).map(|b| b.len()).ok(),
                Some(16),
                "128 random bits after the first character: {id}"
            );
        }
        // Without the leading character, about 2 in 64 base64url ids begin with
        // `-` or `_`: the 10 000 above would have held some 300.
        let firsts: std::collections::HashSet<u8> = ids.iter().map(|i| i.as_bytes()[0]).collect();
        assert!(firsts.len() > 50, "the first character varies: {firsts:?}");
    }
}
