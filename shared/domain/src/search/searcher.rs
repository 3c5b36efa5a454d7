//! The search function's reads over its ports: patients found from the search box, an
//! appointment's details, and the clinic's templates and chats.

use std::sync::Arc;

use crate::{
    appointment_details::{AppointmentDetails, appointment_details},
    clinic_cache::ClinicCache,
    error::DomainError,
    ids::{AppointmentId, ClinicId},
    model::{Chat, Clinic, Template},
    ports::{AppointmentStore, ClinicStore, Clock, MessageStore, PatientDirectory},
};

use super::{SearchPage, SearchRequest, find_patients};

pub struct Searcher {
    pub clinics: Arc<ClinicCache>,
    pub clinic_records: Arc<dyn ClinicStore>,
    pub directory: Arc<dyn PatientDirectory>,
    pub appointments: Arc<dyn AppointmentStore>,
    pub messages: Arc<dyn MessageStore>,
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
        clinic: &ClinicId,
        request: &SearchRequest,
    ) -> Result<ForClinic<SearchPage>, DomainError> {
        let clinic = self.clinics.get(clinic).await?;
        let now = self.clock.now();
        let page = find_patients(self.directory.as_ref(), &clinic, request, now).await?;
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
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Result<ForClinic<AppointmentDetails>, DomainError> {
        let clinic = self.clinics.get(clinic).await?;
        let details = appointment_details(
            self.appointments.as_ref(),
            self.messages.as_ref(),
            &clinic.id,
            id,
        )
        .await?;
        Ok(ForClinic {
            clinic,
            now: self.clock.now(),
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
