//! Secure messages' unlock state in the unlock table, keyed by the hash of the link token.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::{Engine, engine::general_purpose::STANDARD};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{
    DynamoStore, audit::audit_put, from_item, item_key, item_update::ItemUpdate, s,
    transaction_condition_failed,
};
use crate::sdk_failure;
use domain::{
    envelope::SealedContent,
    error::DependencyError,
    ids::{ClinicId, MessageId},
    language::Language,
    link_token::TokenHash,
    model::{MessageLock, UnlockRecord, sortable_timestamp},
    ports::{Opening, UnlockState, UnlockStore},
    unlock_attempts::Attempts,
};

/// The unlock item. Binary values are base64 text; times are epoch seconds.
#[derive(Serialize, Deserialize)]
pub(crate) struct UnlockItem {
    pk: TokenHash,
    clinic_id: ClinicId,
    message_id: MessageId,
    encrypted_key: String,
    nonce: String,
    ciphertext: String,
    phn_check: String,
    /// The TTL attribute. Expiry is also checked on every read.
    expires_at: i64,
    failures_in_row: u32,
    failures_total: u32,
    #[serde(default)]
    locked_until: Option<i64>,
    #[serde(default)]
    locked_forever: bool,
    version: u64,
    /// The patient's language when it was sent (items written before it: English).
    #[serde(default)]
    language: Language,
}

impl UnlockItem {
    pub(crate) fn new(record: &UnlockRecord) -> Self {
        UnlockItem {
            pk: record.token_hash.clone(),
            clinic_id: record.clinic_id.clone(),
            message_id: record.message_id.clone(),
            encrypted_key: STANDARD.encode(&record.encrypted_key),
            nonce: STANDARD.encode(&record.sealed.nonce),
            ciphertext: STANDARD.encode(&record.sealed.ciphertext),
            phn_check: record.phn_check.clone(),
            expires_at: record.expires_at.as_second(),
            failures_in_row: 0,
            failures_total: 0,
            locked_until: None,
            locked_forever: false,
            version: 0,
            language: record.language,
        }
    }

    /// The item of `state`'s content and counters under another link (a resend).
    pub(crate) fn moved(state: &UnlockState, token_hash: &TokenHash) -> Self {
        let attempts = &state.attempts;
        UnlockItem {
            pk: token_hash.clone(),
            failures_in_row: attempts.failures_in_row,
            failures_total: attempts.failures_total,
            locked_until: attempts.locked_until.map(|until| until.as_second()),
            locked_forever: attempts.locked_forever,
            version: attempts.version,
            ..UnlockItem::new(&state.record)
        }
    }

    fn into_state(self) -> Result<UnlockState, DependencyError> {
        let corrupt = || DependencyError::corrupt_item("dynamodb", "GetUnlock");
        let bytes = |text: &str| STANDARD.decode(text).map_err(|_| corrupt());
        let time = |seconds: i64| Timestamp::from_second(seconds).map_err(|_| corrupt());
        Ok(UnlockState {
            record: UnlockRecord {
                token_hash: self.pk,
                clinic_id: self.clinic_id,
                message_id: self.message_id,
                encrypted_key: bytes(&self.encrypted_key)?,
                sealed: SealedContent {
                    nonce: bytes(&self.nonce)?,
                    ciphertext: bytes(&self.ciphertext)?,
                },
                phn_check: self.phn_check,
                expires_at: time(self.expires_at)?,
                language: self.language,
            },
            attempts: Attempts {
                failures_in_row: self.failures_in_row,
                failures_total: self.failures_total,
                locked_until: self.locked_until.map(time).transpose()?,
                locked_forever: self.locked_forever,
                version: self.version,
            },
        })
    }
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[async_trait]
impl UnlockStore for DynamoStore {
    async fn get_unlock(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<UnlockState>, DependencyError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.unlock)
            .key("pk", s(token_hash.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "GetUnlock"))?;
        output
            .item
            .map(|item| from_item::<UnlockItem>(item, "GetUnlock")?.into_state())
            .transpose()
    }

    async fn save_attempts(
        &self,
        token_hash: &TokenHash,
        read_version: u64,
        attempts: &Attempts,
    ) -> Result<bool, DependencyError> {
        self.counters(token_hash, attempts, read_version)
            .send_if(&self.client, "SaveAttempts")
            .await
    }

    async fn record_lock(
        &self,
        clinic: &ClinicId,
        message: &MessageId,
        lock: Option<MessageLock>,
    ) -> Result<(), DependencyError> {
        const OP: &str = "RecordLock";
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.messages)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(message.as_str()))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#lock", "locked");
        let update = match lock {
            Some(lock) => {
                let lock = MessageLock {
                    until: lock
                        .until
                        .map(|until| Timestamp::from_second(until.as_second()))
                        .transpose()
                        .map_err(|_| DependencyError::new("dynamodb", OP, "InvalidRequest"))?,
                };
                let value = serde_dynamo::to_attribute_value(lock)
                    .map_err(|_| DependencyError::new("dynamodb", OP, "SerialiseItem"))?;
                update
                    .update_expression("SET #lock = :lock")
                    .expression_attribute_values(":lock", value)
            }
            None => update.update_expression("REMOVE #lock"),
        };
        update.send().await.map_err(sdk_failure("dynamodb", OP))?;
        Ok(())
    }

    async fn record_opening(&self, opening: &Opening<'_>) -> Result<bool, DependencyError> {
        const OP: &str = "RecordOpening";
        let counters = self.counters(opening.token_hash, opening.attempts, opening.read_version);
        let opened = ItemUpdate::new(
            &self.tables.messages,
            item_key(opening.clinic.as_str(), Some(opening.message.as_str())),
            "SET opened_at = if_not_exists(opened_at, :at)",
        )
        .condition("attribute_exists(pk)")
        .value(":at", s(sortable_timestamp(opening.at)));
        let items = vec![
            counters.transact(OP)?,
            opened.transact(OP)?,
            audit_put(&self.tables.audit, opening.audit)?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(error) if transaction_condition_failed(&error, 0) => Ok(false),
            Err(error) => Err(sdk_failure("dynamodb", OP)(error)),
        }
    }
}

impl DynamoStore {
    /// The counters an attempt writes back, if no other attempt wrote since they were read.
    fn counters(
        &self,
        token_hash: &TokenHash,
        attempts: &Attempts,
        read_version: u64,
    ) -> ItemUpdate {
        let locked_until = match attempts.locked_until {
            Some(until) => number(until.as_second()),
            None => AttributeValue::Null(true),
        };
        ItemUpdate::new(
            &self.tables.unlock,
            item_key(token_hash.as_str(), None),
            "SET failures_in_row = :in_row, failures_total = :total, locked_until = :until, \
             locked_forever = :forever, #version = :next",
        )
        .condition("#version = :read")
        .name("#version", "version")
        .value(":in_row", number(attempts.failures_in_row))
        .value(":total", number(attempts.failures_total))
        .value(":until", locked_until)
        .value(":forever", AttributeValue::Bool(attempts.locked_forever))
        .value(":next", number(attempts.version))
        .value(":read", number(read_version))
    }
}
