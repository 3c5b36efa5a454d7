//! Patients and appointments from the clinic's EMR: each write one transaction, read first
//! and conditioned on what was read, so that an older update never lands over a newer one
//! and a reply's `Unclear` is never lost to a concurrent sync.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::{
    DynamoStore,
    appointments::{AppointmentItem, PatientItem},
    s, to_item,
};
use crate::sdk_failure;
use domain::{
    clinic_key::ClinicKey,
    error::DependencyError,
    ids::{AppointmentId, ClinicId, PatientId},
    patient_keys::phn_key,
    phn::Phn,
    ports::{
        AppointmentWrite, BatchSynced, DirectoryQuery, EmrRecords, PatientDirectory,
        StoredAppointment, StoredPatient, SyncBatch,
    },
    update_order::UpdateOrder,
};

/// How often a sync reads again after another writer changed the same records meanwhile.
const SYNC_ATTEMPTS: usize = 4;

fn stored_order(text: Option<&String>) -> Option<UpdateOrder> {
    text.map(|text| UpdateOrder::from_stored(text.clone()))
}

impl DynamoStore {
    /// Runs a sync's transaction; `false` when a condition failed (someone wrote first).
    async fn sync_transaction(
        &self,
        items: Vec<TransactWriteItem>,
        operation: &'static str,
    ) -> Result<bool, DependencyError> {
        match self.transact(items).await {
            Ok(()) => Ok(true),
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
                    // Never synced: written by the seed or an upsert, whose items may hold
                    // `version` as NULL.
                    None => put
                        .condition_expression(
                            "attribute_exists(pk) AND (attribute_not_exists(#version) OR attribute_type(#version, :null)) AND #status = :status",
                        )
                        .expression_attribute_values(":null", s("NULL")),
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

impl PatientItem {
    fn stored(&self) -> StoredPatient {
        StoredPatient {
            patient: self.patient.clone(),
            cards: self.appointments.clone(),
            version: self.version,
            order: stored_order(self.update_order.as_ref()),
            language: self.language,
        }
    }
}

impl AppointmentItem {
    fn stored(&self) -> StoredAppointment {
        StoredAppointment {
            patient_id: self.patient_id.clone(),
            status: self.status,
            version: self.version.unwrap_or_default(),
            order: stored_order(self.update_order.as_ref()),
        }
    }

    fn planned(clinic: &ClinicId, write: &AppointmentWrite) -> AppointmentItem {
        AppointmentItem {
            emr_status: Some(write.emr_status),
            update_order: Some(write.order.as_str().to_owned()),
            version: Some(write.version),
            ..AppointmentItem::new(clinic, &write.appointment, &write.patient)
        }
    }
}

#[async_trait]
impl EmrRecords for DynamoStore {
    /// Reads what the batch touches, plans it (`SyncBatch::plan`), and writes the plan in
    /// one transaction conditioned on what was read; reads again if someone wrote first.
    async fn sync_together(
        &self,
        key: &ClinicKey,
        batch: &SyncBatch,
    ) -> Result<BatchSynced, DependencyError> {
        const OP: &str = "SyncRecords";
        let clinic = key.clinic();
        for _ in 0..SYNC_ATTEMPTS {
            let appointment_ids: BTreeSet<&str> = batch
                .appointments
                .iter()
                .map(|update| update.appointment.id.as_str())
                .collect();
            let appointment_items: BTreeMap<AppointmentId, AppointmentItem> = self
                .read_clinic_records(
                    &self.tables.appointments,
                    clinic,
                    &appointment_ids,
                    "GetAppointments",
                )
                .await?
                .into_iter()
                .filter_map(|(id, item)| Some((AppointmentId::parse(&id).ok()?, item)))
                .collect();
            let patient_ids: BTreeSet<PatientId> = batch
                .patient_ids()
                .into_iter()
                .chain(
                    appointment_items
                        .values()
                        .map(|item| item.patient_id.clone()),
                )
                .collect();
            let patient_items: BTreeMap<PatientId, PatientItem> = self
                .read_clinic_records(
                    &self.tables.patients,
                    clinic,
                    &patient_ids.iter().map(PatientId::as_str).collect(),
                    "GetPatients",
                )
                .await?
                .into_iter()
                .filter_map(|(id, item)| Some((PatientId::parse(&id).ok()?, item)))
                .collect();
            let stored_patients = patient_items
                .iter()
                .map(|(id, item)| (id.clone(), item.stored()))
                .collect();
            let stored_appointments = appointment_items
                .iter()
                .map(|(id, item)| (id.clone(), item.stored()))
                .collect();
            let plan = batch.plan(key, &stored_patients, &stored_appointments);
            if plan.patients.is_empty() && plan.appointments.is_empty() {
                return Ok(plan.answer);
            }
            let mut items = Vec::new();
            for write in &plan.patients {
                let previous = patient_items.get(&write.next.patient.id);
                let next = PatientItem::planned(clinic, &write.next);
                items.extend(self.patient_writes(key, &next, previous, OP)?);
            }
            for write in &plan.appointments {
                let mut item = AppointmentItem::planned(clinic, write);
                let previous = appointment_items.get(&write.appointment.id);
                if let Some(previous) = previous {
                    item.keep_worklist_place(previous);
                }
                items.push(self.appointment_put(&item, previous)?);
            }
            if self.sync_transaction(items, OP).await? {
                return Ok(plan.answer);
            }
        }
        Err(DependencyError::new("dynamodb", OP, "ConcurrentUpdates"))
    }

    async fn patient_with_health_number(
        &self,
        key: &ClinicKey,
        number: &Phn,
    ) -> Result<Option<PatientId>, DependencyError> {
        let page = self
            .lookup(&DirectoryQuery::all_under(
                key,
                &phn_key(key, number.as_str()),
                1,
            ))
            .await?;
        Ok(page
            .entries
            .into_iter()
            .next()
            .map(|entry| entry.patient.id))
    }
}
