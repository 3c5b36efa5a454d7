//! Clinics, their templates and chats: one partition per clinic in the clinics table.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use base64::Engine;

use super::{
    DynamoStore, NEW_ONLY, from_item, item_key, item_update::ItemUpdate, put_if, query_all, s,
    to_item,
};
use crate::sdk_failure;
use domain::{
    clinic_key::NumberTag,
    error::DependencyError,
    ids::{ChatId, ClinicId, IntegrationClientId, TemplateId},
    inbound_sms::AutoReply,
    model::{Chat, Clinic, Template},
    phone::PhoneNumber,
    ports::{ClinicStore, LibraryItem},
};

pub(crate) const PROFILE: &str = "PROFILE";
const TEMPLATE_PREFIX: &str = "TEMPLATE#";
const CHAT_PREFIX: &str = "CHAT#";
/// Opt-outs are items of the clinic's partition: `OPTOUT#<number tag>`.
const OPT_OUT_PREFIX: &str = "OPTOUT#";
/// An EMR integration's machine client has its own partition, `INTEGRATION#<client id>`,
/// holding the clinic it writes for.
const INTEGRATION_PREFIX: &str = "INTEGRATION#";
const INTEGRATION_CLINIC: &str = "CLINIC";
/// A clinic's root key (`clinic_key`), wrapped by KMS: an item of its partition.
const ROOT_KEY: &str = "ROOT_KEY";

/// A clinic's wrapped root key, in base64 (KMS ciphertext: opens only through KMS).
#[derive(Serialize, Deserialize)]
pub(crate) struct RootKeyItem {
    pk: String,
    sk: String,
    wrapped: String,
}

