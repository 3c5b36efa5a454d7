//! The rules a send must pass, in order, over what the store returned: pure, so that each
//! rule can be tested without ports.

use jiff::Timestamp;

use crate::{
    attachments,
    error::DomainError,
    language::Language,
    message_kind::MessageKind,
    model::{Appointment, Chat, Clinic, Patient, Template},
    phn::Phn,
    phone::PhoneNumber,
    ports::{PatientRecord, SendRecords},
    sms_text::{Replacement, gsm7_friendly},
    template_text::render,
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
    /// Filled in from the appointment, GSM-7 friendly when it goes in the SMS; PHI.
    pub text: String,
    /// What was replaced to make the text GSM-7 friendly.
    pub replacements: Vec<Replacement>,
    /// The language the patient is written to in: the EMR's, else the clinic's default.
    pub language: Language,
    /// Set when the template had no text in the patient's language: the other's was used.
    pub language_fallback: Option<LanguageFallback>,
    pub chats: Vec<Chat>,
    /// The PHN a locked (secure) message opens with; `None` for kinds without a lock.
    pub unlock_phn: Option<&'a Phn>,
}

const APPOINTMENT_NOT_FOUND: DomainError = DomainError::NotFound {
    what: "the appointment",
};

/// Checks every rule of `request` against `records`: the first broken, in the order staff
/// should hear of them.
pub fn check<'a>(
    request: &'a SendRequest,
    records: &'a SendRecords,
    clinic: &Clinic,
    now: Timestamp,
) -> Result<Draft<'a>, DomainError> {
    let assessment = assess(request, records, clinic, now)?;
    match assessment.problems.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(assessment
            .draft
            .expect("a send that breaks no rule has a draft")),
    }
}

/// What a send of `request` would do: its text as far as it can be written, and every rule
/// it would break (a preview shows them all). Only a missing appointment is an error.
#[derive(Debug)]
pub struct Assessment<'a> {
    /// The message's text, filled in and GSM-7 friendly when it goes in the SMS; `None`
    /// when it cannot be written (no text, a missing template, a bad placeholder).
    pub text: Option<String>,
    pub replacements: Vec<Replacement>,
    pub language: Language,
    pub language_fallback: Option<LanguageFallback>,
    /// The chats found, in the order asked.
    pub chats: Vec<Chat>,
    /// Every rule broken, in the order staff should hear of them.
    pub problems: Vec<DomainError>,
    /// The send, when no rule is broken.
    pub draft: Option<Draft<'a>>,
}

/// Keeps `result`'s value, or its error among `problems`.
fn kept<T>(problems: &mut Vec<DomainError>, result: Result<T, DomainError>) -> Option<T> {
    result.map_err(|problem| problems.push(problem)).ok()
}

