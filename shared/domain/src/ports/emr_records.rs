//! Patients and appointments as the clinic's EMR sends them: each write ordered by the
//! EMR's own update order, so that an older update arriving late changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use crate::{
    appointment_status::AppointmentStatus,
    clinic_key::ClinicKey,
    error::DependencyError,
    ids::{AppointmentId, PatientId},
    language::Language,
    model::{Appointment, AppointmentCard, Patient, with_card},
    patient_keys::lookup_keys,
    phn::Phn,
    update_order::UpdateOrder,
};

use super::PatientRecord;

/// A patient from the EMR, with what the model does not hold yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientSync {
    pub patient: Patient,
    pub language: Option<Language>,
    pub order: UpdateOrder,
}

/// An appointment from the EMR: its `status` is the EMR's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentSync {
    pub appointment: Appointment,
    pub order: UpdateOrder,
}

/// What became of one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    /// Written; the record is now at `version`.
    Written { version: u64 },
    /// What is stored is newer: nothing was written; the record stays at `version`.
    Stale { version: u64 },
    /// The appointment's patient is not stored: nothing was written.
    NoPatient,
}

/// The writes of a transaction bundle: all or none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncBatch {
    pub patients: Vec<PatientSync>,
    pub appointments: Vec<AppointmentSync>,
}

/// What became of a batch written together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchSynced {
    /// Written in one transaction: what became of each patient, then of each appointment,
    /// in the batch's order.
    Written {
        patients: Vec<Synced>,
        appointments: Vec<Synced>,
    },
    /// The appointment at this index names a patient neither stored nor in the batch:
    /// nothing was written.
    NoPatient { appointment: usize },
    /// More writes than one transaction holds ([`MAX_TRANSACTION_ITEMS`]): nothing was
    /// written.
    TooLarge,
}

/// The one record's result of a batch of one.
fn one_result(answer: BatchSynced, patient: bool) -> Result<Synced, DependencyError> {
    match answer {
        BatchSynced::Written {
            patients,
            appointments,
        } => {
            let results = if patient { patients } else { appointments };
            results
                .into_iter()
                .next()
                .ok_or_else(|| DependencyError::new("store", "Sync", "NoResult"))
        }
        BatchSynced::NoPatient { .. } => Ok(Synced::NoPatient),
        // One record's writes are far below a transaction's limit.
        BatchSynced::TooLarge => Err(DependencyError::new("store", "Sync", "TooLarge")),
    }
}

/// The most items one DynamoDB transaction writes; the in-memory store keeps the same limit.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// The items that write `next` over `previous`: the patient item, each lookup key it has,
/// and the deletion of each key it no longer has.
pub fn patient_write_items(key: &ClinicKey, previous: Option<&Patient>, next: &Patient) -> usize {
    let new_keys = lookup_keys(key, next);
    let removed = previous.map_or(0, |previous| {
        lookup_keys(key, previous).difference(&new_keys).count()
    });
    1 + new_keys.len() + removed
}

#[async_trait]
pub trait EmrRecords: Send + Sync {
    /// Writes the patient and moves their lookup keys (their appointment cards kept), in
    /// one transaction, unless the stored patient is at a later order.
    async fn sync_patient(
        &self,
        key: &ClinicKey,
        update: &PatientSync,
    ) -> Result<Synced, DependencyError> {
        let batch = SyncBatch {
            patients: vec![update.clone()],
            appointments: Vec::new(),
        };
        one_result(self.sync_together(key, &batch).await?, true)
    }
    /// Writes the appointment with its card in its patient's lookup keys (and out of a
    /// former patient's), in one transaction, unless the stored appointment is at a later
    /// order. A status `Unclear` set by a reply stays until staff clear it; the EMR's
    /// status is kept beside it.
    async fn sync_appointment(
        &self,
        key: &ClinicKey,
        update: &AppointmentSync,
    ) -> Result<Synced, DependencyError> {
        let batch = SyncBatch {
            patients: Vec::new(),
            appointments: vec![update.clone()],
        };
        one_result(self.sync_together(key, &batch).await?, false)
    }
    /// Writes a transaction bundle's patients and appointments in one transaction: all or
    /// none. Each record is written unless what is stored is newer, by the rules of
    /// `sync_patient` and `sync_appointment`; every record appears once.
    async fn sync_together(
        &self,
        key: &ClinicKey,
        batch: &SyncBatch,
    ) -> Result<BatchSynced, DependencyError>;
    /// The patient whose health number this is: one key lookup.
    async fn patient_with_health_number(
        &self,
        key: &ClinicKey,
        number: &Phn,
    ) -> Result<Option<PatientId>, DependencyError>;
}

/// A patient as stored, for planning a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPatient {
    pub patient: Patient,
    pub cards: Vec<AppointmentCard>,
    pub version: u64,
    pub order: Option<UpdateOrder>,
    pub language: Option<Language>,
}

/// An appointment as stored, for planning a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAppointment {
    pub patient_id: PatientId,
    /// The status shown (`Unclear` after a reply).
    pub status: AppointmentStatus,
    pub version: u64,
    pub order: Option<UpdateOrder>,
}

/// A patient to write in a batch: what is stored (the write's condition) and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientWrite {
    pub previous: Option<StoredPatient>,
    pub next: StoredPatient,
}

/// An appointment to write in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentWrite {
    pub previous: Option<StoredAppointment>,
    /// With the status shown.
    pub appointment: Appointment,
    /// The EMR's status.
    pub emr_status: AppointmentStatus,
    pub order: UpdateOrder,
    pub version: u64,
    /// The patient as written with it: their version and language then.
    pub patient: PatientRecord,
}

