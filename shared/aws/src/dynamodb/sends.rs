//! A send's reads and writes: one BatchGetItem (and the patient's GetItem) before, one
//! TransactWriteItems before the SMS is published, one after.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use futures_util::future::join_all;

use super::{
    DynamoStore, Item, NEW_ONLY,
    appointments::AppointmentItem,
    audit::audit_put,
    clinics::{Entry, chat_sort_key, opt_out_sort_key, template_sort_key},
    from_item, invalid,
    messages::{MessageItem, outcome_update, sending_markers},
    requests::RequestItem,
    s, to_item, transact_put, transaction_condition_failed,
    unlock::UnlockItem,
};
use crate::sdk_failure;
use domain::{
    clinic_key::NumberTag,
    error::DependencyError,
    idempotency::ScopedIdempotencyKey,
    ids::{ClinicId, PatientId},
    model::{AuditEntry, Chat, Template, sortable_timestamp},
    ports::{
        BeginOutcome, BeginSend, FinishSend, IdempotencyRecord, PatientRecord, SendLookup,
        SendRecords, SendStore, StalledSend, StalledSends, StoredResponse,
    },
};

/// How often a BatchGetItem is sent for keys DynamoDB left unprocessed.
const UNPROCESSED_ATTEMPTS: u32 = 5;

fn key(pk: &str, sk: Option<&str>) -> Item {
    let mut item = HashMap::from([("pk".to_owned(), s(pk))]);
    if let Some(sk) = sk {
        item.insert("sk".to_owned(), s(sk));
    }
    item
}

