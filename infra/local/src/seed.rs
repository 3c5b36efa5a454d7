//! The demo clinic, from `infra/local/demo-clinic.json`: dates are relative to today so the
//! demo always has past and upcoming appointments.

use anyhow::{Context, Result};
use domain::{
    appointment_status::AppointmentStatus,
    clinic_key,
    email::Email,
    ids::{AppointmentId, ClinicId, IntegrationClientId, PatientId},
    language::Language,
    model::{Appointment, Chat, Clinic, Patient, Template},
    phn::Phn,
    phone::PhoneNumber,
    ports::{AppointmentStore, ClinicStore, EmrRecords, KeyService, PatientSync},
    update_order::UpdateOrder,
};
use jiff::{
    Timestamp, ToSpan,
    civil::{Date, Time},
    tz::TimeZone,
};
use serde::Deserialize;

pub const DEMO_CLINIC_JSON: &str = include_str!("../demo-clinic.json");
/// A second clinic, some of whose patients share names with the first's, so that their
/// isolation can be tried by hand.
pub const SECOND_DEMO_CLINIC_JSON: &str = include_str!("../demo-clinic-2.json");

#[derive(Deserialize)]
pub struct DemoData {
    pub clinic: DemoClinic,
    pub templates: Vec<Template>,
    pub chats: Vec<Chat>,
    pub patients: Vec<DemoPatient>,
}

#[derive(Deserialize)]
pub struct DemoClinic {
    pub id: ClinicId,
    pub name: String,
    pub time_zone: String,
    pub activated_days_ago: i32,
    pub sms_number: PhoneNumber,
    pub phone: PhoneNumber,
    pub unclear_response: String,
    /// For French-speaking patients; none: the English response.
    #[serde(default)]
    pub unclear_response_fr: String,
    /// The machine client of the clinic's EMR integration, bound to the clinic.
    pub integration_client: IntegrationClientId,
}

#[derive(Deserialize)]
pub struct DemoPatient {
    pub id: PatientId,
    pub phn: Option<Phn>,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<Date>,
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
    /// The language the EMR would give (`fr`); none: the clinic's default.
    #[serde(default)]
    pub language: Option<Language>,
    pub appointments: Vec<DemoAppointment>,
    /// The local carrier answers FAILURE (unreachable) for SMS to this patient's phone.
    #[serde(default)]
    pub unreachable: bool,
}

#[derive(Deserialize)]
pub struct DemoAppointment {
    pub id: AppointmentId,
    pub days_from_now: i32,
    /// Local time in the clinic's zone, `HH:MM`.
    pub time: Time,
    pub provider_name: String,
    pub status: AppointmentStatus,
}

impl DemoData {
    /// The phones the demo marks unreachable (E.164).
    pub fn unreachable_numbers(&self) -> impl Iterator<Item = String> + '_ {
        self.patients
            .iter()
            .filter(|patient| patient.unreachable)
            .filter_map(|patient| patient.phone.as_ref())
            .map(|phone| phone.as_e164().to_owned())
    }

    /// The demo clinic.
    pub fn load() -> Result<DemoData> {
        serde_json::from_str(DEMO_CLINIC_JSON).context("infra/local/demo-clinic.json is not valid")
    }

    /// The demo clinic, then the second one.
    pub fn all() -> Result<[DemoData; 2]> {
        let second = serde_json::from_str(SECOND_DEMO_CLINIC_JSON)
            .context("infra/local/demo-clinic-2.json is not valid")?;
        Ok([DemoData::load()?, second])
    }

    pub fn clinic(&self, now: Timestamp) -> Result<Clinic> {
        let zone = TimeZone::get(&self.clinic.time_zone)
            .with_context(|| format!("unknown time zone {}", self.clinic.time_zone))?;
        let today = now.to_zoned(zone).date();
        Ok(Clinic {
            id: self.clinic.id.clone(),
            name: self.clinic.name.clone(),
            time_zone: self.clinic.time_zone.clone(),
            activated_on: today.checked_sub(self.clinic.activated_days_ago.days())?,
            sms_number: self.clinic.sms_number.clone(),
            phone: self.clinic.phone.clone(),
            unclear_response: self.clinic.unclear_response.clone(),
            help_response: String::new(),
            default_language: Default::default(),
            unclear_response_fr: self.clinic.unclear_response_fr.clone(),
            help_response_fr: String::new(),
        })
    }
}

/// Writes the demo clinic with its root key (made by `keys`, as onboarding makes it), its
/// templates, chats, patients and appointments.
pub async fn seed<S: ClinicStore + AppointmentStore + EmrRecords>(
    store: &S,
    keys: &dyn KeyService,
    data: &DemoData,
    now: Timestamp,
) -> Result<Clinic> {
    let clinic = data.clinic(now)?;
    store.put_clinic(&clinic).await?;
    let root_key = keys
        .generate_wrapped_key(&clinic_key::encryption_context(&clinic.id))
        .await?;
    store.put_root_key(&clinic.id, &root_key).await?;
    let root = keys
        .decrypt_data_key(&root_key, &clinic_key::encryption_context(&clinic.id))
        .await?;
    let key = clinic_key::ClinicKey::from_root(&clinic.id, root.expose())?;
    store
        .put_integration_client(&data.clinic.integration_client, &clinic.id)
        .await?;
    // Seeded items start at version 1, as the admin routes create them.
    for template in &data.templates {
        let template = Template {
            version: template.version.max(1),
            ..template.clone()
        };
        store.put_template(&clinic.id, &template).await?;
    }
    for chat in &data.chats {
        let chat = Chat {
            version: chat.version.max(1),
            ..chat.clone()
        };
        store.put_chat(&clinic.id, &chat).await?;
    }
    let today = now.to_zoned(clinic.zone()).date();
    for demo in &data.patients {
        let patient = Patient {
            id: demo.id.clone(),
            phn: demo.phn.clone(),
            first_name: demo.first_name.clone(),
            last_name: demo.last_name.clone(),
            date_of_birth: demo.date_of_birth,
            phone: demo.phone.clone(),
            email: demo.email.clone(),
        };
        if demo.language.is_some() {
            // As the EMR gives a language: the patient's later writes keep it.
            let sync = PatientSync {
                patient: patient.clone(),
                language: demo.language,
                order: UpdateOrder::new(Some(now), None),
            };
            store.sync_patient(&key, &sync).await?;
        }
        for visit in &demo.appointments {
            let day = today.checked_add(visit.days_from_now.days())?;
            let starts_at = day
                .to_datetime(visit.time)
                .to_zoned(clinic.zone())?
                .timestamp();
            let appointment = Appointment {
                id: visit.id.clone(),
                patient_id: patient.id.clone(),
                starts_at,
                provider_name: visit.provider_name.clone(),
                status: visit.status,
            };
            store
                .upsert_appointment_with_patient(&key, &patient, &appointment)
                .await?;
        }
    }
    Ok(clinic)
}
