//! FHIR R4 from the clinic's EMR, mapped to the model: a Patient to a patient with their
//! language, an Appointment to an appointment with its patient's reference, each with the
//! order of the update. What a resource lacks that messaging needs is an informational
//! issue; what breaks a rule is an error issue naming the element, never its value.

pub mod bundle;
pub mod outcome;
pub mod resources;

use jiff::{Timestamp, civil::Date};

use crate::{
    appointment_status::AppointmentStatus,
    email::Email,
    ids::{AppointmentId, PatientId},
    language::Language,
    model::Patient,
    name_text,
    phn::{Phn, PhnError},
    phone::PhoneNumber,
    update_order::UpdateOrder,
};

use outcome::{Issue, IssueCode};
use resources::{AppointmentResource, ContactPoint, HumanName, Meta, PatientResource, Reference};

/// The BC PHN's identifier system (Canada Health Infoway's URI registry).
pub const BC_PHN_SYSTEM: &str =
    "https://fhir.infoway-inforoute.ca/NamingSystem/ca-bc-patient-healthcare-id";
/// Other provinces' health numbers follow the same pattern, e.g. `ca-on-patient-hcn`.
const PROVINCIAL_SYSTEM_PREFIX: &str = "https://fhir.infoway-inforoute.ca/NamingSystem/ca-";

/// A patient as the EMR has them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientUpdate {
    pub patient: Patient,
    /// The language the patient prefers, when it is English or French.
    pub language: Option<Language>,
    pub order: UpdateOrder,
    /// What the patient cannot receive (no phone: no SMS; no PHN: no secure message).
    pub notices: Vec<Issue>,
}

/// How an appointment names its patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientReference {
    /// `Patient/{id}`.
    Id(PatientId),
    /// A conditional reference by the patient's BC PHN (or other health number).
    HealthNumber(Phn),
    /// Another entry of the same bundle, by its `fullUrl` (e.g. `urn:uuid:…`).
    BundleEntry(String),
}

/// An appointment as the EMR has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentUpdate {
    pub id: AppointmentId,
    pub patient: PatientReference,
    pub starts_at: Timestamp,
    pub provider_name: String,
    pub status: AppointmentStatus,
    pub order: UpdateOrder,
}

/// Maps a Patient; all the errors it has, when it has any.
pub fn patient_update(resource: &PatientResource) -> Result<PatientUpdate, Vec<Issue>> {
    let mut errors = Vec::new();
    let mut notices = Vec::new();
    let id = resource_id(
        resource.id.as_deref(),
        "Patient",
        PatientId::parse,
        &mut errors,
    );
    let order = update_order(resource.meta.as_ref(), "Patient", &mut errors);
    let phn = health_number(resource, &mut errors);
    if phn.is_none() {
        notices.push(Issue::information(
            "Patient.identifier",
            "no BC PHN or other provincial health number: the patient cannot receive secure messages",
        ));
    }
    let (first_name, last_name) = names(&resource.name);
    name_in_messages(&first_name, "Patient.name.given", &mut errors);
    name_in_messages(&last_name, "Patient.name.family", &mut errors);
    let phone = mobile_phone(&resource.telecom);
    if phone.is_none() {
        notices.push(Issue::information(
            "Patient.telecom",
            "no phone number that can receive text messages in Canada: the patient cannot be texted",
        ));
    }
    let email = resource
        .telecom
        .iter()
        .filter(|contact| contact.system.as_deref() == Some("email"))
        .find_map(|contact| Email::parse(contact.value.as_deref()?).ok());
    let (Some(id), Some(order), true) = (id, order, errors.is_empty()) else {
        return Err(errors);
    };
    Ok(PatientUpdate {
        patient: Patient {
            id,
            phn,
            first_name,
            last_name,
            date_of_birth: resource.birth_date.as_deref().and_then(full_date),
            phone,
            email,
        },
        language: preferred_language(resource),
        order,
        notices,
    })
}

/// Maps an Appointment; all the errors it has, when it has any.
pub fn appointment_update(resource: &AppointmentResource) -> Result<AppointmentUpdate, Vec<Issue>> {
    let mut errors = Vec::new();
    let id = resource_id(
        resource.id.as_deref(),
        "Appointment",
        AppointmentId::parse,
        &mut errors,
    );
    let order = update_order(resource.meta.as_ref(), "Appointment", &mut errors);
    let status = match resource.status.as_deref() {
        None => {
            errors.push(Issue::error(
                IssueCode::Required,
                "Appointment.status",
                "Appointment.status is required",
            ));
            None
        }
        Some(code) => AppointmentStatus::from_fhir(code).or_else(|| {
            errors.push(Issue::error(
                IssueCode::Value,
                "Appointment.status",
                "Appointment.status is not an R4 appointment status code (booked, arrived, \
                 checked-in, fulfilled, cancelled, noshow, entered-in-error, proposed, pending, \
                 waitlist)",
            ));
            None
        }),
    };
    let starts_at = match resource.start.as_deref() {
        None => {
            errors.push(Issue::error(
                IssueCode::Required,
                "Appointment.start",
                "Appointment.start is required: an appointment is found and messaged by when it is",
            ));
            None
        }
        Some(start) => start.parse::<Timestamp>().ok().or_else(|| {
            errors.push(Issue::error(
                IssueCode::Value,
                "Appointment.start",
                "Appointment.start is not a FHIR instant (e.g. 2026-12-11T19:15:00Z, with its offset)",
            ));
            None
        }),
    };
    let patient = patient_reference(resource, &mut errors);
    let provider_name = provider_name(resource);
    name_in_messages(
        &provider_name,
        "Appointment.participant.actor.display",
        &mut errors,
    );
    let (Some(id), Some(order), Some(status), Some(starts_at), Some(patient), true) =
        (id, order, status, starts_at, patient, errors.is_empty())
    else {
        return Err(errors);
    };
    Ok(AppointmentUpdate {
        id,
        patient,
        starts_at,
        provider_name,
        status,
        order,
    })
}

