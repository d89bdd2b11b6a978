//! Persistence: small traits sized to what each endpoint needs, and their DynamoDB
//! implementation. Tests, the local server and production run the same code.

pub mod client_memo;
pub mod dynamo;
mod dynamo_federation;
mod dynamo_grants;
mod dynamo_keys;
mod dynamo_providers;
mod dynamo_users;
mod item;
pub mod tables;

use crate::domain::client::Client;
use crate::domain::federated_identity::FederatedIdentity;
use crate::domain::grant::{Grant, RefreshState, RevokeReason};
use crate::domain::login_throttle::{Counter, Release};
use crate::domain::provider::Provider;
use crate::domain::scope::Scope;
use crate::domain::session::LoginSession;
use crate::domain::upstream_state::UpstreamState;
use crate::domain::user::{Profile, ProfileChange, User, UserState};
use crate::keys::{PrivateKeyDer, StoredKey};
use crate::secret::{Secret, SecretHash};
use std::fmt;

pub use dynamo::DynamoStore;
pub use dynamo_providers::provider_secret_name;
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
    /// Deletes a client; false if unknown. Its grants and tokens stop working at
    /// once because every use of a token checks that its client still exists.
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
}

/// The browser origins of the registered clients' redirect URIs
/// (`domain/cors.rs`), kept in the same transaction as each client's creation
/// and deletion, so a CORS preflight costs one read whatever the number of
/// clients.
#[allow(async_fn_in_trait)]
pub trait OriginStore {
    /// Whether some registered client has a redirect URI of `origin`.
    async fn origin_registered(&self, origin: &str) -> StoreResult<bool>;
}

/// Grants (RFC 6749 §1.3): one record per authorization, the unit of revocation.
#[allow(async_fn_in_trait)]
pub trait GrantStore {
    /// Records a new grant (with its code) made in login session `session_id`, in
    /// one transaction that also marks the session seen; `Conflict` if the session
    /// ended meanwhile.
    async fn create_grant(&self, grant: &Grant, now: u64) -> StoreResult<()>;
    /// Reads a grant (strongly consistent), expired or not.
    async fn get_grant(&self, grant_id: &str) -> StoreResult<Option<Grant>>;
    /// Redeems the grant's code, in one transaction conditioned on the grant being
    /// live with this code unredeemed, its user at the grant's epoch and its client
    /// registered: `Conflict` and nothing written otherwise.
    async fn redeem_code(&self, grant: &Grant, update: &GrantUpdate) -> StoreResult<()>;
    /// Rotates the refresh token from generation `from` to `update.refresh`, in one
    /// transaction conditioned as [`GrantStore::redeem_code`] and on `from` still
    /// being current: `Conflict` and nothing written otherwise.
    async fn rotate_refresh(
        &self,
        grant: &Grant,
        from: u64,
        update: &GrantUpdate,
    ) -> StoreResult<()>;
    /// Ends a grant: one conditional write, whatever its history. With
    /// `client_id`, only a grant of that client. False if there is no such live
    /// grant.
    async fn revoke_grant(
        &self,
        grant_id: &str,
        client_id: Option<&str>,
        reason: RevokeReason,
        now: u64,
    ) -> StoreResult<bool>;
    /// The grants of a user or of a client, newest first (for operators).
    async fn list_grants(&self, by: GrantsOf<'_>) -> StoreResult<Vec<Grant>>;
}

/// What a redemption or refresh writes into the grant.
#[derive(Clone, Debug)]
pub struct GrantUpdate {
    pub now: u64,
    pub refresh: Option<RefreshState>,
    /// When the record may go: after its last token expires.
    pub expires_at: u64,
}

/// Whose grants to list.
#[derive(Clone, Copy, Debug)]
pub enum GrantsOf<'a> {
    User(&'a str),
    Client(&'a str),
}

/// Login sessions.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    async fn create_session(&self, session: &LoginSession) -> StoreResult<()>;
    /// Reads a session (strongly consistent), ended or not.
    async fn get_session(&self, session_id: &str) -> StoreResult<Option<LoginSession>>;
    /// Ends one session; false if it is unknown or ended already.
    async fn end_session(&self, session_id: &str, now: u64) -> StoreResult<bool>;
}

/// Access tokens revoked before they expire (RFC 7009 §2), and the reads that
/// decide whether a token is active.
#[allow(async_fn_in_trait)]
pub trait TokenStateStore {
    /// Puts an access token on the revocation list until it expires.
    async fn revoke_access_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: u64,
    ) -> StoreResult<()>;
    /// What can change about a token, in one request: its grant, whether its
    /// client is still registered, whether its `jti` is revoked; and, for
    /// introspection and the token endpoint, the calling client, to authenticate
    /// it with no second read.
    async fn token_state(&self, q: &TokenStateQuery<'_>) -> StoreResult<TokenState>;
}

/// What [`TokenStateStore::token_state`] reads; `None` skips a read.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenStateQuery<'a> {
    pub grant_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub jti: Option<&'a str>,
    /// The client calling introspection or the token endpoint; it may be the
    /// token's client too.
    pub caller_id: Option<&'a str>,
}

