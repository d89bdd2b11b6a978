//! The DynamoDB implementation of the federation records: upstream authorization
//! requests in flight and federated identities.

use super::dynamo::{DynamoStore, key, map_err, put_new};
use super::item::{self, Item, n, s};
use super::tables::IDENTITY_USER_INDEX;
use super::{IdentityStore, StoreError, StoreResult, Unlink, UpstreamStateStore};
use crate::domain::federated_identity::{FederatedIdentity, identity_key};
use crate::domain::upstream_state::UpstreamState;
use crate::domain::user::User;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, KeysAndAttributes, ReturnValue, TransactWriteItem,
};

/// How many times an unlink re-reads and tries again when its guard (the other
/// way to sign in it relied on) went away meanwhile.
const UNLINK_TRIES: u32 = 3;

impl UpstreamStateStore for DynamoStore {
    async fn put_state(&self, state: &UpstreamState) -> StoreResult<()> {
        self.client()
            .put_item()
            .table_name(&self.tables().upstream_states)
            .set_item(Some(item::upstream_state_to_item(state)))
            .condition_expression("attribute_not_exists(state_hash)")
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn take_state(&self, state_hash: &str, now: u64) -> StoreResult<Option<UpstreamState>> {
        let out = self
            .client()
            .delete_item()
            .table_name(&self.tables().upstream_states)
            .set_key(Some(key("state_hash", state_hash)))
            .condition_expression("attribute_exists(state_hash) AND expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(map_err);
        match out {
            Ok(out) => out
                .attributes
                .as_ref()
                .map(item::upstream_state_from_item)
                .transpose(),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl DynamoStore {
    /// The identity keys of `username`, from the keys-only index (eventually
    /// consistent: candidates, each read or checked by key afterwards).
    async fn identity_keys_of(&self, username: &str) -> StoreResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(&self.tables().identities)
                .index_name(IDENTITY_USER_INDEX)
                .key_condition_expression("username = :u")
                .expression_attribute_values(":u", s(username))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_err)?;
            for i in out.items() {
                if let Some(k) = i.get("identity_key").and_then(|v| v.as_s().ok()) {
                    keys.push(k.clone());
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(keys),
            }
        }
    }

    /// The identity items of `keys`, strongly consistent, in batches of 100.
    async fn identity_items(&self, keys: &[String]) -> StoreResult<Vec<Item>> {
        let table = &self.tables().identities;
        let mut items = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(|k| key("identity_key", k)).collect()))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            for _ in 0..5 {
                let out = self
                    .client()
                    .batch_get_item()
                    .request_items(table, pending.clone())
                    .send()
                    .await
                    .map_err(map_err)?;
                if let Some(mut got) = out.responses {
                    items.extend(got.remove(table).unwrap_or_default());
                }
                match out.unprocessed_keys.and_then(|mut u| u.remove(table)) {
                    Some(rest) if !rest.keys().is_empty() => pending = rest,
                    _ => break,
                }
            }
        }
        Ok(items)
    }
}

impl IdentityStore for DynamoStore {
    async fn get_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<FederatedIdentity>> {
        self.get_consistent(
            &self.tables().identities,
            "identity_key",
            &identity_key(issuer, subject),
        )
        .await?
        .as_ref()
        .map(item::identity_from_item)
        .transpose()
    }

    async fn link_identity(&self, identity: &FederatedIdentity) -> StoreResult<()> {
        let user = ConditionCheck::builder()
            .table_name(&self.tables().users)
            .set_key(Some(key("username", &identity.username)))
            .condition_expression("user_id = :id")
            .expression_attribute_values(":id", s(&identity.user_id))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        self.transact(vec![
            put_new(
                &self.tables().identities,
                item::identity_to_item(identity),
                "identity_key",
            )?,
            TransactWriteItem::builder().condition_check(user).build(),
        ])
        .await
    }

