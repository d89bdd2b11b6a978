//! The DynamoDB implementation of the key stores: the signing keys' public records
//! in the keys table, their private halves and the HMAC keys in the secrets table.
//!
//! The split is what IAM enforces: every function that verifies or publishes may
//! Scan the keys table, which holds nothing secret; each secrets-table item is
//! reachable only by the functions whose policy names its leading key
//! (`signing/*` for the token function, `session-key` for the authorization
//! endpoint, `refresh-key` for the token, introspection and revocation endpoints).

use super::dynamo::{DynamoStore, key, map_err, put_new};
use super::item::{self, Item, n, s};
use super::{KeyStore, SecretKeyPurpose, SecretKeyStore, StoreError, StoreResult};
use crate::keys::{PrivateKeyDer, Rotation, StoredKey};
use crate::secret::{Secret, random_token};
use aws_sdk_dynamodb::types::{Delete, Select, TransactWriteItem, Update};

impl KeyStore for DynamoStore {
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let mut keys = Vec::new();
        let mut start = None;
        let names: Vec<String> = (0..item::PUBLIC_KEY_ATTRIBUTES.len())
            .map(|i| format!("#a{i}"))
            .collect();
        loop {
            let mut scan = self
                .client()
                .scan()
                .table_name(&self.tables().keys)
                .consistent_read(true)
                .select(Select::SpecificAttributes)
                .projection_expression(names.join(", "))
                .set_exclusive_start_key(start.take());
            for (name, attr) in names.iter().zip(item::PUBLIC_KEY_ATTRIBUTES) {
                scan = scan.expression_attribute_names(name, attr);
            }
            let out = scan.send().await.map_err(map_err)?;
            for it in out.items.unwrap_or_default() {
                // Items of an older layout (the HMAC keys, kept in this table
                // before the secrets table) project to their `kid` alone.
                if it.contains_key("public_jwk") {
                    keys.push(item::key_from_item(&it)?);
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(keys),
            }
        }
    }

    async fn private_key(&self, kid: &str) -> StoreResult<Option<PrivateKeyDer>> {
        self.get_consistent(&self.tables().secrets, "name", &item::private_key_name(kid))
            .await?
            .as_ref()
            .map(item::private_key_from_item)
            .transpose()
    }

    async fn apply_rotation(&self, rotation: &Rotation) -> StoreResult<()> {
        let table = &self.tables().keys;
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
            // A retired key never signs again: its private half goes.
            ops.push(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.tables().secrets)
                            .set_key(Some(key("name", &item::private_key_name(kid))))
                            .build()
                            .map_err(build)?,
                    )
                    .build(),
            );
        }
        for k in &rotation.create {
            ops.push(put_new(table, item::key_to_item(&k.public), "kid")?);
            ops.push(put_new(
                &self.tables().secrets,
                item::private_key_to_item(&k.public.kid, &k.private),
                "name",
            )?);
        }
        self.transact(ops).await
    }
}

impl SecretKeyStore for DynamoStore {
    async fn existing_secret_key(&self, purpose: SecretKeyPurpose) -> StoreResult<Option<Secret>> {
        Ok(self
            .get_consistent(&self.tables().secrets, "name", purpose.name())
            .await?
            .and_then(|it| it.get("secret").and_then(|v| v.as_s().ok()).cloned())
            .map(Secret::new))
    }

    async fn secret_key(&self, purpose: SecretKeyPurpose) -> StoreResult<Secret> {
        let read = || self.existing_secret_key(purpose);
        if let Some(k) = read().await? {
            return Ok(k);
        }
        let fresh = random_token();
        let created = self
            .client()
            .put_item()
            .table_name(&self.tables().secrets)
            .set_item(Some(Item::from([
                ("name".into(), s(purpose.name())),
                ("secret".into(), s(fresh.expose())),
            ])))
            .condition_expression("attribute_not_exists(#n)")
            .expression_attribute_names("#n", "name")
            .send()
            .await
            .map_err(map_err);
        match created {
            Ok(_) => Ok(fresh),
            // Another instance created it first: use theirs.
            Err(StoreError::Conflict) => read()
                .await?
                .ok_or_else(|| StoreError::Corrupt("secret key vanished".into())),
            Err(e) => Err(e),
        }
    }
}

impl DynamoStore {
    /// Moves the secrets of an older layout out of the keys table: the private
    /// halves of the signing keys (kept only for keys that are not retired) and
    /// the HMAC keys go to the secrets table, where IAM restricts each to the
    /// functions that use it. Idempotent; returns how many items it moved.
    pub async fn migrate_legacy_keys(&self) -> StoreResult<usize> {
        let keys = &self.tables().keys;
        let mut moved = 0;
        for it in self.scan_all(keys).await? {
            let Some(kid) = it.get("kid").and_then(|v| v.as_s().ok()).cloned() else {
                continue;
            };
            let hmac = [SecretKeyPurpose::Session, SecretKeyPurpose::Refresh]
                .into_iter()
                .find(|p| p.name() == kid);
            if let Some(purpose) = hmac {
                if let Some(secret) = it.get("secret") {
                    let item = Item::from([
                        ("name".into(), s(purpose.name())),
                        ("secret".into(), secret.clone()),
                    ]);
                    self.put_if_absent(&self.tables().secrets, item).await?;
                }
                self.client()
                    .delete_item()
                    .table_name(keys)
                    .set_key(Some(key("kid", &kid)))
                    .send()
                    .await
                    .map_err(map_err)?;
                moved += 1;
                continue;
            }
            if !it.contains_key("private_der") {
                continue;
            }
            let retired = it
                .get("status")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("retired");
            if !retired {
                let der = item::private_key_from_item(&it)?;
                self.put_if_absent(
                    &self.tables().secrets,
                    item::private_key_to_item(&kid, &der),
                )
                .await?;
            }
            self.client()
                .update_item()
                .table_name(keys)
                .set_key(Some(key("kid", &kid)))
                .update_expression("REMOVE private_der")
                .send()
                .await
                .map_err(map_err)?;
            moved += 1;
        }
        Ok(moved)
    }

    /// Puts a secrets-table item unless one of its name exists (then that one stays).
    async fn put_if_absent(&self, table: &str, item: Item) -> StoreResult<()> {
        let r = self
            .client()
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#n)")
            .expression_attribute_names("#n", "name")
            .send()
            .await
            .map_err(map_err);
        match r {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
