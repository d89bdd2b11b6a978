//! The `logout` Lambda function: wiring only; the handler lives in gatehouse-core.
//! A logout ends a login session, so its back-channel logout deliveries go to the
//! queue `template.yaml` names in `GATEHOUSE_LOGOUT_QUEUE_URL`: a frozen function
//! cannot deliver them later, and waiting for them would hold up the logout.

use gatehouse_core::routes::Endpoint;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let Some(queue) = gatehouse_logout_queue::from_env().await else {
        return Err(
            "GATEHOUSE_LOGOUT_QUEUE_URL is not set: the logout function enqueues \
                    the back-channel logout deliveries of the sessions it ends \
                    (template.yaml sets it to LogoutDeliveryQueue)"
                .into(),
        );
    };
    gatehouse_core::lambda::run_with_logout_queue(&[Endpoint::Logout], Some(queue)).await
}
