//! The DynamoDB implementation of grants, login sessions and the token state.
//!
//! Each redemption and refresh is one `TransactWriteItems`: the grant update,
//! conditioned on the grant being live and on the presented credential being the
//! current one, beside condition checks that the user is at the grant's epoch and
//! the client is still registered. Ending a grant is one conditional `UpdateItem`;
//! ending a user's grants is one write to the user (its epoch).

use super::dynamo::{DynamoStore, found, key, map_err, put_new};
use super::item::{self, Item, TTL_GRACE_SECONDS, n, s};
use super::tables::{GRANT_CLIENT_INDEX, GRANT_USER_INDEX};
use super::{
    GrantStore, GrantUpdate, GrantsOf, SessionStore, StoreError, StoreResult, TokenState,
    TokenStateQuery, TokenStateStore,
};
use crate::domain::client::Client;
use crate::domain::grant::{Grant, RevokeReason};
use crate::domain::session::LoginSession;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, KeysAndAttributes, TransactWriteItem, Update,
};
use std::collections::HashMap;

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl DynamoStore {
    /// The condition that the grant's user is still the same enabled user at the
    /// grant's epoch (see [`crate::tokens::owner`]).
    fn owner_check(&self, grant: &Grant) -> StoreResult<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .condition_check(
                ConditionCheck::builder()
                    .table_name(&self.tables().users)
                    .set_key(Some(key("username", &grant.user.username)))
                    .condition_expression("user_id = :uid AND disabled = :f AND epoch = :e")
                    .expression_attribute_values(":uid", s(&grant.user.user_id))
                    .expression_attribute_values(":f", AttributeValue::Bool(false))
                    .expression_attribute_values(":e", n(grant.user.epoch))
                    .build()
                    .map_err(build_err)?,
            )
            .build())
    }

    /// The condition that the grant's client is still registered.
    fn client_check(&self, grant: &Grant) -> StoreResult<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .condition_check(
                ConditionCheck::builder()
                    .table_name(&self.tables().clients)
                    .set_key(Some(key("client_id", &grant.client_id)))
                    .condition_expression("attribute_exists(client_id)")
                    .build()
                    .map_err(build_err)?,
            )
            .build())
    }

    /// The grant update of a redemption or refresh: `SET` what `u` changes plus
    /// `extra_set`, on `condition`, with the extra expression `values`.
    fn grant_update(
        &self,
        grant: &Grant,
        u: &GrantUpdate,
        extra_set: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> StoreResult<TransactWriteItem> {
        let mut set = String::from("last_used_at = :now, expires_at = :exp, #ttl = :ttl");
        if !extra_set.is_empty() {
            set.push_str(", ");
            set.push_str(extra_set);
        }
        let mut b = Update::builder()
            .table_name(&self.tables().grants)
            .set_key(Some(key("grant_id", &grant.grant_id)))
            .condition_expression(condition)
            .expression_attribute_names("#st", "state")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":live", s("live"))
            .expression_attribute_values(":now", n(u.now))
            .expression_attribute_values(":exp", n(u.expires_at))
            .expression_attribute_values(":ttl", n(u.expires_at + TTL_GRACE_SECONDS));
        if let Some(r) = &u.refresh {
            set.push_str(
                ", refresh_generation = :gen, refresh_parent = :par, refresh_issued_at = :rat, refresh_expires_at = :rexp",
            );
            b = b
                .expression_attribute_values(":gen", n(r.generation))
                .expression_attribute_values(":par", n(r.parent))
                .expression_attribute_values(":rat", n(r.issued_at))
                .expression_attribute_values(":rexp", n(r.expires_at));
        }
        for (name, value) in values {
            b = b.expression_attribute_values(*name, value.clone());
        }
        let update = b
            .update_expression(format!("SET {set}"))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl GrantStore for DynamoStore {
    async fn create_grant(&self, grant: &Grant, now: u64) -> StoreResult<()> {
        let touch = Update::builder()
            .table_name(&self.tables().sessions)
            .set_key(Some(key("session_id", &grant.session_id)))
            .update_expression("SET last_seen_at = :now")
            .condition_expression("attribute_exists(session_id) AND attribute_not_exists(ended_at)")
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(build_err)?;
        self.transact(vec![
            put_new(
                &self.tables().grants,
                item::grant_to_item(grant),
                "grant_id",
            )?,
            TransactWriteItem::builder().update(touch).build(),
        ])
        .await
    }

    async fn get_grant(&self, grant_id: &str) -> StoreResult<Option<Grant>> {
        self.get_consistent(&self.tables().grants, "grant_id", grant_id)
            .await?
            .as_ref()
            .map(item::grant_from_item)
            .transpose()
    }

    async fn redeem_code(&self, grant: &Grant, u: &GrantUpdate) -> StoreResult<()> {
        self.transact(vec![
            self.grant_update(
                grant,
                u,
                "code_redeemed_at = :now",
                "#st = :live AND code_hash = :h AND attribute_not_exists(code_redeemed_at)",
                &[(":h", s(grant.code.hash.as_str()))],
            )?,
            self.owner_check(grant)?,
            self.client_check(grant)?,
        ])
        .await
    }

    async fn rotate_refresh(&self, grant: &Grant, from: u64, u: &GrantUpdate) -> StoreResult<()> {
        self.transact(vec![
            self.grant_update(
                grant,
                u,
                "",
                "#st = :live AND refresh_generation = :from",
                &[(":from", n(from))],
            )?,
            self.owner_check(grant)?,
            self.client_check(grant)?,
        ])
        .await
    }

    async fn revoke_grant(
        &self,
        grant_id: &str,
        client_id: Option<&str>,
        reason: RevokeReason,
        now: u64,
    ) -> StoreResult<bool> {
        let mut condition = String::from("#st = :live");
        let mut req = self
            .client()
            .update_item()
            .table_name(&self.tables().grants)
            .set_key(Some(key("grant_id", grant_id)))
            .update_expression("SET #st = :revoked, revoked_at = :now, revoked_reason = :why")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":live", s("live"))
            .expression_attribute_values(":revoked", s("revoked"))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":why", s(reason.as_str()));
        if let Some(c) = client_id {
            condition.push_str(" AND client_id = :c");
            req = req.expression_attribute_values(":c", s(c));
        }
        found(
            req.condition_expression(condition)
                .send()
                .await
                .map(|_| ())
                .map_err(map_err),
        )
    }

    async fn list_grants(&self, by: GrantsOf<'_>) -> StoreResult<Vec<Grant>> {
        let (index, attr, value) = match by {
            GrantsOf::User(u) => (GRANT_USER_INDEX, "username", u),
            GrantsOf::Client(c) => (GRANT_CLIENT_INDEX, "client_id", c),
        };
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(&self.tables().grants)
                .index_name(index)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", attr)
                .expression_attribute_values(":v", s(value))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_err)?;
            for it in out.items.unwrap_or_default() {
                if let Some(AttributeValue::S(id)) = it.get("grant_id") {
                    ids.push(id.clone());
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let table = self.tables().grants.as_str();
        let mut grants = Vec::new();
        for chunk in ids.chunks(100) {
            let keys = chunk.iter().map(|id| key("grant_id", id)).collect();
            let items = self.batch_get(vec![(table, keys)]).await?;
            for it in items.get(table).into_iter().flatten() {
                grants.push(item::grant_from_item(it)?);
            }
        }
        grants.sort_by(|a, b| (b.created_at, &b.grant_id).cmp(&(a.created_at, &a.grant_id)));
        Ok(grants)
    }
}

