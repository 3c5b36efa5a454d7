//! Patients and appointments as the clinic's EMR sends them: each write ordered by the
//! EMR's own update order, so that an older update arriving late changes nothing.

use async_trait::async_trait;

use crate::{
    error::DependencyError,
    ids::{ClinicId, PatientId},
    language::Language,
    model::{Appointment, Patient},
    phn::Phn,
    update_order::UpdateOrder,
};

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

#[async_trait]
pub trait EmrRecords: Send + Sync {
    /// Writes the patient and moves their lookup keys (their appointment cards kept), in
    /// one transaction, unless the stored patient is at a later order.
    async fn sync_patient(
        &self,
        clinic: &ClinicId,
        update: &PatientSync,
    ) -> Result<Synced, DependencyError>;
    /// Writes the appointment with its card in its patient's lookup keys (and out of a
    /// former patient's), in one transaction, unless the stored appointment is at a later
    /// order. A status `Unclear` set by a reply stays until staff clear it; the EMR's
    /// status is kept beside it.
    async fn sync_appointment(
        &self,
        clinic: &ClinicId,
        update: &AppointmentSync,
    ) -> Result<Synced, DependencyError>;
    /// The patient whose health number this is: one key lookup.
    async fn patient_with_health_number(
        &self,
        clinic: &ClinicId,
        number: &Phn,
    ) -> Result<Option<PatientId>, DependencyError>;
}