/// Checks every rule of `request` against `records`, keeping each broken one.
pub fn assess<'a>(
    request: &'a SendRequest,
    records: &'a SendRecords,
    clinic: &Clinic,
    now: Timestamp,
) -> Result<Assessment<'a>, DomainError> {
    let appointment = records.appointment.as_ref().ok_or(APPOINTMENT_NOT_FOUND)?;
    let PatientRecord {
        patient,
        version,
        language,
    } = records.patient.as_ref().ok_or(APPOINTMENT_NOT_FOUND)?;
    let language = language.unwrap_or(clinic.default_language);
    let mut problems = Vec::new();
    kept(&mut problems, check_window(clinic, appointment, now));
    if !appointment.status.takes_messages() {
        problems.push(DomainError::AppointmentClosed {
            status: appointment.status,
        });
    }
    let phone = kept(
        &mut problems,
        patient.phone.as_ref().ok_or(DomainError::NoPhoneOnFile),
    );
    let unlock_phn = kept(&mut problems, unlock_phn(request, patient));
    let template = kept(
        &mut problems,
        chosen_template(request, records.template.as_ref()),
    );
    let chats = kept(&mut problems, chosen_chats(request, &records.chats));
    let filled = template.and_then(|template| {
        kept(
            &mut problems,
            filled_text(request, template, patient, clinic, appointment, language),
        )
    });
    let (text, replacements, language_fallback) = match filled {
        Some((filled, fallback)) if request.kind.text_in_sms() => {
            let friendly = gsm7_friendly(&filled);
            (Some(friendly.text), friendly.replacements, fallback)
        }
        Some((filled, fallback)) => (Some(filled), Vec::new(), fallback),
        None => (None, Vec::new(), None),
    };
    if let Some(text) = &text {
        kept(&mut problems, request.kind.check_length(text));
    }
    let draft = match (phone, unlock_phn, &chats, &text) {
        (Some(phone), Some(unlock_phn), Some(chats), Some(text)) if problems.is_empty() => {
            Some(Draft {
                appointment,
                patient,
                patient_version: *version,
                phone,
                text: text.clone(),
                replacements: replacements.clone(),
                language,
                language_fallback,
                chats: chats.clone(),
                unlock_phn,
            })
        }
        _ => None,
    };
    Ok(Assessment {
        text,
        replacements,
        language,
        language_fallback,
        chats: chats.unwrap_or_default(),
        problems,
        draft,
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

/// A template sent in the other language than the patient's, which it had no text in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanguageFallback {
    pub wanted: Language,
    pub used: Language,
}

impl LanguageFallback {
    /// What the answer tells staff.
    pub fn note(self) -> String {
        let name = |language| match language {
            Language::En => "English",
            Language::Fr => "French",
        };
        format!(
            "the template has no {} text, the patient's language: it was written in {}",
            name(self.wanted),
            name(self.used)
        )
    }
}

/// The text as written (or the template's in `language`, else in the other), with its
/// placeholders filled in the language of the text.
fn filled_text(
    request: &SendRequest,
    template: Option<&Template>,
    patient: &Patient,
    clinic: &Clinic,
    appointment: &Appointment,
    language: Language,
) -> Result<(String, Option<LanguageFallback>), DomainError> {
    let (text, written_in) = match (request.text.as_deref(), template) {
        (Some(text), _) => (text, language),
        (None, Some(template)) => template.text_in(language).unwrap_or(("", language)),
        (None, None) => ("", language),
    };
    if text.trim().is_empty() {
        return Err(DomainError::EmptyMessage);
    }
    let values = appointment.template_values(patient, clinic, written_in);
    let fallback = (written_in != language).then_some(LanguageFallback {
        wanted: language,
        used: written_in,
    });
    Ok((render(text.trim(), &values)?, fallback))
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::{
        fakes::records::{appointment, clinic, now, patient},
        ids::{ChatId, TemplateId},
        model::ChatKind,
    };

    /// What the store returns for an appointment in two days of a patient with a PHN and a
    /// phone, and one chat.
    fn records() -> SendRecords {
        let patient = patient(Some("9698658215"), Some("+16045550123"));
        SendRecords {
            appointment: Some(appointment(
                "a1",
                &patient,
                now() + SignedDuration::from_hours(48),
            )),
            patient: Some(PatientRecord {
                patient,
                version: 3,
                language: None,
            }),
            idempotency_record: None,
            template: None,
            chats: vec![Chat {
                id: ChatId::parse("intake").unwrap(),
                title: "Intake".into(),
                kind: ChatKind::Form,
                link: "https://forms.example/intake".into(),
                version: 1,
            }],
        }
    }

    fn request(json: &str) -> SendRequest {
        serde_json::from_str(json).unwrap()
    }

    fn check_json(json: &str, records: &SendRecords) -> Result<String, DomainError> {
        check(&request(json), records, &clinic(), now()).map(|draft| draft.text)
    }

    #[test]
    fn a_basic_draft_has_its_text_filled_its_chats_and_no_lock() {
        let records = records();
        let request =
            request(r#"{"kind":"basic","text":"Hi {patient_first_name}","chat_ids":["intake"]}"#);
        let draft = check(&request, &records, &clinic(), now()).unwrap();
        assert_eq!(draft.text, "Hi Ava");
        assert_eq!(draft.chats.len(), 1);
        assert_eq!(draft.patient_version, 3);
        assert!(draft.unlock_phn.is_none());
    }

    #[test]
    fn a_secure_draft_is_locked_with_the_patients_phn() {
        let records = records();
        let request = request(r#"{"kind":"secure","text":"Results"}"#);
        let draft = check(&request, &records, &clinic(), now()).unwrap();
        assert_eq!(draft.unlock_phn.map(Phn::as_str), Some("9698658215"));
    }

    #[test]
    fn each_rule_is_checked_without_any_port() {
        let mut no_phn = records();
        no_phn.patient.as_mut().unwrap().patient.phn = None;
        let mut no_phone = records();
        no_phone.patient.as_mut().unwrap().patient.phone = None;
        let mut past_window = records();
        past_window.appointment.as_mut().unwrap().starts_at =
            now() + SignedDuration::from_hours(24 * 366 * 11);
        let mut secure_template = records();
        secure_template.template = Some(Template {
            id: TemplateId::parse("results").unwrap(),
            name: "Results".into(),
            kind: MessageKind::Secure,
            text: Some("Your results".into()),
            text_fr: None,
            version: 1,
        });
        let eleven_files: Vec<String> = (0..11)
            .map(|n| format!(r#"{{"id":"f{n}","file_name":"f{n}.pdf"}}"#))
            .collect();
        let too_many = format!(
            r#"{{"kind":"secure","text":"Hi","attachments":[{}]}}"#,
            eleven_files.join(",")
        );
        let cases: [(&str, SendRecords, &str); 10] = [
            (
                r#"{"kind":"secure","text":"Hi"}"#,
                no_phn,
                "phn-required-for-secure",
            ),
            (
                r#"{"kind":"basic","text":"Hi"}"#,
                no_phone,
                "no-phone-on-file",
            ),
            (
                r#"{"kind":"basic","text":"Hi"}"#,
                past_window,
                "outside-window",
            ),
            (
                r#"{"kind":"basic","template_id":"results"}"#,
                secure_template,
                "secure-template-on-basic",
            ),
            (
                r#"{"kind":"basic","text":"Hi","attachments":[{"id":"f1","file_name":"a.pdf"}]}"#,
                records(),
                "attachments-on-basic",
            ),
            (&too_many, records(), "too-many-attachments"),
            (
                r#"{"kind":"basic","template_id":"none"}"#,
                records(),
                "not-found",
            ),
            (
                r#"{"kind":"basic","text":"Hi","chat_ids":["x"]}"#,
                records(),
                "not-found",
            ),
            (r#"{"kind":"basic","text":" "}"#, records(), "empty-message"),
            (
                r#"{"kind":"basic","text":"{patient_dob}"}"#,
                records(),
                "template-invalid",
            ),
        ];
        for (json, records, problem) in cases {
            let error = check_json(json, &records).unwrap_err();
            assert!(error.problem().kind.ends_with(problem), "{json}: {error}");
        }
        let mut cancelled = records();
        cancelled.appointment.as_mut().unwrap().status =
            crate::appointment_status::AppointmentStatus::Cancelled;
        let error = check_json(r#"{"kind":"basic","text":"Hi"}"#, &cancelled).unwrap_err();
        assert!(
            error.problem().kind.ends_with("appointment-closed"),
            "{error}"
        );
        assert!(error.to_string().contains("Cancelled"), "{error}");
        let mut no_appointment = records();
        no_appointment.appointment = None;
        assert!(check_json(r#"{"kind":"basic","text":"Hi"}"#, &no_appointment).is_err());
    }

    #[test]
    fn the_length_limit_applies_to_the_filled_in_text() {
        // 150 characters of text and a 3-letter first name: 153 filled in, within 160.
        let text = format!("{}{{patient_first_name}}", "x".repeat(150));
        let json = format!(r#"{{"kind":"basic","text":"{text}"}}"#);
        assert_eq!(check_json(&json, &records()).unwrap().chars().count(), 153);
        let text = format!("{}{{patient_first_name}}", "x".repeat(158));
        let json = format!(r#"{{"kind":"basic","text":"{text}"}}"#);
        assert!(matches!(
            check_json(&json, &records()),
            Err(DomainError::BasicTooLong { chars: 161 })
        ));
    }
}
