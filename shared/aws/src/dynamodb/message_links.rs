//! Links closed by staff: a marker item `CLOSED#<token hash>` in the unlock table, kept (by
//! TTL) until the message would have expired, so that the old link says why it no longer
//! opens anything.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::{
    DynamoStore, NEW_ONLY,
    audit::audit_put,
    from_item, invalid,
    messages::{recipient_key, sending_marker},
    s, to_item, transact_put, transaction_condition_failed,
    unlock::UnlockItem,
};
use crate::sdk_failure;
use domain::{
    error::DependencyError,
    ids::{ClinicId, MessageId},
    language::Language,
    link_token::TokenHash,
    model::sortable_timestamp,
    ports::{BeginResend, ClosedLink, LinkClosed, MessageLinks, ResendOutcome, Withdrawal},
};

fn closed_key(token_hash: &TokenHash) -> String {
    format!("CLOSED#{token_hash}")
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ClosedLinkItem {
    pk: String,
    clinic_id: ClinicId,
    message_id: MessageId,
    /// `withdrawn` or `replaced`.
    why: String,
    /// The TTL attribute: when the message would have expired.
    expires_at: i64,
    /// The patient's language when it was sent (items written before it: English).
    #[serde(default)]
    language: Language,
}

impl ClosedLinkItem {
    pub(crate) fn new(
        token_hash: &TokenHash,
        clinic: &ClinicId,
        message: &MessageId,
        why: LinkClosed,
        expires_at: jiff::Timestamp,
        language: Language,
    ) -> Self {
        ClosedLinkItem {
            pk: closed_key(token_hash),
            clinic_id: clinic.clone(),
            message_id: message.clone(),
            why: why.as_str().to_owned(),
            expires_at: expires_at.as_second(),
            language,
        }
    }
}

#[async_trait]
impl MessageLinks for DynamoStore {
    async fn closed_link(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<ClosedLink>, DependencyError> {
        const OP: &str = "GetClosedLink";
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.unlock)
            .key("pk", s(closed_key(token_hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let item: ClosedLinkItem = from_item(item, OP)?;
        let why = match item.why.as_str() {
            "withdrawn" => LinkClosed::Withdrawn,
            "replaced" => LinkClosed::Replaced,
            _ => return Err(DependencyError::corrupt_item("dynamodb", OP)),
        };
        Ok(Some(ClosedLink {
            clinic_id: item.clinic_id,
            message_id: item.message_id,
            why,
            language: item.language,
        }))
    }

    async fn withdraw(&self, withdrawal: &Withdrawal<'_>) -> Result<bool, DependencyError> {
        const OP: &str = "Withdraw";
        let entry = Update::builder()
            .table_name(&self.tables.messages)
            .key("pk", s(withdrawal.clinic.as_str()))
            .key("sk", s(withdrawal.message.as_str()))
            .update_expression("SET withdrawn_at = :at")
            // Its link as read: a resend meanwhile moved the content to another.
            .condition_expression("token_hash = :hash AND attribute_not_exists(withdrawn_at)")
            .expression_attribute_values(":at", s(sortable_timestamp(withdrawal.at)))
            .expression_attribute_values(":hash", s(withdrawal.token_hash.as_str()))
            .build()
            .map_err(invalid(OP))?;
        let content = Delete::builder()
            .table_name(&self.tables.unlock)
            .key("pk", s(withdrawal.token_hash.as_str()))
            .build()
            .map_err(invalid(OP))?;
        let marker = ClosedLinkItem::new(
            withdrawal.token_hash,
            withdrawal.clinic,
            withdrawal.message,
            LinkClosed::Withdrawn,
            withdrawal.expires_at,
            withdrawal.language,
        );
        let items = vec![
            TransactWriteItem::builder().update(entry).build(),
            TransactWriteItem::builder().delete(content).build(),
            transact_put(&self.tables.unlock, to_item(&marker, OP)?, None, OP)?,
            audit_put(&self.tables.audit, withdrawal.audit)?,
        ];
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if transaction_condition_failed(&error, 0) => Ok(false),
            Err(error) => Err(sdk_failure("dynamodb", OP)(error)),
        }
    }

    async fn begin_resend(
        &self,
        resend: &BeginResend<'_>,
    ) -> Result<ResendOutcome, DependencyError> {
        const OP: &str = "BeginResend";
        let record = &resend.current.record;
        let (clinic, message) = (&record.clinic_id, &record.message_id);
        let now = resend.at;
        let encoding = serde_dynamo::to_attribute_value(resend.sms.encoding)
            .map_err(|_| DependencyError::new("dynamodb", OP, "SerialiseItem"))?;
        let entry = Update::builder()
            .table_name(&self.tables.messages)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(message.as_str()))
            .update_expression(
                "SET token_hash = :new, sms_status = :sending, sending_marker = :marker, \
                 sending_since = :since, request_key = :request, recipient_key = :recipient, \
                 resent_at = :at, sms_encoding = :encoding, sms_units = :units, \
                 sms_segments = :segments REMOVE provider_message_id, delivery, delivery_at_ms",
            )
            .condition_expression("token_hash = :old AND attribute_not_exists(withdrawn_at)")
            .expression_attribute_values(":new", s(resend.new_token_hash.as_str()))
            .expression_attribute_values(":old", s(record.token_hash.as_str()))
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":marker", s(sending_marker(message)))
            .expression_attribute_values(":since", s(sortable_timestamp(now)))
            .expression_attribute_values(":request", s(resend.idempotency_key.as_str()))
            .expression_attribute_values(":recipient", s(recipient_key(clinic, resend.recipient)))
            .expression_attribute_values(":at", s(sortable_timestamp(now)))
            .expression_attribute_values(":encoding", encoding)
            .expression_attribute_values(":units", AttributeValue::N(resend.sms.units.to_string()))
            .expression_attribute_values(
                ":segments",
                AttributeValue::N(resend.sms.segments.to_string()),
            )
            .build()
            .map_err(invalid(OP))?;
        // Only the counters as read move: a wrong PHN typed meanwhile is not lost.
        let old_content = Delete::builder()
            .table_name(&self.tables.unlock)
            .key("pk", s(record.token_hash.as_str()))
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(
                ":version",
                AttributeValue::N(resend.current.attempts.version.to_string()),
            )
            .build()
            .map_err(invalid(OP))?;
        let moved = UnlockItem::moved(resend.current, resend.new_token_hash);
        let marker = ClosedLinkItem::new(
            &record.token_hash,
            clinic,
            message,
            LinkClosed::Replaced,
            record.expires_at,
            record.language,
        );
        let items = vec![
            self.claim_key(resend.idempotency_key, resend.fingerprint, now, OP)?,
            self.not_opted_out(clinic, resend.recipient, OP)?,
            TransactWriteItem::builder().update(entry).build(),
            TransactWriteItem::builder().delete(old_content).build(),
            transact_put(
                &self.tables.unlock,
                to_item(&moved, OP)?,
                Some(NEW_ONLY),
                OP,
            )?,
            transact_put(&self.tables.unlock, to_item(&marker, OP)?, None, OP)?,
        ];
        let result = self.transact(items).await;
        let error = match result {
            Ok(_) => return Ok(ResendOutcome::Begun),
            Err(error) => error,
        };
        // Which condition failed: the key's (0), the opt-out's (1), the message's or its
        // counters' (2, 3).
        let failed = |index: usize| transaction_condition_failed(&error, index);
        if failed(0) {
            return Ok(ResendOutcome::KeyTaken(
                self.request_record(resend.idempotency_key, now).await?,
            ));
        }
        if failed(1) {
            return Ok(ResendOutcome::OptedOut);
        }
        if failed(2) || failed(3) {
            return Ok(ResendOutcome::LinkChanged);
        }
        Err(sdk_failure("dynamodb", OP)(error))
    }
}
