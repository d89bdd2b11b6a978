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
}
