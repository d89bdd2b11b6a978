//! The issuer's key set (RFC 7517 §5), fetched lazily and cached.
//!
//! - The set is cached for the response's `Cache-Control: max-age` (RFC 9111
//!   §5.2.2.1), else for [`Settings::jwks_cache_ttl`](crate::Settings), never for
//!   less than `min_refetch_interval` nor for more than a day.
//! - A token whose `kid` is not in a fresh cache causes one refetch (the issuer may
//!   have rotated its keys), unless a fetch completed while the request waited, and
//!   at most one such refetch per `min_refetch_interval`: forged `kid`s cannot make
//!   the verifier hammer the JWKS endpoint.
//! - After a failed fetch, no fetch for `retry_after_failure`.
//! - One fetch at a time: concurrent requests wait for it and share its outcome.
//! - A key is usable only for the one algorithm it states (`alg`) or implies (its
//!   type and curve); symmetric (`oct`) keys and keys whose `use` is not `sig` are
//!   ignored (RFC 8725 §3.1, §3.2).

use crate::rejection::Rejection;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::time::Instant;

/// The longest a key set is cached whatever its `max-age` says.
const MAX_CACHE_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The largest key set read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A verification key and the one algorithm it verifies.
pub(crate) struct Key {
    pub alg: Algorithm,
    pub decoding: DecodingKey,
}

#[derive(Default)]
struct Snapshot {
    keys: HashMap<String, Arc<Key>>,
    /// `None` until the first successful fetch.
    expires_at: Option<Instant>,
}

impl Snapshot {
    fn is_fresh(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|t| now < t)
    }
}

#[derive(Default)]
struct Attempts {
    /// When the last fetch (successful or not) ended.
    last_completed: Option<Instant>,
    /// When the last refetch for an unknown `kid` started.
    last_refetch: Option<Instant>,
    /// When the last failed fetch ended.
    last_failure: Option<Instant>,
}

pub(crate) struct KeyCache {
    uri: http::Uri,
    http: HttpClient,
    timeout: Duration,
    default_ttl: Duration,
    min_interval: Duration,
    retry_after_failure: Duration,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Held for the whole of a fetch, so that there is one at a time.
    attempts: tokio::sync::Mutex<Attempts>,
}

/// Why a key was not found.
pub(crate) enum Lookup {
    /// Not in the key set, even after a refetch (or a refetch was not allowed yet).
    Unknown,
    /// The key set could not be fetched.
    Unavailable(Rejection),
}

/// How long a cache entry or a pause lasts from `start`; `None` is "for ever".
fn until(start: Instant, d: Duration) -> Option<Instant> {
    start.checked_add(d)
}