impl DynamoStore {
    /// The transaction's write that claims an idempotency key for a request that texts a
    /// patient: a key never claimed, or claimed so long ago that it expired.
    pub(crate) fn claim_key(
        &self,
        request: &ScopedIdempotencyKey,
        fingerprint: &str,
        now: jiff::Timestamp,
        operation: &'static str,
    ) -> Result<TransactWriteItem, DependencyError> {
        let claim = RequestItem::claimed(request, fingerprint, now);
        let claim = Put::builder()
            .table_name(&self.tables.requests)
            .set_item(Some(to_item(&claim, operation)?))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.as_second().to_string()))
            .build()
            .map_err(invalid(operation))?;
        Ok(TransactWriteItem::builder().put(claim).build())
    }

    /// The transaction's check that the patient at `recipient` never told the clinic STOP
    /// (or said START since).
    pub(crate) fn not_opted_out(
        &self,
        clinic: &ClinicId,
        recipient: &NumberTag,
        operation: &'static str,
    ) -> Result<TransactWriteItem, DependencyError> {
        let check = ConditionCheck::builder()
            .table_name(&self.tables.clinics)
            .set_key(Some(key(
                clinic.as_str(),
                Some(&opt_out_sort_key(recipient)),
            )))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(invalid(operation))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The key's record, read consistently; an expired one (TTL deletes late) is absent.
    pub(crate) async fn request_record(
        &self,
        request: &ScopedIdempotencyKey,
        now: jiff::Timestamp,
    ) -> Result<Option<IdempotencyRecord>, DependencyError> {
        const OP: &str = "GetRequest";
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.requests)
            .set_key(Some(key(request.as_str(), None)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        output
            .item
            .map(|item| from_item::<RequestItem>(item, OP))
            .transpose()
            .map(|item| item.and_then(|item| item.into_record(now)))
    }
}

#[async_trait]
impl SendStore for DynamoStore {
    async fn read_for_send(&self, lookup: &SendLookup<'_>) -> Result<SendRecords, DependencyError> {
        const OP: &str = "ReadForSend";
        let clinic = lookup.clinic.as_str();
        let mut clinic_keys = Vec::new();
        if let Some(template) = lookup.template {
            clinic_keys.push(key(clinic, Some(&template_sort_key(template))));
        }
        let mut chat_ids = lookup.chats.to_vec();
        // BatchGetItem refuses a key asked twice.
        chat_ids.sort();
        chat_ids.dedup();
        for chat in &chat_ids {
            clinic_keys.push(key(clinic, Some(&chat_sort_key(chat))));
        }
        let mut wanted = HashMap::new();
        for (table, keys) in [
            (
                &self.tables.appointments,
                vec![key(clinic, Some(lookup.appointment.as_str()))],
            ),
            (
                &self.tables.requests,
                lookup
                    .idempotency_key
                    .map(|request| key(request.as_str(), None))
                    .into_iter()
                    .collect(),
            ),
            (&self.tables.clinics, clinic_keys),
        ] {
            if !keys.is_empty() {
                let keys = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(invalid(OP))?;
                wanted.insert(table.clone(), keys);
            }
        }
        let mut found: HashMap<String, Vec<Item>> = HashMap::new();
        for attempt in 0.. {
            if wanted.is_empty() {
                break;
            }
            if attempt == UNPROCESSED_ATTEMPTS {
                return Err(DependencyError::new("dynamodb", OP, "UnprocessedKeys"));
            }
            if attempt > 0 {
                // Keys come back unprocessed when DynamoDB sheds load: back off.
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(wanted))
                .send()
                .await
                .map_err(sdk_failure("dynamodb", OP))?;
            for (table, items) in output.responses.unwrap_or_default() {
                found.entry(table).or_default().extend(items);
            }
            wanted = output.unprocessed_keys.unwrap_or_default();
        }

        let mut records = SendRecords::default();
        for item in found.remove(&self.tables.appointments).unwrap_or_default() {
            let item: AppointmentItem = from_item(item, OP)?;
            records.patient = item.patient_record();
            records.appointment = Some(item.into_appointment()?);
        }
        for item in found.remove(&self.tables.requests).unwrap_or_default() {
            records.idempotency_record =
                from_item::<RequestItem>(item, OP)?.into_record(lookup.now);
        }
        for item in found.remove(&self.tables.clinics).unwrap_or_default() {
            let is_template = item
                .get("sk")
                .and_then(|sk| sk.as_s().ok())
                .is_some_and(|sk| lookup.template.is_some_and(|t| *sk == template_sort_key(t)));
            if is_template {
                records.template = Some(from_item::<Entry<Template>>(item, OP)?.value);
            } else {
                records
                    .chats
                    .push(from_item::<Entry<Chat>>(item, OP)?.value);
            }
        }
        // Appointments written before they kept a copy of their patient.
        if let (Some(appointment), None) = (&records.appointment, &records.patient) {
            records.patient = self
                .patient_record(lookup.clinic, &appointment.patient_id)
                .await?;
        }
        Ok(records)
    }

    async fn patient_record(
        &self,
        clinic: &ClinicId,
        patient: &PatientId,
    ) -> Result<Option<PatientRecord>, DependencyError> {
        DynamoStore::patient_record(self, clinic, patient).await
    }

    async fn begin_send(&self, begin: &BeginSend<'_>) -> Result<BeginOutcome, DependencyError> {
        const OP: &str = "BeginSend";
        let message = begin.message;
        let now = message.sent_at;
        let patient_unchanged = ConditionCheck::builder()
            .table_name(&self.tables.patients)
            .set_key(Some(key(
                message.clinic_id.as_str(),
                Some(message.patient_id.as_str()),
            )))
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(
                ":version",
                AttributeValue::N(begin.patient_version.to_string()),
            )
            .build()
            .map_err(invalid(OP))?;
        let mut items = vec![
            self.claim_key(begin.idempotency_key, begin.fingerprint, now, OP)?,
            self.not_opted_out(&message.clinic_id, &message.recipient, OP)?,
            TransactWriteItem::builder()
                .condition_check(patient_unchanged)
                .build(),
            transact_put(
                &self.tables.messages,
                to_item(&MessageItem::new(message, begin.idempotency_key), OP)?,
                Some(NEW_ONLY),
                OP,
            )?,
        ];
        if let Some(unlock) = &message.unlock {
            items.push(transact_put(
                &self.tables.unlock,
                to_item(&UnlockItem::new(unlock), OP)?,
                Some(NEW_ONLY),
                OP,
            )?);
        }
        let result = self.transact(items).await;
        let error = match result {
            Ok(_) => return Ok(BeginOutcome::Begun),
            Err(error) => error,
        };
        // Which condition failed: the key's (0), the opt-out's (1) or the patient's (2).
        let failed = |index: usize| transaction_condition_failed(&error, index);
        if failed(0) {
            return Ok(BeginOutcome::KeyTaken(
                self.request_record(begin.idempotency_key, now).await?,
            ));
        }
        if failed(1) {
            return Ok(BeginOutcome::OptedOut);
        }
        if failed(2) {
            return Ok(BeginOutcome::PatientChanged);
        }
        Err(sdk_failure("dynamodb", OP)(error))
    }

    async fn finish_send(&self, finish: &FinishSend<'_>) -> Result<(), DependencyError> {
        const OP: &str = "FinishSend";
        let request = match finish.response {
            Some(response) => TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.tables.requests)
                        .set_key(Some(key(finish.idempotency_key.as_str(), None)))
                        .update_expression("SET #status = :status, #body = :body")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_names("#body", "body")
                        .expression_attribute_values(
                            ":status",
                            AttributeValue::N(response.status.to_string()),
                        )
                        .expression_attribute_values(":body", s(&response.body))
                        .build()
                        .map_err(invalid(OP))?,
                )
                .build(),
            None => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.tables.requests)
                        .set_key(Some(key(finish.idempotency_key.as_str(), None)))
                        .build()
                        .map_err(invalid(OP))?,
                )
                .build(),
        };
        let mut items = vec![
            TransactWriteItem::builder()
                .update(outcome_update(
                    &self.tables.messages,
                    finish.clinic,
                    finish.message,
                    finish.outcome,
                )?)
                .build(),
            request,
            audit_put(&self.tables.audit, finish.audit)?,
        ];
        if let Some(content) = finish.delete_content {
            let delete = Delete::builder()
                .table_name(&self.tables.unlock)
                .set_key(Some(key(content.as_str(), None)))
                .build()
                .map_err(invalid(OP))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        self.transact(items)
            .await
            .map_err(sdk_failure("dynamodb", OP))
    }
}

