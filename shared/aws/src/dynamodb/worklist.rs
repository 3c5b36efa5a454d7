//! The Unclear worklist: the appointments table's sparse `unclear` index, which holds only
//! the appointments a patient replied to (`unclear_clinic`, `unclear_at`) until cleared.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{DynamoStore, appointments::AppointmentItem, from_item, s};
use crate::sdk_failure;
use domain::{
    appointment_status::AppointmentStatus,
    error::DependencyError,
    ids::{AppointmentId, ClinicId},
    ports::{Cleared, UnclearWorklist, WorklistEntry, WorklistKey, WorklistPage, WorklistQuery},
};

const INDEX: &str = "unclear";

impl DynamoStore {
    /// A worklist entry from an item of the index (its projection is the whole item).
    async fn worklist_entry(
        &self,
        clinic: &ClinicId,
        item: AppointmentItem,
    ) -> Result<WorklistEntry, DependencyError> {
        const OP: &str = "QueryWorklist";
        let key = item
            .unclear_at
            .as_deref()
            .and_then(WorklistKey::from_stored)
            .ok_or_else(|| DependencyError::corrupt_item("dynamodb", OP))?;
        let replied_at = key
            .replied_at()
            .ok_or_else(|| DependencyError::corrupt_item("dynamodb", OP))?;
        let patient = match item.patient.clone() {
            Some(patient) => patient,
            // Items written before appointments kept their patient's copy.
            None => {
                self.get_patient_item(clinic, &item.patient_id)
                    .await?
                    .ok_or_else(|| DependencyError::corrupt_item("dynamodb", OP))?
                    .patient
            }
        };
        Ok(WorklistEntry {
            key,
            appointment: item.into_appointment()?,
            patient,
            replied_at,
        })
    }
}

#[async_trait]
impl UnclearWorklist for DynamoStore {
    async fn unclear_page(
        &self,
        clinic: &ClinicId,
        query: &WorklistQuery,
    ) -> Result<WorklistPage, DependencyError> {
        const OP: &str = "QueryWorklist";
        let mut request = self
            .client
            .query()
            .table_name(&self.tables.appointments)
            .index_name(INDEX)
            .key_condition_expression(
                "unclear_clinic = :clinic AND unclear_at BETWEEN :low AND :high",
            )
            .expression_attribute_values(":clinic", s(clinic.as_str()))
            .expression_attribute_values(":low", s(WorklistKey::first_at(query.from).as_str()))
            .expression_attribute_values(":high", s(WorklistKey::last_at(query.to).as_str()))
            .scan_index_forward(false)
            .limit(i32::try_from(query.limit).unwrap_or(i32::MAX));
        if let Some(after) = &query.after {
            let appointment = after
                .appointment_id()
                .ok_or_else(|| DependencyError::new("dynamodb", OP, "InvalidStartKey"))?;
            request = request
                .exclusive_start_key("pk", s(clinic.as_str()))
                .exclusive_start_key("sk", s(appointment.as_str()))
                .exclusive_start_key("unclear_clinic", s(clinic.as_str()))
                .exclusive_start_key("unclear_at", s(after.as_str()));
        }
        let output = request.send().await.map_err(sdk_failure("dynamodb", OP))?;
        let mut entries = Vec::new();
        for item in output.items.unwrap_or_default() {
            let item: AppointmentItem = from_item(item, OP)?;
            entries.push(self.worklist_entry(clinic, item).await?);
        }
        let more_after = output
            .last_evaluated_key
            .is_some()
            .then(|| entries.last().map(|entry| entry.key.clone()))
            .flatten();
        Ok(WorklistPage {
            entries,
            more_after,
        })
    }

    async fn clear_unclear(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Result<Cleared, DependencyError> {
        const OP: &str = "ClearUnclear";
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.appointments)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(id.as_str()))
            .update_expression("SET #status = emr_status REMOVE unclear_clinic, unclear_at")
            .condition_expression(
                "attribute_exists(pk) AND #status = :unclear AND attribute_type(emr_status, :string)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":unclear", s(AppointmentStatus::Unclear.as_str()))
            .expression_attribute_values(":string", s("S"))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let status = output
                    .attributes
                    .as_ref()
                    .and_then(|attributes| attributes.get("status"))
                    .and_then(|status| match status {
                        AttributeValue::S(text) => text.parse::<AppointmentStatus>().ok(),
                        _ => None,
                    })
                    .ok_or_else(|| DependencyError::corrupt_item("dynamodb", OP))?;
                Ok(Cleared::Cleared { status })
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // What made the condition fail, read as written last.
                let stored: Option<AppointmentItem> = self
                    .read_clinic_record(&self.tables.appointments, clinic, id.as_str(), OP)
                    .await?;
                Ok(match stored {
                    Some(item) => Cleared::NotUnclear {
                        status: item.status,
                    },
                    None => Cleared::NoAppointment,
                })
            }
            Err(error) => Err(sdk_failure("dynamodb", OP)(error)),
        }
    }
}
