//! The DynamoDB implementation of the store traits.
//!
//! Reads of tokens and clients are strongly consistent; single use and state changes
//! are conditional writes or transactions, never read-then-write.

use super::item::{self, Item, n, s};
use super::tables::{GRANT_INDEX, TableNames};
use super::{ClientStore, KeyStore, StoreError, StoreResult, TokenStore, TokenUse};
use crate::domain::client::Client;
use crate::domain::token::{TokenKind, TokenRecord};
use crate::keys::{Rotation, StoredKey};
use crate::secret::SecretHash;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};

/// The store, on any DynamoDB-compatible endpoint.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    db: aws_sdk_dynamodb::Client,
    tables: TableNames,
}

/// Maps an SDK error: a failed condition (or cancelled transaction) is `Conflict`.
pub(super) fn map_err<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some("ConditionalCheckFailedException") | Some("TransactionCanceledException") => {
            StoreError::Conflict
        }
        _ => StoreError::Backend(DisplayErrorContext(e).to_string()),
    }
}

/// A transaction step that creates `item`, on the condition that no item with its
/// key attribute `key_attr` exists.
fn put_new(table: &str, item: Item, key_attr: &str) -> StoreResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(format!("attribute_not_exists({key_attr})"))
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(super) fn key(attr: &str, value: &str) -> Item {
    Item::from([(attr.to_owned(), s(value))])
}

impl DynamoStore {
    pub fn new(db: aws_sdk_dynamodb::Client, tables: TableNames) -> Self {
        Self { db, tables }
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.db
    }

    /// Runs the writes of `ops` as one transaction; `Conflict` if any condition fails.
    async fn transact(&self, ops: Vec<TransactWriteItem>) -> StoreResult<()> {
        self.db
            .transact_write_items()
            .set_transact_items(Some(ops))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(super) async fn scan_all(&self, table: &str) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .db
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_err)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}

