//! Appointments with their patients, and the patients' lookup keys, written together.

use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{
    DynamoStore, Item, batch_put, from_item, item_key, item_update::ItemUpdate, s, to_item,
    transact_put,
};
use crate::sdk_failure;
use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    appointment_status::AppointmentStatus,
    clinic_key::ClinicKey,
    error::DependencyError,
    ids::{AppointmentId, ClinicId, PatientId},
    language::Language,
    model::{Appointment, AppointmentCard, Patient, sortable_timestamp, with_card},
    patient_keys::{LookupKey, lookup_keys, seal_entry},
    ports::{
        AppointmentStore, DirectoryEntry, DirectoryPage, DirectoryQuery, PatientDirectory,
        PatientRecord, StoredPatient, WorklistKey,
    },
};

/// How often an upsert is retried when another writer changed the same patient meanwhile.
const UPSERT_ATTEMPTS: usize = 3;

#[derive(Serialize, Deserialize)]
pub(crate) struct PatientItem {
    pk: String,
    sk: String,
    /// Bumped on every write; the condition on it keeps lookup keys in step with the patient.
    pub(crate) version: u64,
    #[serde(flatten)]
    pub(crate) patient: Patient,
    #[serde(default)]
    pub(crate) appointments: Vec<AppointmentCard>,
    /// The EMR's order of the last update of the patient (a sync), when there was one.
    #[serde(default)]
    pub(crate) update_order: Option<String>,
    /// The language the patient prefers, from the EMR.
    #[serde(default)]
    pub(crate) language: Option<Language>,
}

impl PatientItem {
    /// The item of `patient` with `appointments`, one version after `previous`, keeping what
    /// only a sync writes.
    pub(crate) fn next(
        clinic: &ClinicId,
        patient: &Patient,
        appointments: Vec<AppointmentCard>,
        previous: Option<&PatientItem>,
    ) -> PatientItem {
        PatientItem {
            pk: clinic.as_str().to_owned(),
            sk: patient.id.as_str().to_owned(),
            version: previous.map_or(1, |item| item.version + 1),
            patient: patient.clone(),
            appointments,
            update_order: previous.and_then(|item| item.update_order.clone()),
            language: previous.and_then(|item| item.language),
        }
    }
}

impl PatientItem {
    /// The patient as a send reads them: with the version and the language.
    pub(crate) fn record(&self) -> PatientRecord {
        PatientRecord {
            patient: self.patient.clone(),
            version: self.version,
            language: self.language,
        }
    }

