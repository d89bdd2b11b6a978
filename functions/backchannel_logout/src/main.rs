//! The `backchannel_logout` Lambda function: consumes the queue of back-channel
//! logout deliveries; wiring only, the handler lives in gatehouse-core.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse_core::routes::backchannel_logout_queue::run().await
}
