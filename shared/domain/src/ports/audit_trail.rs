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

impl AuditFilter {
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
    /// One page: one Query (of the index of the filter's most selective id).
    async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, DependencyError>;
}
