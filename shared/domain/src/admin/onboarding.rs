//! `POST /clinics`: the platform's operator onboards a clinic.

use std::sync::Arc;

use serde::Deserialize;

use crate::{
    clinic_key,
    clinic_profile::{AutoReplyText, display_name, time_zone},
    error::DomainError,
    ids::{ClinicId, IntegrationClientId, StaffUserId},
    language::Language,
    model::{AuditEntry, Clinic},
    phone::PhoneNumber,
    ports::{ClinicAdmin, ClinicCreated, ClinicStore, Clock, KeyService},
    random::{RandomSource, bytes},
};

use super::warnings;

/// The body of `POST /clinics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClinicForm {
    pub name: String,
    pub time_zone: String,
    /// The clinic's own SMS origination number (E.164), used by no other clinic.
    pub sms_number: String,
    /// The clinic's voice line.
    pub phone: String,
    pub unclear_response: String,
    pub help_response: String,
    #[serde(default)]
    pub default_language: Option<String>,
    /// The responses in French, for French-speaking patients.
    #[serde(default)]
    pub unclear_response_fr: Option<String>,
    #[serde(default)]
    pub help_response_fr: Option<String>,
}

/// The body of `PUT /clinics/{clinicId}/integration`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationForm {
    /// The Cognito app client (client-credentials grant, `fhir/write` scope) of the
    /// clinic's EMR.
    pub client_id: String,
}

/// A language setting: `en` or `fr`.
pub(super) fn language(text: &str) -> Result<Language, DomainError> {
    match text.trim() {
        "en" => Ok(Language::En),
        "fr" => Ok(Language::Fr),
        _ => Err(DomainError::InvalidField {
            field: "default_language",
            reason: "must be en or fr".to_owned(),
        }),
    }
}

pub(super) fn phone(field: &'static str, text: &str) -> Result<PhoneNumber, DomainError> {
    PhoneNumber::parse(text).map_err(|error| DomainError::InvalidField {
        field,
        reason: error.to_string(),
    })
}

/// A clinic as onboarded, and what the operator should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onboarded {
    pub clinic: Clinic,
    pub warnings: Vec<String>,
}

pub struct Onboarding {
    pub clinics: Arc<dyn ClinicStore>,
    /// Writes each change with its audit entry.
    pub store: Arc<dyn ClinicAdmin>,
    /// Makes each new clinic's root key (`clinic_key`), wrapped.
    pub keys: Arc<dyn KeyService>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
}

impl Onboarding {
    /// Checks every field, then writes the clinic with a new id, activated today in its
    /// own time zone (the first day its search window holds, for good).
    pub async fn onboard(
        &self,
        operator: &StaffUserId,
        form: &NewClinicForm,
    ) -> Result<Onboarded, DomainError> {
        let name = display_name("name", &form.name)?;
        let time_zone = time_zone(&form.time_zone)?;
        let sms_number = phone("sms_number", &form.sms_number)?;
        let contact = phone("phone", &form.phone)?;
        let unclear = AutoReplyText::parse("unclear_response", &form.unclear_response)?;
        let help = AutoReplyText::parse("help_response", &form.help_response)?;
        let unclear_fr =
            AutoReplyText::parse_given("unclear_response_fr", form.unclear_response_fr.as_deref())?;
        let help_fr =
            AutoReplyText::parse_given("help_response_fr", form.help_response_fr.as_deref())?;
        let default_language = match &form.default_language {
            Some(text) => language(text)?,
            None => Language::En,
        };
        let now = self.clock.now();
        let id: [u8; 8] = bytes(self.random.as_ref());
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let mut clinic = Clinic {
            id: ClinicId::parse(&format!("clinic-{hex}")).expect("hex digits make a clinic id"),
            name,
            time_zone,
            activated_on: jiff::civil::Date::default(),
            sms_number,
            phone: contact,
            unclear_response: unclear.text.clone(),
            help_response: help.text.clone(),
            default_language,
            unclear_response_fr: unclear_fr
                .as_ref()
                .map(|reply| reply.text.clone())
                .unwrap_or_default(),
            help_response_fr: help_fr
                .as_ref()
                .map(|reply| reply.text.clone())
                .unwrap_or_default(),
        };
        clinic.activated_on = now.to_zoned(clinic.zone()).date();
        let audit = AuditEntry {
            route: Some("POST /clinics".to_owned()),
            staff_user: Some(operator.clone()),
            ..AuditEntry::new(clinic.id.clone(), now, "clinic-onboarded", "created")
        };
        let root_key = self
            .keys
            .generate_wrapped_key(&clinic_key::encryption_context(&clinic.id))
            .await?;
        match self.store.create_clinic(&clinic, &root_key, &audit).await? {
            ClinicCreated::Created => {}
            ClinicCreated::SmsNumberTaken => return Err(DomainError::SmsNumberTaken),
        }
        tracing::info!(clinic_id = %clinic.id, "clinic onboarded");
        Ok(Onboarded {
            warnings: warnings(
                &[
                    ("unclear_response", Some(&unclear)),
                    ("help_response", Some(&help)),
                    ("unclear_response_fr", unclear_fr.as_ref()),
                    ("help_response_fr", help_fr.as_ref()),
                ]
                .into_iter()
                .filter_map(|(field, reply)| reply.map(|reply| (field, reply)))
                .collect::<Vec<_>>(),
            ),
            clinic,
        })
    }

    /// Binds the clinic's EMR integration client: its token then writes the clinic's
    /// patients and appointments, and no other clinic's.
    pub async fn bind_integration(
        &self,
        operator: &StaffUserId,
        clinic: &ClinicId,
        form: &IntegrationForm,
    ) -> Result<IntegrationClientId, DomainError> {
        let client = IntegrationClientId::parse(form.client_id.trim())?;
        if self.clinics.get_clinic(clinic).await?.is_none() {
            return Err(DomainError::NotFound { what: "the clinic" });
        }
        let audit = AuditEntry {
            route: Some("PUT /clinics/{clinicId}/integration".to_owned()),
            reference: Some(client.to_string()),
            staff_user: Some(operator.clone()),
            ..AuditEntry::new(
                clinic.clone(),
                self.clock.now(),
                "integration-bound",
                "bound",
            )
        };
        if !self
            .store
            .bind_integration_client(&client, clinic, &audit)
            .await?
        {
            return Err(DomainError::IntegrationClientTaken);
        }
        Ok(client)
    }
}
