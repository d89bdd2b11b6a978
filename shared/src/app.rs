//! What every handler shares: configuration, the store, and the cached key set.
//! Built once per cold start (Lambda) or once per process (local server).

use crate::backchannel_logout::LogoutDispatch;
use crate::config::Config;
use crate::federation::jwks_cache::JwksCache;
use crate::keys::{KeySet, SigningKey};
use crate::outbound_http::OutboundHttp;
use crate::secret::Secret;
use crate::store::{DynamoStore, KeyStore, SecretKeyPurpose, SecretKeyStore, StoreError};
use crate::tokens::verified_memo::VerifiedTokens;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct App {
    pub config: Config,
    pub store: DynamoStore,
    keys: RwLock<Option<(Instant, Arc<KeySet>)>>,
    /// The private half of the active key, read once per key.
    signing: RwLock<Option<Arc<SigningKey>>>,
    session_key: RwLock<Option<Arc<Secret>>>,
    refresh_key: RwLock<Option<Arc<Secret>>>,
    /// The outbound HTTP client, built on first use.
    outbound: OnceLock<Result<OutboundHttp, String>>,
    /// The upstream providers' key sets, built on first use.
    jwks: OnceLock<Result<JwksCache, String>>,
    logout_dispatch: LogoutDispatch,
    /// Access tokens whose signatures verified ([`crate::tokens::verified_memo`]).
    pub verified_tokens: VerifiedTokens,
}

impl App {
    pub fn new(config: Config, store: DynamoStore) -> Self {
        Self {
            config,
            store,
            keys: RwLock::new(None),
            signing: RwLock::new(None),
            session_key: RwLock::new(None),
            refresh_key: RwLock::new(None),
            outbound: OnceLock::new(),
            jwks: OnceLock::new(),
            logout_dispatch: LogoutDispatch::default(),
            verified_tokens: VerifiedTokens::default(),
        }
    }

    /// Where back-channel logout deliveries go ([`crate::backchannel_logout`]);
    /// awaited in-process unless set.
    pub fn with_logout_dispatch(mut self, dispatch: LogoutDispatch) -> Self {
        self.logout_dispatch = dispatch;
        self
    }

    pub fn logout_dispatch(&self) -> &LogoutDispatch {
        &self.logout_dispatch
    }

    /// The server's own HTTP client ([`crate::outbound_http`]), for the
    /// configured address policy: built once per process.
    pub fn outbound_http(&self) -> Result<OutboundHttp, String> {
        self.outbound
            .get_or_init(|| OutboundHttp::new(self.config.outbound_addresses))
            .clone()
    }

    /// The per-process cache of upstream providers' key sets
    /// ([`crate::federation::jwks_cache`]).
    pub fn jwks_cache(&self) -> Result<&JwksCache, String> {
        self.jwks
            .get_or_init(|| self.outbound_http().map(JwksCache::new))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The key that signs session cookies and CSRF tokens: read (or created) once
    /// per process.
    pub async fn session_key(&self) -> Result<Arc<Secret>, StoreError> {
        self.secret_key(&self.session_key, SecretKeyPurpose::Session)
            .await
    }

    /// The session key if one exists: for the logout endpoint, which only checks
    /// and makes CSRF tokens for browsers with a session (made by `/authorize`,
    /// which creates the key first), and so never creates it.
    pub async fn existing_session_key(&self) -> Result<Option<Arc<Secret>>, StoreError> {
        if let Some(k) = self.session_key.read().expect("secret key lock").as_ref() {
            return Ok(Some(k.clone()));
        }
        let Some(k) = self
            .store
            .existing_secret_key(SecretKeyPurpose::Session)
            .await?
        else {
            return Ok(None);
        };
        let k = Arc::new(k);
        *self.session_key.write().expect("secret key lock") = Some(k.clone());
        Ok(Some(k))
    }

    /// The key of refresh token MACs ([`crate::tokens::refresh`]): read (or
    /// created) once per process.
    pub async fn refresh_key(&self) -> Result<Arc<Secret>, StoreError> {
        self.secret_key(&self.refresh_key, SecretKeyPurpose::Refresh)
            .await
    }

    /// The refresh key if one exists, for checking presented refresh tokens: with
    /// none, no refresh token was ever issued, so none presented can be ours. The
    /// functions that only verify (introspection, revocation) never create it.
    pub async fn existing_refresh_key(&self) -> Result<Option<Arc<Secret>>, StoreError> {
        if let Some(k) = self.refresh_key.read().expect("secret key lock").as_ref() {
            return Ok(Some(k.clone()));
        }
        let Some(k) = self
            .store
            .existing_secret_key(SecretKeyPurpose::Refresh)
            .await?
        else {
            return Ok(None);
        };
        let k = Arc::new(k);
        *self.refresh_key.write().expect("secret key lock") = Some(k.clone());
        Ok(Some(k))
    }

    async fn secret_key(
        &self,
        cache: &RwLock<Option<Arc<Secret>>>,
        purpose: SecretKeyPurpose,
    ) -> Result<Arc<Secret>, StoreError> {
        if let Some(k) = cache.read().expect("secret key lock").as_ref() {
            return Ok(k.clone());
        }
        let k = Arc::new(self.store.secret_key(purpose).await?);
        *cache.write().expect("secret key lock") = Some(k.clone());
        Ok(k)
    }

    /// The key that signs access tokens: the active key of [`App::key_set`], with
    /// its private half read from the secrets table once per key (only the token
    /// function may read it). `None` when there is no active key, or its private
    /// half is missing.
    pub async fn signing_key(&self) -> Result<Option<Arc<SigningKey>>, StoreError> {
        let set = self.key_set().await?;
        let Some((kid, alg)) = &set.active else {
            return Ok(None);
        };
        if let Some(k) = self.signing.read().expect("signing key lock").as_ref()
            && &k.kid == kid
        {
            return Ok(Some(k.clone()));
        }
        let Some(der) = self.store.private_key(kid).await? else {
            tracing::error!(
                %kid,
                "the active signing key has no private half in the secrets table; \
                 `gatehouse keys migrate` moves keys of an older layout there"
            );
            return Ok(None);
        };
        let k = Arc::new(SigningKey::new(kid, *alg, &der));
        *self.signing.write().expect("signing key lock") = Some(k.clone());
        Ok(Some(k))
    }

    /// The public keys and JWKS, read from the store at most once per
    /// `key_cache_ttl`, so a rotation reaches every warm function within that time.
    pub async fn key_set(&self) -> Result<Arc<KeySet>, StoreError> {
        if let Some((at, set)) = self.keys.read().expect("key cache lock").as_ref()
            && at.elapsed() < self.config.key_cache_ttl
        {
            return Ok(set.clone());
        }
        let stored = self.store.list_keys().await?;
        let set = Arc::new(KeySet::build(stored, now()).map_err(StoreError::Corrupt)?);
        if let (Some(want), Some((kid, alg))) = (self.config.signing_alg, &set.active)
            && want != *alg
        {
            tracing::warn!(
                %kid,
                active = alg.as_str(),
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
