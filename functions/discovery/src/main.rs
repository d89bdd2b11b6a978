//! The `discovery` Lambda function: server metadata (RFC 8414) and the JWKS.

use gatehouse_core::routes::Endpoint;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_core::lambda::run(&[Endpoint::Metadata, Endpoint::Jwks]).await
}
