//! Building the DynamoDB client: once per cold start, never per request.

use crate::secret::Secret;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};

/// The region every DynamoDB-compatible endpoint is addressed in (the embedded
/// engine checks that requests are signed for it).
pub const ENDPOINT_REGION: &str = "us-east-1";

/// The access key id and secret a DynamoDB-compatible endpoint is signed with
/// (AWS Signature Version 4). `Debug` never shows the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

impl EndpointCredentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: Secret) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key,
        }
    }

    /// Fixed dummy credentials (`local`/`local`), for emulators that check only
    /// that a request is signed, as DynamoDB Local does.
    pub fn dummy() -> Self {
        Self::new("local", Secret::new("local"))
    }

    /// `GATEHOUSE_DYNAMODB_ACCESS_KEY_ID` and `GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY`,
    /// when both are set and not empty (the embedded engine's credentials, which
    /// `gatehouse serve` writes into `sam-local-env.json`).
    pub fn from_env() -> Option<Self> {
        let var = |name| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Some(Self::new(
            var("GATEHOUSE_DYNAMODB_ACCESS_KEY_ID")?,
            Secret::new(var("GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY")?),
        ))
    }
}

/// A client for real AWS through the standard credential and region chain.
pub async fn aws_client() -> aws_sdk_dynamodb::Client {
    let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
    aws_sdk_dynamodb::Client::new(&conf)
}

/// The client of a Lambda function: real AWS, or the DynamoDB-compatible endpoint
/// named by `GATEHOUSE_DYNAMODB_ENDPOINT` when it is set (for `sam local`, whose
/// containers reach `gatehouse serve --engine-addr` on the host), signed with the
/// credentials of [`EndpointCredentials::from_env`] or else the dummy ones.
pub async fn lambda_client() -> aws_sdk_dynamodb::Client {
    match std::env::var("GATEHOUSE_DYNAMODB_ENDPOINT") {
        Ok(url) if !url.trim().is_empty() => {
            let credentials =
                EndpointCredentials::from_env().unwrap_or_else(EndpointCredentials::dummy);
            endpoint_client(url.trim(), &credentials).await
        }
        _ => aws_client().await,
    }
}

/// A client for a DynamoDB-compatible endpoint (the embedded engine, a local
/// emulator), signing with `credentials` in region `us-east-1`.
pub async fn endpoint_client(
    endpoint: &str,
    credentials: &EndpointCredentials,
) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&endpoint_config(endpoint, credentials).load().await)
}

/// The configuration of [`endpoint_client`], before it is loaded.
pub fn endpoint_config(
    endpoint: &str,
    credentials: &EndpointCredentials,
) -> aws_config::ConfigLoader {
    endpoint_loader(endpoint).credentials_provider(Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.expose().to_owned(),
        None,
        None,
        "gatehouse-endpoint",
    ))
}

/// What every client of a DynamoDB-compatible endpoint shares, whatever it signs
/// with: the defaults of this SDK version (retries, timeouts), region `us-east-1`
/// and the endpoint. The embedded engine's in-process client starts from this.
pub fn endpoint_loader(endpoint: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(ENDPOINT_REGION))
        .endpoint_url(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_endpoint_credentials_never_shows_the_secret() {
        let c = EndpointCredentials::new("GATEHOUSEABC", Secret::new("s3cr3t-value"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("GATEHOUSEABC"), "{shown}");
    }
}