    async fn forget_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: &str,
    ) -> StoreResult<bool> {
        let out = self
            .client()
            .delete_item()
            .table_name(&self.tables().identities)
            .set_key(Some(key("identity_key", &identity_key(issuer, subject))))
            .condition_expression("user_id = :id")
            .expression_attribute_values(":id", s(user_id))
            .send()
            .await
            .map_err(map_err);
        match out {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn create_user_with_identity(
        &self,
        user: &User,
        identity: &FederatedIdentity,
    ) -> StoreResult<()> {
        if identity.username != user.username || identity.user_id != user.user_id {
            return Err(StoreError::Backend(
                "an identity created with a user must name that user".into(),
            ));
        }
        self.transact(vec![
            put_new(&self.tables().users, item::user_to_item(user), "username")?,
            put_new(
                &self.tables().identities,
                item::identity_to_item(identity),
                "identity_key",
            )?,
        ])
        .await
    }

    async fn identities_of(&self, username: &str) -> StoreResult<Vec<FederatedIdentity>> {
        let keys = self.identity_keys_of(username).await?;
        let mut found = self
            .identity_items(&keys)
            .await?
            .iter()
            .map(item::identity_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        // The index may lag behind a move; the items themselves decide.
        found.retain(|i| i.username == username);
        found.sort_by(|a, b| (&a.issuer, &a.subject).cmp(&(&b.issuer, &b.subject)));
        Ok(found)
    }

    /// One transaction: the delete of the identity (on the condition that it
    /// exists and belongs to `username`) and a condition check on another way
    /// to sign in: the user's password hash if they have one, else one other
    /// identity of theirs, checked by key (strongly, inside the transaction).
    ///
    /// Why a condition on the other item and not a counter of sign-in methods on
    /// the user item: the items themselves are the truth, so nothing can drift
    /// (a counter must be kept right by every link, unlink, password change and
    /// user deletion, and be migrated onto the users stored before it), and a
    /// link or a sign-in never writes the user item. Two concurrent unlinks of a
    /// user's last two identities each check the other's item; transactions are
    /// serializable, so the second one finds its guard gone (or collides and is
    /// retried, then finds it gone) and refuses. When the guard went away but a
    /// third method remains, the unlink reads again and retries, a few times;
    /// past those it refuses, which is the safe answer.
    async fn unlink(&self, issuer: &str, subject: &str, username: &str) -> StoreResult<Unlink> {
        let target = identity_key(issuer, subject);
        let tables = self.tables();
        for _ in 0..UNLINK_TRIES {
            match self.get_identity(issuer, subject).await? {
                Some(i) if i.username == username => {}
                _ => return Ok(Unlink::NotFound),
            }
            let has_password = self
                .get_consistent(&tables.users, "username", username)
                .await?
                .is_some_and(|u| u.contains_key("password_hash"));
            let guard = if has_password {
                ConditionCheck::builder()
                    .table_name(&tables.users)
                    .set_key(Some(key("username", username)))
                    .condition_expression("attribute_exists(password_hash)")
            } else {
                let others = self.identity_keys_of(username).await?;
                let Some(other) = others.into_iter().find(|k| *k != target) else {
                    return Ok(Unlink::LastMethod);
                };
                ConditionCheck::builder()
                    .table_name(&tables.identities)
                    .set_key(Some(key("identity_key", &other)))
                    .condition_expression("username = :u")
                    .expression_attribute_values(":u", s(username))
            }
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
            let delete = Delete::builder()
                .table_name(&tables.identities)
                .set_key(Some(key("identity_key", &target)))
                .condition_expression("username = :u")
                .expression_attribute_values(":u", s(username))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            match self
                .transact(vec![
                    TransactWriteItem::builder().delete(delete).build(),
                    TransactWriteItem::builder().condition_check(guard).build(),
                ])
                .await
            {
                Ok(()) => return Ok(Unlink::Unlinked),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        match self.get_identity(issuer, subject).await? {
            Some(i) if i.username == username => Ok(Unlink::LastMethod),
            _ => Ok(Unlink::NotFound),
        }
    }
}
