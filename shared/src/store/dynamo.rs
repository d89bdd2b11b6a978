//! The DynamoDB implementation of the store traits.
//!
//! Reads of tokens and clients are strongly consistent; single use and state changes
//! are conditional writes or transactions, never read-then-write.

use super::client_memo::{ClientMemo, LookUp};
use super::item::{self, Item, n, s};
use super::tables::TableNames;
use super::{ClientStore, OriginStore, StoreError, StoreResult};
use crate::domain::client::Client;
use crate::domain::cors::registered_origins;
use crate::secret::SecretHash;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use std::sync::Arc;

/// The store, on any DynamoDB-compatible endpoint.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    db: aws_sdk_dynamodb::Client,
    tables: TableNames,
    /// Client records, only where every write passes through this process
    /// ([`ClientMemo`] says when that is).
    clients: Option<Arc<ClientMemo>>,
}

/// Maps an SDK error: a failed condition is `Conflict`. (A cancelled transaction
/// is told apart by its reasons in [`DynamoStore::transact`].)
pub(super) fn map_err<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some("ConditionalCheckFailedException") => StoreError::Conflict,
        _ => StoreError::Backend(DisplayErrorContext(e).to_string()),
    }
}

/// How many times [`DynamoStore::transact`] sends a transaction that collides with
/// concurrent ones.
const TRANSACTION_TRIES: u32 = 3;

/// Why DynamoDB cancelled a transaction, from its cancellation reasons (one per
/// item, `None` for the items that were fine).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Cancellation {
    /// A condition failed: the outcome the caller's conditions decide.
    ConditionFailed,
    /// Only collisions with concurrent transactions: worth another try.
    Contended,
    /// Anything else (validation, capacity): the codes.
    Other(Vec<String>),
}

pub(super) fn cancellation<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Option<Cancellation> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    let Some(E::TransactionCanceledException(c)) = err.as_service_error() else {
        return None;
    };
    Some(cancellation_of(
        c.cancellation_reasons().iter().filter_map(|r| r.code()),
    ))
}

fn cancellation_of<'a>(codes: impl Iterator<Item = &'a str>) -> Cancellation {
    let codes: Vec<&str> = codes.filter(|c| *c != "None").collect();
    if codes.contains(&"ConditionalCheckFailed") {
        Cancellation::ConditionFailed
    } else if !codes.is_empty() && codes.iter().all(|c| *c == "TransactionConflict") {
        Cancellation::Contended
    } else {
        Cancellation::Other(codes.into_iter().map(str::to_owned).collect())
    }
}

/// Maps a failed condition to `Ok(false)`, as "no such item (in that state)".
pub(super) fn found(r: StoreResult<()>) -> StoreResult<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A transaction step that creates `item`, on the condition that no item with its
/// key attribute `key_attr` exists.
pub(super) fn put_new(table: &str, item: Item, key_attr: &str) -> StoreResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#k)")
        .expression_attribute_names("#k", key_attr)
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(super) fn key(attr: &str, value: &str) -> Item {
    Item::from([(attr.to_owned(), s(value))])
}

impl DynamoStore {
    pub fn new(db: aws_sdk_dynamodb::Client, tables: TableNames) -> Self {
        Self {
            db,
            tables,
            clients: None,
        }
    }

    /// This store, keeping the client records it reads in `memo`. Only for the
    /// store of a process through which every write to these tables passes, with
    /// the engine that empties the memo at each one.
    pub fn with_client_memo(mut self, memo: Arc<ClientMemo>) -> Self {
        self.clients = Some(memo);
        self
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.db
    }

