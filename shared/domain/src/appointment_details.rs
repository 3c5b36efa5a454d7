//! An appointment's details page: the patient, the appointment and the messages sent for it
//! (never a secure message's content).

use crate::{
    error::DomainError,
    ids::{AppointmentId, ClinicId},
    model::{Appointment, Patient, SentMessage},
    ports::{AppointmentStore, MessageStore},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentDetails {
    pub patient: Patient,
    pub appointment: Appointment,
    pub messages: Vec<SentMessage>,
}

/// Another clinic's appointment is "not found", exactly like a missing one.
pub async fn appointment_details(
    appointments: &dyn AppointmentStore,
    messages: &dyn MessageStore,
    clinic: &ClinicId,
    id: &AppointmentId,
) -> Result<AppointmentDetails, DomainError> {
    const NOT_FOUND: DomainError = DomainError::NotFound {
        what: "the appointment",
    };
    let appointment = appointments
        .get_appointment(clinic, id)
        .await?
        .ok_or(NOT_FOUND)?;
    let patient = appointments
        .get_patient(clinic, &appointment.patient_id)
        .await?
        .ok_or(NOT_FOUND)?;
    let messages = messages.messages_for_appointment(clinic, id).await?;
    Ok(AppointmentDetails {
        patient,
        appointment,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        appointment_status::AppointmentStatus,
        fakes::{MemoryStore, records},
        ids::{MessageId, StaffUserId},
        message_kind::MessageKind,
        model::SmsStatus,
    };

    async fn store_with_appointment() -> MemoryStore {
        let store = MemoryStore::default();
        let patient = records::patient(None, None);
        let appointment =
            records::appointment("a1", &patient, "2030-01-01T17:00:00Z".parse().unwrap());
        let clinic = ClinicId::parse("c1").unwrap();
        store
            .upsert_appointment_with_patient(
                &crate::fakes::test_clinic_key(&clinic),
                &patient,
                &appointment,
            )
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn details_hold_patient_appointment_and_messages_newest_first() {
        let store = store_with_appointment().await;
        let clinic = ClinicId::parse("c1").unwrap();
        let id = AppointmentId::parse("a1").unwrap();
        for (n, at) in ["2029-12-01T00:00:00Z", "2029-12-02T00:00:00Z"]
            .iter()
            .enumerate()
        {
            store.add_message(
                &clinic,
                &id,
                SentMessage {
                    id: MessageId::from_random([n as u8; 16]),
                    kind: MessageKind::Basic,
                    sent_at: at.parse().unwrap(),
                    sent_by: StaffUserId::parse("u1").unwrap(),
                    sms_status: SmsStatus::Sent,
                    expires_at: None,
                    opened_at: None,
                    delivery: None,
                    withdrawn_at: None,
                    resent_at: None,
                    locked: None,
                },
            );
        }
        let details = appointment_details(&store, &store, &clinic, &id)
            .await
            .unwrap();
        assert_eq!(details.patient.id.as_str(), "p1");
        assert_eq!(details.appointment.status, AppointmentStatus::Booked);
        assert_eq!(details.messages.len(), 2);
        assert!(details.messages[0].sent_at > details.messages[1].sent_at);
    }

    #[tokio::test]
    async fn another_clinics_appointment_is_not_found_like_a_missing_one() {
        let store = store_with_appointment().await;
        let other = ClinicId::parse("c2").unwrap();
        let theirs =
            appointment_details(&store, &store, &other, &AppointmentId::parse("a1").unwrap()).await;
        let missing = appointment_details(
            &store,
            &store,
            &ClinicId::parse("c1").unwrap(),
            &AppointmentId::parse("zz").unwrap(),
        )
        .await;
        for result in [theirs, missing] {
            assert!(matches!(
                result,
                Err(DomainError::NotFound {
                    what: "the appointment"
                })
            ));
        }
    }
}