#[derive(Clone, Debug, Default)]
pub struct TokenState {
    pub grant: Option<Grant>,
    pub client: Option<Client>,
    pub jti_revoked: bool,
    pub caller: Option<Client>,
}

/// Resource owners.
#[allow(async_fn_in_trait)]
pub trait UserStore {
    /// Creates a user; `Conflict` if the username is taken.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, username: &str) -> StoreResult<Option<User>>;
    /// The user's state without the password hash.
    async fn get_user_state(&self, username: &str) -> StoreResult<Option<UserState>>;
    /// The user's id and profile claims, for the UserInfo endpoint: one `GetItem`
    /// projecting those attributes alone, never the password hash.
    async fn get_user_profile(&self, username: &str) -> StoreResult<Option<UserProfile>>;
    /// Applies `change` to the profile and sets `updated_at` to `now`, in one
    /// write; the epoch stays, so sessions and grants go on. False if the user is
    /// unknown.
    async fn update_profile(
        &self,
        username: &str,
        change: &ProfileChange,
        now: u64,
    ) -> StoreResult<bool>;
    /// The users whose e-mail address is `email`, compared case-insensitively
    /// ([`crate::domain::user::email_key`]): candidates for linking an upstream
    /// account to a local one, never an identity (OpenID Connect Core §5.7).
    /// Several users may share an address; all are answered. An empty address, or
    /// one longer than [`crate::domain::user::MAX_EMAIL_BYTES`], answers none
    /// without a request.
    async fn users_with_email(&self, email: &str) -> StoreResult<Vec<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Replaces the password hash and moves the epoch on, ending the user's
    /// sessions and grants; false if the user is unknown.
    async fn set_password(&self, username: &str, hash: &str, now: u64) -> StoreResult<bool>;
    /// Enables or disables a user; disabling moves the epoch on, so re-enabling
    /// revives no session or grant. False if the user is unknown.
    async fn set_disabled(&self, username: &str, disabled: bool) -> StoreResult<bool>;
    /// Moves the epoch on: every session and grant of the user ends, in one write.
    /// False if the user is unknown.
    async fn end_sessions(&self, username: &str) -> StoreResult<bool>;
    /// Deletes a user; false if unknown. Their sessions and grants end because
    /// every use checks that the user still exists.
    async fn delete_user(&self, username: &str) -> StoreResult<bool>;
}

/// What [`UserStore::get_user_profile`] reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserProfile {
    pub username: String,
    pub user_id: String,
    pub profile: Profile,
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

/// Sign-in throttling counters in fixed windows, expired by TTL
/// (`domain/login_throttle.rs` says which and why).
#[allow(async_fn_in_trait)]
pub trait LoginAttemptStore {
    /// Takes one slot in every counter, each on the condition that it holds fewer
    /// than its limit, all or none. `Refused` names (by index) the counters that
    /// refused; the counters expire at `expires_at`.
    async fn take_slots(&self, counters: &[Counter], expires_at: u64) -> StoreResult<Slots>;
    /// Gives slots back after a successful sign-in, in one write.
    async fn release_slots(&self, release: &[Release]) -> StoreResult<()>;
    /// The slots held under each key (0 when none), in one read.
    async fn slots_held(&self, keys: &[String]) -> StoreResult<Vec<u64>>;
}

/// The outcome of [`LoginAttemptStore::take_slots`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slots {
    Taken,
    /// The indexes of the counters that refused (at their limit, or held by
    /// concurrent writes past the store's retries); nothing was taken.
    Refused(Vec<usize>),
}

/// The deployment's HMAC keys, each created on first use.
#[allow(async_fn_in_trait)]
pub trait SecretKeyStore {
    /// The key, created on first use.
    async fn secret_key(&self, purpose: SecretKeyPurpose) -> StoreResult<Secret>;
    /// The key if it exists: for functions that only verify, and so never write.
    async fn existing_secret_key(&self, purpose: SecretKeyPurpose) -> StoreResult<Option<Secret>>;
}

/// What a deployment HMAC key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKeyPurpose {
    /// CSRF tokens of the login and consent forms (item `session-key`).
    Session,
    /// Refresh token MACs (item `refresh-key`).
    Refresh,
}

