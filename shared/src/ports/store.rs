//! Stores of clinic records and of appointments with their patients.

use async_trait::async_trait;

use crate::{
    error::DependencyError,
    ids::{AppointmentId, ClinicId, PatientId},
    model::{Appointment, AppointmentCard, Chat, Clinic, Patient, SentMessage, Template},
    phone::PhoneNumber,
};

#[async_trait]
pub trait ClinicStore: Send + Sync {
    async fn put_clinic(&self, clinic: &Clinic) -> Result<(), DependencyError>;
    async fn get_clinic(&self, id: &ClinicId) -> Result<Option<Clinic>, DependencyError>;
    /// The clinic whose SMS origination number this is (replies arrive there).
    async fn find_clinic_by_sms_number(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<Clinic>, DependencyError>;
    async fn put_template(
        &self,
        clinic: &ClinicId,
        template: &Template,
    ) -> Result<(), DependencyError>;
    async fn list_templates(&self, clinic: &ClinicId) -> Result<Vec<Template>, DependencyError>;
    async fn put_chat(&self, clinic: &ClinicId, chat: &Chat) -> Result<(), DependencyError>;
    async fn list_chats(&self, clinic: &ClinicId) -> Result<Vec<Chat>, DependencyError>;
}

#[async_trait]
pub trait AppointmentStore: Send + Sync {
    /// Writes the appointment, its patient and the patient's lookup keys (PHN, phone,
    /// email, names) in one transaction, removing lookup keys the patient no longer has.
    /// Each lookup key carries the patient and their appointment cards, so that a search
    /// is one Query.
    async fn upsert_appointment_with_patient(
        &self,
        clinic: &ClinicId,
        patient: &Patient,
        appointment: &Appointment,
    ) -> Result<(), DependencyError>;
    async fn get_patient(
        &self,
        clinic: &ClinicId,
        id: &PatientId,
    ) -> Result<Option<Patient>, DependencyError>;
    async fn get_appointment(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Result<Option<Appointment>, DependencyError>;
}

/// A patient under one of their lookup keys, as search reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The lookup key's sort key: where a later page starts.
    pub sort_key: String,
    pub patient: Patient,
    pub appointments: Vec<AppointmentCard>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryPage {
    pub entries: Vec<DirectoryEntry>,
    /// No entry under this key is left after this page.
    pub exhausted: bool,
    /// Items the store read for this page (the cost of a search).
    pub items_read: usize,
}

/// The patients' lookup keys.
#[async_trait]
pub trait PatientDirectory: Send + Sync {
    /// Up to `limit` entries under `key` whose sort key starts with `sort_prefix`, in sort-key
    /// order, after the sort key `after` when given. One Query.
    async fn lookup(
        &self,
        key: &str,
        sort_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<DirectoryPage, DependencyError>;
}

/// Messages sent to patients.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// The messages sent for an appointment, newest first.
    async fn messages_for_appointment(
        &self,
        clinic: &ClinicId,
        appointment: &AppointmentId,
    ) -> Result<Vec<SentMessage>, DependencyError>;
}