impl RootKeyItem {
    pub(crate) fn new(clinic: &ClinicId, wrapped: &[u8]) -> RootKeyItem {
        RootKeyItem {
            pk: clinic.as_str().to_owned(),
            sk: ROOT_KEY.to_owned(),
            wrapped: base64::engine::general_purpose::STANDARD.encode(wrapped),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct IntegrationItem {
    pk: String,
    sk: String,
    clinic_id: ClinicId,
}

impl IntegrationItem {
    pub(crate) fn new(client: &IntegrationClientId, clinic: &ClinicId) -> IntegrationItem {
        IntegrationItem {
            pk: format!("{INTEGRATION_PREFIX}{client}"),
            sk: INTEGRATION_CLINIC.to_owned(),
            clinic_id: clinic.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ClinicItem {
    pk: String,
    sk: String,
    /// Key of the `by_number` index: replies are matched to clinics by it.
    number: String,
    #[serde(flatten)]
    pub(crate) clinic: Clinic,
}

impl ClinicItem {
    pub(crate) fn new(clinic: &Clinic) -> ClinicItem {
        ClinicItem {
            pk: clinic.id.as_str().to_owned(),
            sk: PROFILE.to_owned(),
            number: clinic.sms_number.as_e164().to_owned(),
            clinic: clinic.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Entry<T> {
    pub(crate) pk: String,
    pub(crate) sk: String,
    #[serde(flatten)]
    pub(crate) value: T,
}

pub(crate) fn template_sort_key(id: &TemplateId) -> String {
    format!("{TEMPLATE_PREFIX}{id}")
}

pub(crate) fn chat_sort_key(id: &ChatId) -> String {
    format!("{CHAT_PREFIX}{id}")
}

/// The clinic's last auto-reply of one kind to a number: when, and for which inbound SMS.
fn auto_reply_sort_key(reply: AutoReply, number: &NumberTag) -> String {
    let kind = match reply {
        AutoReply::Unclear => "UNCLEAR",
        AutoReply::Help => "HELP",
    };
    format!("AUTO_REPLY#{kind}#{}", number.as_str())
}

pub(crate) fn opt_out_sort_key(number: &NumberTag) -> String {
    format!("{OPT_OUT_PREFIX}{}", number.as_str())
}

impl DynamoStore {
    /// Takes the clinic's `reply` auto-reply to `number` for the inbound SMS `inbound_id`,
    /// unless another inbound SMS took it after `since`.
    pub(crate) fn auto_reply_claim(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        reply: AutoReply,
        inbound_id: &str,
        now: jiff::Timestamp,
        since: jiff::Timestamp,
    ) -> ItemUpdate {
        ItemUpdate::new(
            &self.tables.clinics,
            item_key(clinic.as_str(), Some(&auto_reply_sort_key(reply, number))),
            "SET taken_at = :now, taken_by = :inbound",
        )
        .condition("attribute_not_exists(taken_at) OR taken_at <= :since OR taken_by = :inbound")
        .value(":now", AttributeValue::N(now.as_second().to_string()))
        .value(":since", AttributeValue::N(since.as_second().to_string()))
        .value(":inbound", s(inbound_id))
    }
}

impl DynamoStore {
    /// Writes all of `writes` or none: one TransactWriteItems.
    async fn write_all(
        &self,
        writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        operation: &'static str,
    ) -> Result<(), DependencyError> {
        self.transact(writes)
            .await
            .map_err(sdk_failure("dynamodb", operation))
    }

    async fn put_clinic_item<T: Serialize + Sync>(
        &self,
        value: &T,
        operation: &'static str,
    ) -> Result<(), DependencyError> {
        self.client
            .put_item()
            .table_name(&self.tables.clinics)
            .set_item(Some(to_item(value, operation)?))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", operation))?;
        Ok(())
    }

    async fn get_entry<T: serde::de::DeserializeOwned>(
        &self,
        clinic: &ClinicId,
        sort_key: String,
        operation: &'static str,
    ) -> Result<Option<T>, DependencyError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.clinics)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(sort_key))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", operation))?;
        output
            .item
            .map(|item| from_item::<Entry<T>>(item, operation).map(|entry| entry.value))
            .transpose()
    }

    async fn list_entries<T: serde::de::DeserializeOwned>(
        &self,
        clinic: &ClinicId,
        prefix: &str,
        operation: &'static str,
    ) -> Result<Vec<T>, DependencyError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.clinics)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(clinic.as_str()))
            .expression_attribute_values(":prefix", s(prefix));
        let entries: Vec<Entry<T>> = query_all(query, operation).await?;
        Ok(entries.into_iter().map(|entry| entry.value).collect())
    }
}

#[async_trait]
impl ClinicStore for DynamoStore {
    async fn put_clinic(&self, clinic: &Clinic) -> Result<(), DependencyError> {
        let writes = self.clinic_writes(clinic, None)?;
        self.write_all(writes, "PutClinic").await
    }

    async fn get_clinic(&self, id: &ClinicId) -> Result<Option<Clinic>, DependencyError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.clinics)
            .key("pk", s(id.as_str()))
            .key("sk", s(PROFILE))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "GetClinic"))?;
        output
            .item
            .map(|item| from_item::<ClinicItem>(item, "GetClinic").map(|row| row.clinic))
            .transpose()
    }

    async fn find_clinic_by_sms_number(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<Clinic>, DependencyError> {
        let output = self
            .client
            .query()
            .table_name(&self.tables.clinics)
            .index_name("by_number")
            .key_condition_expression("#number = :number")
            .expression_attribute_names("#number", "number")
            .expression_attribute_values(":number", s(number.as_e164()))
            .limit(1)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "FindClinicByNumber"))?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|item| from_item::<ClinicItem>(item, "FindClinicByNumber").map(|row| row.clinic))
            .transpose()
    }

    async fn put_template(
        &self,
        clinic: &ClinicId,
        template: &Template,
    ) -> Result<(), DependencyError> {
        let item = LibraryItem::Template(template.clone());
        let writes = self.library_writes(clinic, &item, None)?;
        self.write_all(writes, "PutTemplate").await
    }

    async fn list_templates(&self, clinic: &ClinicId) -> Result<Vec<Template>, DependencyError> {
        self.list_entries(clinic, TEMPLATE_PREFIX, "ListTemplates")
            .await
    }

    async fn put_chat(&self, clinic: &ClinicId, chat: &Chat) -> Result<(), DependencyError> {
        let item = LibraryItem::Chat(chat.clone());
        let writes = self.library_writes(clinic, &item, None)?;
        self.write_all(writes, "PutChat").await
    }

    async fn list_chats(&self, clinic: &ClinicId) -> Result<Vec<Chat>, DependencyError> {
        self.list_entries(clinic, CHAT_PREFIX, "ListChats").await
    }

    async fn get_template(
        &self,
        clinic: &ClinicId,
        id: &TemplateId,
    ) -> Result<Option<Template>, DependencyError> {
        self.get_entry(clinic, template_sort_key(id), "GetTemplate")
            .await
    }

    async fn get_chat(
        &self,
        clinic: &ClinicId,
        id: &ChatId,
    ) -> Result<Option<Chat>, DependencyError> {
        self.get_entry(clinic, chat_sort_key(id), "GetChat").await
    }

    async fn is_opted_out(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
    ) -> Result<bool, DependencyError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.clinics)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(opt_out_sort_key(number)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "GetOptOut"))?;
        Ok(output.item.is_some())
    }

    async fn set_opted_out(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        opted_out: bool,
    ) -> Result<(), DependencyError> {
        let sort_key = s(opt_out_sort_key(number));
        if opted_out {
            self.client
                .put_item()
                .table_name(&self.tables.clinics)
                .item("pk", s(clinic.as_str()))
                .item("sk", sort_key)
                .send()
                .await
                .map_err(sdk_failure("dynamodb", "PutOptOut"))?;
        } else {
            self.client
                .delete_item()
                .table_name(&self.tables.clinics)
                .key("pk", s(clinic.as_str()))
                .key("sk", sort_key)
                .send()
                .await
                .map_err(sdk_failure("dynamodb", "DeleteOptOut"))?;
        }
        Ok(())
    }

    async fn claim_auto_reply(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        reply: AutoReply,
        inbound_id: &str,
        now: jiff::Timestamp,
        since: jiff::Timestamp,
    ) -> Result<bool, DependencyError> {
        self.auto_reply_claim(clinic, number, reply, inbound_id, now, since)
            .send_if(&self.client, "ClaimAutoReply")
            .await
    }

    async fn release_auto_reply(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        reply: AutoReply,
        inbound_id: &str,
    ) -> Result<(), DependencyError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.tables.clinics)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(auto_reply_sort_key(reply, number)))
            .condition_expression("taken_by = :inbound")
            .expression_attribute_values(":inbound", s(inbound_id))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "ReleaseAutoReply"));
        match result {
            Ok(_) => Ok(()),
            // Taken by another inbound SMS since, or never by this one: theirs to keep.
            Err(error) if error.code == "ConditionalCheckFailedException" => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn put_integration_client(
        &self,
        client: &IntegrationClientId,
        clinic: &ClinicId,
    ) -> Result<(), DependencyError> {
        self.put_clinic_item(
            &IntegrationItem::new(client, clinic),
            "PutIntegrationClient",
        )
        .await
    }

    async fn clinic_of_integration_client(
        &self,
        client: &IntegrationClientId,
    ) -> Result<Option<ClinicId>, DependencyError> {
        const OP: &str = "GetIntegrationClient";
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.clinics)
            .key("pk", s(format!("{INTEGRATION_PREFIX}{client}")))
            .key("sk", s(INTEGRATION_CLINIC))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", OP))?;
        output
            .item
            .map(|item| from_item::<IntegrationItem>(item, OP).map(|row| row.clinic_id))
            .transpose()
    }

    async fn put_root_key(
        &self,
        clinic: &ClinicId,
        wrapped: &[u8],
    ) -> Result<bool, DependencyError> {
        const OP: &str = "PutRootKey";
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.clinics)
            .set_item(Some(to_item(&RootKeyItem::new(clinic, wrapped), OP)?))
            .condition_expression(NEW_ONLY);
        put_if(put, OP).await
    }

    async fn wrapped_root_key(
        &self,
        clinic: &ClinicId,
    ) -> Result<Option<Vec<u8>>, DependencyError> {
        const OP: &str = "GetRootKey";
        let item: Option<RootKeyItem> = self
            .read_clinic_record(&self.tables.clinics, clinic, ROOT_KEY, OP)
            .await?;
        item.map(|item| {
            base64::engine::general_purpose::STANDARD
                .decode(item.wrapped)
                .map_err(|_| DependencyError::corrupt_item("dynamodb", OP))
        })
        .transpose()
    }
}
