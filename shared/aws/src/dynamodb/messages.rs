//! Messages sent to patients, as the messages table holds them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use aws_sdk_dynamodb::types::{AttributeValue, Update};

use super::{DynamoStore, from_item, query_all, s};
use crate::sdk_failure;
use domain::{
    clinic_key::NumberTag,
    delivery_receipt::{Delivery, DeliveryReceipt},
    error::DependencyError,
    idempotency::ScopedIdempotencyKey,
    ids::{AppointmentId, ClinicId, MessageId, StaffUserId},
    language::Language,
    link_token::TokenHash,
    message_kind::MessageKind,
    model::{MessageLock, NewMessage, SentMessage, SmsOutcome, SmsStatus, sortable_timestamp},
    ports::{
        DeliveryRecorded, MessageLink, MessageMatch, MessageStore, OutboxEntry, OutboxKey,
        OutboxPage, OutboxQuery, RECENT_MESSAGES_READ, StalledSend,
    },
    sms_encoding::{SmsEncoding, SmsMeasure},
};

/// Key of the `by_appointment` index.
pub(crate) fn appointment_key(clinic: &ClinicId, appointment: &AppointmentId) -> String {
    format!("{clinic}#{appointment}")
}

/// Key of the `by_recipient` index: the clinic and the tag of the patient's number (never
/// the number: keys show in CloudTrail, exports and the console).
pub(crate) fn recipient_key(clinic: &ClinicId, number: &NumberTag) -> String {
    format!("{clinic}#{}", number.as_str())
}

/// A message item: who, when, how the SMS went; never the content.
#[derive(Serialize, Deserialize)]
pub(crate) struct MessageItem {
    pk: String,
    sk: MessageId,
    appointment_key: String,
    recipient_key: String,
    #[serde(default)]
    appointment_id: Option<AppointmentId>,
    /// Sortable text: the sort key of both indexes.
    sent_at: String,
    kind: MessageKind,
    sent_by: StaffUserId,
    sms_status: SmsStatus,
    #[serde(default)]
    sms_encoding: Option<SmsEncoding>,
    #[serde(default)]
    sms_segments: Option<usize>,
    /// Epoch seconds: when its secure content expires (secure messages only). Not a TTL:
    /// the entry itself lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    opened_at: Option<jiff::Timestamp>,
    /// Secure messages: the key of their unlock item (a hash of the link token, never the
    /// token), for staff actions on the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_hash: Option<TokenHash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sms_units: Option<usize>,
    /// The idempotency key its send claimed (the sweeper answers it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_key: Option<String>,
    /// [`SENDING`] while its SMS's outcome is unknown: the key of the sparse `by_sending`
    /// index, removed with the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sending_marker: Option<String>,
    /// Sortable text: when its SMS (first, or resent) started going out; the sort key of
    /// `by_sending`, removed with the marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sending_since: Option<String>,
    /// When staff last resent its link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resent_at: Option<jiff::Timestamp>,
    /// The lock wrong PHNs put on its link (written by the unlock page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locked: Option<MessageLock>,
    /// The SNS message id of its SMS: the key of the `by_provider_message` index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivery: Option<Delivery>,
    /// Epoch milliseconds of the receipt recorded: a receipt replaces it only when later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivery_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    withdrawn_at: Option<jiff::Timestamp>,
    /// Secure messages: the object keys of their files (ids, never names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attachment_keys: Vec<String>,
    /// The patient's language (items written before it: English).
    #[serde(default)]
    language: Language,
}

/// The `by_sending` index's partitions. Every message whose SMS outcome is unknown is in
/// one, chosen by its id, so that the sends of all clinics at once do not write one index
/// partition: DynamoDB takes at most 1,000 writes a second into a partition, a send writes
/// the index twice (in, then out) and a clinic's number sends an SMS a second, so one
/// partition would cap the platform near 500 clinics sending at once; sixteen take 8,000.
pub(crate) const SENDING_SHARDS: u8 = 16;

/// The partition of the messages marked before the index was sharded: still swept.
const SENDING_UNSHARDED: &str = "sending";

