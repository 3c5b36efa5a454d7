//! Reading a clinic's audit trail, newest first, by time and by what an entry is about.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::{
    error::DependencyError,
    ids::{ClinicId, MessageId, PatientId, StaffUserId},
    model::{AuditEntry, AuditKey},
};

/// Which entries a read of the trail keeps; empty keeps all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub patient: Option<PatientId>,
    pub user: Option<StaffUserId>,
    pub message: Option<MessageId>,
}

/// What one Query of the trail reads: the entries about the most selective id a filter
/// names (a message, then a patient, then a user), or all of the clinic's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditPartition<'a> {
    Message(&'a MessageId),
    Patient(&'a PatientId),
    User(&'a StaffUserId),
    Clinic,
}

impl AuditPartition<'_> {
    /// Whether `entry` is in the partition (the clinic is the query's).
    pub fn holds(&self, entry: &AuditEntry) -> bool {
        match self {
            AuditPartition::Message(id) => entry.message_id.as_ref() == Some(*id),
            AuditPartition::Patient(id) => entry.patient_id.as_ref() == Some(*id),
            AuditPartition::User(id) => entry.staff_user.as_ref() == Some(*id),
            AuditPartition::Clinic => true,
        }
    }
}

impl AuditFilter {
    /// The partition a read with this filter queries; the filter's other ids are checked
    /// on the entries it reads.
    pub fn partition(&self) -> AuditPartition<'_> {
        if let Some(id) = &self.message {
            AuditPartition::Message(id)
        } else if let Some(id) = &self.patient {
            AuditPartition::Patient(id)
        } else if let Some(id) = &self.user {
            AuditPartition::User(id)
        } else {
            AuditPartition::Clinic
        }
    }

    pub fn keeps(&self, entry: &AuditEntry) -> bool {
        self.patient
            .as_ref()
            .is_none_or(|id| entry.patient_id.as_ref() == Some(id))
            && self
                .user
                .as_ref()
                .is_none_or(|id| entry.staff_user.as_ref() == Some(id))
            && self
                .message
                .as_ref()
                .is_none_or(|id| entry.message_id.as_ref() == Some(id))
    }
}

/// The clinic's entries from `from` to `to` (whole seconds, both included) that `filter`
/// keeps, newest first, after `after` when given, at most `limit`.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub clinic: ClinicId,
    pub from: Timestamp,
    pub to: Timestamp,
    pub filter: AuditFilter,
    pub after: Option<AuditKey>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub key: AuditKey,
    pub entry: AuditEntry,
}

/// One page of the trail: a page may hold fewer entries than asked (even none) and still
/// have a next; pages read one after another hold every entry once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    /// Where the next page starts; none when the read is complete.
    pub next: Option<AuditKey>,
}

#[async_trait]
pub trait AuditTrail: Send + Sync {
    /// One page: one Query of the filter's partition reading at most `limit` entries, of
    /// which those the whole filter keeps are answered.
    async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, DependencyError>;
}
