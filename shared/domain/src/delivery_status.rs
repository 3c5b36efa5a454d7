//! Carriers' delivery receipts, as SNS logs them: each recorded on its message, whatever
//! order they arrive in.

use std::sync::Arc;

use crate::{
    delivery_receipt::{DeliveryOutcome, DeliveryReceipt},
    error::DependencyError,
    ports::{DeliveryRecorded, MessageStore},
};

/// What became of one batch of log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiptCounts {
    pub recorded: usize,
    /// Duplicates, and receipts older than the one recorded.
    pub superseded: usize,
    /// Receipts for SMS that are not our messages' (or no longer known).
    pub unknown: usize,
    /// Lines that are not receipts: acknowledged, since retrying cannot fix them.
    pub malformed: usize,
}

pub struct DeliveryStatus {
    pub messages: Arc<dyn MessageStore>,
}

impl DeliveryStatus {
    /// Records every receipt of the batch. A store failure stops the batch so that it is
    /// delivered again: recording is idempotent, so the lines recorded before count once.
    pub async fn record_all(&self, lines: &[&str]) -> Result<ReceiptCounts, DependencyError> {
        let mut counts = ReceiptCounts::default();
        for line in lines {
            let receipt = match DeliveryReceipt::parse(line) {
                Ok(receipt) => receipt,
                Err(error) => {
                    counts.malformed += 1;
                    tracing::warn!(%error, "malformed delivery receipt acknowledged");
                    continue;
                }
            };
            let recorded = self.messages.record_delivery(&receipt).await?;
            match recorded {
                DeliveryRecorded::Recorded => counts.recorded += 1,
                DeliveryRecorded::Superseded => counts.superseded += 1,
                DeliveryRecorded::UnknownMessage => counts.unknown += 1,
            }
            let (outcome, reason) = match receipt.delivery.outcome {
                DeliveryOutcome::Delivered => ("delivered", None),
                DeliveryOutcome::Failed(reason) => ("failed", Some(reason.as_str())),
            };
            tracing::info!(
                provider_message_id = %receipt.provider_message_id,
                outcome,
                reason,
                recorded = ?recorded,
                "delivery receipt"
            );
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        delivery_receipt::{Delivery, FailureReason},
        ids::AppointmentId,
        model::MessageState,
        ports::Clock,
        send::tests::world,
    };

    fn line(message_id: &str, status: &str, at: &str, response: &str) -> String {
        serde_json::json!({
            "notification": {"messageId": message_id, "timestamp": at},
            "delivery": {"destination": "+16045550123", "providerResponse": response},
            "status": status
        })
        .to_string()
    }

    #[tokio::test]
    async fn the_later_receipt_wins_whatever_order_they_arrive_in() {
        let w = world().await;
        w.send("k1", r#"{"kind":"secure","text":"Results"}"#)
            .await
            .unwrap();
        let status = DeliveryStatus {
            messages: w.store.clone(),
        };
        let failure = line(
            "fake-1",
            "FAILURE",
            "2026-11-25 17:00:01.000",
            "Phone is currently unreachable/unavailable",
        );
        let success = line("fake-1", "SUCCESS", "2026-11-25 17:00:02.500", "accepted");
        let counts = status
            .record_all(&[success.as_str(), failure.as_str(), success.as_str()])
            .await
            .unwrap();
        assert_eq!(
            counts,
            ReceiptCounts {
                recorded: 1,
                superseded: 2,
                ..ReceiptCounts::default()
            }
        );
        let messages = w
            .store
            .messages_for_appointment(&w.caller.clinic_id, &AppointmentId::parse("a1").unwrap())
            .await
            .unwrap();
        assert_eq!(
            messages[0].delivery,
            Some(Delivery {
                outcome: DeliveryOutcome::Delivered,
                at: "2026-11-25T17:00:02.5Z".parse().unwrap()
            })
        );
        assert_eq!(
            messages[0].status(w.clock.now()).state,
            MessageState::Delivered
        );

        // In order, the failure then the success: the same end.
        let later_failure = line(
            "fake-1",
            "FAILURE",
            "2026-11-25 17:00:03.000",
            "Invalid phone number",
        );
        status.record_all(&[later_failure.as_str()]).await.unwrap();
        let messages = w
            .store
            .messages_for_appointment(&w.caller.clinic_id, &AppointmentId::parse("a1").unwrap())
            .await
            .unwrap();
        let status_line = messages[0].status(w.clock.now());
        assert_eq!(
            (status_line.state, status_line.reason),
            (MessageState::Failed, Some(FailureReason::InvalidNumber))
        );
    }

    #[tokio::test]
    async fn unknown_and_malformed_receipts_are_counted_and_change_nothing() {
        let w = world().await;
        let status = DeliveryStatus {
            messages: w.store.clone(),
        };
        let unknown = line("not-ours", "SUCCESS", "2026-11-25 17:00:01.000", "");
        let counts = status
            .record_all(&[unknown.as_str(), "not json", r#"{"status":"SUCCESS"}"#])
            .await
            .unwrap();
        assert_eq!(
            counts,
            ReceiptCounts {
                unknown: 1,
                malformed: 2,
                ..ReceiptCounts::default()
            }
        );
    }
}
