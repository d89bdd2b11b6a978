//! The DynamoDB implementation of [`ProviderStore`]: each provider is an item of
//! the providers table, its client secret an item of the secrets table named
//! `provider/{id}`, apart from the signing keys (`signing/{kid}`) and the HMAC
//! keys, so that IAM can give the one function that exchanges codes upstream
//! the `provider/*` items and nothing else of the table. Both are written in
//! one transaction and deleted in one.

use super::dynamo::{DynamoStore, key, put_new};
use super::item::{Item, n, s};
use super::{ProviderStore, StoreError, StoreResult};
use crate::domain::provider::{Provider, ProviderMetadata};
use crate::secret::Secret;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

/// The secrets-table item that holds provider `id`'s client secret.
pub fn provider_secret_name(id: &str) -> String {
    format!("provider/{id}")
}

impl ProviderStore for DynamoStore {
    async fn create_provider(&self, provider: &Provider, secret: &Secret) -> StoreResult<()> {
        let secret_item = Item::from([
            (
                "name".into(),
                s(provider_secret_name(&provider.provider_id)),
            ),
            ("secret".into(), s(secret.expose())),
        ]);
        self.transact(vec![
            put_new(
                &self.tables().providers,
                provider_to_item(provider),
                "provider_id",
            )?,
            // Unconditional: the provider's absence is the condition, and a
            // secret left without its provider is only replaced.
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.tables().secrets)
                        .set_item(Some(secret_item))
                        .build()
                        .map_err(|e| StoreError::Backend(e.to_string()))?,
                )
                .build(),
        ])
        .await
    }

    async fn get_provider(&self, provider_id: &str) -> StoreResult<Option<Provider>> {
        self.get_consistent(&self.tables().providers, "provider_id", provider_id)
            .await?
            .as_ref()
            .map(provider_from_item)
            .transpose()
    }

    async fn list_providers(&self) -> StoreResult<Vec<Provider>> {
        let mut all = self
            .scan_all(&self.tables().providers)
            .await?
            .iter()
            .map(provider_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        all.sort_by(|a, b| a.provider_id.cmp(&b.provider_id));
        Ok(all)
    }

    async fn delete_provider(&self, provider_id: &str) -> StoreResult<bool> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Backend(e.to_string());
        let provider = Delete::builder()
            .table_name(&self.tables().providers)
            .set_key(Some(key("provider_id", provider_id)))
            .condition_expression("attribute_exists(provider_id)")
            .build()
            .map_err(build)?;
        let secret = Delete::builder()
            .table_name(&self.tables().secrets)
            .set_key(Some(key("name", &provider_secret_name(provider_id))))
            .build()
            .map_err(build)?;
        let r = self
            .transact(vec![
                TransactWriteItem::builder().delete(provider).build(),
                TransactWriteItem::builder().delete(secret).build(),
            ])
            .await;
        match r {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn provider_secret(&self, provider_id: &str) -> StoreResult<Option<Secret>> {
        Ok(self
            .get_consistent(
                &self.tables().secrets,
                "name",
                &provider_secret_name(provider_id),
            )
            .await?
            .and_then(|it| it.get("secret").and_then(|v| v.as_s().ok()).cloned())
            .map(Secret::new))
    }
}

fn corrupt(attr: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "provider attribute `{attr}` is missing or has the wrong type"
    ))
}

fn text(item: &Item, attr: &str) -> StoreResult<String> {
    item.get(attr)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| corrupt(attr))
}

fn opt_text(item: &Item, attr: &str) -> Option<String> {
    item.get(attr).and_then(|v| v.as_s().ok()).cloned()
}

fn flag(item: &Item, attr: &str) -> StoreResult<bool> {
    item.get(attr)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .ok_or_else(|| corrupt(attr))
}

fn provider_to_item(p: &Provider) -> Item {
    let m = &p.metadata;
    let mut item = Item::from([
        ("provider_id".into(), s(&p.provider_id)),
        ("display_name".into(), s(&p.display_name)),
        ("issuer".into(), s(&p.issuer)),
        ("client_id".into(), s(&p.client_id)),
        ("scope".into(), s(&p.scope)),
        ("trust_email".into(), AttributeValue::Bool(p.trust_email)),
        ("created_at".into(), n(p.created_at)),
        (
            "authorization_endpoint".into(),
            s(&m.authorization_endpoint),
        ),
        ("token_endpoint".into(), s(&m.token_endpoint)),
        ("jwks_uri".into(), s(&m.jwks_uri)),
        ("auth_method".into(), s(m.auth_method.as_str())),
        (
            "iss_parameter_supported".into(),
            AttributeValue::Bool(m.iss_parameter_supported),
        ),
        (
            "id_token_signing_algs".into(),
            AttributeValue::L(
                m.id_token_signing_algs
                    .iter()
                    .map(|a| s(a.as_str()))
                    .collect(),
            ),
        ),
    ]);
    if let Some(u) = &m.userinfo_endpoint {
        item.insert("userinfo_endpoint".into(), s(u));
    }
    if let Some(d) = &p.hosted_domain {
        item.insert("hosted_domain".into(), s(d));
    }
    item
}

fn provider_from_item(item: &Item) -> StoreResult<Provider> {
    let algs = match item.get("id_token_signing_algs") {
        Some(AttributeValue::L(l)) => l
            .iter()
            .map(|v| {
                v.as_s()
                    .cloned()
                    .map_err(|_| corrupt("id_token_signing_algs"))
            })
            .collect::<StoreResult<Vec<_>>>()?,
        _ => return Err(corrupt("id_token_signing_algs")),
    };
    let created_at = item
        .get("created_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt("created_at"))?;
    Ok(Provider {
        provider_id: text(item, "provider_id")?,
        display_name: text(item, "display_name")?,
        issuer: text(item, "issuer")?,
        client_id: text(item, "client_id")?,
        scope: text(item, "scope")?,
        trust_email: flag(item, "trust_email")?,
        hosted_domain: opt_text(item, "hosted_domain"),
        metadata: ProviderMetadata {
            authorization_endpoint: text(item, "authorization_endpoint")?,
            token_endpoint: text(item, "token_endpoint")?,
            userinfo_endpoint: opt_text(item, "userinfo_endpoint"),
            jwks_uri: text(item, "jwks_uri")?,
            auth_method: text(item, "auth_method")?
                .parse()
                .map_err(StoreError::Corrupt)?,
            iss_parameter_supported: flag(item, "iss_parameter_supported")?,
            id_token_signing_algs: algs,
        },
        created_at,
    })
}
