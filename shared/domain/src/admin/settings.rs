//! `GET /clinic` and `PATCH /clinic`: a clinic's administrators read and change its
//! settings (its time zone, SMS number and activation day are the operator's, for good).

use std::sync::Arc;

use serde::Deserialize;

use crate::{
    caller::Caller,
    clinic_profile::{AutoReplyText, display_name},
    error::DomainError,
    model::{AuditEntry, Clinic},
    ports::{ClinicAdmin, ClinicStore, Clock, SettingsChange},
};

use super::{
    onboarding::{language, phone},
    warnings,
};

/// The body of `PATCH /clinic`: the settings to change, the others left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsForm {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub unclear_response: Option<String>,
    pub help_response: Option<String>,
    pub default_language: Option<String>,
    pub unclear_response_fr: Option<String>,
    pub help_response_fr: Option<String>,
}

impl SettingsForm {
    /// The change, every field checked; and the warnings about the texts it sets.
    fn check(&self) -> Result<(SettingsChange, Vec<String>), DomainError> {
        let unclear =
            AutoReplyText::parse_given("unclear_response", self.unclear_response.as_deref())?;
        let help = AutoReplyText::parse_given("help_response", self.help_response.as_deref())?;
        let unclear_fr =
            AutoReplyText::parse_given("unclear_response_fr", self.unclear_response_fr.as_deref())?;
        let help_fr =
            AutoReplyText::parse_given("help_response_fr", self.help_response_fr.as_deref())?;
        let change = SettingsChange {
            name: self
                .name
                .as_deref()
                .map(|name| display_name("name", name))
                .transpose()?,
            phone: self
                .phone
                .as_deref()
                .map(|text| phone("phone", text))
                .transpose()?,
            unclear_response: unclear.as_ref().map(|reply| reply.text.clone()),
            help_response: help.as_ref().map(|reply| reply.text.clone()),
            default_language: self.default_language.as_deref().map(language).transpose()?,
            unclear_response_fr: unclear_fr.as_ref().map(|reply| reply.text.clone()),
            help_response_fr: help_fr.as_ref().map(|reply| reply.text.clone()),
        };
        if change.fields().is_empty() {
            return Err(DomainError::InvalidBody {
                reason: "it names no setting to change: send one or more of name, phone, unclear_response, help_response, default_language, unclear_response_fr, help_response_fr".to_owned(),
            });
        }
        let replies: Vec<_> = [
            ("unclear_response", &unclear),
            ("help_response", &help),
            ("unclear_response_fr", &unclear_fr),
            ("help_response_fr", &help_fr),
        ]
        .into_iter()
        .filter_map(|(field, reply)| reply.as_ref().map(|reply| (field, reply)))
        .collect();
        Ok((change, warnings(&replies)))
    }
}

pub struct ClinicSettings {
    pub clinics: Arc<dyn ClinicStore>,
    /// Writes each change with its audit entry.
    pub store: Arc<dyn ClinicAdmin>,
    pub clock: Arc<dyn Clock>,
}

const PROFILE: DomainError = DomainError::NotFound {
    what: "your clinic's profile",
};

impl ClinicSettings {
    pub async fn get(&self, caller: &Caller) -> Result<Clinic, DomainError> {
        self.clinics
            .get_clinic(&caller.clinic_id)
            .await?
            .ok_or(PROFILE)
    }

    /// Changes the settings the form names, and answers the clinic as it is now, with
    /// warnings about the texts.
    pub async fn change(
        &self,
        caller: &Caller,
        form: &SettingsForm,
    ) -> Result<(Clinic, Vec<String>), DomainError> {
        let (change, warnings) = form.check()?;
        let audit = AuditEntry {
            route: Some("PATCH /clinic".to_owned()),
            staff_user: Some(caller.user.clone()),
            ..AuditEntry::new(
                caller.clinic_id.clone(),
                self.clock.now(),
                "settings-changed",
                &change.fields().join(","),
            )
        };
        let clinic = self
            .store
            .change_settings(&caller.clinic_id, &change, &audit)
            .await?
            .ok_or(PROFILE)?;
        Ok((clinic, warnings))
    }
}
