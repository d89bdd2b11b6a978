//! Persistence: small traits sized to what each endpoint needs, and their DynamoDB
//! implementation. Tests, the local server and production run the same code.

pub mod dynamo;
mod item;
pub mod tables;

use crate::domain::client::Client;
use crate::domain::token::TokenRecord;
use crate::keys::StoredKey;
use crate::secret::SecretHash;
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
