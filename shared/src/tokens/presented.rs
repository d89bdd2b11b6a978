//! Presented values: the length check, the shapes of codes and refresh tokens,
//! and their hashes. A value that fails here is unknown: nothing is read for it.
//!
//! Both carry their grant's id, so a presented value names the one record to
//! read (RFC 6749 §10.10: the secret part is 256 bits, or a MAC, either way not
//! guessable from the id):
//!
//! - authorization code: `{grant_id}.{secret}`; the grant keeps the SHA-256 of
//!   the whole value;
//! - refresh token: `{grant_id}.{generation}.{mac}`, the generation in decimal
//!   ([`super::refresh`]).
//!
//! Access tokens are JWTs (RFC 9068): three segments too, but the second is
//! base64url JSON (`eyJ…`), never all digits. The separator is a character that
//! form and query encoding leave as it is, so a code reads the same in a redirect.

use crate::secret::SecretHash;

/// Longer values cannot be tokens this server issued; they are inactive.
pub const MAX_TOKEN_LENGTH: usize = 4096;

/// Whether a presented value is short enough to be one of ours.
pub fn within_length(value: &str) -> bool {
    value.len() <= MAX_TOKEN_LENGTH
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A presented authorization code. `Debug` shows only the grant id.
#[derive(PartialEq, Eq)]
pub struct PresentedCode<'a> {
    pub grant_id: &'a str,
    /// The whole value, to compare with the grant's hash.
    pub value: &'a str,
}

impl PresentedCode<'_> {
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(self.value)
    }
}

/// Reads an authorization code; `None` if it cannot be one of ours.
pub fn code(value: &str) -> Option<PresentedCode<'_>> {
    if !within_length(value) {
        return None;
    }
    let (grant_id, secret) = value.split_once('.')?;
    (is_id(grant_id) && is_id(secret)).then_some(PresentedCode { grant_id, value })
}

/// The value of a new code for `grant_id`, given its random secret.
pub fn code_value(grant_id: &str, secret: &str) -> String {
    format!("{grant_id}.{secret}")
}

/// A presented refresh token. `Debug` shows no MAC.
#[derive(PartialEq, Eq)]
pub struct PresentedRefresh<'a> {
    pub grant_id: &'a str,
    pub generation: u64,
    pub mac: &'a str,
}

/// Reads a refresh token; `None` if it cannot be one of ours. The MAC is checked
/// by [`super::refresh::verify`].
pub fn refresh(value: &str) -> Option<PresentedRefresh<'_>> {
    if !within_length(value) {
        return None;
    }
    let mut parts = value.split('.');
    let (grant_id, generation, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_id(grant_id) || !is_id(mac) {
        return None;
    }
    if generation.is_empty()
        || generation.len() > 19
        || !generation.bytes().all(|b| b.is_ascii_digit())
        || generation.starts_with('0')
    {
        return None;
    }
    Some(PresentedRefresh {
        grant_id,
        generation: generation.parse().ok()?,
        mac,
    })
}

impl std::fmt::Debug for PresentedCode<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedCode")
            .field("grant_id", &self.grant_id)
            .field("value", &"[redacted]")
            .finish()
    }
}

impl std::fmt::Debug for PresentedRefresh<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedRefresh")
            .field("grant_id", &self.grant_id)
            .field("generation", &self.generation)
            .field("mac", &"[redacted]")
            .finish()
    }
}

/// What kind of value was presented, by its shape (RFC 7009 §2.1 and RFC 7662
/// §2.1 let the server find out; `token_type_hint` is only a hint). `Debug`
/// never shows a secret part.
#[derive(PartialEq, Eq)]
pub enum Presented<'a> {
    AccessToken(&'a str),
    RefreshToken(PresentedRefresh<'a>),
    Code(PresentedCode<'a>),
    Unknown,
}

impl std::fmt::Debug for Presented<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AccessToken(_) => f.write_str("AccessToken([redacted])"),
            Self::RefreshToken(r) => r.fmt(f),
            Self::Code(c) => c.fmt(f),
            Self::Unknown => f.write_str("Unknown"),
        }
    }
}

pub fn classify(value: &str) -> Presented<'_> {
    if !within_length(value) {
        return Presented::Unknown;
    }
    if let Some(r) = refresh(value) {
        return Presented::RefreshToken(r);
    }
    if let Some(c) = code(value) {
        return Presented::Code(c);
    }
    if value.split('.').count() == 3 {
        return Presented::AccessToken(value);
    }
    Presented::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_values_are_told_apart_by_shape() {
        assert_eq!(
            classify("g1.abc"),
            Presented::Code(PresentedCode {
                grant_id: "g1",
                value: "g1.abc"
            })
        );
        assert_eq!(
            classify("g1.7.mac"),
            Presented::RefreshToken(PresentedRefresh {
                grant_id: "g1",
                generation: 7,
                mac: "mac"
            })
        );
        assert_eq!(
            classify("eyJa.eyJb.c"),
            Presented::AccessToken("eyJa.eyJb.c")
        );
        // Not a refresh token: left to the JWT check, which refuses it.
        assert_eq!(classify("g1.07.mac"), Presented::AccessToken("g1.07.mac"));
        assert_eq!(classify("g1.1."), Presented::AccessToken("g1.1."));
        let too_long = format!("g1.{}", "a".repeat(MAX_TOKEN_LENGTH));
        for unknown in [
            "",
            "plain",
            "g1.",
            ".abc",
            "g1.1.m.x",
            "g 1.abc",
            "g1~abc",
            too_long.as_str(),
        ] {
            assert_eq!(classify(unknown), Presented::Unknown, "{unknown}");
        }
    }

    #[test]
    fn debug_never_shows_a_secret_part() {
        for v in ["g1.secretpart", "g1.7.secretpart", "eyJa.eyJb.secretpart"] {
            let shown = format!("{:?}", classify(v));
            assert!(!shown.contains("secretpart"), "{shown}");
        }
    }

    #[test]
    fn a_code_hashes_as_a_whole() {
        let v = code_value("g", "s");
        assert_eq!(code(&v).unwrap().hash(), SecretHash::of("g.s"));
    }
}