impl SecretKeyPurpose {
    /// The secrets-table item that holds the key.
    pub fn name(self) -> &'static str {
        match self {
            Self::Session => "session-key",
            Self::Refresh => "refresh-key",
        }
    }
}

/// Signing keys: public records apart from private halves.
#[allow(async_fn_in_trait)]
pub trait KeyStore {
    /// The public record of every stored key (there are a handful); never private
    /// material.
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// The private half of key `kid`, for the function that signs; `None` once
    /// the key is retired (or was never stored here).
    async fn private_key(&self, kid: &str) -> StoreResult<Option<PrivateKeyDer>>;
    /// Applies a rotation atomically: each change is conditional on the key's
    /// current status, so two concurrent rotations cannot both succeed.
    async fn apply_rotation(&self, rotation: &crate::keys::Rotation) -> StoreResult<()>;
}

/// Upstream OpenID Providers (`domain/provider.rs`). The provider's client
/// secret is an item of the secrets table (`provider/{id}`), written and
/// deleted in one transaction with the provider, and read only by
/// [`ProviderStore::provider_secret`].
#[allow(async_fn_in_trait)]
pub trait ProviderStore {
    /// Creates a provider and its secret in one transaction; `Conflict`, and
    /// nothing written, if the id exists.
    async fn create_provider(&self, provider: &Provider, secret: &Secret) -> StoreResult<()>;
    async fn get_provider(&self, provider_id: &str) -> StoreResult<Option<Provider>>;
    /// Every provider, by id.
    async fn list_providers(&self) -> StoreResult<Vec<Provider>>;
    /// Deletes a provider and its secret in one transaction; false if unknown.
    async fn delete_provider(&self, provider_id: &str) -> StoreResult<bool>;
    /// The provider's client secret: only for the function that exchanges
    /// codes at the provider's token endpoint.
    async fn provider_secret(&self, provider_id: &str) -> StoreResult<Option<Secret>>;
}

/// Upstream authorization requests in flight (`domain/upstream_state.rs`).
#[allow(async_fn_in_trait)]
pub trait UpstreamStateStore {
    /// Records a new request; `Conflict` if its `state_hash` exists.
    async fn put_state(&self, state: &UpstreamState) -> StoreResult<()>;
    /// Takes the request whose `state` hashes to `state_hash`, once: one
    /// conditional delete that returns the deleted record, on the condition that
    /// it exists and has not expired at `now`. Two simultaneous callbacks with the
    /// same `state` get it at most once; `None` for an unknown, expired or
    /// already-taken state (RFC 6749 §10.12, single use enforced by the database).
    async fn take_state(&self, state_hash: &str, now: u64) -> StoreResult<Option<UpstreamState>>;
}

/// Federated identities (`domain/federated_identity.rs`), keyed by (issuer, `sub`)
/// only (OpenID Connect Core §5.7).
#[allow(async_fn_in_trait)]
pub trait IdentityStore {
    /// The identity (issuer, `sub`), strongly consistent.
    async fn get_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<FederatedIdentity>>;
    /// Links an identity to its user, in one transaction conditioned on the
    /// identity not existing (an identity links to one user only, ever: linking
    /// it again, to anyone, is `Conflict`) and on the user existing with that
    /// `user_id`.
    async fn link_identity(&self, identity: &FederatedIdentity) -> StoreResult<()>;
    /// Removes the identity (issuer, `sub`) if it still names `user_id`: a link
    /// its user outlived (deleted). True if it was removed.
    async fn forget_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: &str,
    ) -> StoreResult<bool>;
    /// Creates a user just in time together with their first identity, in one
    /// transaction: the user on the condition that the name is free, the identity
    /// on the condition that it is not linked yet. Either taken is `Conflict`,
    /// and then nothing is written. The identity must name this user
    /// (`username`, `user_id`).
    async fn create_user_with_identity(
        &self,
        user: &User,
        identity: &FederatedIdentity,
    ) -> StoreResult<()>;
    /// The identities linked to `username`, by issuer then subject.
    async fn identities_of(&self, username: &str) -> StoreResult<Vec<FederatedIdentity>>;
    /// Removes the identity (issuer, `sub`) of `username`, unless it is their last
    /// way to sign in (see [`Unlink`]).
    async fn unlink(&self, issuer: &str, subject: &str, username: &str) -> StoreResult<Unlink>;
}

/// The outcome of [`IdentityStore::unlink`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unlink {
    Unlinked,
    /// The user has no such identity.
    NotFound,
    /// The identity is the user's last way to sign in (no password and no other
    /// identity): nothing was removed.
    LastMethod,
}
