//! The clinic's administration in the clinics table: a new clinic takes its SMS number
//! with a guard item (`SMS_NUMBER#<E.164>`) in the same transaction, and each template or
//! chat takes its name with one (`NAME#TEMPLATE#<name>` in the clinic's partition), so
//! neither can ever be shared, however two writes race.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, TransactWriteItem, Update, builders::PutBuilder,
};
use serde::{Deserialize, Serialize};

use super::{
    DynamoStore, NEW_ONLY,
    audit::audit_put,
    clinics::{
        ClinicItem, Entry, IntegrationItem, PROFILE, RootKeyItem, chat_sort_key, template_sort_key,
    },
    s, to_item, transact_put, transaction_condition_failed, transaction_conflicted,
};
use crate::sdk_failure;
use domain::{
    clinic_profile::name_key,
    error::DependencyError,
    ids::{ChatId, ClinicId, IntegrationClientId, TemplateId},
    model::{AuditEntry, Chat, Clinic, Template},
    ports::{ClinicAdmin, ClinicCreated, LibraryItem, LibraryKind, LibraryWrite, SettingsChange},
};

const SMS_NUMBER_PREFIX: &str = "SMS_NUMBER#";
const SMS_NUMBER_CLINIC: &str = "CLINIC";

/// Which clinic sends from a number: written with the clinic, never changed.
#[derive(Serialize, Deserialize)]
struct SmsNumberItem {
    pk: String,
    sk: String,
    clinic_id: ClinicId,
}

/// Which template (or chat) holds a name in its clinic.
#[derive(Serialize, Deserialize)]
struct NameItem {
    pk: String,
    sk: String,
    owner: String,
}

fn sort_key(kind: LibraryKind, id: &str) -> Result<String, DependencyError> {
    let invalid = |_| DependencyError::new("dynamodb", "LibraryKey", "InvalidId");
    Ok(match kind {
        LibraryKind::Template => template_sort_key(&TemplateId::parse(id).map_err(invalid)?),
        LibraryKind::Chat => chat_sort_key(&ChatId::parse(id).map_err(invalid)?),
    })
}

fn name_sort_key(kind: LibraryKind, name: &str) -> String {
    let kind = match kind {
        LibraryKind::Template => "TEMPLATE",
        LibraryKind::Chat => "CHAT",
    };
    format!("NAME#{kind}#{}", name_key(name))
}

/// A name guard's condition: free, or already this item's.
const NAME_FREE_OR_MINE: &str = "attribute_not_exists(pk) OR #owner = :owner";

impl DynamoStore {
    /// The clinic's profile and its SMS number's guard, as one transaction's writes.
    pub(crate) fn clinic_writes(
        &self,
        clinic: &Clinic,
        condition: Option<&str>,
    ) -> Result<Vec<TransactWriteItem>, DependencyError> {
        const OP: &str = "PutClinic";
        let profile = ClinicItem::new(clinic);
        let guard = SmsNumberItem {
            pk: format!("{SMS_NUMBER_PREFIX}{}", clinic.sms_number.as_e164()),
            sk: SMS_NUMBER_CLINIC.to_owned(),
            clinic_id: clinic.id.clone(),
        };
        Ok(vec![
            transact_put(&self.tables.clinics, to_item(&profile, OP)?, condition, OP)?,
            transact_put(&self.tables.clinics, to_item(&guard, OP)?, condition, OP)?,
        ])
    }

    async fn stored_version(
        &self,
        clinic: &ClinicId,
        kind: LibraryKind,
        id: &str,
    ) -> Result<Option<(u64, String)>, DependencyError> {
        let sort_key = sort_key(kind, id)?;
        let table = &self.tables.clinics;
        Ok(match kind {
            LibraryKind::Template => self
                .read_clinic_record::<Entry<Template>>(table, clinic, &sort_key, "GetTemplate")
                .await?
                .map(|entry| (entry.value.version, entry.value.name)),
            LibraryKind::Chat => self
                .read_clinic_record::<Entry<Chat>>(table, clinic, &sort_key, "GetChat")
                .await?
                .map(|entry| (entry.value.version, entry.value.title)),
        })
    }