    /// Runs the writes of `ops` as one transaction; `Conflict` if any condition fails.
    ///
    /// DynamoDB cancels a transaction that meets another one on the same item
    /// (reason `TransactionConflict`) rather than queueing it. That says nothing
    /// about the conditions, so it is retried, a few times; if it persists the
    /// answer is a backend error, never `Conflict`, so that a mere collision is
    /// never read as a replay or a reuse.
    pub(super) async fn transact(&self, ops: Vec<TransactWriteItem>) -> StoreResult<()> {
        let mut tries = 0;
        loop {
            tries += 1;
            let sent = self
                .db
                .transact_write_items()
                .set_transact_items(Some(ops.clone()))
                .send()
                .await;
            let err = match sent {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match cancellation(&err) {
                Some(Cancellation::ConditionFailed) => return Err(StoreError::Conflict),
                Some(Cancellation::Contended) if tries < TRANSACTION_TRIES => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(tries)))
                        .await;
                }
                Some(Cancellation::Contended) => {
                    return Err(StoreError::Backend(
                        "the transaction kept conflicting with concurrent ones".into(),
                    ));
                }
                Some(Cancellation::Other(codes)) => {
                    return Err(StoreError::Backend(format!(
                        "transaction cancelled: {}",
                        codes.join(", ")
                    )));
                }
                None => return Err(map_err(err)),
            }
        }
    }

    /// One item by its key, strongly consistent.
    pub(super) async fn get_consistent(
        &self,
        table: &str,
        key_attr: &str,
        value: &str,
    ) -> StoreResult<Option<Item>> {
        let out = self
            .db
            .get_item()
            .table_name(table)
            .set_key(Some(key(key_attr, value)))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        Ok(out.item)
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

impl DynamoStore {
    /// The transaction steps that add `client_id` to (`ADD`) or take it from
    /// (`DELETE`) the set of clients of each origin of `redirect_uris`. An origin
    /// whose set is empty is registered by no client.
    fn origin_steps(
        &self,
        action: &str,
        client_id: &str,
        redirect_uris: &[String],
    ) -> StoreResult<Vec<TransactWriteItem>> {
        registered_origins(redirect_uris)
            .into_iter()
            .map(|origin| {
                let update = Update::builder()
                    .table_name(&self.tables.origins)
                    .set_key(Some(key("origin", &origin)))
                    .update_expression(format!("{action} client_ids :id"))
                    .expression_attribute_values(
                        ":id",
                        AttributeValue::Ss(vec![client_id.to_owned()]),
                    )
                    .build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }
}

impl OriginStore for DynamoStore {
    async fn origin_registered(&self, origin: &str) -> StoreResult<bool> {
        let item = self
            .get_consistent(&self.tables.origins, "origin", origin)
            .await?;
        Ok(matches!(
            item.as_ref().and_then(|i| i.get("client_ids")),
            Some(AttributeValue::Ss(ids)) if !ids.is_empty()
        ))
    }
}

impl DynamoStore {
    /// Brings the origins table in line with the clients (`gatehouse client
    /// sync-origins`; `serve` runs it at start): for a deployment whose clients
    /// were registered before the table existed, or whose table was restored apart.
    ///
    /// Safe beside registrations and deletions made at the same time:
    /// - each client's origins are added in one transaction with a check that the
    ///   client still exists, so a client deleted meanwhile is not added back;
    /// - a client id is removed from an origin only when a consistent read finds
    ///   no such client. Its creation wrote the client and its origins in one
    ///   transaction, so an id seen in the table of a client being created is
    ///   found.
    pub async fn sync_origins(&self) -> StoreResult<OriginSync> {
        let mut sync = OriginSync::default();
        for client in self.list_clients().await? {
            let mut ops = vec![
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(&self.tables.clients)
                            .set_key(Some(key("client_id", &client.client_id)))
                            .condition_expression("attribute_exists(client_id)")
                            .build()
                            .map_err(|e| StoreError::Backend(e.to_string()))?,
                    )
                    .build(),
            ];
            let steps = self.origin_steps("ADD", &client.client_id, &client.redirect_uris)?;
            if steps.is_empty() {
                continue;
            }
            ops.extend(steps);
            match self.transact(ops).await {
                Ok(()) => sync.clients += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        for entry in self.scan_all(&self.tables.origins).await? {
            let Some(AttributeValue::S(origin)) = entry.get("origin") else {
                continue;
            };
            let Some(AttributeValue::Ss(ids)) = entry.get("client_ids") else {
                continue;
            };
            for id in ids {
                if self.get_client(id).await?.is_some() {
                    continue;
                }
                self.db
                    .update_item()
                    .table_name(&self.tables.origins)
                    .set_key(Some(key("origin", origin)))
                    .update_expression("DELETE client_ids :id")
                    .expression_attribute_values(":id", AttributeValue::Ss(vec![id.clone()]))
                    .send()
                    .await
                    .map_err(map_err)?;
                sync.stale_removed += 1;
            }
        }
        Ok(sync)
    }
}

/// What [`DynamoStore::sync_origins`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OriginSync {
    /// Clients whose origins are now all in the table.
    pub clients: usize,
    /// Client ids taken from origins because no such client exists.
    pub stale_removed: usize,
}

impl ClientStore for DynamoStore {
    /// The client and its redirect URIs' origins, in one transaction.
    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        let mut ops = vec![put_new(
            &self.tables.clients,
            item::client_to_item(client),
            "client_id",
        )?];
        ops.extend(self.origin_steps("ADD", &client.client_id, &client.redirect_uris)?);
        self.transact(ops).await
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let seen = match self.clients.as_deref().map(|m| m.look_up(client_id)) {
            Some(LookUp::Found(client)) => return Ok(Some(*client)),
            Some(LookUp::Missing(seen)) => Some(seen),
            None => None,
        };
        let client = self
            .get_consistent(&self.tables.clients, "client_id", client_id)
            .await?
            .as_ref()
            .map(item::client_from_item)
            .transpose()?;
        if let (Some(memo), Some(seen), Some(client)) = (&self.clients, seen, &client) {
            memo.keep(seen, client);
        }
        Ok(client)
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
        found(req.send().await.map(|_| ()).map_err(map_err))
    }

    /// The client and its redirect URIs' origins, in one transaction conditioned
    /// on the client being as read (redirect URIs never change after
    /// registration, so the condition is only that it still exists).
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let Some(client) = self.get_client(client_id).await? else {
            return Ok(false);
        };
        let delete = Delete::builder()
            .table_name(&self.tables.clients)
            .set_key(Some(key("client_id", client_id)))
            .condition_expression("attribute_exists(client_id)")
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut ops = vec![TransactWriteItem::builder().delete(delete).build()];
        ops.extend(self.origin_steps("DELETE", client_id, &client.redirect_uris)?);
        found(self.transact(ops).await)
    }
}

#[cfg(test)]
mod tests {
    use super::{Cancellation, cancellation_of};

    #[test]
    fn a_failed_condition_decides_and_a_mere_collision_is_retried() {
        let of = |codes: &[&str]| cancellation_of(codes.iter().copied());
        assert_eq!(
            of(&["None", "ConditionalCheckFailed"]),
            Cancellation::ConditionFailed
        );
        assert_eq!(
            of(&["TransactionConflict", "ConditionalCheckFailed"]),
            Cancellation::ConditionFailed,
            "a failed condition decides, whatever else happened"
        );
        assert_eq!(
            of(&["None", "TransactionConflict"]),
            Cancellation::Contended
        );
        assert_eq!(
            of(&["ValidationError", "TransactionConflict"]),
            Cancellation::Other(vec!["ValidationError".into(), "TransactionConflict".into()])
        );
        assert_eq!(
            of(&[]),
            Cancellation::Other(vec![]),
            "no reason is no reason to retry"
        );
    }
}
