//! Bulk imports: one item per import in the imports table, in its clinic's partition
//! (`pk` the clinic, `sk` the import), holding its checkpoint and report.

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::put_item::builders::PutItemFluentBuilder, types::AttributeValue,
};
use serde::{Deserialize, Serialize};

use super::{DynamoStore, NEW_ONLY, put_if, s, to_item};
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
    /// The Put of `record`, for the caller to add its condition to.
    fn put_import(
        &self,
        clinic: &ClinicId,
        record: &ImportRecord,
        operation: &'static str,
    ) -> Result<PutItemFluentBuilder, DependencyError> {
        let item = ImportItem {
            pk: clinic.as_str(),
            sk: record.id.as_str(),
            record,
        };
        Ok(self
            .client
            .put_item()
            .table_name(&self.tables.imports)
            .set_item(Some(to_item(&item, operation)?)))
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
        let put = self
            .put_import(clinic, record, OP)?
            .condition_expression(NEW_ONLY);
        if put_if(put, OP).await? {
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
        const OP: &str = "SaveImport";
        let (status, checkpoint) = previous;
        let number = |value: u64| AttributeValue::N(value.to_string());
        let put = self
            .put_import(clinic, record, OP)?
            .condition_expression(
                "#status = :status AND #checkpoint.#offset = :offset AND #checkpoint.#lines = :lines",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#checkpoint", "checkpoint")
            .expression_attribute_names("#offset", "offset")
            .expression_attribute_names("#lines", "lines")
            .expression_attribute_values(":status", s(status_text(status)?))
            .expression_attribute_values(":offset", number(checkpoint.offset))
            .expression_attribute_values(":lines", number(checkpoint.lines));
        put_if(put, OP).await
    }
}
