//! A carrier's delivery receipt for one SMS, as SNS writes it to CloudWatch Logs.

use serde::{Deserialize, Serialize};

/// Why a carrier could not deliver an SMS, in the categories staff act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The phone is off or out of coverage: try again later, or call.
    Unreachable,
    /// The phone, its carrier or an opt-out blocks our SMS: call the patient.
    Blocked,
    /// No phone answers at this number: correct it in the EMR.
    InvalidNumber,
    /// The carrier itself failed or is unreachable.
    CarrierError,
    Unknown,
}

impl FailureReason {
    /// The category of SNS's `delivery.providerResponse` (for example "Phone is currently
    /// unreachable/unavailable", "Phone carrier has blocked this message", "Invalid phone
    /// number", "Phone carrier is currently unreachable/unavailable").
    pub fn of_provider_response(response: &str) -> FailureReason {
        let response = response.to_ascii_lowercase();
        let says = |words: &str| response.contains(words);
        if says("blocked") || says("opted out") || says("spam") {
            FailureReason::Blocked
        } else if says("invalid phone number") || says("not a valid") {
            FailureReason::InvalidNumber
        } else if says("carrier") {
            FailureReason::CarrierError
        } else if says("unreachable") || says("unavailable") {
            FailureReason::Unreachable
        } else {
            FailureReason::Unknown
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Unreachable => "unreachable",
            FailureReason::Blocked => "blocked",
            FailureReason::InvalidNumber => "invalid_number",
            FailureReason::CarrierError => "carrier_error",
            FailureReason::Unknown => "unknown",
        }
    }
}

/// What the carrier said became of an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum DeliveryOutcome {
    Delivered,
    Failed(FailureReason),
}

/// A message's delivery as its latest receipt says: receipts can arrive in any order (and
/// up to 72 hours late), so the one with the later time wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    #[serde(flatten)]
    pub outcome: DeliveryOutcome,
    /// When the carrier (or the phone) answered, to the millisecond: SNS's notification
    /// time (when it took the SMS) plus the dwell time it reports until that answer.
    pub at: jiff::Timestamp,
}

/// One receipt. The destination number is in the log line too: it is never read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReceipt {
    /// The `MessageId` SNS answered to our Publish.
    pub provider_message_id: String,
    pub delivery: Delivery,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("the log line is not an SNS SMS delivery receipt")]
    NotAReceipt,
    #[error("the receipt's {field} is missing or empty")]
    MissingField { field: &'static str },
    #[error("the receipt's status is neither SUCCESS nor FAILURE")]
    UnknownStatus,
    #[error("the receipt's notification.timestamp is not a time")]
    BadTimestamp,
}

#[derive(Deserialize)]
struct Line {
    notification: Option<Notification>,
    delivery: Option<DeliveryPart>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    message_id: Option<String>,
    timestamp: Option<String>,
}

/// Only the provider's answer and how long it took: the destination, carrier and price are
/// left unread.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryPart {
    provider_response: Option<String>,
    dwell_time_ms: Option<u64>,
    dwell_time_ms_until_device_ack: Option<u64>,
}

impl DeliveryReceipt {
    /// Parses one log line. Errors never carry the line's content.
    pub fn parse(line: &str) -> Result<DeliveryReceipt, ReceiptError> {
        let line: Line = serde_json::from_str(line).map_err(|_| ReceiptError::NotAReceipt)?;
        let notification = line.notification.ok_or(ReceiptError::MissingField {
            field: "notification",
        })?;
        let provider_message_id = notification
            .message_id
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .ok_or(ReceiptError::MissingField {
                field: "notification.messageId",
            })?;
        let notified = parse_timestamp(notification.timestamp.as_deref().ok_or(
            ReceiptError::MissingField {
                field: "notification.timestamp",
            },
        )?)?;
        // Every receipt of one SMS carries the time SNS took it: the dwell time tells them
        // apart (until the phone's acknowledgement when there is one, which comes last).
        let dwell_ms = line.delivery.as_ref().map_or(0, |delivery| {
            delivery
                .dwell_time_ms_until_device_ack
                .or(delivery.dwell_time_ms)
                .unwrap_or(0)
        });
        let at = notified
            .checked_add(jiff::SignedDuration::from_millis(
                i64::try_from(dwell_ms).unwrap_or(i64::MAX),
            ))
            .map_err(|_| ReceiptError::BadTimestamp)?;
        let outcome = match line.status.as_deref() {
            Some("SUCCESS") => DeliveryOutcome::Delivered,
            Some("FAILURE") => {
                let response = line
                    .delivery
                    .and_then(|delivery| delivery.provider_response)
                    .unwrap_or_default();
                DeliveryOutcome::Failed(FailureReason::of_provider_response(&response))
            }
            None => return Err(ReceiptError::MissingField { field: "status" }),
            Some(_) => return Err(ReceiptError::UnknownStatus),
        };
        Ok(DeliveryReceipt {
            provider_message_id,
            delivery: Delivery { outcome, at },
        })
    }
}

