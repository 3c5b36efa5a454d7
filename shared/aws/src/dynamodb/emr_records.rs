//! Patients and appointments from the clinic's EMR: each write one transaction, read first
//! and conditioned on what was read, so that an older update never lands over a newer one
//! and a reply's `Unclear` is never lost to a concurrent sync.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::{
    DynamoStore,
    appointments::{AppointmentItem, PatientItem, patient_key},
    s, to_item,
};
use crate::sdk_failure;
use domain::{
    appointment_status::AppointmentStatus,
    error::DependencyError,
    ids::{AppointmentId, ClinicId, PatientId},
    model::{sortable_timestamp, with_card},
    patient_keys::phn_key,
    phn::Phn,
    ports::{AppointmentSync, EmrRecords, PatientDirectory, PatientSync, Synced},
    update_order::UpdateOrder,
};

/// How often a sync reads again after another writer changed the same records meanwhile.
const SYNC_ATTEMPTS: usize = 4;

fn stored_order(text: Option<&String>) -> Option<UpdateOrder> {
    text.map(|text| UpdateOrder::from_stored(text.clone()))
}

impl DynamoStore {
    async fn get_appointment_item(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Result<Option<AppointmentItem>, DependencyError> {
        self.read_clinic_record(
            &self.tables.appointments,
            clinic,
            id.as_str(),
            "GetAppointment",
        )
        .await
    }

    /// Runs a sync's transaction; `false` when a condition failed (someone wrote first).
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        operation: &'static str,
    ) -> Result<bool, DependencyError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) => {
                let failure = sdk_failure("dynamodb", operation)(error);
                if failure.code == "TransactionCanceledException" {
                    Ok(false)
                } else {
                    Err(failure)
                }
            }
        }
    }

    /// The appointment's item written over `stored` (read before): on the condition that
    /// neither its version nor its shown status changed since.
    fn appointment_put(
        &self,
        item: &AppointmentItem,
        stored: Option<&AppointmentItem>,
    ) -> Result<TransactWriteItem, DependencyError> {
        const OP: &str = "SyncAppointment";
        let put = Put::builder()
            .table_name(&self.tables.appointments)
            .set_item(Some(to_item(item, OP)?));
        let put = match stored {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(stored) => {
                let put = put
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(":status", s(stored.status.as_str()));
                match stored.version {
                    None => put.condition_expression(
                        "attribute_exists(pk) AND attribute_not_exists(#version) AND #status = :status",
                    ),
                    Some(version) => put
                        .condition_expression("#version = :version AND #status = :status")
                        .expression_attribute_values(":version", AttributeValue::N(version.to_string())),
                }
            }
        };
        let put = put
            .build()
            .map_err(|_| DependencyError::new("dynamodb", OP, "InvalidRequest"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

#[async_trait]
impl EmrRecords for DynamoStore {
    async fn sync_patient(
        &self,
        clinic: &ClinicId,
        update: &PatientSync,
    ) -> Result<Synced, DependencyError> {
        const OP: &str = "SyncPatient";
        for _ in 0..SYNC_ATTEMPTS {
            let previous = self.get_patient_item(clinic, &update.patient.id).await?;
            if let Some(stored) = &previous
                && !update
                    .order
                    .may_replace(stored_order(stored.update_order.as_ref()).as_ref())
            {
                return Ok(Synced::Stale {
                    version: stored.version,
                });
            }
            let cards = previous
                .as_ref()
                .map(|item| item.appointments.clone())
                .unwrap_or_default();
            let mut next = PatientItem::next(clinic, &update.patient, cards, previous.as_ref());
            next.update_order = Some(update.order.as_str().to_owned());
            next.language = update.language;
            let items = self.patient_writes(clinic, &next, previous.as_ref(), OP)?;
            if self.transact(items, OP).await? {
                return Ok(Synced::Written {
                    version: next.version,
                });
            }
        }
        Err(DependencyError::new(
            "dynamodb",
            OP,
            "ConcurrentPatientUpdates",
        ))
    }

    async fn sync_appointment(
        &self,
        clinic: &ClinicId,
        update: &AppointmentSync,
    ) -> Result<Synced, DependencyError> {
        const OP: &str = "SyncAppointment";
        let appointment = &update.appointment;
        for _ in 0..SYNC_ATTEMPTS {
            let stored = self.get_appointment_item(clinic, &appointment.id).await?;
            if let Some(stored) = &stored
                && !update
                    .order
                    .may_replace(stored_order(stored.update_order.as_ref()).as_ref())
            {
                return Ok(Synced::Stale {
                    version: stored.version.unwrap_or_default(),
                });
            }
            let Some(patient) = self
                .get_patient_item(clinic, &appointment.patient_id)
                .await?
            else {
                return Ok(Synced::NoPatient);
            };
            let next_patient = PatientItem::next(
                clinic,
                &patient.patient,
                with_card(patient.appointments.clone(), appointment),
                Some(&patient),
            );
            let version = stored
                .as_ref()
                .and_then(|item| item.version)
                .unwrap_or_default()
                + 1;
            let shown = match stored.as_ref().map(|item| item.status) {
                Some(AppointmentStatus::Unclear) => AppointmentStatus::Unclear,
                _ => appointment.status,
            };
            let item = AppointmentItem {
                pk: clinic.as_str().to_owned(),
                sk: appointment.id.as_str().to_owned(),
                patient_key: patient_key(clinic, &appointment.patient_id),
                starts_at: sortable_timestamp(appointment.starts_at),
                patient_id: appointment.patient_id.clone(),
                provider_name: appointment.provider_name.clone(),
                status: shown,
                patient: Some(patient.patient.clone()),
                patient_version: Some(next_patient.version),
                emr_status: Some(appointment.status),
                update_order: Some(update.order.as_str().to_owned()),
                version: Some(version),
            };
            let mut items = vec![self.appointment_put(&item, stored.as_ref())?];
            items.extend(self.patient_writes(clinic, &next_patient, Some(&patient), OP)?);
            // An appointment moved to another patient leaves the former one's cards.
            let former_id = stored
                .as_ref()
                .map(|stored| stored.patient_id.clone())
                .filter(|former| former != &appointment.patient_id);
            if let Some(former_id) = former_id
                && let Some(former) = self.get_patient_item(clinic, &former_id).await?
            {
                let mut cards = former.appointments.clone();
                cards.retain(|card| card.id != appointment.id);
                let next_former = PatientItem::next(clinic, &former.patient, cards, Some(&former));
                items.extend(self.patient_writes(clinic, &next_former, Some(&former), OP)?);
            }
            if self.transact(items, OP).await? {
                return Ok(Synced::Written { version });
            }
        }
        Err(DependencyError::new(
            "dynamodb",
            OP,
            "ConcurrentAppointmentUpdates",
        ))
    }

    async fn patient_with_health_number(
        &self,
        clinic: &ClinicId,
        number: &Phn,
    ) -> Result<Option<PatientId>, DependencyError> {
        let page = self
            .lookup(&phn_key(clinic, number.as_str()), "", None, 1)
            .await?;
        Ok(page
            .entries
            .into_iter()
            .next()
            .map(|entry| entry.patient.id))
    }
}
