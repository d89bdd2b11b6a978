//! The SQS queue of back-channel logout deliveries (`LogoutDeliveryQueue` in
//! `template.yaml`; why a queue: gatehouse-core's `backchannel_logout.rs`). A
//! message is one [`LogoutMessage`] as JSON: ids only, never a token. Sent in
//! batches of ten (`SendMessageBatch`, which IAM grants as `sqs:SendMessage`).
//!
//! A function that ends login sessions runs
//! `gatehouse_core::lambda::run_with_logout_queue(&[...], gatehouse_logout_queue::from_env().await)`;
//! it needs `sqs:SendMessage` on the queue in its policy.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use gatehouse_core::backchannel_logout::{BoxFuture, LogoutMessage, LogoutQueue};
use std::sync::Arc;

/// The queue named by `GATEHOUSE_LOGOUT_QUEUE_URL`, with the SDK configuration of
/// the standard chain; `None` when the variable is unset or empty.
pub async fn from_env() -> Option<Arc<dyn LogoutQueue>> {
    let url = std::env::var("GATEHOUSE_LOGOUT_QUEUE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())?;
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Some(Arc::new(SqsLogoutQueue::new(&conf, url)))
}

/// The queue at `url`.
#[derive(Clone, Debug)]
pub struct SqsLogoutQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsLogoutQueue {
    pub fn new(conf: &aws_config::SdkConfig, url: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_sqs::Client::new(conf),
            url: url.into(),
        }
    }

    async fn send_all(&self, messages: &[LogoutMessage]) -> Result<(), String> {
        for batch in messages.chunks(10) {
            let mut entries = Vec::with_capacity(batch.len());
            for (i, m) in batch.iter().enumerate() {
                let body = serde_json::to_string(m).map_err(|e| e.to_string())?;
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| e.to_string())?,
                );
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
            if let Some(first) = out.failed().first() {
                return Err(format!(
                    "{} of {} messages not enqueued: {} {}",
                    out.failed().len(),
                    batch.len(),
                    first.code(),
                    first.message().unwrap_or_default()
                ));
            }
        }
        Ok(())
    }
}

impl LogoutQueue for SqsLogoutQueue {
    fn send<'a>(&'a self, messages: &'a [LogoutMessage]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.send_all(messages))
    }
}