/// What a batch does to what is stored: the answer, and the writes when there are any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    pub answer: BatchSynced,
    pub patients: Vec<PatientWrite>,
    pub appointments: Vec<AppointmentWrite>,
}

impl SyncBatch {
    /// The patients a plan needs read first: the batch's and its appointments'.
    pub fn patient_ids(&self) -> BTreeSet<PatientId> {
        self.patients
            .iter()
            .map(|update| update.patient.id.clone())
            .chain(
                self.appointments
                    .iter()
                    .map(|update| update.appointment.patient_id.clone()),
            )
            .collect()
    }

    /// Plans the batch over what is stored: `patients` must hold every stored patient of
    /// [`SyncBatch::patient_ids`] and the stored patient of each stored appointment (the
    /// appointment may move away from them), `appointments` every stored appointment of the
    /// batch. Each patient is written once, with all its changes; the same rules as one
    /// record at a time (a newer stored record stays; `Unclear` stays).
    pub fn plan(
        &self,
        key: &ClinicKey,
        patients: &BTreeMap<PatientId, StoredPatient>,
        appointments: &BTreeMap<AppointmentId, StoredAppointment>,
    ) -> BatchPlan {
        let nothing = |answer| BatchPlan {
            answer,
            patients: Vec::new(),
            appointments: Vec::new(),
        };
        // Each patient's state as the batch leaves it, from what is stored.
        let mut next: BTreeMap<PatientId, StoredPatient> = patients.clone();
        let mut changed: BTreeSet<PatientId> = BTreeSet::new();
        let mut stale: BTreeSet<PatientId> = BTreeSet::new();
        for update in &self.patients {
            let id = &update.patient.id;
            let stored = patients.get(id);
            if !update
                .order
                .may_replace(stored.and_then(|stored| stored.order.as_ref()))
            {
                stale.insert(id.clone());
                continue;
            }
            next.insert(
                id.clone(),
                StoredPatient {
                    patient: update.patient.clone(),
                    cards: stored
                        .map(|stored| stored.cards.clone())
                        .unwrap_or_default(),
                    version: stored.map_or(0, |stored| stored.version),
                    order: Some(update.order.clone()),
                    language: update.language,
                },
            );
            changed.insert(id.clone());
        }
        let mut written_appointments = Vec::new();
        let mut appointment_results = Vec::new();
        for (index, update) in self.appointments.iter().enumerate() {
            let appointment = &update.appointment;
            let stored = appointments.get(&appointment.id);
            if !update
                .order
                .may_replace(stored.and_then(|stored| stored.order.as_ref()))
            {
                appointment_results.push(Synced::Stale {
                    version: stored.map_or(0, |stored| stored.version),
                });
                continue;
            }
            if !next.contains_key(&appointment.patient_id) {
                return nothing(BatchSynced::NoPatient { appointment: index });
            }
            if let Some(former) = stored
                .map(|stored| &stored.patient_id)
                .filter(|former| **former != appointment.patient_id)
                && let Some(former_state) = next.get_mut(former)
            {
                former_state.cards.retain(|card| card.id != appointment.id);
                changed.insert(former.clone());
            }
            let state = next
                .get_mut(&appointment.patient_id)
                .expect("checked above");
            state.cards = with_card(std::mem::take(&mut state.cards), appointment);
            changed.insert(appointment.patient_id.clone());
            let version = stored.map_or(0, |stored| stored.version) + 1;
            appointment_results.push(Synced::Written { version });
            written_appointments.push((stored.cloned(), update, version));
        }
        // Every changed patient is written once, one version later.
        for id in &changed {
            if let Some(state) = next.get_mut(id) {
                state.version = patients.get(id).map_or(0, |stored| stored.version) + 1;
            }
        }
        let patient_writes: Vec<PatientWrite> = changed
            .iter()
            .filter_map(|id| {
                Some(PatientWrite {
                    previous: patients.get(id).cloned(),
                    next: next.get(id)?.clone(),
                })
            })
            .collect();
        let appointment_writes: Vec<AppointmentWrite> = written_appointments
            .into_iter()
            .map(|(previous, update, version)| {
                let state = &next[&update.appointment.patient_id];
                let shown = match previous.as_ref().map(|previous| previous.status) {
                    Some(AppointmentStatus::Unclear) => AppointmentStatus::Unclear,
                    _ => update.appointment.status,
                };
                AppointmentWrite {
                    previous,
                    appointment: Appointment {
                        status: shown,
                        ..update.appointment.clone()
                    },
                    emr_status: update.appointment.status,
                    order: update.order.clone(),
                    version,
                    patient: PatientRecord {
                        patient: state.patient.clone(),
                        version: state.version,
                        language: state.language,
                    },
                }
            })
            .collect();
        let items = patient_writes
            .iter()
            .map(|write| {
                patient_write_items(
                    key,
                    write.previous.as_ref().map(|previous| &previous.patient),
                    &write.next.patient,
                )
            })
            .sum::<usize>()
            + appointment_writes.len();
        if items > MAX_TRANSACTION_ITEMS {
            return nothing(BatchSynced::TooLarge);
        }
        let patients_answer = self
            .patients
            .iter()
            .map(|update| {
                let id = &update.patient.id;
                let version = next.get(id).map_or(0, |state| state.version);
                if stale.contains(id) {
                    Synced::Stale { version }
                } else {
                    Synced::Written { version }
                }
            })
            .collect();
        BatchPlan {
            answer: BatchSynced::Written {
                patients: patients_answer,
                appointments: appointment_results,
            },
            patients: patient_writes,
            appointments: appointment_writes,
        }
    }
}
