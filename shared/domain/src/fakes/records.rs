//! Sample records for the domain's tests: one clinic, its patients and appointments, with
//! the values most tests need; a test changes the field its rule is about.

use jiff::{Timestamp, civil::date};

use crate::{
    appointment_status::AppointmentStatus,
    ids::{AppointmentId, ClinicId, PatientId},
    model::{Appointment, Clinic, Patient},
    phn::Phn,
    phone::PhoneNumber,
};

/// The instant the tests run at.
pub fn now() -> Timestamp {
    "2026-11-25T18:00:00Z".parse().expect("a valid timestamp")
}

/// Harbourview Clinic (`c1`), in Vancouver, activated at the start of 2025, texting from
/// +1 250 555 0100.
pub fn clinic() -> Clinic {
    Clinic {
        id: ClinicId::parse("c1").expect("a valid id"),
        name: "Harbourview Clinic".into(),
        time_zone: "America/Vancouver".into(),
        activated_on: date(2025, 1, 1),
        sms_number: PhoneNumber::parse("+12505550100").expect("a valid number"),
        phone: PhoneNumber::parse("+12505550101").expect("a valid number"),
        unclear_response: "Call us.".into(),
        help_response: String::new(),
        default_language: Default::default(),
        unclear_response_fr: String::new(),
        help_response_fr: String::new(),
    }
}

/// Patient `p1`, Ava Smith, with the PHN and phone given.
pub fn patient(phn: Option<&str>, phone: Option<&str>) -> Patient {
    Patient {
        id: PatientId::parse("p1").expect("a valid id"),
        phn: phn.map(|phn| Phn::parse(phn).expect("a valid PHN")),
        first_name: "Ava".into(),
        last_name: "Smith".into(),
        date_of_birth: None,
        phone: phone.map(|phone| PhoneNumber::parse(phone).expect("a valid number")),
        email: None,
    }
}

/// A booked appointment `id` of `patient` with Dr. Chen.
pub fn appointment(id: &str, patient: &Patient, starts_at: Timestamp) -> Appointment {
    Appointment {
        id: AppointmentId::parse(id).expect("a valid id"),
        patient_id: patient.id.clone(),
        starts_at,
        provider_name: "Dr. Chen".into(),
        status: AppointmentStatus::Booked,
    }
}
