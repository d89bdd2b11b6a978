//! The `authorizer` Lambda function: wiring only; the handler lives in gatehouse-core
//! (`gatehouse_core::authorizer`, which documents the API Gateway wiring).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse_core::authorizer::run_authorizer().await
}
