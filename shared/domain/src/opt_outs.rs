//! Whether a clinic may text a number: not after the patient replied STOP to that clinic,
//! nor while the SMS service has the number opted out.

use futures_util::future::try_join;

use crate::{
    clinic_key::NumberTag,
    error::DependencyError,
    ids::ClinicId,
    phone::PhoneNumber,
    ports::{ClinicStore, SmsSender},
};

/// `tag` is `number` as the clinic's keys hold it. The two lists are asked together.
pub async fn is_opted_out(
    clinics: &dyn ClinicStore,
    sms: &dyn SmsSender,
    clinic: &ClinicId,
    number: &PhoneNumber,
    tag: &NumberTag,
) -> Result<bool, DependencyError> {
    let (by_clinic, by_sms_service) =
        try_join(clinics.is_opted_out(clinic, tag), sms.is_opted_out(number)).await?;
    Ok(by_clinic || by_sms_service)
}