/// SNS writes `2026-12-01 20:15:04.558`, in UTC; an RFC 3339 time is taken too.
fn parse_timestamp(text: &str) -> Result<jiff::Timestamp, ReceiptError> {
    let text = text.trim();
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    text.parse::<jiff::civil::DateTime>()
        .and_then(|civil| civil.to_zoned(jiff::tz::TimeZone::UTC))
        .map(|zoned| zoned.timestamp())
        .map_err(|_| ReceiptError::BadTimestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(status: &str, response: &str) -> String {
        serde_json::json!({
            "notification": {
                "messageId": "34d9b400-c6dd-5444-820d-fbeb0f1f54cf",
                "timestamp": "2026-12-01 20:15:04.558"
            },
            "delivery": {
                "phoneCarrier": "Carrier",
                "mnc": 270,
                "numberOfMessageParts": 1,
                "destination": "+12505550123",
                "priceInUSD": 0.00581,
                "smsType": "Transactional",
                "mcc": 302,
                "providerResponse": response,
                "dwellTimeMs": 599,
                "dwellTimeMsUntilDeviceAck": 1344
            },
            "status": status
        })
        .to_string()
    }

    #[test]
    fn a_success_is_delivered_at_the_notification_time_in_utc_plus_its_dwell_time() {
        let receipt = DeliveryReceipt::parse(&line(
            "SUCCESS",
            "Message has been accepted by phone carrier",
        ))
        .expect("a receipt");
        assert_eq!(
            receipt.provider_message_id,
            "34d9b400-c6dd-5444-820d-fbeb0f1f54cf"
        );
        assert_eq!(receipt.delivery.outcome, DeliveryOutcome::Delivered);
        // Until the phone's acknowledgement (1344 ms), which comes after the carrier's (599).
        assert_eq!(
            receipt.delivery.at,
            "2026-12-01T20:15:05.902Z"
                .parse::<jiff::Timestamp>()
                .unwrap()
        );
        let without_ack =
            line("SUCCESS", "accepted").replace(",\"dwellTimeMsUntilDeviceAck\":1344", "");
        assert_ne!(without_ack, line("SUCCESS", "accepted"));
        assert_eq!(
            DeliveryReceipt::parse(&without_ack).unwrap().delivery.at,
            "2026-12-01T20:15:05.157Z"
                .parse::<jiff::Timestamp>()
                .unwrap()
        );
    }

    #[test]
    fn each_provider_response_falls_in_its_category() {
        for (response, reason) in [
            (
                "Phone is currently unreachable/unavailable",
                FailureReason::Unreachable,
            ),
            ("Phone has blocked SMS", FailureReason::Blocked),
            (
                "Phone carrier has blocked this message",
                FailureReason::Blocked,
            ),
            ("Blocked as spam by phone carrier", FailureReason::Blocked),
            ("Phone number is opted out", FailureReason::Blocked),
            ("Destination is on a blocked list", FailureReason::Blocked),
            ("Invalid phone number", FailureReason::InvalidNumber),
            (
                "Phone carrier is currently unreachable/unavailable",
                FailureReason::CarrierError,
            ),
            (
                "Unknown error attempting to reach phone",
                FailureReason::Unknown,
            ),
            ("", FailureReason::Unknown),
        ] {
            let receipt = DeliveryReceipt::parse(&line("FAILURE", response)).expect("a receipt");
            assert_eq!(
                receipt.delivery.outcome,
                DeliveryOutcome::Failed(reason),
                "{response}"
            );
        }
    }

    #[test]
    fn malformed_lines_are_refused_without_their_content() {
        assert_eq!(
            DeliveryReceipt::parse("+12505550123 not json"),
            Err(ReceiptError::NotAReceipt)
        );
        assert_eq!(
            DeliveryReceipt::parse(r#"{"status":"SUCCESS"}"#),
            Err(ReceiptError::MissingField {
                field: "notification"
            })
        );
        assert_eq!(
            DeliveryReceipt::parse(
                r#"{"notification":{"messageId":" ","timestamp":"2026-12-01 20:15:04.558"},"status":"SUCCESS"}"#
            ),
            Err(ReceiptError::MissingField {
                field: "notification.messageId"
            })
        );
        assert_eq!(
            DeliveryReceipt::parse(
                r#"{"notification":{"messageId":"m","timestamp":"yesterday"},"status":"SUCCESS"}"#
            ),
            Err(ReceiptError::BadTimestamp)
        );
        assert_eq!(
            DeliveryReceipt::parse(&line("PENDING", "")),
            Err(ReceiptError::UnknownStatus)
        );
        let error = DeliveryReceipt::parse(&line("PENDING", "")).unwrap_err();
        assert!(!error.to_string().contains("555"));
    }

    #[test]
    fn a_delivery_is_kept_as_outcome_reason_and_time() {
        let delivery = Delivery {
            outcome: DeliveryOutcome::Failed(FailureReason::InvalidNumber),
            at: "2026-12-01T20:15:04.558Z".parse().unwrap(),
        };
        let json = serde_json::to_value(delivery).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"outcome": "failed", "reason": "invalid_number", "at": "2026-12-01T20:15:04.558Z"})
        );
        assert_eq!(serde_json::from_value::<Delivery>(json).unwrap(), delivery);
    }
}