fn resource_id<T, E>(
    id: Option<&str>,
    resource: &str,
    parse: impl Fn(&str) -> Result<T, E>,
    errors: &mut Vec<Issue>,
) -> Option<T> {
    let expression = format!("{resource}.id");
    match id.map(str::trim) {
        None | Some("") => {
            errors.push(Issue::error(
                IssueCode::Required,
                &expression,
                format!("{expression} is required (the EMR's id of the record)"),
            ));
            None
        }
        Some(id) => parse(id).ok().or_else(|| {
            errors.push(Issue::error(
                IssueCode::Value,
                &expression,
                format!("{expression} must be 1 to 64 letters, digits, '-', '.' or '_'"),
            ));
            None
        }),
    }
}

fn update_order(
    meta: Option<&Meta>,
    resource: &str,
    errors: &mut Vec<Issue>,
) -> Option<UpdateOrder> {
    let meta = meta.cloned().unwrap_or_default();
    let last_updated = match meta.last_updated.as_deref() {
        None => None,
        Some(text) => match text.parse::<Timestamp>() {
            Ok(at) => Some(at),
            Err(_) => {
                let expression = format!("{resource}.meta.lastUpdated");
                errors.push(Issue::error(
                    IssueCode::Value,
                    &expression,
                    format!("{expression} is not a FHIR instant (e.g. 2026-11-30T17:05:00Z)"),
                ));
                return None;
            }
        },
    };
    Some(UpdateOrder::new(last_updated, meta.version_id.as_deref()))
}

/// The BC PHN, else another province's health number; identifiers of other systems are
/// ignored. A BC PHN that fails its check refuses the patient.
fn health_number(resource: &PatientResource, errors: &mut Vec<Issue>) -> Option<Phn> {
    let mut other_province = None;
    for (index, identifier) in resource.identifier.iter().enumerate() {
        let (Some(system), Some(value)) = (&identifier.system, &identifier.value) else {
            continue;
        };
        let expression = format!("Patient.identifier[{index}]");
        if system == BC_PHN_SYSTEM {
            match Phn::parse(value) {
                Ok(phn) if phn.is_bc() => return Some(phn),
                Ok(_) => errors.push(Issue::error(
                    IssueCode::Value,
                    &expression,
                    format!(
                        "{expression} is not a BC PHN: a BC PHN has 10 digits and starts with 9"
                    ),
                )),
                Err(error) => errors.push(phn_issue(&expression, &error)),
            }
        } else if system.starts_with(PROVINCIAL_SYSTEM_PREFIX) && system.contains("-patient-") {
            match Phn::parse_other_province(value) {
                Ok(number) => {
                    other_province.get_or_insert(number);
                }
                Err(error) => errors.push(phn_issue(&expression, &error)),
            }
        }
    }
    other_province
}

fn phn_issue(expression: &str, error: &PhnError) -> Issue {
    // The PHN error never repeats the number.
    Issue::error(
        IssueCode::Value,
        expression,
        format!("{expression}: {error}"),
    )
}

/// First and last name from the `official` name, else the first one: the first given name
/// (later ones are middle names) and the family name. Accents are kept.
fn names(names: &[HumanName]) -> (String, String) {
    let chosen = names
        .iter()
        .find(|name| name.name_use.as_deref() == Some("official"))
        .or(names.first());
    let Some(name) = chosen else {
        return (String::new(), String::new());
    };
    let first = name.given.first().map(|given| given.trim().to_owned());
    let last = name
        .family
        .as_deref()
        .map(|family| family.trim().to_owned());
    match (first, last) {
        (first, last) if first.is_some() || last.is_some() => {
            (first.unwrap_or_default(), last.unwrap_or_default())
        }
        // Only a text form ("Ava Smith"): its last word is the family name.
        _ => {
            let text = name.text.as_deref().unwrap_or_default().trim();
            match text.rsplit_once(' ') {
                Some((first, last)) => (first.trim().to_owned(), last.to_owned()),
                None => (text.to_owned(), String::new()),
            }
        }
    }
}