impl KeyCache {
    pub fn new(
        uri: http::Uri,
        http: HttpClient,
        timeout: Duration,
        default_ttl: Duration,
        min_interval: Duration,
        retry_after_failure: Duration,
    ) -> Self {
        Self {
            uri,
            http,
            timeout,
            default_ttl,
            min_interval,
            retry_after_failure,
            snapshot: RwLock::default(),
            attempts: tokio::sync::Mutex::default(),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The key `kid`, fetching the key set if the cache is empty or stale, or once
    /// (rate-limited) if `kid` is unknown.
    pub async fn key(&self, kid: &str) -> Result<Arc<Key>, Lookup> {
        let started = Instant::now();
        let snap = self.snapshot();
        if snap.is_fresh(started)
            && let Some(k) = snap.keys.get(kid)
        {
            return Ok(k.clone());
        }
        let mut attempts = self.attempts.lock().await;
        // Another request may have fetched while this one waited.
        let now = Instant::now();
        let snap = self.snapshot();
        let fresh = snap.is_fresh(now);
        if fresh && let Some(k) = snap.keys.get(kid) {
            return Ok(k.clone());
        }
        if let Some(failed) = attempts.last_failure {
            let retry_at = until(failed, self.retry_after_failure);
            if retry_at.is_none_or(|t| now < t) {
                if fresh {
                    return Err(Lookup::Unknown);
                }
                let retry = retry_at.map_or(self.retry_after_failure, |t| t - now);
                return Err(Lookup::Unavailable(Rejection::jwks_unavailable(
                    "the last JWKS fetch failed; waiting before the next".into(),
                    retry,
                )));
            }
        }
        if fresh {
            // An unknown kid. No refetch if a fetch ended while this request
            // waited (it saw the current set), nor twice within the interval.
            let fetched_meanwhile = attempts.last_completed.is_some_and(|t| t >= started);
            let refetched_recently = attempts
                .last_refetch
                .is_some_and(|t| until(t, self.min_interval).is_none_or(|end| now < end));
            if fetched_meanwhile || refetched_recently {
                return Err(Lookup::Unknown);
            }
            attempts.last_refetch = Some(now);
        }
        let result = tokio::time::timeout(self.timeout, self.fetch()).await;
        let done = Instant::now();
        attempts.last_completed = Some(done);
        let result = result.unwrap_or_else(|_| {
            Err(format!(
                "no complete answer within {} ms",
                self.timeout.as_millis()
            ))
        });
        match result {
            Ok((keys, ttl)) => {
                attempts.last_failure = None;
                let ttl = ttl
                    .unwrap_or(self.default_ttl)
                    .max(self.min_interval)
                    .min(MAX_CACHE_TTL);
                let found = keys.get(kid).cloned();
                *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Snapshot {
                    keys,
                    expires_at: until(done, ttl),
                });
                found.ok_or(Lookup::Unknown)
            }
            Err(cause) => {
                attempts.last_failure = Some(done);
                Err(Lookup::Unavailable(Rejection::jwks_unavailable(
                    format!("JWKS fetch from {} failed: {cause}", self.uri),
                    self.retry_after_failure,
                )))
            }
        }
    }

    /// GETs the key set: its usable keys by `kid`, and the `max-age` it may be
    /// cached for.
    #[allow(clippy::type_complexity)]
    async fn fetch(&self) -> Result<(HashMap<String, Arc<Key>>, Option<Duration>), String> {
        let request = http::Request::get(self.uri.clone())
            .header(
                http::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .header(
                http::header::USER_AGENT,
                concat!("gatehouse-resource-server/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let resp = self
            .http
            .request(request)
            .await
            .map_err(|e| error_chain(&e))?;
        if resp.status() != http::StatusCode::OK {
            return Err(format!("status {}", resp.status()));
        }
        let max_age = resp
            .headers()
            .get_all(http::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(max_age);
        let body = Limited::new(resp.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the key set failed: {e}"))?
            .to_bytes();
        let keys = parse_jwks(&body)?;
        if keys.is_empty() {
            return Err("the key set has no usable signature key".into());
        }
        Ok((keys, max_age))
    }
}

/// An error with its sources ("client error (Connect): tcp connect error: Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// `max-age` of a `Cache-Control` value (RFC 9111 §5.2.2.1); `no-store` and
/// `no-cache` count as zero.
pub(crate) fn max_age(cache_control: &str) -> Option<Duration> {
    let mut found = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            found = value
                .trim()
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    found
}

/// The usable signature keys of a JWK Set, by `kid`. Keys this crate cannot use
/// (no `kid`, symmetric, for encryption, an unknown type or curve) are skipped,
/// so one odd key does not spoil the set. When two keys share a `kid`, the first
/// one wins.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<Key>>, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the key set is not JSON".to_owned())?;
    let keys = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("the key set has no `keys` array")?;
    let mut out = HashMap::new();
    for value in keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value.clone()) else {
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if let Some(key) = usable_key(&jwk) {
            out.entry(kid).or_insert_with(|| Arc::new(key));
        }
    }
    Ok(out)
}

/// The key and its one algorithm, if `jwk` is an asymmetric signature key.
fn usable_key(jwk: &Jwk) -> Option<Key> {
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return None,
    }
    if let Some(ops) = &jwk.common.key_operations
        && !ops.contains(&KeyOperations::Verify)
    {
        return None;
    }
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => None,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) => match p.curve {
            EllipticCurve::Ed25519 => Some(Algorithm::EdDSA),
            _ => return None,
        },
        // Symmetric (`oct`) keys, unknown key types.
        _ => return None,
    };
    let stated = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::RS384) => Some(Algorithm::RS384),
        Some(KeyAlgorithm::RS512) => Some(Algorithm::RS512),
        Some(KeyAlgorithm::PS256) => Some(Algorithm::PS256),
        Some(KeyAlgorithm::PS384) => Some(Algorithm::PS384),
        Some(KeyAlgorithm::PS512) => Some(Algorithm::PS512),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::ES384) => Some(Algorithm::ES384),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        // HS*, encryption algorithms, unknown ones.
        Some(_) => return None,
    };
    let alg = match (stated, implied) {
        (Some(s), Some(i)) if s != i => return None,
        (Some(a), _) | (None, Some(a)) => a,
        // An RSA key without `alg`: RS256, the algorithm RFC 9068 §2.1 and RFC 7518
        // §3.1 make the default.
        (None, None) => Algorithm::RS256,
    };
    if matches!(jwk.algorithm, AlgorithmParameters::RSA(_))
        && alg.family() != jsonwebtoken::AlgorithmFamily::Rsa
    {
        return None;
    }
    let decoding = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key { alg, decoding })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        let cases = [
            ("public, max-age=300", Some(300)),
            ("max-age=60", Some(60)),
            ("Max-Age = 7 , public", Some(7)),
            ("max-age=\"12\"", Some(12)),
            ("public", None),
            ("max-age=abc", None),
            ("no-store", Some(0)),
            ("public, no-cache, max-age=300", Some(0)),
            ("s-maxage=100", None),
        ];
        for (header, secs) in cases {
            assert_eq!(max_age(header), secs.map(Duration::from_secs), "{header:?}");
        }
    }

    const RSA_N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    #[test]
    fn only_asymmetric_signature_keys_are_kept_each_with_one_algorithm() {
        let jwks = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "rsa", "n": RSA_N, "e": "AQAB"},
            {"kty": "RSA", "kid": "rsa-ps", "alg": "PS256", "use": "sig", "n": RSA_N, "e": "AQAB"},
            {"kty": "RSA", "kid": "rsa-enc", "use": "enc", "n": RSA_N, "e": "AQAB"},
            {"kty": "RSA", "kid": "rsa-es", "alg": "ES256", "n": RSA_N, "e": "AQAB"},
            {"kty": "RSA", "kid": "rsa-hs", "alg": "HS256", "n": RSA_N, "e": "AQAB"},
            {"kty": "RSA", "n": RSA_N, "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "oct", "kid": "hmac-alg", "alg": "HS256", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "ec", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "weird", "kid": "weird"},
            {"kty": "RSA", "kid": "rsa", "alg": "RS512", "n": RSA_N, "e": "AQAB"},
        ]});
        let keys = parse_jwks(jwks.to_string().as_bytes()).unwrap();
        let mut algs: Vec<_> = keys.iter().map(|(k, v)| (k.as_str(), v.alg)).collect();
        algs.sort_by_key(|(k, _)| *k);
        assert_eq!(
            algs,
            [
                ("ec", Algorithm::ES256),
                ("rsa", Algorithm::RS256),
                ("rsa-ps", Algorithm::PS256),
            ]
        );
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(parse_jwks(b"[]").is_err());
        assert!(parse_jwks(b"not json").is_err());
        assert!(parse_jwks(br#"{"keys": []}"#).unwrap().is_empty());
    }
}
