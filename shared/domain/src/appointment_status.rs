//! The status of an appointment, including `Unclear` for appointments whose patient replied.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where an appointment stands. Stored and sent as its PascalCase name, e.g. `"NoShow"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AppointmentStatus {
    Booked,
    Confirmed,
    Cancelled,
    Completed,
    NoShow,
    /// The patient replied to a one-way message; the clinic should follow up.
    Unclear,
}

/// A string that names no appointment status.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error(
    "unknown appointment status; expected one of Booked, Confirmed, Cancelled, Completed, NoShow, Unclear"
)]
pub struct UnknownAppointmentStatus;

impl AppointmentStatus {
    pub const ALL: [AppointmentStatus; 6] = [
        AppointmentStatus::Booked,
        AppointmentStatus::Confirmed,
        AppointmentStatus::Cancelled,
        AppointmentStatus::Completed,
        AppointmentStatus::NoShow,
        AppointmentStatus::Unclear,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "Booked",
            AppointmentStatus::Confirmed => "Confirmed",
            AppointmentStatus::Cancelled => "Cancelled",
            AppointmentStatus::Completed => "Completed",
            AppointmentStatus::NoShow => "NoShow",
            AppointmentStatus::Unclear => "Unclear",
        }
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
        for value in ["", "unclear", "NOSHOW", "No Show", "Pending"] {
            assert_eq!(
                value.parse::<AppointmentStatus>(),
                Err(UnknownAppointmentStatus)
            );
        }
        assert!(serde_json::from_str::<AppointmentStatus>("\"Pending\"").is_err());
    }
}