/// Names are written into text messages: one that could carry a link or a hidden control
/// character, or is too long, refuses its resource (the EMR corrects it).
fn name_in_messages(name: &str, expression: &str, errors: &mut Vec<Issue>) {
    if let Err(error) = name_text::check(name) {
        errors.push(Issue::error(
            IssueCode::Value,
            expression,
            format!("{expression} {error}: names are written into text messages to the patient"),
        ));
    }
}

/// A number that can receive SMS in Canada: a `mobile` phone first, else any phone.
fn mobile_phone(telecom: &[ContactPoint]) -> Option<PhoneNumber> {
    let textable =
        |contact: &&ContactPoint| matches!(contact.system.as_deref(), Some("phone" | "sms"));
    let parsed = |contact: &ContactPoint| {
        PhoneNumber::parse(contact.value.as_deref()?)
            .ok()
            .filter(PhoneNumber::is_canadian)
    };
    let mobile = telecom
        .iter()
        .filter(textable)
        .filter(|contact| contact.contact_use.as_deref() == Some("mobile"))
        .find_map(parsed);
    mobile.or_else(|| telecom.iter().filter(textable).find_map(parsed))
}

/// `communication` with `preferred: true`, else the only one given, when it is English
/// or French.
fn preferred_language(resource: &PatientResource) -> Option<Language> {
    let communication = resource
        .communication
        .iter()
        .find(|communication| communication.preferred == Some(true))
        .or(match resource.communication.as_slice() {
            [only] => Some(only),
            _ => None,
        })?;
    communication
        .language
        .coding
        .iter()
        .find_map(|coding| Language::from_tag(coding.code.as_deref()?))
}

/// A full `YYYY-MM-DD` birth date; a partial one (`1974`, `1974-12`) is not kept.
fn full_date(text: &str) -> Option<Date> {
    (text.len() == 10).then(|| text.parse().ok()).flatten()
}

fn patient_reference(
    resource: &AppointmentResource,
    errors: &mut Vec<Issue>,
) -> Option<PatientReference> {
    for (index, participant) in resource.participant.iter().enumerate() {
        let Some(actor) = &participant.actor else {
            continue;
        };
        let expression = format!("Appointment.participant[{index}].actor");
        match read_patient_reference(actor) {
            Some(Ok(reference)) => return Some(reference),
            Some(Err(diagnostics)) => {
                errors.push(Issue::error(IssueCode::Value, &expression, diagnostics));
                return None;
            }
            None => continue,
        }
    }
    errors.push(Issue::error(
        IssueCode::Required,
        "Appointment.participant",
        "the appointment names no Patient participant (Patient/{id}, a conditional reference \
         by identifier, or a bundle entry)",
    ));
    None
}

/// `None` when the reference is not to a patient.
fn read_patient_reference(actor: &Reference) -> Option<Result<PatientReference, String>> {
    let reference = actor.reference.as_deref().map(str::trim);
    if let Some(entry) =
        reference.filter(|r| r.starts_with("urn:uuid:") || r.starts_with("urn:oid:"))
    {
        return Some(Ok(PatientReference::BundleEntry(entry.to_owned())));
    }
    if let Some(query) = reference.and_then(|r| r.strip_prefix("Patient?")) {
        let identifier = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("identifier="))
            .map(|token| token.replace("%7C", "|").replace("%7c", "|"));
        return Some(
            match identifier
                .as_deref()
                .and_then(|token| token.split_once('|'))
            {
                Some((system, value)) => identifier_reference(system, value),
                None => Err(
                    "a conditional Patient reference must be Patient?identifier=<system>|<value>"
                        .to_owned(),
                ),
            },
        );
    }
    if let Some(id) = reference.and_then(|r| r.strip_prefix("Patient/")) {
        let id = id.split("/_history/").next().unwrap_or_default();
        return Some(PatientId::parse(id).map(PatientReference::Id).map_err(|_| {
            "the Patient reference's id must be 1 to 64 letters, digits, '-', '.' or '_'".to_owned()
        }));
    }
    if reference.is_none()
        && let Some(identifier) = &actor.identifier
        && let (Some(system), Some(value)) = (&identifier.system, &identifier.value)
    {
        return Some(identifier_reference(system, value));
    }
    None
}

fn identifier_reference(system: &str, value: &str) -> Result<PatientReference, String> {
    let number = if system == BC_PHN_SYSTEM {
        Phn::parse(value).ok().filter(Phn::is_bc)
    } else if system.starts_with(PROVINCIAL_SYSTEM_PREFIX) {
        Phn::parse_other_province(value).ok()
    } else {
        return Err(
            "a Patient is referenced by identifier only with a provincial health number system"
                .to_owned(),
        );
    };
    number
        .map(PatientReference::HealthNumber)
        .ok_or_else(|| "the referenced health number is not valid for its system".to_owned())
}

/// The `display` of the first Practitioner (or PractitionerRole) participant.
fn provider_name(resource: &AppointmentResource) -> String {
    resource
        .participant
        .iter()
        .filter_map(|participant| participant.actor.as_ref())
        .filter(|actor| {
            actor.reference.as_deref().is_some_and(|reference| {
                reference.starts_with("Practitioner/") || reference.starts_with("PractitionerRole/")
            })
        })
        .find_map(|actor| actor.display.as_deref().map(str::trim))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests;
