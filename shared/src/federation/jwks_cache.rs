//! The upstream providers' key sets (their `jwks_uri`, OpenID Connect Discovery
//! 1.0 §3), cached per process and keyed by URI.
//!
//! Core 1.0 §10.1.1 lets a provider rotate its signing keys by publishing a new
//! key in its JWKS and signing with it, the relying party fetching the JWKS again
//! when it meets a `kid` it does not know. The rules here:
//!
//! - A set is fetched through [`OutboundHttp::get_json`] (the server's one
//!   outbound client: address policy, no redirects, its timeouts), at most
//!   [`MAX_JWKS_BYTES`]; keys of a type this crate cannot read are skipped.
//! - A cached set is used for at most [`MAX_STALENESS_SECONDS`], then fetched
//!   again; a stale set is never used once a refetch has failed.
//! - A token whose `kid` the cached set does not name causes **one** refetch, but
//!   never more than one per [`MIN_REFETCH_INTERVAL_SECONDS`] per URI, whether it
//!   succeeded or not, and counting the fetch that filled the cache: tokens with
//!   made-up `kid`s cannot make this server hammer the provider. Within that minute the cached set is answered, and the token
//!   is refused as signed by an unknown key.
//!
//! Time is passed in (`now`, seconds since the epoch), so the rules are tested
//! without waiting.

use super::upstream_id_token::{self, UpstreamCheck, UpstreamClaims, UpstreamTokenError};
use crate::outbound_http::{FetchError, OutboundHttp};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The longest a fetched set is used before it is fetched again.
pub const MAX_STALENESS_SECONDS: u64 = 3600;

/// The shortest time between two fetches of one URI caused by unknown `kid`s.
pub const MIN_REFETCH_INTERVAL_SECONDS: u64 = 60;

/// The largest JWKS document read.
pub const MAX_JWKS_BYTES: usize = crate::outbound_http::MAX_JSON_BYTES;

/// Why no key set could be had.
#[derive(Debug)]
pub enum JwksError {
    /// The request failed or was refused.
    Fetch(FetchError),
    /// The answer is not a JWKS (`{"keys": [...]}`).
    NotAJwks,
}

impl std::fmt::Display for JwksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fetch(e) => write!(f, "the upstream JWKS could not be fetched: {e}"),
            Self::NotAJwks => f.write_str("the upstream jwks_uri did not answer a JWKS"),
        }
    }
}

impl std::error::Error for JwksError {}

/// Why an upstream ID token was not validated with a cached key set.
#[derive(Debug)]
pub enum CachedValidationError {
    Jwks(JwksError),
    Token(UpstreamTokenError),
}

#[derive(Clone)]
struct Entry {
    jwks: JwkSet,
    /// When `jwks` was fetched.
    fetched_at: u64,
    /// When a fetch was last tried (succeeded or not).
    attempted_at: u64,
}

type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// The per-process cache: build one and share it.
pub struct JwksCache {
    http: OutboundHttp,
    slots: Mutex<HashMap<String, Slot>>,
}

impl JwksCache {
    pub fn new(http: OutboundHttp) -> Self {
        Self {
            http,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The key set of `jwks_uri` at `now` for a token whose header names `kid`
    /// (or none): cached, or fetched as the module doc says. Two requests for
    /// one URI wait for one fetch; other URIs are not held up.
    pub async fn keys_for(
        &self,
        jwks_uri: &str,
        kid: Option<&str>,
        now: u64,
    ) -> Result<JwkSet, JwksError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(jwks_uri.to_owned()).or_default().clone()
        };
        let mut entry = slot.lock().await;
        if let Some(e) = entry.as_mut() {
            let fresh = now.saturating_sub(e.fetched_at) < MAX_STALENESS_SECONDS;
            let known = kid.is_none_or(|k| e.jwks.find(k).is_some());
            let may_refetch = now.saturating_sub(e.attempted_at) >= MIN_REFETCH_INTERVAL_SECONDS;
            if fresh && (known || !may_refetch) {
                return Ok(e.jwks.clone());
            }
            e.attempted_at = now;
            return match self.fetch(jwks_uri).await {
                Ok(jwks) => {
                    e.jwks = jwks;
                    e.fetched_at = now;
                    Ok(e.jwks.clone())
                }
                // A rotation we could not see: the set we have still answers
                // (the token will be refused for its unknown key).
                Err(_) if fresh => Ok(e.jwks.clone()),
                Err(err) => Err(err),
            };
        }
        let jwks = self.fetch(jwks_uri).await?;
        *entry = Some(Entry {
            jwks: jwks.clone(),
            fetched_at: now,
            attempted_at: now,
        });
        Ok(jwks)
    }

