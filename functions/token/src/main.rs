//! The `token` Lambda function: wiring only; the handler lives in gatehouse-core.

use gatehouse_core::routes::Endpoint;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_core::lambda::run(&[Endpoint::Token]).await
}
