//! Building the DynamoDB client: once per cold start, never per request.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};

/// A client for real AWS through the standard credential and region chain.
pub async fn aws_client() -> aws_sdk_dynamodb::Client {
    let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
    aws_sdk_dynamodb::Client::new(&conf)
}

/// The client of a Lambda function: real AWS, or the DynamoDB-compatible endpoint
/// named by `GATEHOUSE_DYNAMODB_ENDPOINT` when it is set (for `sam local`, whose
/// containers reach `gatehouse serve --engine-addr` on the host).
pub async fn lambda_client() -> aws_sdk_dynamodb::Client {
    match std::env::var("GATEHOUSE_DYNAMODB_ENDPOINT") {
        Ok(url) if !url.trim().is_empty() => endpoint_client(url.trim()).await,
        _ => aws_client().await,
    }
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
