//! The Unclear worklist: the clinic's appointments a patient replied to, newest reply
//! first, until staff clear them.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::{
    appointment_status::AppointmentStatus,
    error::DependencyError,
    ids::{AppointmentId, ClinicId},
    model::{Appointment, Patient, sortable_timestamp},
};

/// Where an appointment sits on the worklist: its reply's time, then its id, as text that
/// sorts in that order (`<time>#<id>`), so that no two entries tie.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorklistKey(String);

impl WorklistKey {
    pub fn new(replied_at: Timestamp, appointment: &AppointmentId) -> WorklistKey {
        WorklistKey(format!("{}#{appointment}", sortable_timestamp(replied_at)))
    }

    /// From its stored text; `None` when the text is not a key.
    pub fn from_stored(text: &str) -> Option<WorklistKey> {
        let (at, id) = text.split_once('#')?;
        let at: Timestamp = at.parse().ok()?;
        let id = AppointmentId::parse(id).ok()?;
        Some(WorklistKey::new(at, &id))
    }

    /// The lowest key of replies at `at`.
    pub fn first_at(at: Timestamp) -> WorklistKey {
        WorklistKey(sortable_timestamp(at))
    }

    /// A key above every key of replies at `at` (`~` sorts after any id character).
    pub fn last_at(at: Timestamp) -> WorklistKey {
        WorklistKey(format!("{}#~", sortable_timestamp(at)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn appointment_id(&self) -> Option<AppointmentId> {
        AppointmentId::parse(self.0.split_once('#')?.1).ok()
    }

    pub fn replied_at(&self) -> Option<Timestamp> {
        self.0.split_once('#')?.0.parse().ok()
    }
}

/// One page of the worklist to read: replies between `from` and `to` (both included),
/// after `after` in the worklist's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorklistQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    pub after: Option<WorklistKey>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorklistEntry {
    pub key: WorklistKey,
    /// Its status shown is `Unclear`.
    pub appointment: Appointment,
    pub patient: Patient,
    pub replied_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorklistPage {
    pub entries: Vec<WorklistEntry>,
    /// Set when more entries may follow: the last entry's key.
    pub more_after: Option<WorklistKey>,
}

/// What clearing an appointment's `Unclear` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleared {
    /// It shows its EMR status again.
    Cleared {
        status: AppointmentStatus,
    },
    /// It was not `Unclear`: nothing changed.
    NotUnclear {
        status: AppointmentStatus,
    },
    NoAppointment,
}

#[async_trait]
pub trait UnclearWorklist: Send + Sync {
    /// The clinic's `Unclear` appointments replied to in the query's window, newest reply
    /// first: one Query of a sparse index.
    async fn unclear_page(
        &self,
        clinic: &ClinicId,
        query: &WorklistQuery,
    ) -> Result<WorklistPage, DependencyError>;
    /// Returns an `Unclear` appointment to its EMR status and takes it off the worklist, in
    /// one conditional write.
    async fn clear_unclear(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Result<Cleared, DependencyError>;
}
