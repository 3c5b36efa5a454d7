//! The rules a send must pass, in order, over what the store returned: pure, so that each
//! rule can be tested without ports.

use jiff::Timestamp;

use crate::{
    attachments,
    error::DomainError,
    message_kind::MessageKind,
    model::{Appointment, Chat, Clinic, Patient, Template},
    phn::Phn,
    phone::PhoneNumber,
    ports::{PatientRecord, SendRecords},
    template_text::{TemplateValues, render},
};

use super::request::SendRequest;

/// A send that passed every rule that needs no outside service: to whom, what it says, and
/// what its kind needs.
#[derive(Debug)]
pub struct Draft<'a> {
    pub appointment: &'a Appointment,
    pub patient: &'a Patient,
    /// The version of the patient the message is written for.
    pub patient_version: u64,
    pub phone: &'a PhoneNumber,
    /// Filled in from the appointment; PHI.
    pub text: String,
    pub chats: Vec<Chat>,
    /// The PHN a locked (secure) message opens with; `None` for kinds without a lock.
    pub unlock_phn: Option<&'a Phn>,
}

const APPOINTMENT_NOT_FOUND: DomainError = DomainError::NotFound {
    what: "the appointment",
};

/// Checks every rule of `request` against `records`, in the order staff should hear of them.
pub fn check<'a>(
    request: &'a SendRequest,
    records: &'a SendRecords,
    clinic: &Clinic,
    now: Timestamp,
) -> Result<Draft<'a>, DomainError> {
    let appointment = records.appointment.as_ref().ok_or(APPOINTMENT_NOT_FOUND)?;
    check_window(clinic, appointment, now)?;
    let PatientRecord { patient, version } =
        records.patient.as_ref().ok_or(APPOINTMENT_NOT_FOUND)?;
    let phone = patient.phone.as_ref().ok_or(DomainError::NoPhoneOnFile)?;
    let unlock_phn = unlock_phn(request, patient)?;
    let template = chosen_template(request, records.template.as_ref())?;
    let chats = chosen_chats(request, &records.chats)?;
    let text = filled_text(request, template, patient, clinic, appointment)?;
    request.kind.check_length(&text)?;
    Ok(Draft {
        appointment,
        patient,
        patient_version: *version,
        phone,
        text,
        chats,
        unlock_phn,
    })
}

/// Staff may message only appointments they can find.
fn check_window(
    clinic: &Clinic,
    appointment: &Appointment,
    now: Timestamp,
) -> Result<(), DomainError> {
    if !clinic.search_window(now).contains(appointment.starts_at) {
        return Err(DomainError::OutsideSearchWindow);
    }
    Ok(())
}

/// Files need a kind that carries them, within the attachment limits; a kind locked
/// behind the PHN needs the patient's PHN on file.
fn unlock_phn<'a>(
    request: &SendRequest,
    patient: &'a Patient,
) -> Result<Option<&'a Phn>, DomainError> {
    if !request.attachments.is_empty() && !request.kind.carries_files() {
        return Err(DomainError::AttachmentsOnBasic);
    }
    let phn = if request.kind.needs_phn() {
        Some(
            patient
                .phn
                .as_ref()
                .ok_or(DomainError::PhnRequiredForSecure)?,
        )
    } else {
        None
    };
    attachments::check_count(request.attachments.len())?;
    Ok(phn)
}

/// The template asked for, if any: it must exist, and a secure template's text (it may
/// hold health information) never travels in a basic SMS.
fn chosen_template<'a>(
    request: &SendRequest,
    found: Option<&'a Template>,
) -> Result<Option<&'a Template>, DomainError> {
    match found {
        None if request.template_id.is_some() => Err(DomainError::NotFound {
            what: "the template",
        }),
        Some(template)
            if request.kind == MessageKind::Basic && template.kind == MessageKind::Secure =>
        {
            Err(DomainError::SecureTemplateOnBasic)
        }
        found => Ok(found),
    }
}

/// The chats asked for, in the order asked; each must be the clinic's.
fn chosen_chats(request: &SendRequest, found: &[Chat]) -> Result<Vec<Chat>, DomainError> {
    request
        .chat_ids
        .iter()
        .map(|id| {
            found
                .iter()
                .find(|chat| &chat.id == id)
                .cloned()
                .ok_or(DomainError::NotFound { what: "a chat" })
        })
        .collect()
}

/// The text as written (or the template's), with its placeholders filled in.
fn filled_text(
    request: &SendRequest,
    template: Option<&Template>,
    patient: &Patient,
    clinic: &Clinic,
    appointment: &Appointment,
) -> Result<String, DomainError> {
    let text = request
        .text
        .as_deref()
        .or(template.map(|t| t.text.as_str()))
        .unwrap_or_default();
    if text.trim().is_empty() {
        return Err(DomainError::EmptyMessage);
    }
    let values = TemplateValues::for_appointment(
        &patient.first_name,
        &patient.last_name,
        &clinic.name,
        &appointment.provider_name,
        appointment.starts_at,
        &clinic.zone(),
    );
    Ok(render(text.trim(), &values)?)
}
