//! Bulk imports: one item per import in the imports table, in its clinic's partition
//! (`pk` the clinic, `sk` the import), holding its checkpoint and report.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{DynamoStore, NEW_ONLY, s, to_item};
use crate::sdk_failure;
use domain::{
    error::DependencyError,
    ids::{ClinicId, ImportId},
    ports::{ImportCheckpoint, ImportRecord, ImportStatus, ImportStore},
};

#[derive(Serialize)]
struct ImportItem<'a> {
    pk: &'a str,
    sk: &'a str,
    #[serde(flatten)]
    record: &'a ImportRecord,
}

#[derive(Deserialize)]
struct StoredImport {
    #[serde(flatten)]
    record: ImportRecord,
}

fn status_text(status: ImportStatus) -> Result<String, DependencyError> {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(text)) => Ok(text),
        _ => Err(DependencyError::new(
            "dynamodb",
            "SaveImport",
            "SerialiseItem",
        )),
    }
}

impl DynamoStore {
    async fn put_import(
        &self,
        clinic: &ClinicId,
        record: &ImportRecord,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
        operation: &'static str,
    ) -> Result<bool, DependencyError> {
        let item = ImportItem {
            pk: clinic.as_str(),
            sk: record.id.as_str(),
            record,
        };
        let mut put = self
            .client
            .put_item()
            .table_name(&self.tables.imports)
            .set_item(Some(to_item(&item, operation)?));
        if let Some((expression, values)) = condition {
            put = put.condition_expression(expression);
            for (name, value) in values {
                put = put.expression_attribute_values(name, value);
            }
            if expression.contains('#') {
                put = put
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#checkpoint", "checkpoint")
                    .expression_attribute_names("#offset", "offset")
                    .expression_attribute_names("#lines", "lines");
            }
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(sdk_failure("dynamodb", operation)(error)),
        }
    }
}

#[async_trait]
impl ImportStore for DynamoStore {
    async fn create_import(
        &self,
        clinic: &ClinicId,
        record: &ImportRecord,
    ) -> Result<(), DependencyError> {
        const OP: &str = "CreateImport";
        if self
            .put_import(clinic, record, Some((NEW_ONLY, Vec::new())), OP)
            .await?
        {
            Ok(())
        } else {
            Err(DependencyError::new(
                "dynamodb",
                OP,
                "ConditionalCheckFailedException",
            ))
        }
    }

    async fn get_import(
        &self,
        clinic: &ClinicId,
        id: &ImportId,
    ) -> Result<Option<ImportRecord>, DependencyError> {
        let stored: Option<StoredImport> = self
            .read_clinic_record(&self.tables.imports, clinic, id.as_str(), "GetImport")
            .await?;
        Ok(stored.map(|stored| stored.record))
    }

    async fn save_import_progress(
        &self,
        clinic: &ClinicId,
        record: &ImportRecord,
        previous: (ImportStatus, ImportCheckpoint),
    ) -> Result<bool, DependencyError> {
        let (status, checkpoint) = previous;
        let number = |value: u64| AttributeValue::N(value.to_string());
        self.put_import(
            clinic,
            record,
            Some((
                "#status = :status AND #checkpoint.#offset = :offset AND #checkpoint.#lines = :lines",
                vec![
                    (":status", s(status_text(status)?)),
                    (":offset", number(checkpoint.offset)),
                    (":lines", number(checkpoint.lines)),
                ],
            )),
            "SaveImport",
        )
        .await
    }
}
