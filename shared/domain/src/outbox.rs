//! The clinic's outbox: every message it sent in a window, newest first, each with its
//! status line (never its content).

use std::sync::Arc;

use jiff::Timestamp;

use crate::{
    caller::Caller,
    error::DomainError,
    model::{AuditEntry, MessageState},
    ports::{AuditLog, Clock, MessageStore, OutboxEntry, OutboxKey, OutboxQuery},
    search::{Cursor, parse_limit, parse_time},
};

/// A validated read of the outbox.
#[derive(Debug, Clone)]
pub struct OutboxRequest {
    pub from: Timestamp,
    pub to: Timestamp,
    /// `to` as asked: `None` when it defaulted to now.
    pub to_asked: Option<Timestamp>,
    /// Only the messages whose status line is at this state now.
    pub status: Option<MessageState>,
    pub limit: usize,
    pub after: Option<OutboxKey>,
}

fn invalid(parameter: &'static str, reason: &str) -> DomainError {
    DomainError::InvalidParameter {
        parameter,
        reason: reason.to_owned(),
    }
}

impl OutboxRequest {
    /// From the route's parameters: `from` and `to` (RFC 3339; by default every message up
    /// to `now`), `status`, `limit` and `cursor`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        status: Option<&str>,
        limit: Option<&str>,
        cursor: Option<&str>,
        now: Timestamp,
    ) -> Result<OutboxRequest, DomainError> {
        let from = parse_time("from", from)?.unwrap_or(Timestamp::UNIX_EPOCH);
        let to_asked = parse_time("to", to)?;
        let to = to_asked.unwrap_or(now);
        if from > to {
            return Err(invalid("from", "is after to: swap them, or leave one out"));
        }
        let status = match status.map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(MessageState::parse(text).ok_or_else(|| {
                let states: Vec<_> = MessageState::ALL.iter().map(|s| s.as_str()).collect();
                invalid("status", &format!("must be one of {}", states.join(", ")))
            })?),
        };
        let limit = parse_limit(limit)?;
        let after = match cursor.map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let cursor = Cursor::decode(text, &fingerprint(from, to_asked, status))?;
                Some(OutboxKey::from_stored(&cursor.after).ok_or_else(|| {
                    invalid(
                        "cursor",
                        "is not a cursor from this list; leave it out to start again",
                    )
                })?)
            }
        };
        Ok(OutboxRequest {
            from,
            to,
            to_asked,
            status,
            limit,
            after,
        })
    }
}

/// A cursor continues only the list of the same window and status. A window up to "now"
/// is the same on every page: the list is newest first, so what was sent since sorts
/// before the cursor and never joins a later page.
fn fingerprint(from: Timestamp, to: Option<Timestamp>, status: Option<MessageState>) -> String {
    let status = status.map_or("any", MessageState::as_str);
    let to = to.map_or_else(|| "now".to_owned(), |to| to.to_string());
    format!("outbox|{from}|{to}|{status}")
}

/// One page of the outbox. Filtered by status, a page may hold fewer than `limit`
/// messages (even none) and still have a next one: follow `next_cursor` until it is null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxResult {
    pub entries: Vec<OutboxEntry>,
    /// When the status lines were read.
    pub now: Timestamp,
    pub next_cursor: Option<String>,
}

pub struct Outbox {
    pub messages: Arc<dyn MessageStore>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

impl Outbox {
    /// `GET /messages`: one Query of the clinic's messages per page; the status filter
    /// applies to the page read (a status depends on the time as well as the entry).
    pub async fn page(
        &self,
        caller: &Caller,
        request: &OutboxRequest,
    ) -> Result<OutboxResult, DomainError> {
        let clinic = &caller.clinic_id;
        let page = self
            .messages
            .clinic_messages(
                clinic,
                &OutboxQuery {
                    from: request.from,
                    to: request.to,
                    after: request.after.clone(),
                    limit: request.limit,
                },
            )
            .await?;
        let now = self.clock.now();
        let entries: Vec<OutboxEntry> = page
            .entries
            .into_iter()
            .filter(|entry| {
                request
                    .status
                    .is_none_or(|state| entry.message.status(now).state == state)
            })
            .collect();
        let next_cursor = page.more_after.map(|last| {
            Cursor {
                fingerprint: fingerprint(request.from, request.to_asked, request.status),
                probe: 0,
                after: last.as_str().to_owned(),
            }
            .encode()
        });
        self.audit
            .append(&AuditEntry {
                route: Some("GET /messages".to_owned()),
                staff_user: Some(caller.user.clone()),
                ..AuditEntry::new(clinic.clone(), now, "outbox-read", "listed")
            })
            .await?;
        tracing::info!(clinic_id = %clinic, results = entries.len(), "outbox read");
        Ok(OutboxResult {
            entries,
            now,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::SmsStatus,
        send::tests::{World, world},
    };

    fn outbox(w: &World) -> Outbox {
        Outbox {
            messages: w.store.clone(),
            audit: w.store.clone(),
            clock: w.clock.clone(),
        }
    }

    async fn read(
        w: &World,
        status: Option<&str>,
        limit: &str,
        cursor: Option<&str>,
    ) -> Result<OutboxResult, DomainError> {
        let request = OutboxRequest::parse(None, None, status, Some(limit), cursor, w.clock.now())?;
        outbox(w).page(&w.caller, &request).await
    }

    #[tokio::test]
    async fn pages_up_to_now_continue_while_time_passes_and_each_read_is_audited() {
        let w = world().await;
        for n in 0..3 {
            w.send(&format!("k{n}"), r#"{"kind":"basic","text":"Hi"}"#)
                .await
                .unwrap();
            w.clock.advance(jiff::SignedDuration::from_secs(60));
        }
        let first = read(&w, None, "2", None).await.unwrap();
        assert_eq!(first.entries.len(), 2);
        assert!(first.entries[0].message.sent_at > first.entries[1].message.sent_at);
        w.clock.advance(jiff::SignedDuration::from_secs(60));
        let cursor = first.next_cursor.expect("a next page");
        let second = read(&w, None, "2", Some(&cursor)).await.unwrap();
        assert_eq!(second.entries.len(), 1, "the rest, though now moved on");
        assert!(matches!(
            read(&w, Some("sent"), "2", Some(&cursor)).await,
            Err(DomainError::InvalidParameter {
                parameter: "cursor",
                ..
            })
        ));
        let reads = w
            .store
            .audit()
            .into_iter()
            .filter(|entry| entry.event == "outbox-read")
            .count();
        assert_eq!(reads, 2);
    }

    #[tokio::test]
    async fn a_status_keeps_the_messages_at_that_state_now() {
        let w = world().await;
        w.send("k1", r#"{"kind":"basic","text":"Hi"}"#)
            .await
            .unwrap();
        w.sms.fail_sends(true);
        w.send("k2", r#"{"kind":"basic","text":"Hi"}"#)
            .await
            .unwrap_err();
        let failed = read(&w, Some("failed"), "10", None).await.unwrap();
        assert_eq!(failed.entries.len(), 1);
        assert_eq!(failed.entries[0].message.sms_status, SmsStatus::Failed);
        let sent = read(&w, Some("sent"), "10", None).await.unwrap();
        assert_eq!(sent.entries.len(), 1);
        assert!(matches!(
            read(&w, Some("lost"), "10", None).await,
            Err(DomainError::InvalidParameter {
                parameter: "status",
                ..
            })
        ));
    }
}
