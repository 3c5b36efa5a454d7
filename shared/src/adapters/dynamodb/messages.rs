//! Messages sent to patients, as the messages table holds them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{DynamoStore, query_all, s};
use crate::{
    error::DependencyError,
    ids::{AppointmentId, ClinicId, MessageId, StaffUserId},
    message_kind::MessageKind,
    model::{SentMessage, SmsStatus},
    ports::MessageStore,
};

/// Key of the `by_appointment` index.
pub(crate) fn appointment_key(clinic: &ClinicId, appointment: &AppointmentId) -> String {
    format!("{clinic}#{appointment}")
}

/// The fields of a message item that its appointment's details show.
#[derive(Serialize, Deserialize)]
struct MessageItem {
    pk: String,
    sk: MessageId,
    kind: MessageKind,
    sent_at: jiff::Timestamp,
    sent_by: StaffUserId,
    sms_status: SmsStatus,
    /// Epoch seconds: the TTL attribute (secure messages only).
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    opened_at: Option<jiff::Timestamp>,
}

impl MessageItem {
    fn into_sent_message(self) -> Result<SentMessage, DependencyError> {
        let expires_at = self
            .expires_at
            .map(jiff::Timestamp::from_second)
            .transpose()
            .map_err(|_| DependencyError::corrupt_item("dynamodb", "MessagesForAppointment"))?;
        Ok(SentMessage {
            id: self.sk,
            kind: self.kind,
            sent_at: self.sent_at,
            sent_by: self.sent_by,
            sms_status: self.sms_status,
            expires_at,
            opened_at: self.opened_at,
        })
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
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
}