/// A message's `by_sending` partition: `sending#<n>`, `n` the sum of its id's bytes
/// modulo [`SENDING_SHARDS`] (ids are random, so the shards fill evenly).
pub(crate) fn sending_marker(message: &MessageId) -> String {
    let shard = message
        .as_str()
        .bytes()
        .fold(0u8, |sum, byte| sum.wrapping_add(byte))
        % SENDING_SHARDS;
    format!("{SENDING_UNSHARDED}#{shard:x}")
}

/// Every `by_sending` partition a sweep reads.
pub(crate) fn sending_markers() -> Vec<String> {
    (0..SENDING_SHARDS)
        .map(|shard| format!("{SENDING_UNSHARDED}#{shard:x}"))
        .chain([SENDING_UNSHARDED.to_owned()])
        .collect()
}

impl MessageItem {
    pub(crate) fn new(message: &NewMessage, request: &ScopedIdempotencyKey) -> Self {
        MessageItem {
            pk: message.clinic_id.as_str().to_owned(),
            sk: message.id.clone(),
            appointment_key: appointment_key(&message.clinic_id, &message.appointment_id),
            recipient_key: recipient_key(&message.clinic_id, &message.recipient),
            appointment_id: Some(message.appointment_id.clone()),
            sent_at: sortable_timestamp(message.sent_at),
            kind: message.kind,
            sent_by: message.sent_by.clone(),
            sms_status: SmsStatus::Sending,
            sms_encoding: Some(message.sms.encoding),
            sms_segments: Some(message.sms.segments),
            content_expires_at: message.expires_at.map(|at| at.as_second()),
            opened_at: None,
            token_hash: message
                .unlock
                .as_ref()
                .map(|unlock| unlock.token_hash.clone()),
            sms_units: Some(message.sms.units),
            request_key: Some(request.as_str().to_owned()),
            sending_marker: Some(sending_marker(&message.id)),
            sending_since: Some(sortable_timestamp(message.sent_at)),
            resent_at: None,
            locked: None,
            provider_message_id: None,
            delivery: None,
            delivery_at_ms: None,
            withdrawn_at: None,
            attachment_keys: message.attachment_keys.clone(),
            language: message.language,
        }
    }

    pub(crate) fn into_stalled_send(
        self,
        operation: &'static str,
    ) -> Result<StalledSend, DependencyError> {
        let corrupt = || DependencyError::corrupt_item("dynamodb", operation);
        let (Some(appointment), Some(request), Some(encoding), Some(units), Some(segments)) = (
            self.appointment_id,
            self.request_key,
            self.sms_encoding,
            self.sms_units,
            self.sms_segments,
        ) else {
            return Err(corrupt());
        };
        Ok(StalledSend {
            clinic: ClinicId::parse(&self.pk).map_err(|_| corrupt())?,
            message: self.sk,
            appointment,
            kind: self.kind,
            started_at: self
                .sending_since
                .as_deref()
                .unwrap_or(&self.sent_at)
                .parse()
                .map_err(|_| corrupt())?,
            expires_at: self
                .content_expires_at
                .map(jiff::Timestamp::from_second)
                .transpose()
                .map_err(|_| corrupt())?,
            sms: SmsMeasure {
                encoding,
                units,
                segments,
            },
            request: ScopedIdempotencyKey::from_stored(request),
            resend: self.resent_at.is_some(),
        })
    }

    fn into_sent_message(self) -> Result<SentMessage, DependencyError> {
        let corrupt = |_| DependencyError::corrupt_item("dynamodb", "MessagesForAppointment");
        let expires_at = self
            .content_expires_at
            .map(jiff::Timestamp::from_second)
            .transpose()
            .map_err(corrupt)?;
        Ok(SentMessage {
            id: self.sk,
            kind: self.kind,
            sent_at: self.sent_at.parse().map_err(corrupt)?,
            sent_by: self.sent_by,
            sms_status: self.sms_status,
            expires_at,
            opened_at: self.opened_at,
            delivery: self.delivery,
            withdrawn_at: self.withdrawn_at,
            resent_at: self.resent_at,
            locked: self.locked,
        })
    }
}