impl DynamoStore {
    /// Reads the keys of several tables in one `BatchGetItem` (consistent reads),
    /// retrying keys left unprocessed; the items found, by table.
    async fn batch_get(
        &self,
        keys: Vec<(&str, Vec<Item>)>,
    ) -> StoreResult<HashMap<String, Vec<Item>>> {
        let mut pending = HashMap::new();
        for (table, keys) in keys {
            pending.insert(
                table.to_owned(),
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(build_err)?,
            );
        }
        let mut found: HashMap<String, Vec<Item>> = HashMap::new();
        for _ in 0..5 {
            if pending.is_empty() {
                return Ok(found);
            }
            let out = self
                .client()
                .batch_get_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(map_err)?;
            for (table, items) in out.responses.unwrap_or_default() {
                found.entry(table).or_default().extend(items);
            }
            pending = out.unprocessed_keys.unwrap_or_default();
        }
        if pending.is_empty() {
            return Ok(found);
        }
        Err(StoreError::Backend(
            "BatchGetItem left keys unprocessed".into(),
        ))
    }
}

impl SessionStore for DynamoStore {
    async fn create_session(&self, session: &LoginSession) -> StoreResult<()> {
        self.client()
            .put_item()
            .table_name(&self.tables().sessions)
            .set_item(Some(item::session_to_item(session)))
            .condition_expression("attribute_not_exists(session_id)")
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_session(&self, session_id: &str) -> StoreResult<Option<LoginSession>> {
        self.get_consistent(&self.tables().sessions, "session_id", session_id)
            .await?
            .as_ref()
            .map(item::session_from_item)
            .transpose()
    }

    async fn end_session(&self, session_id: &str, now: u64) -> StoreResult<bool> {
        found(
            self.client()
                .update_item()
                .table_name(&self.tables().sessions)
                .set_key(Some(key("session_id", session_id)))
                .update_expression("SET ended_at = :now")
                .condition_expression(
                    "attribute_exists(session_id) AND attribute_not_exists(ended_at)",
                )
                .expression_attribute_values(":now", n(now))
                .send()
                .await
                .map(|_| ())
                .map_err(map_err),
        )
    }
}

impl TokenStateStore for DynamoStore {
    async fn revoke_access_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.client()
            .put_item()
            .table_name(&self.tables().tokens)
            .set_item(Some(Item::from([
                ("jti".into(), s(jti)),
                ("client_id".into(), s(client_id)),
                ("exp".into(), n(expires_at)),
                ("ttl".into(), n(expires_at + TTL_GRACE_SECONDS)),
            ])))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn token_state(&self, q: &TokenStateQuery<'_>) -> StoreResult<TokenState> {
        let t = self.tables();
        let mut keys = Vec::new();
        if let Some(g) = q.grant_id {
            keys.push((t.grants.as_str(), vec![key("grant_id", g)]));
        }
        // A batch may not name one key twice: a caller that is the token's client
        // is read once.
        let mut client_ids: Vec<&str> = q.client_id.into_iter().collect();
        if let Some(c) = q.caller_id.filter(|c| !client_ids.contains(c)) {
            client_ids.push(c);
        }
        if !client_ids.is_empty() {
            let client_keys = client_ids.iter().map(|c| key("client_id", c)).collect();
            keys.push((t.clients.as_str(), client_keys));
        }
        if let Some(j) = q.jti {
            keys.push((t.tokens.as_str(), vec![key("jti", j)]));
        }
        if keys.is_empty() {
            return Ok(TokenState::default());
        }
        let found = self.batch_get(keys).await?;
        let first = |table: &str| found.get(table).and_then(|v| v.first());
        let clients = found
            .get(&t.clients)
            .map(|v| v.iter().map(item::client_from_item).collect())
            .transpose()?
            .unwrap_or_else(Vec::new);
        let client = |id: Option<&str>| {
            id.and_then(|id| clients.iter().find(|c: &&Client| c.client_id == id))
                .cloned()
        };
        Ok(TokenState {
            grant: first(&t.grants).map(item::grant_from_item).transpose()?,
            client: client(q.client_id),
            jti_revoked: q.jti.is_some() && first(&t.tokens).is_some(),
            caller: client(q.caller_id),
        })
    }
}
