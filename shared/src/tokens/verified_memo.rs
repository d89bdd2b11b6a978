//! A memo of access tokens whose signatures verified, so that a token presented
//! again (a resource server introspecting each request's bearer token, RFC 7662
//! §2.1) is not verified again.
//!
//! Only what cannot change is remembered: that these exact bytes (keyed by their
//! SHA-256, so no token is kept) carry a valid signature by key `kid` and the
//! claims they carry, which passed the checks of [`super::access::verify`]
//! against this deployment's fixed issuer and audience. What can change is checked
//! again at every use, as on a first verification:
//! - the key must still be published in the current key set (a key withdrawn
//!   from the set stops its tokens at once, memo or not);
//! - `exp` must still be in the future (RFC 9068 §4; no leeway);
//! - revocation, the grant, the client and the user are read from the store by
//!   the callers ([`super::active`]), as they always are.
//!
//! `tests/tests/introspect_revoke_errors.rs` introspects tokens (so they are in
//! the memo) before revoking them or deleting their client, and they are then
//! inactive.
//!
//! Nothing that failed verification is remembered, so the memo cannot be filled
//! with forged tokens. It holds at most [`CAPACITY`] tokens: when full, expired
//! entries are dropped, and if none has expired the memo starts again empty.

use super::access::AccessTokenClaims;
use crate::keys::KeySet;
use ring::digest;
use std::collections::HashMap;
use std::sync::Mutex;

/// The most tokens remembered (each entry is about half a kilobyte).
pub const CAPACITY: usize = 4096;

struct Entry {
    kid: String,
    claims: AccessTokenClaims,
}

/// Verified access tokens, by the SHA-256 of their value.
#[derive(Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

fn key_of(token: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

impl VerifiedTokens {
    /// The claims of `token` if it verified before, its key is still in `keys`
    /// and it has not expired at `now`.
    pub fn get(&self, token: &str, keys: &KeySet, now: u64) -> Option<AccessTokenClaims> {
        let key = key_of(token);
        let entries = self.entries.lock().expect("verified tokens lock");
        let e = entries.get(&key)?;
        let published = keys.verifying.iter().any(|k| k.kid == e.kid);
        (published && now < e.claims.exp).then(|| e.claims.clone())
    }

    /// Remembers that `token` verified with key `kid`, giving `claims`.
    pub fn put(&self, token: &str, kid: &str, claims: &AccessTokenClaims, now: u64) {
        let key = key_of(token);
        let mut entries = self.entries.lock().expect("verified tokens lock");
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.retain(|_, e| now < e.claims.exp);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                kid: kid.to_owned(),
                claims: claims.clone(),
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyPair, KeyStatus, SigningAlgorithm};

    fn claims(exp: u64) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://issuer".into(),
            sub: "u".into(),
            aud: "https://api".into(),
            exp,
            iat: 100,
            jti: "j".into(),
            client_id: "c".into(),
            scope: "read".into(),
            grant_id: None,
        }
    }

    fn key_set() -> (KeySet, String) {
        let pair = KeyPair::generate(SigningAlgorithm::Es256, KeyStatus::Active, 1).unwrap();
        let kid = pair.public.kid.clone();
        (KeySet::build(vec![pair.public], 2).unwrap(), kid)
    }

    #[test]
    fn a_remembered_token_is_given_back_only_while_unexpired_and_its_key_published() {
        let memo = VerifiedTokens::default();
        let (keys, kid) = key_set();
        let (other_keys, _) = key_set();
        memo.put("token-a", &kid, &claims(200), 150);
        assert_eq!(memo.get("token-a", &keys, 150), Some(claims(200)));
        assert_eq!(memo.get("token-a", &keys, 199), Some(claims(200)));
        assert_eq!(memo.get("token-a", &keys, 200), None, "exp is exclusive");
        assert_eq!(
            memo.get("token-a", &other_keys, 150),
            None,
            "a key withdrawn from the set ends the memo's word"
        );
        assert_eq!(memo.get("token-b", &keys, 150), None, "other bytes miss");
        assert_eq!(memo.get("token-a ", &keys, 150), None);
    }

    #[test]
    fn the_memo_stays_within_its_capacity() {
        let memo = VerifiedTokens::default();
        let (keys, kid) = key_set();
        for i in 0..CAPACITY {
            // Half of them expire at 150.
            let exp = if i % 2 == 0 { 150 } else { 300 };
            memo.put(&format!("t{i}"), &kid, &claims(exp), 100);
        }
        assert_eq!(memo.len(), CAPACITY);
        memo.put("new", &kid, &claims(300), 160);
        assert_eq!(memo.len(), CAPACITY / 2 + 1, "the expired ones went first");
        assert!(memo.get("t1", &keys, 160).is_some());
        for i in 0..CAPACITY {
            memo.put(&format!("u{i}"), &kid, &claims(300), 160);
        }
        assert!(memo.len() <= CAPACITY);
    }
}