/// The update that records how a message's SMS went (the message must exist).
pub(crate) fn outcome_update(
    table: &str,
    clinic: &ClinicId,
    message: &MessageId,
    outcome: &SmsOutcome,
) -> Result<Update, DependencyError> {
    let (status, detail_name, detail) = match outcome {
        SmsOutcome::Sent {
            provider_message_id,
        } => (SmsStatus::Sent, "provider_message_id", provider_message_id),
        SmsOutcome::Failed { code } => (SmsStatus::Failed, "failure_code", code),
    };
    Update::builder()
        .table_name(table)
        .key("pk", s(clinic.as_str()))
        .key("sk", s(message.as_str()))
        // Over `sending`, or `unconfirmed` when the sweeper came first: a known outcome
        // wins.
        .update_expression(
            "SET sms_status = :status, #detail = :detail REMOVE sending_marker, sending_since",
        )
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#detail", detail_name)
        .expression_attribute_values(":status", s(status_name(status)))
        .expression_attribute_values(":detail", s(detail))
        .build()
        .map_err(|_| DependencyError::new("dynamodb", "RecordSmsOutcome", "InvalidRequest"))
}

fn status_name(status: SmsStatus) -> &'static str {
    match status {
        SmsStatus::Sending => "sending",
        SmsStatus::Sent => "sent",
        SmsStatus::Failed => "failed",
        SmsStatus::Unconfirmed => "unconfirmed",
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
    async fn recent_messages_to(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        since: jiff::Timestamp,
    ) -> Result<Vec<MessageMatch>, DependencyError> {
        const OP: &str = "RecentMessagesTo";
        let output = self
            .client
            .query()
            .table_name(&self.tables.messages)
            .index_name("by_recipient")
            .key_condition_expression("recipient_key = :key AND sent_at >= :since")
            .expression_attribute_values(":key", s(recipient_key(clinic, number)))
            .expression_attribute_values(":since", s(sortable_timestamp(since)))
            .scan_index_forward(false)
            .limit(i32::try_from(RECENT_MESSAGES_READ).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let item: MessageItem = from_item(item, OP)?;
                let appointment_id = item
                    .appointment_id
                    .ok_or_else(|| DependencyError::corrupt_item("dynamodb", OP))?;
                Ok(MessageMatch {
                    message_id: item.sk,
                    appointment_id,
                    sent_as: item.provider_message_id,
                    language: item.language,
                })
            })
            .collect()
    }

    async fn message_link(
        &self,
        clinic: &ClinicId,
        message: &MessageId,
    ) -> Result<Option<MessageLink>, DependencyError> {
        Ok(self
            .read_clinic_record::<MessageItem>(
                &self.tables.messages,
                clinic,
                message.as_str(),
                "GetMessage",
            )
            .await?
            .map(|item| {
                let appointment_id = item
                    .appointment_id
                    .ok_or_else(|| DependencyError::corrupt_item("dynamodb", "GetMessage"))?;
                let expires_at = item
                    .content_expires_at
                    .map(jiff::Timestamp::from_second)
                    .transpose()
                    .map_err(|_| DependencyError::corrupt_item("dynamodb", "GetMessage"))?;
                Ok(MessageLink {
                    kind: item.kind,
                    appointment_id,
                    token_hash: item.token_hash,
                    expires_at,
                    withdrawn_at: item.withdrawn_at,
                    attachment_keys: item.attachment_keys,
                    language: item.language,
                })
            })
            .transpose()?)
    }

    async fn messages_for_appointment(
        &self,
        clinic: &ClinicId,
        appointment: &AppointmentId,
    ) -> Result<Vec<SentMessage>, DependencyError> {
        const OP: &str = "MessagesForAppointment";
        let query = self
            .client
            .query()
            .table_name(&self.tables.messages)
            .index_name("by_appointment")
            .key_condition_expression("appointment_key = :key")
            .expression_attribute_values(":key", s(appointment_key(clinic, appointment)))
            .scan_index_forward(false);
        let items: Vec<MessageItem> = query_all(query, OP).await?;
        items
            .into_iter()
            .map(MessageItem::into_sent_message)
            .collect()
    }

    async fn clinic_messages(
        &self,
        clinic: &ClinicId,
        query: &OutboxQuery,
    ) -> Result<OutboxPage, DependencyError> {
        const OP: &str = "ClinicMessages";
        let mut request = self
            .client
            .query()
            .table_name(&self.tables.messages)
            .index_name("by_clinic")
            .key_condition_expression("pk = :clinic AND sent_at BETWEEN :from AND :to")
            .expression_attribute_values(":clinic", s(clinic.as_str()))
            .expression_attribute_values(":from", s(sortable_timestamp(query.from)))
            .expression_attribute_values(":to", s(sortable_timestamp(query.to)))
            .scan_index_forward(false)
            .limit(i32::try_from(query.limit).unwrap_or(i32::MAX));
        if let Some(after) = &query.after {
            let (sent_at, message) = after.parts();
            request = request
                .exclusive_start_key("pk", s(clinic.as_str()))
                .exclusive_start_key("sk", s(message))
                .exclusive_start_key("sent_at", s(sent_at));
        }
        let output = request.send().await.map_err(sdk_failure("dynamodb", OP))?;
        let mut entries = Vec::new();
        let mut last = None;
        for item in output.items.unwrap_or_default() {
            let item: MessageItem = from_item(item, OP)?;
            let appointment_id = item
                .appointment_id
                .clone()
                .ok_or_else(|| DependencyError::corrupt_item("dynamodb", OP))?;
            let message = item.into_sent_message()?;
            last = Some(OutboxKey::new(message.sent_at, &message.id));
            entries.push(OutboxEntry {
                appointment_id,
                message,
            });
        }
        Ok(OutboxPage {
            entries,
            more_after: output.last_evaluated_key.and(last),
        })
    }

    async fn record_delivery(
        &self,
        receipt: &DeliveryReceipt,
    ) -> Result<DeliveryRecorded, DependencyError> {
        const OP: &str = "RecordDelivery";
        let found = self
            .client
            .query()
            .table_name(&self.tables.messages)
            .index_name("by_provider_message")
            .key_condition_expression("provider_message_id = :id")
            .expression_attribute_values(":id", s(&receipt.provider_message_id))
            .limit(1)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        let Some(mut key) = found.items.unwrap_or_default().into_iter().next() else {
            return Ok(DeliveryRecorded::UnknownMessage);
        };
        key.retain(|name, _| name == "pk" || name == "sk");
        let at = receipt.delivery.at.as_millisecond();
        let delivery = serde_dynamo::to_attribute_value(receipt.delivery)
            .map_err(|_| DependencyError::new("dynamodb", OP, "SerialiseItem"))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.messages)
            .set_key(Some(key))
            .update_expression("SET delivery = :delivery, delivery_at_ms = :at")
            // Still the message of that SMS (the index is read eventually consistent, and a
            // resend replaces the id), and no later receipt recorded.
            .condition_expression(
                "provider_message_id = :id AND (attribute_not_exists(delivery_at_ms) OR delivery_at_ms < :at)",
            )
            .expression_attribute_values(":id", s(&receipt.provider_message_id))
            .expression_attribute_values(":delivery", delivery)
            .expression_attribute_values(":at", AttributeValue::N(at.to_string()))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP));
        match result {
            Ok(_) => Ok(DeliveryRecorded::Recorded),
            Err(error) if error.code == "ConditionalCheckFailedException" => {
                Ok(DeliveryRecorded::Superseded)
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_are_spread_over_every_sending_shard_and_each_is_swept() {
        let swept = sending_markers();
        let mut used = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let id = MessageId::from_random(domain::random::bytes(&crate::system::OsRandom));
            let marker = sending_marker(&id);
            assert_eq!(marker, sending_marker(&id), "one message, one shard");
            assert!(swept.contains(&marker), "{marker} is swept");
            used.insert(marker);
        }
        assert_eq!(used.len(), usize::from(SENDING_SHARDS));
        assert!(
            swept.contains(&"sending".to_owned()),
            "messages marked before the shards are swept too"
        );
    }
}
