//! Stores of clinic records and of appointments with their patients.

use async_trait::async_trait;

use crate::{
    error::DependencyError,
    ids::{AppointmentId, ClinicId, PatientId},
    model::{Appointment, Chat, Clinic, Patient, Template},
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
    async fn put_template(&self, clinic: &ClinicId, template: &Template)
    -> Result<(), DependencyError>;
    async fn list_templates(&self, clinic: &ClinicId) -> Result<Vec<Template>, DependencyError>;
    async fn put_chat(&self, clinic: &ClinicId, chat: &Chat) -> Result<(), DependencyError>;
    async fn list_chats(&self, clinic: &ClinicId) -> Result<Vec<Chat>, DependencyError>;
}

#[async_trait]
pub trait AppointmentStore: Send + Sync {
    /// Writes the appointment, its patient and the patient's lookup keys (PHN, phone,
    /// email, names) in one transaction, removing lookup keys the patient no longer has.
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