impl ClientStore for DynamoStore {
    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        self.db
            .put_item()
            .table_name(&self.tables.clients)
            .set_item(Some(item::client_to_item(client)))
            .condition_expression("attribute_not_exists(client_id)")
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let out = self
            .db
            .get_item()
            .table_name(&self.tables.clients)
            .set_key(Some(key("client_id", client_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        out.item.as_ref().map(item::client_from_item).transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let mut clients = self
            .scan_all(&self.tables.clients)
            .await?
            .iter()
            .map(item::client_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        clients.sort_by(|a, b| (a.created_at, &a.client_id).cmp(&(b.created_at, &b.client_id)));
        Ok(clients)
    }

    async fn set_client_secret(
        &self,
        client_id: &str,
        hash: &SecretHash,
        keep_previous_until: Option<u64>,
    ) -> StoreResult<bool> {
        let mut req = self
            .db
            .update_item()
            .table_name(&self.tables.clients)
            .set_key(Some(key("client_id", client_id)))
            .condition_expression("attribute_exists(client_id) AND client_type = :confidential")
            .expression_attribute_values(":h", s(hash.as_str()))
            .expression_attribute_values(":confidential", s("confidential"));
        req = match keep_previous_until {
            Some(until) => req
                .update_expression(
                    "SET previous_secret_hash = secret_hash, previous_secret_valid_until = :until, secret_hash = :h",
                )
                .expression_attribute_values(":until", n(until)),
            None => req.update_expression(
                "SET secret_hash = :h REMOVE previous_secret_hash, previous_secret_valid_until",
            ),
        };
        let r = req.send().await;
        match r.map_err(map_err) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let out = self
            .db
            .delete_item()
            .table_name(&self.tables.clients)
            .set_key(Some(key("client_id", client_id)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(map_err)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}

impl TokenStore for DynamoStore {
    async fn put_token(&self, record: &TokenRecord) -> StoreResult<()> {
        self.db
            .put_item()
            .table_name(&self.tables.tokens)
            .set_item(Some(item::token_to_item(record)))
            .condition_expression("attribute_not_exists(token_hash)")
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_token(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        let out = self
            .db
            .get_item()
            .table_name(&self.tables.tokens)
            .set_key(Some(key("token_hash", hash.as_str())))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        out.item.as_ref().map(item::token_from_item).transpose()
    }

    async fn revoke_token(&self, hash: &SecretHash) -> StoreResult<bool> {
        let r = self
            .db
            .update_item()
            .table_name(&self.tables.tokens)
            .set_key(Some(key("token_hash", hash.as_str())))
            .update_expression("SET revoked = :t")
            .condition_expression("attribute_exists(token_hash)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        match r.map_err(map_err) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn revoke_grant(&self, grant_id: &str) -> StoreResult<usize> {
        let mut hashes = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .db
                .query()
                .table_name(&self.tables.tokens)
                .index_name(GRANT_INDEX)
                .key_condition_expression("grant_id = :g")
                .expression_attribute_values(":g", s(grant_id))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_err)?;
            for it in out.items.unwrap_or_default() {
                if let Some(AttributeValue::S(h)) = it.get("token_hash") {
                    hashes.push(SecretHash::from_stored(h.clone()));
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let mut revoked = 0;
        for h in &hashes {
            if self.revoke_token(h).await? {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn use_token(
        &self,
        hash: &SecretHash,
        kind: TokenKind,
        now: u64,
    ) -> StoreResult<TokenUse> {
        let r = self
            .db
            .update_item()
            .table_name(&self.tables.tokens)
            .set_key(Some(key("token_hash", hash.as_str())))
            .update_expression("SET used_at = :now")
            .condition_expression(
                "attribute_exists(token_hash) AND kind = :kind AND attribute_not_exists(used_at)",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":kind", s(kind.as_str()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match r {
            Ok(out) => match out.attributes {
                Some(a) => Ok(TokenUse::First(item::token_from_item(&a)?)),
                None => Err(StoreError::Corrupt(
                    "UpdateItem returned no attributes".into(),
                )),
            },
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(c) => match c.item {
                    Some(old) if !old.is_empty() => {
                        let record = item::token_from_item(&old)?;
                        if record.kind == kind {
                            Ok(TokenUse::Again(record))
                        } else {
                            Ok(TokenUse::Unknown)
                        }
                    }
                    _ => Ok(TokenUse::Unknown),
                },
                other => Err(StoreError::Backend(DisplayErrorContext(other).to_string())),
            },
        }
    }

    async fn put_tokens_from(
        &self,
        unrevoked_parent: Option<&SecretHash>,
        records: &[TokenRecord],
    ) -> StoreResult<()> {
        let table = &self.tables.tokens;
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Backend(e.to_string());
        let mut ops = Vec::new();
        if let Some(parent) = unrevoked_parent {
            ops.push(
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(table)
                            .set_key(Some(key("token_hash", parent.as_str())))
                            .condition_expression("revoked = :f")
                            .expression_attribute_values(":f", AttributeValue::Bool(false))
                            .build()
                            .map_err(build)?,
                    )
                    .build(),
            );
        }
        for r in records {
            ops.push(put_new(table, item::token_to_item(r), "token_hash")?);
        }
        self.transact(ops).await
    }
}

impl KeyStore for DynamoStore {
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.scan_all(&self.tables.keys)
            .await?
            .iter()
            .filter(|it| !item::is_session_key_item(it))
            .map(item::key_from_item)
            .collect()
    }

    async fn apply_rotation(&self, rotation: &Rotation) -> StoreResult<()> {
        let table = &self.tables.keys;
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Backend(e.to_string());
        let mut ops = Vec::new();
        if let Some(kid) = &rotation.promote {
            ops.push(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(table)
                            .set_key(Some(key("kid", kid)))
                            .update_expression("SET #st = :active, activated_at = :now")
                            .condition_expression("#st = :next")
                            .expression_attribute_names("#st", "status")
                            .expression_attribute_values(":active", s("active"))
                            .expression_attribute_values(":next", s("next"))
                            .expression_attribute_values(":now", n(rotation.now))
                            .build()
                            .map_err(build)?,
                    )
                    .build(),
            );
        }
        if let Some((kid, until)) = &rotation.retire {
            ops.push(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(table)
                            .set_key(Some(key("kid", kid)))
                            .update_expression(
                                "SET #st = :retired, retired_at = :now, publish_until = :until, #ttl = :ttl",
                            )
                            .condition_expression("#st = :active")
                            .expression_attribute_names("#st", "status")
                            .expression_attribute_names("#ttl", "ttl")
                            .expression_attribute_values(":retired", s("retired"))
                            .expression_attribute_values(":active", s("active"))
                            .expression_attribute_values(":now", n(rotation.now))
                            .expression_attribute_values(":until", n(*until))
                            .expression_attribute_values(":ttl", n(*until + item::TTL_GRACE_SECONDS))
                            .build()
                            .map_err(build)?,
                    )
                    .build(),
            );
        }
        for k in &rotation.create {
            ops.push(put_new(table, item::key_to_item(k), "kid")?);
        }
        self.transact(ops).await
    }
}
