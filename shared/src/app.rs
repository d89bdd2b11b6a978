//! What every handler shares: configuration, the store, and the cached key set.
//! Built once per cold start (Lambda) or once per process (local server).

use crate::config::Config;
use crate::keys::KeySet;
use crate::secret::Secret;
use crate::store::{DynamoStore, KeyStore, SessionKeyStore, StoreError};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct App {
    pub config: Config,
    pub store: DynamoStore,
    keys: RwLock<Option<(Instant, Arc<KeySet>)>>,
    session_key: RwLock<Option<Arc<Secret>>>,
}

impl App {
    pub fn new(config: Config, store: DynamoStore) -> Self {
        Self {
            config,
            store,
            keys: RwLock::new(None),
            session_key: RwLock::new(None),
        }
    }

    /// The key that signs session cookies and CSRF tokens: read (or created) once
    /// per process.
    pub async fn session_key(&self) -> Result<Arc<Secret>, StoreError> {
        if let Some(k) = self.session_key.read().expect("session key lock").as_ref() {
            return Ok(k.clone());
        }
        let k = Arc::new(self.store.session_key().await?);
        *self.session_key.write().expect("session key lock") = Some(k.clone());
        Ok(k)
    }

    /// The signing key and JWKS, read from the store at most once per
    /// `key_cache_ttl`, so a rotation reaches every warm function within that time.
    pub async fn key_set(&self) -> Result<Arc<KeySet>, StoreError> {
        if let Some((at, set)) = self.keys.read().expect("key cache lock").as_ref()
            && at.elapsed() < self.config.key_cache_ttl
        {
            return Ok(set.clone());
        }
        let stored = self.store.list_keys().await?;
        let set = Arc::new(KeySet::build(stored, now()).map_err(StoreError::Corrupt)?);
        if let (Some(want), Some(active)) = (self.config.signing_alg, &set.signing)
            && want != active.alg
        {
            tracing::warn!(
                kid = %active.kid,
                active = active.alg.as_str(),
                configured = want.as_str(),
                "the active signing key's algorithm is not the configured one; \
                 `gatehouse keys rotate --alg {}` twice switches it",
                want.as_str()
            );
        }
        *self.keys.write().expect("key cache lock") = Some((Instant::now(), set.clone()));
        Ok(set)
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
