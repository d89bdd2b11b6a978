//! The tables and how to create them where they are missing (local engine, tests,
//! `--dynamodb-endpoint`). On AWS, `template.yaml` creates them.
//!
//! | table          | key                | GSI (keys only)                                   | TTL   |
//! |----------------|--------------------|---------------------------------------------------|-------|
//! | clients        | `client_id` (S)    |                                                   |       |
//! | tokens         | `jti` (S)          |                                                   | `ttl` |
//! | grants         | `grant_id` (S)     | `client_id-index` (`client_id`), `username-index` (`username`) | `ttl` |
//! | sessions       | `session_id` (S)   |                                                   | `ttl` |
//! | keys           | `kid` (S)          |                                                   | `ttl` |
//! | secrets        | `name` (S)         |                                                   | `ttl` |
//! | users          | `username` (S)     | `email-index` (`email_key`)   |       |
//! | consents       | `consent_id` (S)   |                               |       |
//! | login-attempts | `attempt_key` (S)  |                               | `ttl` |
//! | origins        | `origin` (S)       |                               |       |
//! | providers      | `provider_id` (S)  |                               |       |
//! | upstream-states | `state_hash` (S)  |                               | `ttl` |
//! | identities     | `identity_key` (S) | `username-index` (`username`) |       |

use super::{StoreError, StoreResult};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};

/// The grants of a client, for operators (eventually consistent: listing only).
pub const GRANT_CLIENT_INDEX: &str = "client_id-index";
/// The grants of a user, for operators (eventually consistent: listing only).
pub const GRANT_USER_INDEX: &str = "username-index";

/// The federated identities of a user (eventually consistent: listing, and the
/// candidates an unlink then checks in its transaction).
pub const IDENTITY_USER_INDEX: &str = "username-index";

/// The users by [`crate::domain::user::email_key`] (eventually consistent:
/// candidates, each read by key afterwards).
pub const USER_EMAIL_INDEX: &str = "email-index";

/// The table names a deployment uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableNames {
    pub clients: String,
    /// Access tokens revoked before they expire (RFC 7009), by `jti`.
    pub tokens: String,
    pub grants: String,
    pub sessions: String,
    /// The public records of the signing keys: what verifiers and the JWKS read.
    pub keys: String,
    /// Private material, one item per secret, each readable only by the
    /// functions that use it (IAM leading-key conditions): the private halves of
    /// the signing keys (`signing/{kid}`), `session-key` and `refresh-key`.
    pub secrets: String,
    pub users: String,
    pub consents: String,
    pub login_attempts: String,
    /// Each browser origin of a registered redirect URI (`domain/cors.rs`) and
    /// the clients that register it (`client_ids`), kept with the clients.
    pub origins: String,
    /// The upstream OpenID Providers users may sign in with
    /// (`domain/provider.rs`); their client secrets are in `secrets`
    /// (`provider/{id}`).
    pub providers: String,
    /// Upstream authorization requests in flight (`domain/upstream_state.rs`), by
    /// the hash of their `state`, expired by TTL.
    pub upstream_states: String,
    /// Federated identities (`domain/federated_identity.rs`), by (issuer, `sub`).
    pub identities: String,
}