    /// The item at its version and its name's guard; with `expected`, conditioned on the
    /// stored version (none: the item is new) and on the name being free.
    pub(crate) fn library_writes(
        &self,
        clinic: &ClinicId,
        item: &LibraryItem,
        expected: Option<Option<u64>>,
    ) -> Result<Vec<TransactWriteItem>, DependencyError> {
        const OP: &str = "SaveLibraryItem";
        let sort_key = sort_key(item.kind(), item.id())?;
        let stored = match item {
            LibraryItem::Template(template) => to_item(
                &Entry {
                    pk: clinic.as_str().to_owned(),
                    sk: sort_key,
                    value: template.clone(),
                },
                OP,
            )?,
            LibraryItem::Chat(chat) => to_item(
                &Entry {
                    pk: clinic.as_str().to_owned(),
                    sk: sort_key,
                    value: chat.clone(),
                },
                OP,
            )?,
        };
        let guard = NameItem {
            pk: clinic.as_str().to_owned(),
            sk: name_sort_key(item.kind(), item.name()),
            owner: item.id().to_owned(),
        };
        let Some(expected) = expected else {
            return Ok(vec![
                transact_put(&self.tables.clinics, stored, None, OP)?,
                transact_put(&self.tables.clinics, to_item(&guard, OP)?, None, OP)?,
            ]);
        };
        let mut put = Put::builder()
            .table_name(&self.tables.clinics)
            .set_item(Some(stored));
        put = match expected {
            None => put.condition_expression(NEW_ONLY),
            Some(version) => put
                .condition_expression(at_version(version))
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":version", number(version)),
        };
        let guard = Put::builder()
            .table_name(&self.tables.clinics)
            .set_item(Some(to_item(&guard, OP)?))
            .condition_expression(NAME_FREE_OR_MINE)
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(item.id()));
        let build = |put: PutBuilder| {
            put.build()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .map_err(|_| DependencyError::new("dynamodb", OP, "InvalidRequest"))
        };
        Ok(vec![build(put)?, build(guard)?])
    }

    /// A name's guard deleted, if it is still this item's.
    fn free_name(
        &self,
        clinic: &ClinicId,
        kind: LibraryKind,
        name: &str,
        id: &str,
    ) -> Result<TransactWriteItem, DependencyError> {
        let delete = Delete::builder()
            .table_name(&self.tables.clinics)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(name_sort_key(kind, name)))
            .condition_expression(NAME_FREE_OR_MINE)
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(id))
            .build()
            .map_err(|_| DependencyError::new("dynamodb", "FreeName", "InvalidRequest"))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Runs the transaction; which of its writes failed their condition when it was
    /// refused for that. A transaction that lost a race to another one writing the same
    /// item is tried again, so that the loser then meets the winner's write as a condition.
    async fn transact_conditions(
        &self,
        items: Vec<TransactWriteItem>,
        operation: &'static str,
    ) -> Result<Option<Vec<bool>>, DependencyError> {
        const ATTEMPTS: u32 = 4;
        let count = items.len();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Err(error) = self.transact(items.clone()).await else {
                return Ok(None);
            };
            let failed: Vec<bool> = (0..count)
                .map(|index| transaction_condition_failed(&error, index))
                .collect();
            if failed.iter().any(|failed| *failed) {
                return Ok(Some(failed));
            }
            if attempt == ATTEMPTS || !transaction_conflicted(&error) {
                return Err(sdk_failure("dynamodb", operation)(error));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
        }
    }
}

/// The condition that an item is still at the version read. Version 0 is an item written
/// without one (seeded before versions); either way the item must exist, so a change
/// racing a delete never brings it back.
fn at_version(version: u64) -> &'static str {
    if version == 0 {
        "attribute_exists(pk) AND (attribute_not_exists(#version) OR #version = :version)"
    } else {
        "attribute_exists(pk) AND #version = :version"
    }
}

fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[async_trait]
impl ClinicAdmin for DynamoStore {
    async fn create_clinic(
        &self,
        clinic: &Clinic,
        wrapped_root_key: &[u8],
        audit: &AuditEntry,
    ) -> Result<ClinicCreated, DependencyError> {
        const OP: &str = "CreateClinic";
        let mut writes = self.clinic_writes(clinic, Some(NEW_ONLY))?;
        let root_key = RootKeyItem::new(&clinic.id, wrapped_root_key);
        writes.push(transact_put(
            &self.tables.clinics,
            to_item(&root_key, OP)?,
            Some(NEW_ONLY),
            OP,
        )?);
        writes.push(audit_put(&self.tables.audit, audit)?);
        match self.transact_conditions(writes, "CreateClinic").await? {
            None => Ok(ClinicCreated::Created),
            Some(failed) if failed[1] => Ok(ClinicCreated::SmsNumberTaken),
            Some(_) => Err(DependencyError::new(
                "dynamodb",
                "CreateClinic",
                "ClinicIdTaken",
            )),
        }
    }

    async fn bind_integration_client(
        &self,
        client: &IntegrationClientId,
        clinic: &ClinicId,
        audit: &AuditEntry,
    ) -> Result<bool, DependencyError> {
        const OP: &str = "BindIntegrationClient";
        let bind = Put::builder()
            .table_name(&self.tables.clinics)
            .set_item(Some(to_item(&IntegrationItem::new(client, clinic), OP)?))
            .condition_expression("attribute_not_exists(pk) OR clinic_id = :clinic")
            .expression_attribute_values(":clinic", s(clinic.as_str()))
            .build()
            .map_err(|_| DependencyError::new("dynamodb", OP, "InvalidRequest"))?;
        let writes = vec![
            TransactWriteItem::builder().put(bind).build(),
            audit_put(&self.tables.audit, audit)?,
        ];
        Ok(self.transact_conditions(writes, OP).await?.is_none())
    }