#[async_trait]
impl StalledSends for DynamoStore {
    /// Reads every partition of `by_sending` at once: the oldest `limit` of them all.
    async fn stalled_sends(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<StalledSend>, DependencyError> {
        let shards = join_all(
            sending_markers()
                .into_iter()
                .map(|marker| self.stalled_in(marker, before, limit)),
        )
        .await;
        let mut stalled = Vec::new();
        for shard in shards {
            stalled.extend(shard?);
        }
        stalled.sort_by_key(|send| send.started_at);
        stalled.truncate(limit);
        Ok(stalled)
    }

    async fn mark_unconfirmed(
        &self,
        stalled: &StalledSend,
        response: &StoredResponse,
        audit: &AuditEntry,
    ) -> Result<bool, DependencyError> {
        const OP: &str = "MarkUnconfirmed";
        let message = Update::builder()
            .table_name(&self.tables.messages)
            .set_key(Some(key(
                stalled.clinic.as_str(),
                Some(stalled.message.as_str()),
            )))
            .update_expression("SET sms_status = :unconfirmed REMOVE sending_marker, sending_since")
            // The send read stalled, not a resend begun since.
            .condition_expression("sms_status = :sending AND request_key = :request")
            .expression_attribute_values(":request", s(stalled.request.as_str()))
            .expression_attribute_values(":unconfirmed", s("unconfirmed"))
            .expression_attribute_values(":sending", s("sending"))
            .build()
            .map_err(invalid(OP))?;
        let answer = Update::builder()
            .table_name(&self.tables.requests)
            .set_key(Some(key(stalled.request.as_str(), None)))
            .update_expression("SET #status = :status, #body = :body")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#body", "body")
            .expression_attribute_values(":status", AttributeValue::N(response.status.to_string()))
            .expression_attribute_values(":body", s(&response.body))
            .build()
            .map_err(invalid(OP))?;
        let mut items = vec![
            TransactWriteItem::builder().update(message).build(),
            audit_put(&self.tables.audit, audit)?,
            TransactWriteItem::builder().update(answer).build(),
        ];
        loop {
            let Err(error) = self.transact(items.clone()).await else {
                return Ok(true);
            };
            if transaction_condition_failed(&error, 0) {
                // Its send recorded an outcome meanwhile: that stands.
                return Ok(false);
            }
            if items.len() == 3 && transaction_condition_failed(&error, 2) {
                // Its key expired (a day on): nothing left to answer.
                items.truncate(2);
                continue;
            }
            return Err(sdk_failure("dynamodb", OP)(error));
        }
    }
}

impl DynamoStore {
    /// The oldest `limit` sends of one `by_sending` partition started before `before`.
    async fn stalled_in(
        &self,
        marker: String,
        before: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<StalledSend>, DependencyError> {
        const OP: &str = "StalledSends";
        let output = self
            .client
            .query()
            .table_name(&self.tables.messages)
            .index_name("by_sending")
            .key_condition_expression("sending_marker = :sending AND sending_since < :before")
            .expression_attribute_values(":sending", s(marker))
            .expression_attribute_values(":before", s(sortable_timestamp(before)))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        let mut stalled = Vec::new();
        for item in output.items.unwrap_or_default() {
            let message = item.get("sk").and_then(|sk| sk.as_s().ok()).cloned();
            match from_item::<MessageItem>(item, OP).and_then(|item| item.into_stalled_send(OP)) {
                Ok(send) => stalled.push(send),
                // One entry the sweeper cannot answer must not stop it for the others.
                Err(error) => tracing::error!(
                    code = %error.code,
                    message_id = message.as_deref().unwrap_or("-"),
                    "stalled send skipped"
                ),
            }
        }
        Ok(stalled)
    }
}
