//! Whether a clinic may text a number: not after the patient replied STOP to that clinic,
//! nor while the SMS service has the number opted out.

use crate::{
    clinic_key::NumberTag,
    error::DependencyError,
    ids::ClinicId,
    phone::PhoneNumber,
    ports::{ClinicStore, SmsSender},
};

/// `tag` is `number` as the clinic's keys hold it.
pub async fn is_opted_out(
    clinics: &dyn ClinicStore,
    sms: &dyn SmsSender,
    clinic: &ClinicId,
    number: &PhoneNumber,
    tag: &NumberTag,
) -> Result<bool, DependencyError> {
    Ok(clinics.is_opted_out(clinic, tag).await? || sms.is_opted_out(number).await?)
}
