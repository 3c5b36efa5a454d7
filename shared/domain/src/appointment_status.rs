//! The status of an appointment, including `Unclear` for appointments whose patient replied.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where an appointment stands. Stored and sent as its PascalCase name, e.g. `"NoShow"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AppointmentStatus {
    /// Proposed, pending or on a waitlist in the EMR: not yet booked.
    Pending,
    Booked,
    Confirmed,
    /// The patient arrived or checked in.
    Arrived,
    Cancelled,
    Completed,
    NoShow,
    /// Entered by mistake in the EMR; kept with its history, never messaged.
    EnteredInError,
    /// The patient replied to a one-way message; the clinic should follow up.
    Unclear,
}

/// A string that names no appointment status.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error(
    "unknown appointment status; expected one of Pending, Booked, Confirmed, Arrived, Cancelled, Completed, NoShow, EnteredInError, Unclear"
)]
pub struct UnknownAppointmentStatus;

impl AppointmentStatus {
    pub const ALL: [AppointmentStatus; 9] = [
        AppointmentStatus::Pending,
        AppointmentStatus::Booked,
        AppointmentStatus::Confirmed,
        AppointmentStatus::Arrived,
        AppointmentStatus::Cancelled,
        AppointmentStatus::Completed,
        AppointmentStatus::NoShow,
        AppointmentStatus::EnteredInError,
        AppointmentStatus::Unclear,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Pending => "Pending",
            AppointmentStatus::Booked => "Booked",
            AppointmentStatus::Confirmed => "Confirmed",
            AppointmentStatus::Arrived => "Arrived",
            AppointmentStatus::Cancelled => "Cancelled",
            AppointmentStatus::Completed => "Completed",
            AppointmentStatus::NoShow => "NoShow",
            AppointmentStatus::EnteredInError => "EnteredInError",
            AppointmentStatus::Unclear => "Unclear",
        }
    }

    /// A cancelled appointment, or one entered in error, takes no new message; its history
    /// stays.
    pub fn takes_messages(self) -> bool {
        !matches!(
            self,
            AppointmentStatus::Cancelled | AppointmentStatus::EnteredInError
        )
    }

    /// The status of an appointment as the EMR's FHIR `Appointment.status` code names it;
    /// `None` for a code R4 does not define.
    pub fn from_fhir(code: &str) -> Option<AppointmentStatus> {
        Some(match code {
            "proposed" | "pending" | "waitlist" => AppointmentStatus::Pending,
            "booked" => AppointmentStatus::Booked,
            "arrived" | "checked-in" => AppointmentStatus::Arrived,
            "fulfilled" => AppointmentStatus::Completed,
            "cancelled" => AppointmentStatus::Cancelled,
            "noshow" => AppointmentStatus::NoShow,
            "entered-in-error" => AppointmentStatus::EnteredInError,
            _ => return None,
        })
    }
}

impl fmt::Display for AppointmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AppointmentStatus {
    type Err = UnknownAppointmentStatus;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        AppointmentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or(UnknownAppointmentStatus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_pascal_case_name() {
        for status in AppointmentStatus::ALL {
            assert_eq!(status.as_str().parse::<AppointmentStatus>(), Ok(status));
            let json = serde_json::to_string(&status).expect("serialize");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            let back: AppointmentStatus = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, status);
        }
    }

    #[test]
    fn unclear_is_spelled_unclear_in_pascal_case() {
        assert_eq!(AppointmentStatus::Unclear.as_str(), "Unclear");
        assert_eq!(AppointmentStatus::NoShow.to_string(), "NoShow");
    }

    #[test]
    fn unknown_or_differently_cased_status_is_an_error() {
        for value in ["", "unclear", "NOSHOW", "No Show", "Waitlist"] {
            assert_eq!(
                value.parse::<AppointmentStatus>(),
                Err(UnknownAppointmentStatus)
            );
        }
        assert!(serde_json::from_str::<AppointmentStatus>("\"Waitlist\"").is_err());
    }

    #[test]
    fn every_fhir_r4_appointment_status_maps_to_one_of_ours() {
        let codes = [
            ("proposed", AppointmentStatus::Pending),
            ("pending", AppointmentStatus::Pending),
            ("waitlist", AppointmentStatus::Pending),
            ("booked", AppointmentStatus::Booked),
            ("arrived", AppointmentStatus::Arrived),
            ("checked-in", AppointmentStatus::Arrived),
            ("fulfilled", AppointmentStatus::Completed),
            ("cancelled", AppointmentStatus::Cancelled),
            ("noshow", AppointmentStatus::NoShow),
            ("entered-in-error", AppointmentStatus::EnteredInError),
        ];
        for (code, status) in codes {
            assert_eq!(AppointmentStatus::from_fhir(code), Some(status), "{code}");
        }
        for unknown in ["", "Booked", "done", "unclear"] {
            assert_eq!(AppointmentStatus::from_fhir(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn cancelled_and_entered_in_error_appointments_take_no_messages() {
        for status in AppointmentStatus::ALL {
            let refused = matches!(
                status,
                AppointmentStatus::Cancelled | AppointmentStatus::EnteredInError
            );
            assert_eq!(status.takes_messages(), !refused, "{status}");
        }
    }
}
