//! Whether a clinic may text a number: not after the patient replied STOP to that clinic,
//! nor while the SMS service has the number opted out.

use crate::{
    error::DependencyError,
    ids::ClinicId,
    phone::PhoneNumber,
    ports::{ClinicStore, SmsSender},
};

pub async fn is_opted_out(
    clinics: &dyn ClinicStore,
    sms: &dyn SmsSender,
    clinic: &ClinicId,
    number: &PhoneNumber,
) -> Result<bool, DependencyError> {
    Ok(clinics.is_opted_out(clinic, number).await? || sms.is_opted_out(number).await?)
}