    async fn change_settings(
        &self,
        clinic: &ClinicId,
        change: &SettingsChange,
        audit: &AuditEntry,
    ) -> Result<Option<Clinic>, DependencyError> {
        const OP: &str = "ChangeSettings";
        fn attribute<T: Serialize>(value: &T) -> Result<AttributeValue, DependencyError> {
            serde_dynamo::to_attribute_value(value)
                .map_err(|_| DependencyError::new("dynamodb", OP, "SerialiseItem"))
        }
        let fields = [
            ("name", change.name.as_ref().map(attribute).transpose()?),
            ("phone", change.phone.as_ref().map(attribute).transpose()?),
            (
                "unclear_response",
                change
                    .unclear_response
                    .as_ref()
                    .map(attribute)
                    .transpose()?,
            ),
            (
                "help_response",
                change.help_response.as_ref().map(attribute).transpose()?,
            ),
            (
                "default_language",
                change
                    .default_language
                    .as_ref()
                    .map(attribute)
                    .transpose()?,
            ),
            (
                "unclear_response_fr",
                change
                    .unclear_response_fr
                    .as_ref()
                    .map(attribute)
                    .transpose()?,
            ),
            (
                "help_response_fr",
                change
                    .help_response_fr
                    .as_ref()
                    .map(attribute)
                    .transpose()?,
            ),
        ];
        let mut sets = Vec::new();
        let mut update = Update::builder()
            .table_name(&self.tables.clinics)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(PROFILE))
            .condition_expression("attribute_exists(pk)");
        for (field, new) in fields {
            if let Some(new) = new {
                sets.push(format!("#{field} = :{field}"));
                update = update
                    .expression_attribute_names(format!("#{field}"), field)
                    .expression_attribute_values(format!(":{field}"), new);
            }
        }
        if sets.is_empty() {
            return Ok(None);
        }
        let update = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .build()
            .map_err(|_| DependencyError::new("dynamodb", OP, "InvalidRequest"))?;
        let writes = vec![
            TransactWriteItem::builder().update(update).build(),
            audit_put(&self.tables.audit, audit)?,
        ];
        if self.transact_conditions(writes, OP).await?.is_some() {
            return Ok(None);
        }
        Ok(self
            .read_clinic_record::<ClinicItem>(&self.tables.clinics, clinic, PROFILE, OP)
            .await?
            .map(|row| row.clinic))
    }

    async fn save_library_item(
        &self,
        clinic: &ClinicId,
        item: &LibraryItem,
        expected: Option<u64>,
        audit: &AuditEntry,
    ) -> Result<LibraryWrite, DependencyError> {
        let kind = item.kind();
        let stored = self.stored_version(clinic, kind, item.id()).await?;
        if let Some(refused) = LibraryWrite::refusal(stored.as_ref().map(|(v, _)| *v), expected) {
            return Ok(refused);
        }
        let version = expected.unwrap_or(0) + 1;
        let item = item.clone().at_version(version);
        let mut writes = self.library_writes(clinic, &item, Some(expected))?;
        if let Some((_, old_name)) = &stored
            && name_key(old_name) != name_key(item.name())
        {
            writes.push(self.free_name(clinic, kind, old_name, item.id())?);
        }
        writes.push(audit_put(&self.tables.audit, audit)?);
        Ok(
            match self.transact_conditions(writes, "SaveLibraryItem").await? {
                None => LibraryWrite::Done { version },
                Some(failed) if failed[0] => LibraryWrite::Stale,
                Some(failed) if failed[1] => LibraryWrite::NameTaken,
                Some(_) => LibraryWrite::Stale,
            },
        )
    }

    async fn delete_library_item(
        &self,
        clinic: &ClinicId,
        kind: LibraryKind,
        id: &str,
        expected: u64,
        audit: &AuditEntry,
    ) -> Result<LibraryWrite, DependencyError> {
        const OP: &str = "DeleteLibraryItem";
        let stored = self.stored_version(clinic, kind, id).await?;
        if let Some(refused) =
            LibraryWrite::refusal(stored.as_ref().map(|(v, _)| *v), Some(expected))
        {
            return Ok(refused);
        }
        let Some((_, name)) = stored else {
            return Ok(LibraryWrite::Missing);
        };
        let delete = Delete::builder()
            .table_name(&self.tables.clinics)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(sort_key(kind, id)?))
            .condition_expression(at_version(expected))
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":version", number(expected))
            .build()
            .map_err(|_| DependencyError::new("dynamodb", OP, "InvalidRequest"))?;
        let writes = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.free_name(clinic, kind, &name, id)?,
            audit_put(&self.tables.audit, audit)?,
        ];
        Ok(match self.transact_conditions(writes, OP).await? {
            None => LibraryWrite::Done { version: expected },
            Some(_) => LibraryWrite::Stale,
        })
    }
}
