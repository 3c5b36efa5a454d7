//! The Unclear worklist: which of the clinic's appointments a patient replied to, newest
//! reply first (never the reply's text: messaging stays one-way), and staff clearing one
//! once they have called the patient, which returns it to its EMR status.

use std::sync::Arc;

use jiff::Timestamp;

use crate::{
    appointment_status::AppointmentStatus,
    caller::Caller,
    error::DomainError,
    ids::AppointmentId,
    model::AuditEntry,
    ports::{AuditLog, Cleared, Clock, UnclearWorklist, WorklistEntry, WorklistKey, WorklistQuery},
    search::{Cursor, parse_limit, parse_time},
};

/// A validated read of the worklist: the replies' window, the page's size, and where the
/// previous page ended.
#[derive(Debug, Clone)]
pub struct WorklistRequest {
    pub from: Timestamp,
    pub to: Timestamp,
    /// `to` as asked: `None` when it defaulted to now.
    pub to_asked: Option<Timestamp>,
    pub limit: usize,
    pub after: Option<WorklistKey>,
}

fn invalid(parameter: &'static str, reason: &str) -> DomainError {
    DomainError::InvalidParameter {
        parameter,
        reason: reason.to_owned(),
    }
}

impl WorklistRequest {
    /// From the route's parameters: `status` (only `Unclear` is listed), `from` and `to`
    /// (RFC 3339; by default every reply up to `now`), `limit` and `cursor`.
    pub fn parse(
        status: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        limit: Option<&str>,
        cursor: Option<&str>,
        now: Timestamp,
    ) -> Result<WorklistRequest, DomainError> {
        if status.map(str::trim) != Some(AppointmentStatus::Unclear.as_str()) {
            return Err(invalid(
                "status",
                "must be Unclear: the list holds the appointments a patient replied to",
            ));
        }
        let from = parse_time("from", from)?.unwrap_or(Timestamp::UNIX_EPOCH);
        let to_asked = parse_time("to", to)?;
        let to = to_asked.unwrap_or(now);
        if from > to {
            return Err(invalid("from", "is after to: swap them, or leave one out"));
        }
        let limit = parse_limit(limit)?;
        let after = match cursor.map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let cursor = Cursor::decode(text, &fingerprint(from, to_asked))?;
                Some(WorklistKey::from_stored(&cursor.after).ok_or_else(|| {
                    invalid(
                        "cursor",
                        "is not a cursor from this list; leave it out to start again",
                    )
                })?)
            }
        };
        Ok(WorklistRequest {
            from,
            to,
            to_asked,
            limit,
            after,
        })
    }
}

/// A cursor continues only the list of the same window. A window up to "now" is the same
/// on every page: the list is newest reply first, so a reply since sorts before the cursor.
fn fingerprint(from: Timestamp, to: Option<Timestamp>) -> String {
    let to = to.map_or_else(|| "now".to_owned(), |to| to.to_string());
    format!("unclear|{from}|{to}")
}

/// One page of the worklist, and the cursor of the next when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorklistResult {
    pub entries: Vec<WorklistEntry>,
    pub next_cursor: Option<String>,
}

pub struct Worklist {
    pub store: Arc<dyn UnclearWorklist>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

impl Worklist {
    /// `GET /appointments?status=Unclear`: one Query of the worklist's index per page.
    pub async fn page(
        &self,
        caller: &Caller,
        request: &WorklistRequest,
    ) -> Result<WorklistResult, DomainError> {
        let clinic = &caller.clinic_id;
        // One more than asked, to know whether there is a next page.
        let mut page = self
            .store
            .unclear_page(
                clinic,
                &WorklistQuery {
                    from: request.from,
                    to: request.to,
                    after: request.after.clone(),
                    limit: request.limit + 1,
                },
            )
            .await?;
        let next_cursor = (page.entries.len() > request.limit)
            .then(|| {
                page.entries.truncate(request.limit);
                page.entries.last().map(|last| {
                    Cursor {
                        fingerprint: fingerprint(request.from, request.to_asked),
                        probe: 0,
                        after: last.key.as_str().to_owned(),
                    }
                    .encode()
                })
            })
            .flatten();
        // Each patient listed is a read of patient data, recorded before it is answered.
        let read: Vec<AuditEntry> = page
            .entries
            .iter()
            .map(|entry| AuditEntry {
                route: Some("GET /appointments".to_owned()),
                staff_user: Some(caller.user.clone()),
                patient_id: Some(entry.patient.id.clone()),
                appointment_id: Some(entry.appointment.id.clone()),
                ..AuditEntry::new(clinic.clone(), self.clock.now(), "worklist-read", "listed")
            })
            .collect();
        if !read.is_empty() {
            self.audit.append_all(&read).await?;
        }
        tracing::info!(clinic_id = %clinic, results = page.entries.len(), "worklist read");
        Ok(WorklistResult {
            entries: page.entries,
            next_cursor,
        })
    }

    /// `POST /appointments/{id}/clear-unclear`: the appointment shows its EMR status again
    /// and leaves the worklist; who cleared it, and when, goes to the audit trail.
    pub async fn clear(
        &self,
        caller: &Caller,
        id: &AppointmentId,
    ) -> Result<AppointmentStatus, DomainError> {
        let status = match self.store.clear_unclear(&caller.clinic_id, id).await? {
            Cleared::Cleared { status } => status,
            Cleared::NotUnclear { .. } => {
                return Err(DomainError::NotUnclear);
            }
            Cleared::NoAppointment => {
                return Err(DomainError::NotFound {
                    what: "the appointment",
                });
            }
        };
        self.audit
            .record(&AuditEntry {
                route: Some("POST /appointments/{appointmentId}/clear-unclear".to_owned()),
                appointment_id: Some(id.clone()),
                staff_user: Some(caller.user.clone()),
                ..AuditEntry::new(
                    caller.clinic_id.clone(),
                    self.clock.now(),
                    "unclear-cleared",
                    status.as_str(),
                )
            })
            .await;
        tracing::info!(clinic_id = %caller.clinic_id, appointment_id = %id, "unclear cleared");
        Ok(status)
    }
}

#[cfg(test)]
mod tests;