impl TableNames {
    /// `{prefix}-clients`, `{prefix}-tokens`, `{prefix}-grants`, `{prefix}-sessions`,
    /// `{prefix}-keys`, `{prefix}-secrets`, `{prefix}-users`, `{prefix}-consents`, `{prefix}-login-attempts`,
    /// `{prefix}-origins`, `{prefix}-providers`.
    /// `{prefix}-origins`, `{prefix}-upstream-states`, `{prefix}-identities`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            clients: format!("{prefix}-clients"),
            tokens: format!("{prefix}-tokens"),
            grants: format!("{prefix}-grants"),
            sessions: format!("{prefix}-sessions"),
            keys: format!("{prefix}-keys"),
            secrets: format!("{prefix}-secrets"),
            users: format!("{prefix}-users"),
            consents: format!("{prefix}-consents"),
            login_attempts: format!("{prefix}-login-attempts"),
            origins: format!("{prefix}-origins"),
            providers: format!("{prefix}-providers"),
            upstream_states: format!("{prefix}-upstream-states"),
            identities: format!("{prefix}-identities"),
        }
    }

    /// Creates each table that does not exist yet, with its index and TTL.
    pub async fn create_missing(&self, db: &Client) -> StoreResult<()> {
        let existing = list_tables(db).await?;
        if !existing.contains(&self.clients) {
            create(db, &self.clients, "client_id", &[], false).await?;
        }
        if !existing.contains(&self.tokens) {
            create(db, &self.tokens, "jti", &[], true).await?;
        }
        if !existing.contains(&self.grants) {
            create(
                db,
                &self.grants,
                "grant_id",
                &[
                    ("client_id", GRANT_CLIENT_INDEX),
                    ("username", GRANT_USER_INDEX),
                ],
                true,
            )
            .await?;
        }
        if !existing.contains(&self.sessions) {
            create(db, &self.sessions, "session_id", &[], true).await?;
        }
        if !existing.contains(&self.keys) {
            create(db, &self.keys, "kid", &[], true).await?;
        }
        if !existing.contains(&self.secrets) {
            create(db, &self.secrets, "name", &[], true).await?;
        }
        if !existing.contains(&self.users) {
            create(
                db,
                &self.users,
                "username",
                &[("email_key", USER_EMAIL_INDEX)],
                false,
            )
            .await?;
        } else {
            add_missing_index(db, &self.users, "email_key", USER_EMAIL_INDEX).await?;
        }
        if !existing.contains(&self.consents) {
            create(db, &self.consents, "consent_id", &[], false).await?;
        }
        if !existing.contains(&self.login_attempts) {
            create(db, &self.login_attempts, "attempt_key", &[], true).await?;
        }
        if !existing.contains(&self.origins) {
            create(db, &self.origins, "origin", &[], false).await?;
        }
        if !existing.contains(&self.providers) {
            create(db, &self.providers, "provider_id", &[], false).await?;
        }
        if !existing.contains(&self.upstream_states) {
            create(db, &self.upstream_states, "state_hash", &[], true).await?;
        }
        if !existing.contains(&self.identities) {
            create(
                db,
                &self.identities,
                "identity_key",
                &[("username", IDENTITY_USER_INDEX)],
                false,
            )
            .await?;
        }
        Ok(())
    }
}

async fn list_tables(db: &Client) -> StoreResult<Vec<String>> {
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = db
            .list_tables()
            .set_exclusive_start_table_name(start.take())
            .send()
            .await
            .map_err(|e| {
                StoreError::Backend(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;
        names.extend(out.table_names().iter().cloned());
        match out.last_evaluated_table_name() {
            Some(n) => start = Some(n.to_owned()),
            None => return Ok(names),
        }
    }
}

/// Adds the keys-only index `index` on `attr` to an existing `table` that was
/// created before the index existed (local data of an earlier release).
async fn add_missing_index(db: &Client, table: &str, attr: &str, index: &str) -> StoreResult<()> {
    let backend = |e: String| StoreError::Backend(format!("adding index {index} to {table}: {e}"));
    let described = db
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| backend(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    let has = described
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .any(|g| g.index_name() == Some(index));
    if has {
        return Ok(());
    }
    db.update_table()
        .table_name(table)
        .attribute_definitions(string_attr(attr))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(
                    CreateGlobalSecondaryIndexAction::builder()
                        .index_name(index)
                        .key_schema(hash_key(attr))
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::KeysOnly)
                                .build(),
                        )
                        .build()
                        .map_err(|e| backend(e.to_string()))?,
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| backend(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    Ok(())
}

fn string_attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute definition is complete")
}

fn hash_key(name: &str) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(KeyType::Hash)
        .build()
        .expect("key schema is complete")
}

async fn create(
    db: &Client,
    table: &str,
    key: &str,
    gsis: &[(&str, &str)],
    ttl: bool,
) -> StoreResult<()> {
    let backend = |e: String| StoreError::Backend(format!("creating table {table}: {e}"));
    let mut req = db
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attr(key))
        .key_schema(hash_key(key));
    for &(attr, index) in gsis {
        req = req
            .attribute_definitions(string_attr(attr))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index)
                    .key_schema(hash_key(attr))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::KeysOnly)
                            .build(),
                    )
                    .build()
                    .map_err(|e| backend(e.to_string()))?,
            );
    }
    req.send()
        .await
        .map_err(|e| backend(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    if ttl {
        db.update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("ttl")
                    .enabled(true)
                    .build()
                    .map_err(|e| backend(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| backend(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    }
    Ok(())
}