    /// Validates an upstream ID token with the key set of `jwks_uri`
    /// ([`Self::keys_for`] for the token's `kid`, then
    /// [`upstream_id_token::validate`]).
    pub async fn validate(
        &self,
        jwks_uri: &str,
        check: &UpstreamCheck,
        token: &str,
        now: u64,
    ) -> Result<UpstreamClaims, CachedValidationError> {
        let kid = upstream_id_token::header_kid(token);
        let jwks = self
            .keys_for(jwks_uri, kid.as_deref(), now)
            .await
            .map_err(CachedValidationError::Jwks)?;
        upstream_id_token::validate(check, &jwks, token, now).map_err(CachedValidationError::Token)
    }

    async fn fetch(&self, jwks_uri: &str) -> Result<JwkSet, JwksError> {
        let doc: Value = self
            .http
            .get_json(jwks_uri, MAX_JWKS_BYTES)
            .await
            .map_err(JwksError::Fetch)?;
        let Some(Value::Array(keys)) = doc.get("keys") else {
            return Err(JwksError::NotAJwks);
        };
        let keys = keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect();
        Ok(JwkSet { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outbound_address::AddressPolicy;
    use crate::keys::{KeyPair, KeyStatus, SigningAlgorithm};
    use crate::outbound_http::OutboundError;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server answering every request with the current `body`,
    /// counting the requests.
    struct Upstream {
        uri: String,
        requests: Arc<AtomicUsize>,
        body: Arc<Mutex<String>>,
    }

    async fn serve(body: String) -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/jwks", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let body = Arc::new(Mutex::new(body));
        let (count, current) = (requests.clone(), body.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                let text = current.lock().unwrap().clone();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        Upstream {
            uri,
            requests,
            body,
        }
    }

    fn key() -> (String, String) {
        let pair = KeyPair::generate(SigningAlgorithm::Es256, KeyStatus::Active, 1).unwrap();
        (pair.public.kid, pair.public.public_jwk)
    }

    fn jwks(keys: &[&str]) -> String {
        format!("{{\"keys\":[{}]}}", keys.join(","))
    }

    fn cache() -> JwksCache {
        JwksCache::new(OutboundHttp::new(AddressPolicy::Local).unwrap())
    }

    fn kids(set: &JwkSet) -> Vec<String> {
        set.keys
            .iter()
            .filter_map(|k| k.common.key_id.clone())
            .collect()
    }

    const T: u64 = 1_000_000;

    #[tokio::test]
    async fn an_unknown_kid_refetches_once_a_minute_at_most() {
        let ((old, old_jwk), (new, new_jwk)) = (key(), key());
        let up = serve(jwks(&[&old_jwk])).await;
        let c = cache();
        assert_eq!(
            kids(&c.keys_for(&up.uri, Some(&old), T).await.unwrap()),
            [old.as_str()]
        );
        assert_eq!(up.requests.load(Ordering::SeqCst), 1);
        // Rotated upstream: the new kid refetches once.
        *up.body.lock().unwrap() = jwks(&[&old_jwk, &new_jwk]);
        // Within a minute of the first fetch, not even a real new kid refetches.
        let early = c.keys_for(&up.uri, Some(&new), T + 59).await.unwrap();
        assert_eq!(kids(&early), [old.as_str()]);
        assert_eq!(up.requests.load(Ordering::SeqCst), 1);
        let after = c.keys_for(&up.uri, Some(&new), T + 100).await.unwrap();
        assert_eq!(kids(&after), [old.as_str(), new.as_str()]);
        assert_eq!(up.requests.load(Ordering::SeqCst), 2);
        // Made-up kids within the minute: no request, the cached set.
        for (i, t) in [T + 101, T + 130, T + 159].into_iter().enumerate() {
            let got = c.keys_for(&up.uri, Some(&format!("random-{i}")), t).await;
            assert_eq!(kids(&got.unwrap()), [old.as_str(), new.as_str()]);
        }
        assert_eq!(up.requests.load(Ordering::SeqCst), 2);
        // A minute after the last fetch, one more.
        c.keys_for(&up.uri, Some("random-x"), T + 160)
            .await
            .unwrap();
        c.keys_for(&up.uri, Some("random-y"), T + 161)
            .await
            .unwrap();
        assert_eq!(up.requests.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_token_signed_by_a_rotated_in_key_validates_after_one_refetch() {
        use crate::federation::upstream_id_token::{DEFAULT_SKEW_SECONDS, UpstreamAlg};
        use crate::keys::SigningKey;
        let old = KeyPair::generate(SigningAlgorithm::Rs256, KeyStatus::Active, 1).unwrap();
        let new = KeyPair::generate(SigningAlgorithm::Rs256, KeyStatus::Active, 1).unwrap();
        let up = serve(jwks(&[&old.public.public_jwk])).await;
        let c = cache();
        c.keys_for(&up.uri, Some(&old.public.kid), T).await.unwrap();
        *up.body.lock().unwrap() = jwks(&[&old.public.public_jwk, &new.public.public_jwk]);
        let signer = SigningKey::new(&new.public.kid, SigningAlgorithm::Rs256, &new.private);
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.kid = Some(new.public.kid.clone());
        let claims = serde_json::json!({
            "iss": "https://up.example", "sub": "u1", "aud": "gh", "nonce": "n1",
            "exp": T + 300, "iat": T + 60
        });
        let token = jsonwebtoken::encode(&h, &claims, signer.encoding_key()).unwrap();
        let check = UpstreamCheck {
            issuer: "https://up.example".into(),
            client_id: "gh".into(),
            allowed_algs: vec![UpstreamAlg::Rs256],
            nonce: "n1".into(),
            max_age: None,
            skew: DEFAULT_SKEW_SECONDS,
        };
        let got = c.validate(&up.uri, &check, &token, T + 61).await.unwrap();
        assert_eq!(got.sub, "u1");
        c.validate(&up.uri, &check, &token, T + 62).await.unwrap();
        assert_eq!(up.requests.load(Ordering::SeqCst), 2);
        // A kid that is nowhere: refused, with no further request.
        h.kid = Some("nowhere".into());
        let stray = jsonwebtoken::encode(&h, &claims, signer.encoding_key()).unwrap();
        assert!(matches!(
            c.validate(&up.uri, &check, &stray, T + 63).await,
            Err(CachedValidationError::Token(UpstreamTokenError::UnknownKey))
        ));
        assert_eq!(up.requests.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_known_kid_is_answered_from_the_cache_until_the_bound() {
        let (kid, jwk) = key();
        let up = serve(jwks(&[&jwk])).await;
        let c = cache();
        for t in [T, T + 1, T + 600, T + MAX_STALENESS_SECONDS - 1] {
            c.keys_for(&up.uri, Some(&kid), t).await.unwrap();
            c.keys_for(&up.uri, None, t).await.unwrap();
        }
        assert_eq!(up.requests.load(Ordering::SeqCst), 1);
        // Past the bound: fetched again, then cached again.
        let later = T + MAX_STALENESS_SECONDS;
        c.keys_for(&up.uri, Some(&kid), later).await.unwrap();
        c.keys_for(&up.uri, Some(&kid), later + 5).await.unwrap();
        assert_eq!(up.requests.load(Ordering::SeqCst), 2);
        // Another URI has its own entry.
        let other = serve(jwks(&[&jwk])).await;
        c.keys_for(&other.uri, Some(&kid), later + 5).await.unwrap();
        assert_eq!(
            (
                up.requests.load(Ordering::SeqCst),
                other.requests.load(Ordering::SeqCst)
            ),
            (2, 1)
        );
    }

    #[tokio::test]
    async fn what_is_not_a_jwks_or_too_large_is_refused() {
        let (_, jwk) = key();
        for body in ["[]", "{\"keys\":{}}", "not json", "{}"] {
            let up = serve(body.into()).await;
            assert!(cache().keys_for(&up.uri, None, T).await.is_err(), "{body}");
        }
        let padded = format!(
            "{{\"keys\":[{jwk}],\"pad\":\"{}\"}}",
            "x".repeat(MAX_JWKS_BYTES)
        );
        let huge = serve(padded).await;
        assert!(matches!(
            cache().keys_for(&huge.uri, None, T).await,
            Err(JwksError::Fetch(_))
        ));
        // An unreadable key is skipped, the others kept.
        let mixed = serve(jwks(&[r#""not a key""#, "17", &jwk])).await;
        assert_eq!(
            cache()
                .keys_for(&mixed.uri, None, T)
                .await
                .unwrap()
                .keys
                .len(),
            1
        );
        // On AWS a loopback JWKS is refused before any request.
        let aws = JwksCache::new(OutboundHttp::new(AddressPolicy::PublicOnly).unwrap());
        assert!(matches!(
            aws.keys_for(&mixed.uri, None, T).await,
            Err(JwksError::Fetch(FetchError::Request(
                OutboundError::Refused(_)
            )))
        ));
        assert_eq!(mixed.requests.load(Ordering::SeqCst), 1);
    }
}
