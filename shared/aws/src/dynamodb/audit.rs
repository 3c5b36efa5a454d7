//! The append-only audit table: one partition per clinic in time order, and sparse
//! indexes by patient, user and message (`<clinic>#<id>`) for the privacy officer's reads.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{DynamoStore, Item, NEW_ONLY, batch_put, from_item, s, to_item, transact_put};
use crate::sdk_failure;
use domain::{
    error::DependencyError,
    ids::ClinicId,
    model::{AuditEntry, AuditKey, sortable_timestamp},
    ports::{
        AuditFilter, AuditLog, AuditPage, AuditPartition, AuditQuery, AuditRecord, AuditTrail,
    },
};

#[derive(Serialize, Deserialize)]
struct AuditItem {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    patient_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_key: Option<String>,
    #[serde(flatten)]
    entry: AuditEntry,
}

/// An index's partition: one clinic's entries about one id.
fn index_key(clinic: &ClinicId, id: &str) -> String {
    format!("{clinic}#{id}")
}

impl AuditItem {
    fn new(entry: &AuditEntry) -> AuditItem {
        let unique: [u8; 8] = domain::random::bytes(&crate::system::OsRandom);
        let clinic = &entry.clinic_id;
        AuditItem {
            pk: clinic.as_str().to_owned(),
            sk: AuditKey::new(entry, unique).as_str().to_owned(),
            patient_key: entry
                .patient_id
                .as_ref()
                .map(|id| index_key(clinic, id.as_str())),
            user_key: entry
                .staff_user
                .as_ref()
                .map(|id| index_key(clinic, id.as_str())),
            message_key: entry
                .message_id
                .as_ref()
                .map(|id| index_key(clinic, id.as_str())),
            entry: entry.clone(),
        }
    }
}

/// An audit entry as one write of a transaction: entries are only ever added.
pub(crate) fn audit_put(
    table: &str,
    entry: &AuditEntry,
) -> Result<TransactWriteItem, DependencyError> {
    const OP: &str = "AppendAudit";
    transact_put(
        table,
        to_item(&AuditItem::new(entry), OP)?,
        Some(NEW_ONLY),
        OP,
    )
}

#[async_trait]
impl AuditLog for DynamoStore {
    async fn append(&self, entry: &AuditEntry) -> Result<(), DependencyError> {
        const OP: &str = "AppendAudit";
        self.client
            .put_item()
            .table_name(&self.tables.audit)
            .set_item(Some(to_item(&AuditItem::new(entry), OP)?))
            .condition_expression(NEW_ONLY)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        Ok(())
    }

    async fn append_all(&self, entries: &[AuditEntry]) -> Result<(), DependencyError> {
        const OP: &str = "AppendAuditBatch";
        // Every key is new (its random suffix), so a batch's unconditional puts only add.
        let writes = entries
            .iter()
            .map(|entry| {
                Ok((
                    self.tables.audit.as_str(),
                    to_item(&AuditItem::new(entry), OP)?,
                ))
            })
            .collect::<Result<Vec<(&str, Item)>, DependencyError>>()?;
        batch_put(&self.client, writes, OP).await
    }
}

/// The index a read queries, its key attribute and value (`<clinic>#<id>`); the clinic's
/// partition of the table for a read by time alone.
fn partition(
    clinic: &ClinicId,
    filter: &AuditFilter,
) -> (Option<&'static str>, &'static str, String) {
    match filter.partition() {
        AuditPartition::Message(id) => (
            Some("by_message"),
            "message_key",
            index_key(clinic, id.as_str()),
        ),
        AuditPartition::Patient(id) => (
            Some("by_patient"),
            "patient_key",
            index_key(clinic, id.as_str()),
        ),
        AuditPartition::User(id) => (Some("by_user"), "user_key", index_key(clinic, id.as_str())),
        AuditPartition::Clinic => (None, "pk", clinic.as_str().to_owned()),
    }
}

#[async_trait]
impl AuditTrail for DynamoStore {
    async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, DependencyError> {
        const OP: &str = "ReadAudit";
        let (index, key_name, key_value) = partition(&query.clinic, &query.filter);
        // The filter's other ids are checked on the items the Query reads.
        let mut conditions = Vec::new();
        let mut request = self
            .client
            .query()
            .table_name(&self.tables.audit)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#key = :key AND sk BETWEEN :from AND :to")
            .expression_attribute_names("#key", key_name)
            .expression_attribute_values(":key", s(key_value.clone()))
            .expression_attribute_values(":from", s(sortable_timestamp(query.from)))
            // Every key of the last second sorts below `~`.
            .expression_attribute_values(":to", s(format!("{}~", sortable_timestamp(query.to))))
            .scan_index_forward(false)
            .limit(i32::try_from(query.limit).unwrap_or(i32::MAX));
        for (attribute, id, filtered_by_index) in [
            (
                "message_id",
                query.filter.message.as_ref().map(|id| id.as_str()),
                key_name == "message_key",
            ),
            (
                "patient_id",
                query.filter.patient.as_ref().map(|id| id.as_str()),
                key_name == "patient_key",
            ),
            (
                "staff_user",
                query.filter.user.as_ref().map(|id| id.as_str()),
                key_name == "user_key",
            ),
        ] {
            if let (Some(id), false) = (id, filtered_by_index) {
                conditions.push(format!("#{attribute} = :{attribute}"));
                request = request
                    .expression_attribute_names(format!("#{attribute}"), attribute)
                    .expression_attribute_values(format!(":{attribute}"), s(id));
            }
        }
        if !conditions.is_empty() {
            request = request.filter_expression(conditions.join(" AND "));
        }
        if let Some(after) = &query.after {
            let mut start: Item = Item::new();
            start.insert("pk".into(), s(query.clinic.as_str()));
            start.insert("sk".into(), s(after.as_str()));
            if index.is_some() {
                start.insert(key_name.into(), s(key_value));
            }
            request = request.set_exclusive_start_key(Some(start));
        }
        let output = request.send().await.map_err(sdk_failure("dynamodb", OP))?;
        let records = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let item: AuditItem = from_item(item, OP)?;
                let key = AuditKey::from_stored(&item.sk)
                    .ok_or_else(|| DependencyError::corrupt_item("dynamodb", OP))?;
                Ok(AuditRecord {
                    key,
                    entry: item.entry,
                })
            })
            .collect::<Result<Vec<_>, DependencyError>>()?;
        let next = match output
            .last_evaluated_key
            .as_ref()
            .and_then(|key| key.get("sk"))
        {
            Some(AttributeValue::S(sk)) => Some(
                AuditKey::from_stored(sk)
                    .ok_or_else(|| DependencyError::corrupt_item("dynamodb", OP))?,
            ),
            _ => None,
        };
        Ok(AuditPage { records, next })
    }
}
