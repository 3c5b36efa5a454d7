//! The `delivery-status` function: carriers' SMS delivery receipts, which SNS writes to
//! CloudWatch Logs and a subscription filter delivers here in gzipped batches.

use aws::{AwsClients, config::Config, wiring::OnAws};
use aws_lambda_events::cloudwatch_logs::LogsEvent;
use domain::delivery_status::{DeliveryStatus, ReceiptCounts};

pub struct DeliveryStatusFunction {
    status: DeliveryStatus,
}

impl OnAws for DeliveryStatusFunction {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self {
        Self::new(DeliveryStatus::on_aws(config, clients))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("delivery receipts could not be recorded now ({code}); retry")]
pub struct RetryLater {
    pub code: String,
}

impl DeliveryStatusFunction {
    pub fn new(status: DeliveryStatus) -> Self {
        Self { status }
    }

    /// Records each receipt of the batch. A batch that is not a CloudWatch Logs event is
    /// acknowledged as malformed (retrying cannot fix it); a store failure fails the
    /// invocation so that Lambda retries it (recording is idempotent).
    pub async fn handle(&self, event: serde_json::Value) -> Result<ReceiptCounts, RetryLater> {
        // The crate's decoder reads the batch's keys as borrowed text, which a `Value` does
        // not lend: it reads the event's own JSON text.
        let event: LogsEvent = match serde_json::from_str(&event.to_string()) {
            Ok(event) => event,
            Err(_) => {
                tracing::warn!("malformed log event acknowledged");
                return Ok(ReceiptCounts {
                    malformed: 1,
                    ..ReceiptCounts::default()
                });
            }
        };
        let lines: Vec<&str> = event
            .aws_logs
            .data
            .log_events
            .iter()
            .map(|entry| entry.message.as_str())
            .collect();
        let counts = self.status.record_all(&lines).await.map_err(|error| {
            tracing::error!(
                service = error.service,
                operation = error.operation,
                code = %error.code,
                "delivery receipts not recorded; the batch will be retried"
            );
            RetryLater { code: error.code }
        })?;
        tracing::info!(
            recorded = counts.recorded,
            superseded = counts.superseded,
            unknown = counts.unknown,
            malformed = counts.malformed,
            "delivery receipts"
        );
        Ok(counts)
    }
}