    /// The item of a patient as a planned write leaves them, at the plan's version.
    pub(crate) fn planned(clinic: &ClinicId, state: &StoredPatient) -> PatientItem {
        PatientItem {
            pk: clinic.as_str().to_owned(),
            sk: state.patient.id.as_str().to_owned(),
            version: state.version,
            patient: state.patient.clone(),
            appointments: state.cards.clone(),
            update_order: state.order.as_ref().map(|order| order.as_str().to_owned()),
            language: state.language,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct AppointmentItem {
    pub(crate) pk: String,
    pub(crate) sk: String,
    /// Key of the `by_patient` index: `<clinic>#<patient>`.
    pub(crate) patient_key: String,
    /// Sort key of the `by_patient` index, sortable text.
    pub(crate) starts_at: String,
    pub(crate) patient_id: PatientId,
    pub(crate) provider_name: String,
    /// The status shown: the EMR's, or `Unclear` after a reply until staff clear it.
    pub(crate) status: AppointmentStatus,
    /// The patient as they were when this appointment was last written, with the patient
    /// item's version then: a send reads this copy, and its write checks the version.
    #[serde(default)]
    pub(crate) patient: Option<Patient>,
    #[serde(default)]
    pub(crate) patient_version: Option<u64>,
    /// The patient's language then, when the EMR gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) patient_language: Option<Language>,
    /// The EMR's status, kept beside an `Unclear` shown status. (Absent fields are left
    /// out of the item, never written as NULL: a NULL attribute exists to a condition.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) emr_status: Option<AppointmentStatus>,
    /// The EMR's order of the last update of the appointment (a sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) update_order: Option<String>,
    /// Bumped on every sync of the appointment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<u64>,
    /// Keys of the sparse `unclear` index (the worklist), present while the appointment is
    /// `Unclear`: the clinic, and `<reply time>#<appointment>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unclear_clinic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unclear_at: Option<String>,
}

/// A lookup key with a copy of what search shows (so that a search reads nothing else),
/// sealed under the clinic's key: base64 of [`seal_entry`]'s bytes.
#[derive(Serialize, Deserialize)]
struct LookupItem {
    pk: String,
    sk: String,
    sealed: String,
}

fn lookup_items(key: &ClinicKey, patient: &Patient, cards: &[AppointmentCard]) -> Vec<LookupItem> {
    lookup_keys(key, patient)
        .into_iter()
        .map(|lookup| {
            let sealed = seal_entry(key, &lookup, patient, cards);
            LookupItem {
                sealed: STANDARD.encode(sealed),
                pk: lookup.pk,
                sk: lookup.sk,
            }
        })
        .collect()
}

pub(crate) fn patient_key(clinic: &ClinicId, patient: &PatientId) -> String {
    format!("{clinic}#{patient}")
}

impl AppointmentItem {
    /// The item of `appointment`, with its patient's copy as `patient` is now.
    pub(crate) fn new(
        clinic: &ClinicId,
        appointment: &Appointment,
        patient: &PatientRecord,
    ) -> Self {
        AppointmentItem {
            pk: clinic.as_str().to_owned(),
            sk: appointment.id.as_str().to_owned(),
            patient_key: patient_key(clinic, &appointment.patient_id),
            starts_at: sortable_timestamp(appointment.starts_at),
            patient_id: appointment.patient_id.clone(),
            provider_name: appointment.provider_name.clone(),
            status: appointment.status,
            patient: Some(patient.patient.clone()),
            patient_version: Some(patient.version),
            patient_language: patient.language,
            emr_status: None,
            update_order: None,
            version: None,
            unclear_clinic: None,
            unclear_at: None,
        }
    }

    /// Keeps `previous`'s place on the worklist while this write still shows `Unclear`.
    pub(crate) fn keep_worklist_place(&mut self, previous: &AppointmentItem) {
        if self.status == AppointmentStatus::Unclear {
            self.unclear_clinic.clone_from(&previous.unclear_clinic);
            self.unclear_at.clone_from(&previous.unclear_at);
        }
    }

    /// The patient's copy kept with the appointment, when it has one.
    pub(crate) fn patient_record(&self) -> Option<PatientRecord> {
        Some(PatientRecord {
            patient: self.patient.clone()?,
            version: self.patient_version?,
            language: self.patient_language,
        })
    }

    pub(crate) fn into_appointment(self) -> Result<Appointment, DependencyError> {
        Ok(Appointment {
            id: AppointmentId::parse(&self.sk)
                .map_err(|_| DependencyError::corrupt_item("dynamodb", "GetAppointment"))?,
            patient_id: self.patient_id,
            starts_at: self
                .starts_at
                .parse()
                .map_err(|_| DependencyError::corrupt_item("dynamodb", "GetAppointment"))?,
            provider_name: self.provider_name,
            status: self.status,
        })
    }
}

impl DynamoStore {
    /// Loads patients with their appointments into a clinic that does not have them yet,
    /// with BatchWriteItem: for onboarding imports and benches. Not atomic, and it does not
    /// remove lookup keys of patients already stored; everyday writes go through
    /// `upsert_appointment_with_patient`.
    pub async fn bulk_load(
        &self,
        key: &ClinicKey,
        records: &[(Patient, Vec<Appointment>)],
    ) -> Result<(), DependencyError> {
        let writes = self.bulk_load_items(key, records)?;
        batch_put(&self.client, writes, "BulkLoad").await
    }

    /// The items [`Self::bulk_load`] writes, each with its table, without writing them: for
    /// the benches, which load them into the local emulator without a request per 25.
    pub fn bulk_load_items(
        &self,
        key: &ClinicKey,
        records: &[(Patient, Vec<Appointment>)],
    ) -> Result<Vec<(&str, Item)>, DependencyError> {
        const OP: &str = "BulkLoad";
        let clinic = key.clinic();
        let mut writes: Vec<(&str, Item)> = Vec::new();
        for (patient, appointments) in records {
            let cards = appointments.iter().fold(Vec::new(), with_card);
            for item in lookup_items(key, patient, &cards) {
                writes.push((&self.tables.patient_lookup, to_item(&item, OP)?));
            }
            let item = PatientItem::next(clinic, patient, cards, None);
            for appointment in appointments {
                writes.push((
                    &self.tables.appointments,
                    to_item(
                        &AppointmentItem::new(clinic, appointment, &item.record()),
                        OP,
                    )?,
                ));
            }
            writes.push((&self.tables.patients, to_item(&item, OP)?));
        }
        Ok(writes)
    }

    /// The patient with the version that every write of it bumps.
    pub(crate) async fn patient_record(
        &self,
        clinic: &ClinicId,
        id: &PatientId,
    ) -> Result<Option<PatientRecord>, DependencyError> {
        Ok(self
            .get_patient_item(clinic, id)
            .await?
            .map(|item| item.record()))
    }

    pub(crate) async fn get_patient_item(
        &self,
        clinic: &ClinicId,
        id: &PatientId,
    ) -> Result<Option<PatientItem>, DependencyError> {
        self.read_clinic_record(&self.tables.patients, clinic, id.as_str(), "GetPatient")
            .await
    }

    /// A clinic's record (`pk` the clinic, `sk` the record's id) as written last: the
    /// strongly consistent read that a conditional write is based on.
    pub(crate) async fn read_clinic_record<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        clinic: &ClinicId,
        id: &str,
        operation: &'static str,
    ) -> Result<Option<T>, DependencyError> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_failure("dynamodb", operation))?;
        output
            .item
            .map(|item| from_item(item, operation))
            .transpose()
    }

