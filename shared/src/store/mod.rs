//! Persistence: small traits sized to what each endpoint needs, and their DynamoDB
//! implementation. Tests, the local server and production run the same code.

pub mod dynamo;
mod dynamo_users;
mod item;
pub mod tables;

use crate::domain::client::Client;
use crate::domain::scope::Scope;
use crate::domain::token::{TokenKind, TokenRecord};
use crate::domain::user::User;
use crate::keys::StoredKey;
use crate::secret::{Secret, SecretHash};
use std::fmt;

pub use dynamo::DynamoStore;
pub use tables::TableNames;

#[derive(Debug)]
pub enum StoreError {
    /// A conditional write found the item already there (or not in the expected state).
    Conflict,
    /// An item could not be read back into a domain type.
    Corrupt(String),
    /// The database failed or could not be reached.
    Backend(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Conflict => f.write_str("conditional write failed"),
            Self::Corrupt(m) => write!(f, "corrupt item: {m}"),
            Self::Backend(m) => write!(f, "database error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// Registered clients.
#[allow(async_fn_in_trait)]
pub trait ClientStore {
    /// Creates a client; `Conflict` if the id exists.
    async fn create_client(&self, client: &Client) -> StoreResult<()>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// Replaces the secret hash of an existing confidential client; false if unknown.
    /// With `keep_previous_until`, the replaced secret stays valid until then;
    /// without, it stops working at once.
    async fn set_client_secret(
        &self,
        client_id: &str,
        hash: &SecretHash,
        keep_previous_until: Option<u64>,
    ) -> StoreResult<bool>;
    /// Deletes a client; false if unknown. Its tokens stop working at once because
    /// every use of a token checks that its client still exists.
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
}

/// Issued tokens, keyed by the hash of their value.
#[allow(async_fn_in_trait)]
pub trait TokenStore {
    /// Records a token; `Conflict` if its hash is already recorded.
    async fn put_token(&self, record: &TokenRecord) -> StoreResult<()>;
    /// Reads a token record (strongly consistent), expired or not.
    async fn get_token(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>>;
    /// Marks one token revoked; false if it is not recorded. Idempotent.
    async fn revoke_token(&self, hash: &SecretHash) -> StoreResult<bool>;
    /// Marks every token of a grant revoked; returns how many were recorded.
    async fn revoke_grant(&self, grant_id: &str) -> StoreResult<usize>;
    /// Marks a code or refresh token of `kind` used, in one conditional write: of
    /// any number of concurrent calls for one token, exactly one gets `First`.
    async fn use_token(
        &self,
        hash: &SecretHash,
        kind: TokenKind,
        now: u64,
    ) -> StoreResult<TokenUse>;
    /// Writes the tokens issued from a code or refresh token in one transaction.
    /// With `unrevoked_parent`, the transaction also checks that this parent is
    /// still unrevoked: `Conflict` if it was revoked meanwhile (a replay detected
    /// in between), and nothing is written.
    async fn put_tokens_from(
        &self,
        unrevoked_parent: Option<&SecretHash>,
        records: &[TokenRecord],
    ) -> StoreResult<()>;
}

/// The outcome of [`TokenStore::use_token`].
#[derive(Debug)]
pub enum TokenUse {
    /// This call used the token; the record as it now is.
    First(TokenRecord),
    /// The token had been used before; the record (with the first `used_at`).
    Again(TokenRecord),
    /// No token of that kind has this hash.
    Unknown,
}

/// Resource owners.
#[allow(async_fn_in_trait)]
pub trait UserStore {
    /// Creates a user; `Conflict` if the username is taken.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, username: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Replaces the password hash; false if the user is unknown.
    async fn set_password(&self, username: &str, hash: &str, now: u64) -> StoreResult<bool>;
    /// Enables or disables a user; false if the user is unknown.
    async fn set_disabled(&self, username: &str, disabled: bool) -> StoreResult<bool>;
    /// Deletes a user; false if unknown. Tokens issued for the user stop working
    /// because every use checks that the user still exists.
    async fn delete_user(&self, username: &str) -> StoreResult<bool>;
}

/// Scopes a user has approved for a client, remembered so that consent is asked
/// once (RFC 6749 §4.1.1 leaves this to the server).
#[allow(async_fn_in_trait)]
pub trait ConsentStore {
    async fn get_consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Scope>>;
    /// Records `scope` as approved, replacing what was recorded.
    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &Scope,
        now: u64,
    ) -> StoreResult<()>;
}

/// Counters of failed logins in fixed windows, expired by TTL.
#[allow(async_fn_in_trait)]
pub trait LoginAttemptStore {
    /// The failures recorded under each key (0 when none), in one read.
    async fn failures(&self, keys: &[String]) -> StoreResult<Vec<u64>>;
    /// Adds one failure under each key; the counters expire at `expires_at`.
    async fn record_failure(&self, keys: &[String], expires_at: u64) -> StoreResult<()>;
    /// Forgets the failures under `key` (after a successful login).
    async fn clear_failures(&self, key: &str) -> StoreResult<()>;
}

/// The key that signs session cookies and CSRF tokens.
#[allow(async_fn_in_trait)]
pub trait SessionKeyStore {
    /// The deployment's session key, created on first use.
    async fn session_key(&self) -> StoreResult<Secret>;
}

/// Signing keys.
#[allow(async_fn_in_trait)]
pub trait KeyStore {
    /// Every stored key (there are a handful).
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Applies a rotation atomically: each change is conditional on the key's
    /// current status, so two concurrent rotations cannot both succeed.
    async fn apply_rotation(&self, rotation: &crate::keys::Rotation) -> StoreResult<()>;
}
