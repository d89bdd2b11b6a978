//! Operator actions shared by the `gatehouse` command and the tests: registering
//! clients, rotating their secrets, bootstrapping and rotating signing keys, and
//! creating users.

use crate::app::now;
use crate::config::Config;
use crate::domain::client::{Client, ClientRegistration, ClientType};
use crate::domain::user::{
    Profile, ProfileChange, User, hash_password, validate_password, validate_username,
};
use crate::keys::{JWKS_CACHE_SECONDS, MAX_KEY_CACHE_SECONDS, PUBLISH_BEFORE_SIGNING_SECONDS};
use crate::keys::{KeyStatus, Rotation, SigningAlgorithm};
use crate::secret::{Secret, random_client_id, random_id, random_token};
use crate::store::{ClientStore, KeyStore, StoreError, UserStore};

/// A newly registered client and, for a confidential client, its secret: shown
/// once, never stored in clear.
#[derive(Debug)]
pub struct RegisteredClient {
    pub client: Client,
    pub secret: Option<Secret>,
}

/// Registers a client after checking the registration rules.
pub async fn register_client(
    store: &impl ClientStore,
    config: &Config,
    reg: ClientRegistration,
) -> Result<RegisteredClient, String> {
    reg.validate(&config.scopes, config.max_access_token_ttl)?;
    let secret = (reg.client_type == ClientType::Confidential).then(random_token);
    let auth_method = reg.auth_method();
    let client = Client {
        client_id: random_client_id(),
        name: reg.name.trim().to_owned(),
        client_type: reg.client_type,
        secret_hash: secret.as_ref().map(Secret::hash),
        previous_secret: None,
        redirect_uris: reg.redirect_uris,
        grant_types: reg.grant_types,
        default_scope: reg
            .default_scope
            .unwrap_or_else(|| reg.allowed_scope.clone()),
        allowed_scope: reg.allowed_scope,
        access_token_ttl: reg.access_token_ttl,
        introspect_any: reg.introspect_any,
        skip_consent: reg.skip_consent,
        token_endpoint_auth_method: Some(auth_method),
        require_pkce: reg.require_pkce,
        post_logout_redirect_uris: reg.post_logout_redirect_uris,
        backchannel_logout_uri: reg.backchannel_logout_uri.clone(),
        created_at: now(),
    };
    store
        .create_client(&client)
        .await
        .map_err(|e| e.to_string())?;
    Ok(RegisteredClient { client, secret })
}

/// Gives a confidential client a new secret. The old one keeps working for
/// `grace_seconds` (0: it stops at once, as after a leak).
pub async fn rotate_client_secret(
    store: &impl ClientStore,
    client_id: &str,
    grace_seconds: u64,
) -> Result<Secret, String> {
    let secret = random_token();
    let keep = (grace_seconds > 0).then(|| now() + grace_seconds);
    match store
        .set_client_secret(client_id, &secret.hash(), keep)
        .await
    {
        Ok(true) => Ok(secret),
        Ok(false) => Err(format!("no confidential client `{client_id}`")),
        Err(e) => Err(e.to_string()),
    }
}

/// Creates the first active and next keys when there is no active key. Returns
/// whether keys were created.
pub async fn ensure_signing_keys(
    store: &impl KeyStore,
    config: &Config,
    alg: SigningAlgorithm,
) -> Result<bool, String> {
    let keys = store.list_keys().await.map_err(|e| e.to_string())?;
    if keys.iter().any(|k| k.status == KeyStatus::Active) {
        return Ok(false);
    }
    let plan = Rotation::plan(&keys, alg, now(), config.retired_key_publication())?;
    match store.apply_rotation(&plan).await {
        Ok(()) => Ok(true),
        // Another process bootstrapped at the same moment.
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// One rotation step (see [`Rotation::plan`]). Refuses, unless `force`, to activate
/// a next key published for less than [`PUBLISH_BEFORE_SIGNING_SECONDS`]: the
/// functions' key cache plus the verifiers' JWKS cache, since a verifier could not
/// have fetched it yet.
pub async fn rotate_signing_keys(
    store: &impl KeyStore,
    config: &Config,
    alg: SigningAlgorithm,
    force: bool,
) -> Result<Rotation, String> {
    let keys = store.list_keys().await.map_err(|e| e.to_string())?;
    let t = now();
    if !force
        && let Some(next) = keys.iter().find(|k| k.status == KeyStatus::Next)
        && keys.iter().any(|k| k.status == KeyStatus::Active)
        && t < next.created_at + PUBLISH_BEFORE_SIGNING_SECONDS
    {
        return Err(format!(
            "the next key {} was published {} s ago; the functions cache the key set for \
             up to {MAX_KEY_CACHE_SECONDS} s and verifiers the JWKS for {JWKS_CACHE_SECONDS} s, \
             so it may sign {PUBLISH_BEFORE_SIGNING_SECONDS} s after it was published. \
             Rotate again later, or pass --force",
            next.kid,
            t.saturating_sub(next.created_at),
        ));
    }
    let plan = Rotation::plan(&keys, alg, t, config.retired_key_publication())?;
    store.apply_rotation(&plan).await.map_err(|e| match e {
        StoreError::Conflict => {
            "another rotation changed the keys at the same time; try again".to_owned()
        }
        e => e.to_string(),
    })?;
    Ok(plan)
}

/// Creates a user with an argon2id hash of `password`.
pub async fn create_user(
    store: &impl UserStore,
    username: &str,
    password: &str,
) -> Result<User, String> {
    create_user_with_profile(store, username, password, &ProfileChange::default()).await
}

/// Creates a user with an argon2id hash of `password` and the profile claims
/// `profile` gives (OpenID Connect Core §5.1); `updated_at` is the creation.
pub async fn create_user_with_profile(
    store: &impl UserStore,
    username: &str,
    password: &str,
    profile: &ProfileChange,
) -> Result<User, String> {
    validate_username(username)?;
    validate_password(password)?;
    profile.validate()?;
    let t = now();
    let user = User {
        username: username.to_owned(),
        user_id: random_id(),
        password_hash: Some(hash_password(password)?),
        disabled: false,
        created_at: t,
        password_changed_at: t,
        epoch: 0,
        profile: profile.apply(&Profile::default(), t),
    };
    match store.create_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict) => Err(format!("the username `{username}` is taken")),
        Err(e) => Err(e.to_string()),
    }
}

/// Replaces a user's password; the user's sessions end.
pub async fn set_user_password(
    store: &impl UserStore,
    username: &str,
    password: &str,
) -> Result<(), String> {
    validate_password(password)?;
    let hash = hash_password(password)?;
    match store.set_password(username, &hash, now()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("no user `{username}`")),
        Err(e) => Err(e.to_string()),
    }
}

/// Changes a user's profile claims; `updated_at` moves to now. Sessions and
/// grants go on: only a password change, disabling or `end-sessions` ends them.
pub async fn update_user_profile(
    store: &impl UserStore,
    username: &str,
    change: &ProfileChange,
) -> Result<(), String> {
    if change.is_empty() {
        return Err(
            "nothing to change: give --email, --email-verified, --name, --given-name or \
             --family-name"
                .into(),
        );
    }
    change.validate()?;
    match store.update_profile(username, change, now()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("no user `{username}`")),
        Err(e) => Err(e.to_string()),
    }
}
