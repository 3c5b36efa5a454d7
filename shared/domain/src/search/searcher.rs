//! The search function's reads over its ports: patients found from the search box, an
//! appointment's details, and the clinic's templates and chats.

use std::sync::Arc;

use crate::{
    appointment_details::{AppointmentDetails, appointment_details},
    caller::Caller,
    clinic_cache::ClinicCache,
    clinic_keyring::ClinicKeyring,
    error::DomainError,
    ids::{AppointmentId, ClinicId},
    model::{AuditEntry, Chat, Clinic, Template},
    ports::{AppointmentStore, AuditLog, ClinicStore, Clock, MessageStore, PatientDirectory},
};

use super::{SearchPage, SearchRequest, find_patients};

pub struct Searcher {
    pub clinics: Arc<ClinicCache>,
    pub clinic_records: Arc<dyn ClinicStore>,
    pub directory: Arc<dyn PatientDirectory>,
    /// Opens the clinic's key, under which lookup keys are tags.
    pub keyring: Arc<ClinicKeyring>,
    pub appointments: Arc<dyn AppointmentStore>,
    pub messages: Arc<dyn MessageStore>,
    /// Every read of patient data is recorded before it is answered.
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

/// A result with the clinic it was read for and when: views show times in the clinic's
/// zone and decide expiry at `now`.
pub struct ForClinic<T> {
    pub clinic: Clinic,
    pub now: jiff::Timestamp,
    pub value: T,
}

impl Searcher {
    /// Patients of the clinic matching `request`, within its window.
    pub async fn find_patients(
        &self,
        caller: &Caller,
        request: &SearchRequest,
    ) -> Result<ForClinic<SearchPage>, DomainError> {
        let clinic = self.clinics.get(&caller.clinic_id).await?;
        let now = self.clock.now();
        let key = self.keyring.key(&clinic.id).await?;
        let page = find_patients(self.directory.as_ref(), &key, &clinic, request, now).await?;
        // One entry per patient shown (one for a search that showed none): which patients
        // a user saw, never what was searched for.
        let found = AuditEntry {
            route: Some("GET /patients".to_owned()),
            staff_user: Some(caller.user.clone()),
            ..AuditEntry::new(
                clinic.id.clone(),
                now,
                "patients-found",
                request.term.kind(),
            )
        };
        let entries: Vec<AuditEntry> = if page.matches.is_empty() {
            vec![AuditEntry {
                outcome: format!("{}, none found", request.term.kind()),
                ..found
            }]
        } else {
            page.matches
                .iter()
                .map(|found_match| AuditEntry {
                    patient_id: Some(found_match.patient.id.clone()),
                    ..found.clone()
                })
                .collect()
        };
        self.audit.append_all(&entries).await?;
        tracing::info!(
            clinic_id = %clinic.id,
            kind = request.term.kind(),
            results = page.matches.len(),
            items_read = page.items_read,
            "patient search"
        );
        Ok(ForClinic {
            clinic,
            now,
            value: page,
        })
    }

    pub async fn appointment_details(
        &self,
        caller: &Caller,
        id: &AppointmentId,
    ) -> Result<ForClinic<AppointmentDetails>, DomainError> {
        let clinic = self.clinics.get(&caller.clinic_id).await?;
        let details = appointment_details(
            self.appointments.as_ref(),
            self.messages.as_ref(),
            &clinic.id,
            id,
        )
        .await?;
        let now = self.clock.now();
        self.audit
            .append_all(&[AuditEntry {
                route: Some("GET /appointments/{appointmentId}".to_owned()),
                staff_user: Some(caller.user.clone()),
                patient_id: Some(details.patient.id.clone()),
                appointment_id: Some(id.clone()),
                ..AuditEntry::new(clinic.id.clone(), now, "appointment-viewed", "shown")
            }])
            .await?;
        Ok(ForClinic {
            clinic,
            now,
            value: details,
        })
    }

    pub async fn templates(&self, clinic: &ClinicId) -> Result<Vec<Template>, DomainError> {
        Ok(self.clinic_records.list_templates(clinic).await?)
    }

    pub async fn chats(&self, clinic: &ClinicId) -> Result<Vec<Chat>, DomainError> {
        Ok(self.clinic_records.list_chats(clinic).await?)
    }
}
