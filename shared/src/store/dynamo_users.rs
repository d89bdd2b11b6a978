//! The DynamoDB implementation of the stores behind the login and consent pages:
//! users, remembered consents and sign-in throttling counters.

use super::dynamo::{DynamoStore, found, key, map_err};
use super::item::{self, Item, n, s};
use super::tables::USER_EMAIL_INDEX;
use super::{
    ConsentStore, LoginAttemptStore, Slots, StoreError, StoreResult, UserProfile, UserStore,
};
use crate::domain::login_throttle::{Counter, Release};
use crate::domain::scope::Scope;
use crate::domain::user::{MAX_EMAIL_BYTES, ProfileChange, User, UserState, email_key};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, ReturnValue, TransactWriteItem, Update,
};

impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.client()
            .put_item()
            .table_name(&self.tables().users)
            .set_item(Some(item::user_to_item(user)))
            .condition_expression("attribute_not_exists(username)")
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_user(&self, username: &str) -> StoreResult<Option<User>> {
        self.get_consistent(&self.tables().users, "username", username)
            .await?
            .as_ref()
            .map(item::user_from_item)
            .transpose()
    }

    async fn get_user_state(&self, username: &str) -> StoreResult<Option<UserState>> {
        let mut req = self
            .client()
            .get_item()
            .table_name(&self.tables().users)
            .set_key(Some(key("username", username)))
            .consistent_read(true)
            .projection_expression("#a0, #a1, #a2, #a3");
        for (i, a) in item::USER_STATE_ATTRIBUTES.iter().enumerate() {
            req = req.expression_attribute_names(format!("#a{i}"), *a);
        }
        let out = req.send().await.map_err(map_err)?;
        out.item
            .as_ref()
            .map(item::user_state_from_item)
            .transpose()
    }

    async fn get_user_profile(&self, username: &str) -> StoreResult<Option<UserProfile>> {
        let names: Vec<String> = (0..item::USER_PROFILE_ATTRIBUTES.len())
            .map(|i| format!("#a{i}"))
            .collect();
        let mut req = self
            .client()
            .get_item()
            .table_name(&self.tables().users)
            .set_key(Some(key("username", username)))
            .consistent_read(true)
            .projection_expression(names.join(", "));
        for (name, a) in names.iter().zip(item::USER_PROFILE_ATTRIBUTES) {
            req = req.expression_attribute_names(name, a);
        }
        let out = req.send().await.map_err(map_err)?;
        out.item
            .as_ref()
            .map(item::user_profile_from_item)
            .transpose()
    }

    async fn update_profile(
        &self,
        username: &str,
        change: &ProfileChange,
        now: u64,
    ) -> StoreResult<bool> {
        let mut set = vec!["updated_at = :now".to_owned()];
        let mut remove = Vec::new();
        let mut req = self
            .client()
            .update_item()
            .table_name(&self.tables().users)
            .set_key(Some(key("username", username)))
            .condition_expression("attribute_exists(username)")
            .expression_attribute_values(":now", n(now));
        let texts = [
            ("email", &change.email),
            ("name", &change.name),
            ("given_name", &change.given_name),
            ("family_name", &change.family_name),
        ];
        for (i, (attr, value)) in texts.into_iter().enumerate() {
            let Some(value) = value else { continue };
            req = req.expression_attribute_names(format!("#t{i}"), attr);
            if value.is_empty() {
                remove.push(format!("#t{i}"));
            } else {
                set.push(format!("#t{i} = :t{i}"));
                req = req.expression_attribute_values(format!(":t{i}"), s(value));
            }
        }
        // The lookup key follows the address: set with it, removed with it.
        match change.email.as_deref() {
            Some("") => remove.push(item::EMAIL_KEY.to_owned()),
            Some(email) => {
                set.push(format!("{} = :ek", item::EMAIL_KEY));
                req = req.expression_attribute_values(":ek", s(email_key(email)));
            }
            None => {}
        }
        if let Some(verified) = change.email_verified {
            set.push("email_verified = :v".to_owned());
            req = req.expression_attribute_values(":v", AttributeValue::Bool(verified));
        }
        let mut update = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            update.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        found(
            req.update_expression(update)
                .send()
                .await
                .map(|_| ())
                .map_err(map_err),
        )
    }

    /// Candidates from the keys-only `email-index` (eventually consistent), each
    /// then read by key, strongly, and kept only if its e-mail still has that key.
    async fn users_with_email(&self, email: &str) -> StoreResult<Vec<User>> {
        if email.is_empty() || email.len() > MAX_EMAIL_BYTES {
            return Ok(Vec::new());
        }
        let wanted = email_key(email);
        let mut names = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(&self.tables().users)
                .index_name(USER_EMAIL_INDEX)
                .key_condition_expression("#k = :k")
                .expression_attribute_names("#k", item::EMAIL_KEY)
                .expression_attribute_values(":k", s(&wanted))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_err)?;
            for i in out.items() {
                if let Some(AttributeValue::S(name)) = i.get("username") {
                    names.push(name.clone());
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        names.sort();
        names.dedup();
        let mut users = Vec::with_capacity(names.len());
        for name in names {
            let Some(user) = self.get_user(&name).await? else {
                continue;
            };
            if user
                .profile
                .email
                .as_deref()
                .is_some_and(|e| email_key(e) == wanted)
            {
                users.push(user);
            }
        }
        Ok(users)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let mut users = self
            .scan_all(&self.tables().users)
            .await?
            .iter()
            .map(item::user_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    async fn set_password(&self, username: &str, hash: &str, now: u64) -> StoreResult<bool> {
        found(
            self.client()
                .update_item()
                .table_name(&self.tables().users)
                .set_key(Some(key("username", username)))
                .update_expression(
                    "SET password_hash = :h, password_changed_at = :now ADD epoch :one",
                )
                .condition_expression("attribute_exists(username)")
                .expression_attribute_values(":h", s(hash))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":one", n(1))
                .send()
                .await
                .map(|_| ())
                .map_err(map_err),
        )
    }

    async fn set_disabled(&self, username: &str, disabled: bool) -> StoreResult<bool> {
        let mut req = self
            .client()
            .update_item()
            .table_name(&self.tables().users)
            .set_key(Some(key("username", username)))
            .condition_expression("attribute_exists(username)")
            .expression_attribute_values(":d", AttributeValue::Bool(disabled));
        req = if disabled {
            req.update_expression("SET disabled = :d ADD epoch :one")
                .expression_attribute_values(":one", n(1))
        } else {
            req.update_expression("SET disabled = :d")
        };
        found(req.send().await.map(|_| ()).map_err(map_err))
    }

    async fn end_sessions(&self, username: &str) -> StoreResult<bool> {
        found(
            self.client()
                .update_item()
                .table_name(&self.tables().users)
                .set_key(Some(key("username", username)))
                .update_expression("ADD epoch :one")
                .condition_expression("attribute_exists(username)")
                .expression_attribute_values(":one", n(1))
                .send()
                .await
                .map(|_| ())
                .map_err(map_err),
        )
    }

    async fn delete_user(&self, username: &str) -> StoreResult<bool> {
        let out = self
            .client()
            .delete_item()
            .table_name(&self.tables().users)
            .set_key(Some(key("username", username)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(map_err)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}

impl DynamoStore {
    /// Gives every user stored before the `email-index` existed, who has an
    /// e-mail address and no `email_key`, their key (`gatehouse user
    /// sync-emails`; `serve` runs it at start). Idempotent. Each write is
    /// conditioned on the address being the one scanned and the key still
    /// missing, so a profile change made meanwhile (which writes its own key) is
    /// never overwritten. Answers how many users were given a key.
    pub async fn sync_email_keys(&self) -> StoreResult<usize> {
        let table = &self.tables().users;
        let mut updated = 0;
        let mut start = None;
        loop {
            let out = self
                .client()
                .scan()
                .table_name(table)
                .filter_expression("attribute_exists(#e) AND attribute_not_exists(#k)")
                .projection_expression("username, #e")
                .expression_attribute_names("#e", "email")
                .expression_attribute_names("#k", item::EMAIL_KEY)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_err)?;
            for i in out.items() {
                let (Some(AttributeValue::S(name)), Some(AttributeValue::S(email))) =
                    (i.get("username"), i.get("email"))
                else {
                    continue;
                };
                let written = self
                    .client()
                    .update_item()
                    .table_name(table)
                    .set_key(Some(key("username", name)))
                    .update_expression("SET #k = :k")
                    .condition_expression("#e = :e AND attribute_not_exists(#k)")
                    .expression_attribute_names("#e", "email")
                    .expression_attribute_names("#k", item::EMAIL_KEY)
                    .expression_attribute_values(":e", s(email))
                    .expression_attribute_values(":k", s(email_key(email)))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(map_err);
                match written {
                    Ok(()) => updated += 1,
                    Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e),
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(updated),
            }
        }
    }
}

fn consent_id(user_id: &str, client_id: &str) -> String {
    format!("{user_id}|{client_id}")
}

impl ConsentStore for DynamoStore {
    async fn get_consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Scope>> {
        let out = self
            .client()
            .get_item()
            .table_name(&self.tables().consents)
            .set_key(Some(key("consent_id", &consent_id(user_id, client_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        match out.item {
            None => Ok(None),
            Some(it) => match it.get("scope").and_then(|v| v.as_s().ok()) {
                Some(sc) => Scope::parse(sc)
                    .map(Some)
                    .ok_or_else(|| StoreError::Corrupt("consent scope".into())),
                None => Err(StoreError::Corrupt("consent without scope".into())),
            },
        }
    }

    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &Scope,
        now: u64,
    ) -> StoreResult<()> {
        self.client()
            .put_item()
            .table_name(&self.tables().consents)
            .set_item(Some(Item::from([
                ("consent_id".into(), s(consent_id(user_id, client_id))),
                ("user_id".into(), s(user_id)),
                ("client_id".into(), s(client_id)),
                ("scope".into(), s(scope.to_string())),
                ("granted_at".into(), n(now)),
            ])))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

/// The counter attribute of a login-attempts item.
const SLOTS: &str = "attempts";
/// How many times a take is sent again when concurrent transactions held one of
/// its counters (DynamoDB cancels conflicting transactions rather than queueing).
const TAKE_TRIES: u32 = 3;

impl LoginAttemptStore for DynamoStore {
    async fn take_slots(&self, counters: &[Counter], expires_at: u64) -> StoreResult<Slots> {
        let table = &self.tables().login_attempts;
        let mut ops = Vec::with_capacity(counters.len());
        for c in counters {
            let update = Update::builder()
                .table_name(table)
                .set_key(Some(key("attempt_key", &c.key)))
                .update_expression("ADD #n :one SET #ttl = :ttl")
                .condition_expression("attribute_not_exists(#n) OR #n < :limit")
                .expression_attribute_names("#n", SLOTS)
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":ttl", n(expires_at))
                .expression_attribute_values(":limit", n(c.limit))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            ops.push(TransactWriteItem::builder().update(update).build());
        }
        let mut tries = 0;
        loop {
            tries += 1;
            let sent = self
                .client()
                .transact_write_items()
                .set_transact_items(Some(ops.clone()))
                .send()
                .await;
            let err = match sent {
                Ok(_) => return Ok(Slots::Taken),
                Err(e) => e,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                err.as_service_error()
            else {
                return Err(map_err(err));
            };
            let reasons = cancelled.cancellation_reasons();
            let with = |code: &str| -> Vec<usize> {
                reasons
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.code() == Some(code))
                    .map(|(i, _)| i)
                    .collect()
            };
            let refused = with("ConditionalCheckFailed");
            let held = with("TransactionConflict");
            if !refused.is_empty() {
                return Ok(Slots::Refused(refused));
            }
            if !held.is_empty() && tries < TAKE_TRIES {
                tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(tries))).await;
                continue;
            }
            if !held.is_empty() {
                return Ok(Slots::Refused(held));
            }
            // No reason to go by: refuse, rather than let an attempt through.
            let codes: Vec<_> = reasons.iter().map(|r| r.code().unwrap_or("-")).collect();
            tracing::error!(
                ?codes,
                "throttling counters refused for an unexpected reason"
            );
            return Ok(Slots::Refused((0..counters.len()).collect()));
        }
    }

    async fn release_slots(&self, release: &[Release]) -> StoreResult<()> {
        if release.is_empty() {
            return Ok(());
        }
        let table = &self.tables().login_attempts;
        let mut ops = Vec::with_capacity(release.len());
        for r in release {
            let op = match r {
                Release::Forget(k) => {
                    let delete = Delete::builder()
                        .table_name(table)
                        .set_key(Some(key("attempt_key", k)))
                        .build()
                        .map_err(|e| StoreError::Backend(e.to_string()))?;
                    TransactWriteItem::builder().delete(delete).build()
                }
                // The item exists: this attempt's take created or counted it, and
                // it outlives its window by a whole window.
                Release::GiveBack(k) => {
                    let update = Update::builder()
                        .table_name(table)
                        .set_key(Some(key("attempt_key", k)))
                        .update_expression("ADD #n :minus_one")
                        .expression_attribute_names("#n", SLOTS)
                        .expression_attribute_values(":minus_one", AttributeValue::N("-1".into()))
                        .build()
                        .map_err(|e| StoreError::Backend(e.to_string()))?;
                    TransactWriteItem::builder().update(update).build()
                }
            };
            ops.push(op);
        }
        self.transact(ops).await
    }

    async fn slots_held(&self, keys: &[String]) -> StoreResult<Vec<u64>> {
        let table = &self.tables().login_attempts;
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for k in keys {
            request = request.keys(key("attempt_key", k));
        }
        let request = request
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let out = self
            .client()
            .batch_get_item()
            .request_items(table, request)
            .send()
            .await
            .map_err(map_err)?;
        let items = out
            .responses
            .and_then(|mut r| r.remove(table))
            .unwrap_or_default();
        Ok(keys
            .iter()
            .map(|k| {
                items
                    .iter()
                    .find(
                        |it| matches!(it.get("attempt_key"), Some(AttributeValue::S(v)) if v == k),
                    )
                    .and_then(|it| it.get(SLOTS))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            })
            .collect())
    }
}
