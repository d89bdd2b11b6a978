//! Building the DynamoDB client: once per cold start, never per request.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};

/// A client for real AWS through the standard credential and region chain.
pub async fn aws_client() -> aws_sdk_dynamodb::Client {
    let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
    aws_sdk_dynamodb::Client::new(&conf)
}

/// A client for a DynamoDB-compatible endpoint (the embedded engine, a local
/// emulator), with static dummy credentials and region `us-east-1`.
pub async fn endpoint_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "static"))
        .endpoint_url(endpoint)
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&conf)
}
