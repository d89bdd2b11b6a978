//! The Lambda adapter of the `backchannel_logout` function: it consumes the SQS
//! queue of back-channel logout deliveries (`LogoutDeliveryQueue`; why a queue:
//! `backchannel_logout.rs`). Each record is one [`LogoutMessage`]; for each, the
//! function reads the client, signs a fresh logout token (Back-Channel Logout
//! 1.0 §2.4) and delivers it (§2.5). The records that failed are reported in
//! `batchItemFailures` (the event source mapping's `ReportBatchItemFailures`),
//! so SQS makes them visible again and, after a bounded number of receives,
//! moves them to the dead-letter queue; the others are deleted.

use crate::app::App;
use crate::backchannel_logout::{LogoutMessage, deliver_message};
use crate::config::Config;
use crate::store::DynamoStore;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{LambdaEvent, service_fn};

/// Delivers every record of `event` (concurrently); the ones that failed.
pub async fn handle_event(app: &App, event: &SqsEvent) -> SqsBatchResponse {
    let outcomes =
        futures_util::future::join_all(event.records.iter().map(|r| handle_record(app, r))).await;
    let mut response = SqsBatchResponse::default();
    for (record, ok) in event.records.iter().zip(outcomes) {
        if !ok {
            match &record.message_id {
                Some(id) => response.add_failure(id.clone()),
                None => tracing::error!("a failed record without a message id"),
            }
        }
    }
    response
}

async fn handle_record(app: &App, record: &SqsMessage) -> bool {
    let id = record.message_id.as_deref().unwrap_or("(none)");
    let message = match record
        .body
        .as_deref()
        .map(serde_json::from_str::<LogoutMessage>)
    {
        Some(Ok(m)) => m,
        // Never a success: it goes to the dead-letter queue for an operator.
        Some(Err(e)) => {
            tracing::error!(message_id = id, error = %e, "a logout delivery message that is not one");
            return false;
        }
        None => {
            tracing::error!(message_id = id, "a logout delivery message without a body");
            return false;
        }
    };
    match deliver_message(app, &message).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(message_id = id, client_id = %message.client_id, error = %e, "back-channel logout delivery failed; SQS retries it");
            false
        }
    }
}

/// The function's `main`: the configuration from the environment (the issuer
/// is required: no API event tells this function its API), the store built
/// once, then one [`handle_event`] per batch.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::routes::lambda::init_logging(true);
    let config = Config::from_env()?;
    let db = crate::dynamodb::lambda_client().await;
    let store = DynamoStore::new(db, config.tables.clone());
    let app = App::new(config, store);
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(handle_event(app, &event.payload).await)
    }))
    .await
}