    /// Several of a clinic's records of one table, read as [`Self::read_clinic_record`]
    /// reads one: strongly consistent BatchGetItems of up to 100 keys, each until DynamoDB
    /// has answered for every key. The records found, by id.
    pub(crate) async fn read_clinic_records<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        clinic: &ClinicId,
        ids: &BTreeSet<&str>,
        operation: &'static str,
    ) -> Result<BTreeMap<String, T>, DependencyError> {
        const KEYS_PER_REQUEST: usize = 100;
        const ATTEMPTS: u32 = 8;
        let ids: Vec<&str> = ids.iter().copied().collect();
        let mut found = BTreeMap::new();
        for chunk in ids.chunks(KEYS_PER_REQUEST) {
            let keys = chunk
                .iter()
                .map(|id| {
                    HashMap::from([
                        ("pk".to_owned(), s(clinic.as_str())),
                        ("sk".to_owned(), s(*id)),
                    ])
                })
                .collect();
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|_| DependencyError::new("dynamodb", operation, "InvalidRequest"))?;
            for attempt in 0.. {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(table, request)
                    .send()
                    .await
                    .map_err(sdk_failure("dynamodb", operation))?;
                for item in output
                    .responses
                    .and_then(|mut tables| tables.remove(table))
                    .unwrap_or_default()
                {
                    let id = match item.get("sk") {
                        Some(AttributeValue::S(id)) => id.clone(),
                        _ => {
                            return Err(DependencyError::new(
                                "dynamodb",
                                operation,
                                "MalformedItem",
                            ));
                        }
                    };
                    found.insert(id, from_item(item, operation)?);
                }
                match output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(table))
                {
                    Some(rest) if !rest.keys.is_empty() => {
                        if attempt + 1 == ATTEMPTS {
                            return Err(DependencyError::new(
                                "dynamodb",
                                operation,
                                "UnprocessedKeys",
                            ));
                        }
                        // DynamoDB's advice for unprocessed keys: back off, then ask again.
                        tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
                        request = rest;
                    }
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    fn upsert_transaction(
        &self,
        key: &ClinicKey,
        patient: &Patient,
        appointment: &Appointment,
        previous: Option<&PatientItem>,
    ) -> Result<Vec<TransactWriteItem>, DependencyError> {
        const OP: &str = "UpsertAppointment";
        let clinic = key.clinic();
        let cards = previous
            .map(|item| item.appointments.clone())
            .unwrap_or_default();
        let patient_item =
            PatientItem::next(clinic, patient, with_card(cards, appointment), previous);
        let mut items = vec![transact_put(
            &self.tables.appointments,
            to_item(
                &AppointmentItem::new(clinic, appointment, &patient_item.record()),
                OP,
            )?,
            None,
            OP,
        )?];
        items.extend(self.patient_writes(key, &patient_item, previous, OP)?);
        Ok(items)
    }

    /// The writes that store `next` over `previous` (read before, at its version): the
    /// patient item, on the condition that nobody wrote it since, every lookup key it has
    /// now (each carries the patient and the cards), and the deletion of the keys it no
    /// longer has.
    pub(crate) fn patient_writes(
        &self,
        key: &ClinicKey,
        next: &PatientItem,
        previous: Option<&PatientItem>,
        operation: &'static str,
    ) -> Result<Vec<TransactWriteItem>, DependencyError> {
        let old_keys = previous
            .map(|item| lookup_keys(key, &item.patient))
            .unwrap_or_default();
        let new_keys = lookup_keys(key, &next.patient);
        let mut put_patient = Put::builder()
            .table_name(&self.tables.patients)
            .set_item(Some(to_item(next, operation)?));
        put_patient = match previous {
            None => put_patient.condition_expression("attribute_not_exists(pk)"),
            Some(item) => put_patient
                .condition_expression("#version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(
                    ":version",
                    AttributeValue::N(item.version.to_string()),
                ),
        };
        let put_patient = put_patient
            .build()
            .map_err(|_| DependencyError::new("dynamodb", operation, "InvalidRequest"))?;
        let mut items = vec![TransactWriteItem::builder().put(put_patient).build()];
        for item in lookup_items(key, &next.patient, &next.appointments) {
            items.push(transact_put(
                &self.tables.patient_lookup,
                to_item(&item, operation)?,
                None,
                operation,
            )?);
        }
        for LookupKey { pk, sk } in old_keys.difference(&new_keys) {
            let delete = Delete::builder()
                .table_name(&self.tables.patient_lookup)
                .key("pk", s(pk))
                .key("sk", s(sk))
                .build()
                .map_err(|_| DependencyError::new("dynamodb", operation, "InvalidRequest"))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        Ok(items)
    }
}

#[async_trait]
impl AppointmentStore for DynamoStore {
    async fn upsert_appointment_with_patient(
        &self,
        key: &ClinicKey,
        patient: &Patient,
        appointment: &Appointment,
    ) -> Result<(), DependencyError> {
        let clinic = key.clinic();
        for _ in 0..UPSERT_ATTEMPTS {
            let previous = self.get_patient_item(clinic, &patient.id).await?;
            let items = self.upsert_transaction(key, patient, appointment, previous.as_ref())?;
            let result = self.transact(items).await;
            match result {
                Ok(_) => return Ok(()),
                Err(error) => {
                    let failure = sdk_failure("dynamodb", "UpsertAppointment")(error);
                    // A concurrent writer moved the patient's version: read again and retry.
                    if failure.code != "TransactionCanceledException" {
                        return Err(failure);
                    }
                }
            }
        }
        Err(DependencyError::new(
            "dynamodb",
            "UpsertAppointment",
            "ConcurrentPatientUpdates",
        ))
    }

    async fn mark_unclear(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
        replied_at: jiff::Timestamp,
    ) -> Result<bool, DependencyError> {
        self.unclear_update(clinic, id, replied_at)
            .send_if(&self.client, "MarkUnclear")
            .await
    }

    async fn get_patient(
        &self,
        clinic: &ClinicId,
        id: &PatientId,
    ) -> Result<Option<Patient>, DependencyError> {
        Ok(self
            .get_patient_item(clinic, id)
            .await?
            .map(|item| item.patient))
    }

    async fn get_appointment(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Result<Option<Appointment>, DependencyError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.appointments)
            .key("pk", s(clinic.as_str()))
            .key("sk", s(id.as_str()))
            .send()
            .await
            .map_err(sdk_failure("dynamodb", "GetAppointment"))?;
        output
            .item
            .map(|item| from_item::<AppointmentItem>(item, "GetAppointment")?.into_appointment())
            .transpose()
    }
}

#[async_trait]
impl PatientDirectory for DynamoStore {
    async fn lookup(&self, query: &DirectoryQuery<'_>) -> Result<DirectoryPage, DependencyError> {
        let DirectoryQuery {
            key,
            lookup_key,
            after,
            limit,
        } = *query;
        const OP: &str = "LookupPatients";
        let mut query = self
            .client
            .query()
            .table_name(&self.tables.patient_lookup)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(lookup_key))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if let Some(after) = after {
            query = query
                .exclusive_start_key("pk", s(lookup_key))
                .exclusive_start_key("sk", s(after));
        }
        let output = query.send().await.map_err(sdk_failure("dynamodb", OP))?;
        let entries = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let row: LookupItem = from_item(item, OP)?;
                let not_opened = || DependencyError::new("dynamodb", OP, "SealedEntryNotOpened");
                let sealed = STANDARD.decode(&row.sealed).map_err(|_| not_opened())?;
                let lookup = LookupKey {
                    pk: row.pk,
                    sk: row.sk,
                };
                DirectoryEntry::open(key, lookup, &sealed).map_err(|_| not_opened())
            })
            .collect::<Result<Vec<_>, DependencyError>>()?;
        Ok(DirectoryPage {
            items_read: usize::try_from(output.scanned_count).unwrap_or(entries.len()),
            exhausted: output.last_evaluated_key.is_none(),
            entries,
        })
    }
}

impl DynamoStore {
    /// Sets a replied-to appointment `Unclear`, or moves it up the worklist if it was: the
    /// first reply keeps the status shown until then beside it as the EMR's (a sync writes
    /// both alike unless Unclear, so one kept already is the EMR's). Its condition fails
    /// when the appointment is gone.
    pub(crate) fn unclear_update(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
        replied_at: jiff::Timestamp,
    ) -> ItemUpdate {
        ItemUpdate::new(
            &self.tables.appointments,
            item_key(clinic.as_str(), Some(id.as_str())),
            "SET emr_status = if_not_exists(emr_status, #status), #status = :unclear, \
             unclear_clinic = :clinic, unclear_at = :place",
        )
        .condition("attribute_exists(pk)")
        .name("#status", "status")
        .value(":unclear", s(AppointmentStatus::Unclear.as_str()))
        .value(":clinic", s(clinic.as_str()))
        .value(":place", s(WorklistKey::new(replied_at, id).as_str()))
    }
}
