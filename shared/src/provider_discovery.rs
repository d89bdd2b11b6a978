//! Registering an upstream OpenID Provider (`gatehouse provider add`): the
//! configuration is checked, the provider's discovery document is fetched
//! (OpenID Connect Discovery 1.0 §4) through the server's own HTTP client
//! (`outbound_http.rs`, whose address policy keeps fetches made on AWS off
//! private, link-local and metadata addresses), checked
//! (`domain/provider.rs`), and the provider is stored with its client secret.

use crate::domain::outbound_address::AddressPolicy;
use crate::domain::provider::{
    self, DEFAULT_PROVIDER_SCOPE, Provider, ProviderMetadata, discovery_url,
};
use crate::domain::provider_quirks::{GOOGLE_ISSUER, Upstream};
use crate::outbound_http::{FetchError, MAX_JSON_BYTES, OutboundHttp};
use crate::secret::Secret;
use crate::store::{ProviderStore, StoreError};

/// What `provider add` was given.
#[derive(Clone, Debug)]
pub struct NewProvider {
    pub provider_id: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scope: Option<String>,
    pub display_name: Option<String>,
    pub trust_email: bool,
    pub hosted_domain: Option<String>,
}

/// Checks everything that needs no request, so that a mistake costs no fetch.
/// Returns the normalised scope.
pub fn check_configuration(new: &NewProvider, policy: AddressPolicy) -> Result<String, String> {
    provider::validate_id(&new.provider_id)?;
    provider::validate_issuer(&new.issuer, policy)?;
    if new.client_id.is_empty() || new.client_id.chars().any(char::is_control) {
        return Err("the client id is empty or contains a control character".into());
    }
    if new.client_secret.expose().is_empty() {
        return Err("the client secret (read from standard input) is empty".into());
    }
    if let Some(name) = &new.display_name {
        provider::validate_display_name(name)?;
    }
    if let Some(domain) = &new.hosted_domain {
        if Upstream::of(&new.issuer) != Upstream::Google {
            return Err(format!(
                "--hosted-domain is Google's (the `hd` claim of {GOOGLE_ISSUER}); this issuer \
                 is not Google's"
            ));
        }
        provider::validate_hosted_domain(domain)?;
    }
    provider::validate_scope(new.scope.as_deref().unwrap_or(DEFAULT_PROVIDER_SCOPE))
}

/// Fetches and checks the discovery document of `issuer` (Discovery §4.1,
/// §4.2, §4.3); each failure says what went wrong, never with the body.
pub async fn fetch_metadata(http: &OutboundHttp, issuer: &str) -> Result<ProviderMetadata, String> {
    let url = discovery_url(issuer);
    let doc: serde_json::Value =
        http.get_json(&url, MAX_JSON_BYTES)
            .await
            .map_err(|e| match e {
                FetchError::Request(e) => format!("cannot fetch the discovery document {url}: {e}"),
                other => format!("the discovery document {url} {}", describe(&other)),
            })?;
    provider::metadata_from_discovery(issuer, &doc, http.policy())
}

fn describe(e: &FetchError) -> String {
    match e {
        FetchError::Status(404) => "was not found (HTTP 404): is the issuer right?".into(),
        FetchError::Status(s) if (300..400).contains(s) => format!(
            "answered a redirect (HTTP {s}), which is not followed: give the issuer exactly"
        ),
        other => format!("is unusable: {other}"),
    }
}

/// Why a provider was not added.
#[derive(Debug)]
pub enum AddError {
    /// The configuration or the provider's document is refused; the reason.
    Refused(String),
    /// A provider of this id exists.
    Exists(String),
    Store(StoreError),
}

impl std::fmt::Display for AddError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(m) => f.write_str(m),
            Self::Exists(id) => write!(
                f,
                "a provider `{id}` exists: remove it first (`gatehouse provider remove {id}`)"
            ),
            Self::Store(e) => e.fmt(f),
        }
    }
}

/// Adds a provider: the configuration, the discovery document, then one
/// conditional transaction writing the provider and its secret.
pub async fn add_provider(
    store: &impl ProviderStore,
    http: &OutboundHttp,
    new: NewProvider,
    now: u64,
) -> Result<Provider, AddError> {
    let scope = check_configuration(&new, http.policy()).map_err(AddError::Refused)?;
    if store
        .get_provider(&new.provider_id)
        .await
        .map_err(AddError::Store)?
        .is_some()
    {
        return Err(AddError::Exists(new.provider_id));
    }
    let metadata = fetch_metadata(http, &new.issuer)
        .await
        .map_err(AddError::Refused)?;
    let provider = Provider {
        display_name: new.display_name.unwrap_or_else(|| new.provider_id.clone()),
        provider_id: new.provider_id,
        issuer: new.issuer,
        client_id: new.client_id,
        scope,
        trust_email: new.trust_email,
        hosted_domain: new.hosted_domain,
        metadata,
        created_at: now,
    };
    match store.create_provider(&provider, &new.client_secret).await {
        Ok(()) => Ok(provider),
        Err(StoreError::Conflict) => Err(AddError::Exists(provider.provider_id)),
        Err(e) => Err(AddError::Store(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn on_aws_no_fetch_reaches_an_internal_address() {
        let aws = OutboundHttp::new(AddressPolicy::PublicOnly).unwrap();
        for (issuer, why) in [
            ("https://169.254.169.254", "internal address"),
            ("https://[fd00:ec2::254]", "internal address"),
            ("https://10.0.0.1/op", "internal address"),
            ("https://localhost:9", "resolves only to internal addresses"),
        ] {
            let err = fetch_metadata(&aws, issuer).await.unwrap_err();
            assert!(err.contains("cannot fetch the discovery document"), "{err}");
            assert!(err.contains(why), "{issuer}: {err}");
        }
        // And the configuration check refuses loopback http before any fetch.
        let new = NewProvider {
            provider_id: "op".into(),
            issuer: "http://127.0.0.1:9".into(),
            client_id: "c".into(),
            client_secret: Secret::new("s"),
            scope: None,
            display_name: None,
            trust_email: false,
            hosted_domain: None,
        };
        let err = check_configuration(&new, AddressPolicy::PublicOnly).unwrap_err();
        assert!(err.contains("allowed only locally"), "{err}");
        assert!(check_configuration(&new, AddressPolicy::Local).is_ok());
    }
}
